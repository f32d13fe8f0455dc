"""Readwise's HTTP API, as the sync needs it: the token check and the export, page by page.

Readwise answers 429 with ``Retry-After`` when asked too often, and like any server it
has bad moments (5xx, a connection dropped half-way through a page). Both are waited
out here, a bounded number of times, so the caller sees either a whole page or one
``ReadwiseError`` whose text is safe to log: it never holds the token, which travels
only in the ``Authorization`` header and is never part of a URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

# Attempts per request before giving up on 5xx and network errors: 1, 2, 4, 8, 16 s apart.
MAX_ATTEMPTS = 6
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0
# A 429 is Readwise telling us when to come back: honoured, but not forever.
MAX_RATE_LIMITED = 10
MAX_RETRY_AFTER = 300.0
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ReadwiseError(Exception):
    """The API could not be used; ``str()`` is one line, without the token."""


class TokenRefused(ReadwiseError):
    """Readwise does not accept ``READWISE_TOKEN`` (401/403)."""


@dataclass(frozen=True, slots=True)
class ExportPage:
    """One page of ``/api/v2/export/``: books, each with its highlights."""

    books: list[dict[str, Any]]
    next_cursor: str | None
    # Readwise's ``count``: the books in the whole export, when it says so.
    total: int | None


class ReadwiseClient:
    """A thin async client; use as ``async with ReadwiseClient(...) as client``."""

    def __init__(
        self,
        token: str,
        base_url: str = "https://readwise.io",
        *,
        sleep: Sleep = asyncio.sleep,
        timeout: httpx.Timeout = TIMEOUT,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Token {token}", "Accept": "application/json"},
            timeout=timeout,
            follow_redirects=False,
        )
        self._sleep = sleep
        self.base_url = base_url.rstrip("/")

    async def __aenter__(self) -> ReadwiseClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def check_token(self) -> None:
        """Return when Readwise accepts the token (204); raise ``ReadwiseError`` otherwise."""
        response = await self._request("/api/v2/auth/", {})
        if response.status_code != 204:
            raise ReadwiseError(
                f"Readwise's token check at {self.base_url} answered HTTP "
                f"{response.status_code} instead of 204"
            )

    async def export(
        self,
        *,
        updated_after: str | None = None,
        book_ids: list[int] | None = None,
    ) -> AsyncIterator[ExportPage]:
        """Every page of the export, following ``nextPageCursor`` to the end.

        Deleted highlights are always included: the sync must hear of them to delete.
        """
        params: dict[str, str] = {"includeDeleted": "true"}
        if updated_after is not None:
            params["updatedAfter"] = updated_after
        if book_ids:
            params["ids"] = ",".join(str(i) for i in book_ids)
        cursor: str | None = None
        while True:
            query = dict(params, pageCursor=cursor) if cursor else params
            page = await self._page(query)
            yield page
            if not page.next_cursor or page.next_cursor == cursor:
                return
            cursor = page.next_cursor

    async def _page(self, params: dict[str, str]) -> ExportPage:
        """One page, read whole; a body cut off half-way is retried like a network error."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            response = await self._request("/api/v2/export/", params)
            if response.status_code != 200:
                raise ReadwiseError(
                    f"Readwise's export answered HTTP {response.status_code}: "
                    f"{_short(response.text)}"
                )
            try:
                data = json.loads(response.content)
                return _export_page(data)
            except (ValueError, TypeError, KeyError) as error:
                if attempt == MAX_ATTEMPTS:
                    raise ReadwiseError(
                        f"Readwise's export sent a page that is not the expected JSON: {error}"
                    ) from None
                await self._back_off(attempt, f"unreadable page ({error})")
        raise AssertionError("unreachable")

    async def _request(self, path: str, params: dict[str, str]) -> httpx.Response:
        """GET with the retry rules: 429 waits ``Retry-After``, 5xx and network errors
        back off exponentially; 401/403 raise ``TokenRefused`` at once."""
        attempt = 0
        rate_limited = 0
        while True:
            try:
                response = await self._http.get(path, params=params)
                await response.aread()
            except httpx.HTTPError as error:
                attempt += 1
                problem = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
                if attempt >= MAX_ATTEMPTS:
                    raise ReadwiseError(
                        f"cannot reach Readwise at {self.base_url} ({problem})"
                    ) from None
                await self._back_off(attempt, problem)
                continue
            status = response.status_code
            if status in (401, 403):
                raise TokenRefused(
                    f"Readwise refused READWISE_TOKEN (HTTP {status}): get a new one at "
                    "https://readwise.io/access_token"
                )
            if status == 429:
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMITED:
                    raise ReadwiseError("Readwise kept answering 429 (too many requests)")
                wait = _retry_after(response.headers.get("Retry-After"))
                log.info("Readwise asks to wait %.0f s (429); waiting", wait)
                await self._sleep(wait)
                continue
            if status >= 500:
                attempt += 1
                if attempt >= MAX_ATTEMPTS:
                    raise ReadwiseError(f"Readwise kept failing (HTTP {status})")
                await self._back_off(attempt, f"HTTP {status}")
                continue
            return response

    async def _back_off(self, attempt: int, problem: str) -> None:
        wait = min(FIRST_BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF)
        log.warning("Readwise: %s; trying again in %.0f s (attempt %d)", problem, wait, attempt)
        await self._sleep(wait)


def _export_page(data: Any) -> ExportPage:
    results = data["results"]
    if not isinstance(results, list) or not all(isinstance(b, dict) for b in results):
        raise TypeError("'results' is not a list of books")
    cursor = data.get("nextPageCursor")
    count = data.get("count")
    return ExportPage(
        books=results,
        next_cursor=str(cursor) if cursor not in (None, "") else None,
        total=count if isinstance(count, int) else None,
    )


def _retry_after(value: str | None) -> float:
    """Seconds from a ``Retry-After`` header (a number; dates are rare and get a minute)."""
    try:
        seconds = float(value) if value is not None else 60.0
    except ValueError:
        seconds = 60.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _short(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
