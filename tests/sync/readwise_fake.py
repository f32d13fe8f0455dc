"""A local stand-in for Readwise's API (``/api/v2/auth/`` and ``/api/v2/export/``).

It behaves as the real one does where the sync depends on it: token auth (204 / 401),
books with their highlights, ``updatedAfter`` (only what changed since, deleted
highlights included with ``includeDeleted=true``), ``ids`` (those books, whole),
pagination by ``pageCursor`` / ``nextPageCursor``. Faults are switched on by tests:
429 with ``Retry-After``, 5xx, and a page whose connection drops half-way.

It runs a stdlib HTTP server in a thread on 127.0.0.1, so both the async code under
test and plain benchmarks can use it; its clock is the test's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "rw-test-token-0123456789abcdef"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FakeBook:
    user_book_id: int
    title: str
    author: str | None = None
    category: str = "books"
    source_url: str | None = None
    asin: str | None = None
    source: str = "kindle"


@dataclass
class FakeHighlight:
    id: int
    book_id: int
    text: str
    updated: datetime
    note: str = ""
    location: int | None = None
    location_type: str = "location"
    url: str | None = None
    tags: list[str] = field(default_factory=list)
    highlighted_at: datetime | None = None
    is_deleted: bool = False
    is_discard: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "note": self.note,
            "location": self.location,
            "location_type": self.location_type,
            "highlighted_at": stamp(self.highlighted_at) if self.highlighted_at else None,
            "url": self.url,
            "color": "yellow",
            "updated": stamp(self.updated),
            "book_id": self.book_id,
            "tags": [{"id": 1000 + i, "name": name} for i, name in enumerate(self.tags)],
            "is_favorite": False,
            "is_discard": self.is_discard,
            "is_deleted": self.is_deleted,
            "readwise_url": f"https://readwise.io/open/{self.id}",
        }


@dataclass
class Faults:
    """Switches for the next requests; each count goes down as it is used."""

    rate_limited: int = 0  # answer 429 with Retry-After
    retry_after: str = "1"
    server_errors: int = 0  # answer 503
    # Export requests (1-based, counted over every export request, retries included)
    # whose answer is cut off half-way.
    cut_pages: set[int] = field(default_factory=set)


class FakeReadwise:
    """The fake account and its HTTP server; ``with FakeReadwise(clock) as rw: rw.url``."""

    def __init__(self, clock: Callable[[], datetime], *, page_size: int = 2) -> None:
        self.clock = clock
        self.page_size = page_size
        self.token = TOKEN
        self.books: dict[int, FakeBook] = {}
        self.highlights: dict[int, FakeHighlight] = {}
        self._by_book: dict[int, list[int]] = {}
        self.faults = Faults()
        self.requests: list[tuple[str, dict[str, str], str | None]] = []
        self.export_pages = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeReadwise:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # --- the account -------------------------------------------------------------------

    def add_book(self, book: FakeBook) -> FakeBook:
        self.books[book.user_book_id] = book
        return book

    def highlight(self, book: FakeBook, hid: int, text: str, **fields: Any) -> FakeHighlight:
        item = FakeHighlight(id=hid, book_id=book.user_book_id, text=text, updated=self.clock())
        for key, value in fields.items():
            setattr(item, key, value)
        self.highlights[hid] = item
        self._by_book.setdefault(book.user_book_id, []).append(hid)
        return item

    def edit(self, hid: int, **fields: Any) -> None:
        item = self.highlights[hid]
        for key, value in fields.items():
            setattr(item, key, value)
        item.updated = self.clock()

    def delete(self, hid: int) -> None:
        self.edit(hid, is_deleted=True)

    # --- the API -------------------------------------------------------------------------

    def export(self, params: dict[str, str]) -> dict[str, Any]:
        after = _parse_time(params.get("updatedAfter"))
        ids = {int(i) for i in params["ids"].split(",")} if params.get("ids") else None
        deleted = params.get("includeDeleted", "").lower() == "true"

        def wanted(h: FakeHighlight) -> bool:
            if h.is_deleted and not deleted:
                return False
            return ids is not None or after is None or h.updated > after

        matching = [
            book_id
            for book_id in sorted(self.books)
            if (ids is None or book_id in ids)
            and any(wanted(self.highlights[hid]) for hid in self._by_book.get(book_id, ()))
        ]
        start = int(params.get("pageCursor") or 0)
        page = []
        for book_id in matching[start : start + self.page_size]:
            mine = (self.highlights[hid] for hid in self._by_book.get(book_id, ()))
            items = [h for h in sorted(mine, key=lambda h: (h.location or 0, h.id)) if wanted(h)]
            page.append(self._book_json(self.books[book_id], items))
        more = start + self.page_size < len(matching)
        return {
            "count": len(matching),
            "nextPageCursor": str(start + self.page_size) if more else None,
            "results": page,
        }

    @staticmethod
    def _book_json(book: FakeBook, items: list[FakeHighlight]) -> dict[str, Any]:
        return {
            "user_book_id": book.user_book_id,
            "title": book.title,
            "readable_title": book.title,
            "author": book.author,
            "source": book.source,
            "cover_image_url": "",
            "unique_url": None,
            "book_tags": [],
            "category": book.category,
            "document_note": "",
            "readwise_url": f"https://readwise.io/bookreview/{book.user_book_id}",
            "source_url": book.source_url,
            "asin": book.asin,
            "highlights": [h.to_json() for h in items],
        }

    def next_fault(self, path: str) -> str | None:
        """Which fault this request gets, if any: "429", "503" or "cut"."""
        with self._lock:
            if self.faults.rate_limited:
                self.faults.rate_limited -= 1
                return "429"
            if self.faults.server_errors:
                self.faults.server_errors -= 1
                return "503"
            if path == "/api/v2/export/":
                self.export_pages += 1
                number = self.export_pages
                if number in self.faults.cut_pages:
                    return "cut"
        return None


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _handler(fake: FakeReadwise) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            auth = self.headers.get("Authorization")
            fake.requests.append((parts.path, params, auth))
            if parts.path not in ("/api/v2/auth/", "/api/v2/export/"):
                self._send(404, {"detail": "Not found."})
                return
            if auth != f"Token {fake.token}":
                self._send(401, {"detail": "Invalid token."})
                return
            fault = fake.next_fault(parts.path)
            if fault == "429":
                self._send(429, {"detail": "throttled"}, {"Retry-After": fake.faults.retry_after})
                return
            if fault == "503":
                self._send(503, {"detail": "unavailable"})
                return
            if parts.path == "/api/v2/auth/":
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps(fake.export(params)).encode()
            if fault == "cut":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self._send(200, body)

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def iter_requests(fake: FakeReadwise, path: str) -> Iterator[dict[str, str]]:
    return (params for p, params, _ in fake.requests if p == path)
