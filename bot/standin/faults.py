"""Injected failures and flood limits: how tests make Telegram misbehave."""

from __future__ import annotations

import time
from collections import deque

from bot.standin.records import ApiError, Fault, JSONDict
from bot.standin.state import Chat, StandinState
from bot.standin.wire import Params, default_description


class Faults(StandinState):
    """Faults injected with :meth:`fail`, and the 429s of the flood limits."""

    def fail(
        self,
        method: str | None = "sendMessage",
        *,
        chat_id: int | str | None = None,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int | None = 1,
        drop_connection: bool = False,
    ) -> Fault:
        """Make the next ``times`` matching requests fail (``times=None``: until cleared).

        ``method=None`` matches every method (getUpdates included); ``chat_id`` narrows to
        requests for that chat. Descriptions default to Telegram's: 403 "Forbidden: bot
        was blocked by the user", 429 "Too Many Requests: retry after N" with
        ``parameters.retry_after`` (N defaults to 1), 500 "Internal Server Error", 502
        "Bad Gateway". ``drop_connection`` closes the connection without any answer.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        parameters: JSONDict = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        fault = Fault(
            method=method.lower() if method else None,
            chat_id=chat_id,
            status=status,
            description=description or default_description(status, retry_after),
            parameters=parameters or None,
            remaining=times,
            drop_connection=drop_connection,
        )
        self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self._faults.clear()

    def _take_fault(self, method: str, params: Params) -> Fault | None:
        for fault in self._faults:
            if fault.method is not None and fault.method != method:
                continue
            if fault.chat_id is not None and str(params.get("chat_id")) != str(fault.chat_id):
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            return fault
        return None

    def _check_flood(self) -> None:
        limit = self.max_sends_per_second
        if limit is None:
            return
        now = time.monotonic()
        times = self._send_times
        while times and now - times[0] >= 1.0:
            times.popleft()
        if len(times) >= limit:
            retry = self.flood_retry_after
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        times.append(now)

    def _check_group_flood(self, chat: Chat) -> None:
        limit = self.max_group_sends_per_minute
        if limit is None or chat.type == "private":
            return
        now = time.monotonic()
        times = self._group_send_times.setdefault(chat.id, deque())
        while times and now - times[0] >= 60.0:
            times.popleft()
        if len(times) >= limit:
            retry = self.flood_retry_after
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        times.append(now)
