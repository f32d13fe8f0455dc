"""Getting updates: getUpdates (long polling), setWebhook, deleteWebhook, getWebhookInfo."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from typing import Final

from bot.standin.entities import check_link
from bot.standin.records import ApiError, ClientGone, JSONDict, bad
from bot.standin.state import StandinState
from bot.standin.wire import Params

_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_WEBHOOK_PORTS: Final = frozenset({80, 88, 443, 8443})


class UpdateMethods(StandinState):
    """How the bot receives updates: long polling or a (recorded, not called) webhook."""

    async def _get_updates(
        self, p: Params, reader: asyncio.StreamReader | None = None
    ) -> list[JSONDict]:
        """Long polling: hold the request until an update arrives or ``timeout`` passes.

        While it waits, the connection is watched: a client that gave up (python-telegram-bot
        cancels its poll on shutdown) is not answered, and does not count as a competing
        poller, so a later getUpdates is not met with 409.
        """
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = p.integer("offset")
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(p.number("timeout") or 0.0, 0.0)
        allowed = p.obj("allowed_updates", "can't parse allowed updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(a) for a in allowed) or None
        if offset is not None:
            updates = self._updates
            if offset < 0:
                while len(updates) > -offset:
                    updates.popleft()
            else:
                while updates and updates[0]["update_id"] < offset:
                    updates.popleft()
        previous = self._poller
        if previous is not None and not previous.done():
            previous.set_result("conflict")  # Telegram answers the older request 409
        if not self._updates and timeout > 0:
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[str] = loop.create_future()
            self._poller = waiter
            self._changed()  # is_polling turned true: wake wait_for()
            timer = loop.call_later(timeout, _resolve, waiter, "timeout")
            watcher: asyncio.Task[bytes] | None = None
            if reader is not None:
                # httpx sends nothing more on a connection until it has the answer, so any
                # read completing here means the client hung up (or broke the protocol).
                watcher = loop.create_task(reader.read(1))
                watcher.add_done_callback(lambda _: _resolve(waiter, "gone"))
            try:
                outcome = await waiter
            finally:
                timer.cancel()
                if watcher is not None and not watcher.done():
                    watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher
                if self._poller is waiter:
                    self._poller = None
            if outcome == "gone":
                raise ClientGone
            if outcome == "conflict":
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
        batch = list(itertools.islice(self._updates, limit))
        if batch:
            self._delivered_up_to = max(self._delivered_up_to, batch[-1]["update_id"])
        return batch

    def _api_setWebhook(self, p: Params) -> bool:
        url = p.text("url") or ""
        if not url:
            return self._api_deleteWebhook(p)
        link = check_link(url)
        if link is None or not link.lower().startswith("https://"):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        host = link[8:].split("/", 1)[0]
        port = host.rsplit(":", 1)[1] if ":" in host else "443"
        if not port.isdigit() or int(port) not in _WEBHOOK_PORTS:
            raise bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = p.text("secret_token")
        if secret is not None and not _SECRET_TOKEN.match(secret):
            raise bad("secret token contains unallowed characters")
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        allowed = p.obj("allowed_updates", "can't parse allowed updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(a) for a in allowed) or None
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": p.integer("max_connections") or 40,
        }
        return True

    def _api_deleteWebhook(self, p: Params) -> bool:
        self.webhook = None
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_getWebhookInfo(self, p: Params) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    def _api_getUpdates(self, p: Params) -> list[JSONDict]:
        raise AssertionError("getUpdates is asynchronous, _call awaits _get_updates")


def _resolve(future: asyncio.Future[str], outcome: str) -> None:
    if not future.done():
        future.set_result(outcome)
