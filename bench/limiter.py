"""An experiment, not product code: a rate limiter that counts like Telegram does.

PTB's ``AIORateLimiter`` is a leaky bucket of 30 a second that also lets 30 through at
once, so the first second of a broadcast can carry up to 60 messages; and because it
counts when a request *starts*, requests that leave late (the process was busy) bunch
up at the server. Telegram's rule is "no more than 30 messages a second" as the server
sees them.

This limiter has ``rate`` slots. A message takes a slot when its request starts and
gives it back ``window`` seconds after the answer came. Any ``rate + 1`` messages that
reached the server within one window would all have held a slot at the window's end
(each started before it, and each slot is held until at least a window after that
message's arrival), so that never happens, whatever the delays; and the rate is as
high as the rule allows (``rate`` per window plus one round trip). A 429 pauses every
request for its ``retry_after``, as Telegram asks and as ``AIORateLimiter`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

Result = bool | dict[str, Any] | list[dict[str, Any]]


class WindowLimiter(BaseRateLimiter[int]):
    def __init__(self, rate: int = 30, window: float = 1.0, max_retries: int = 3) -> None:
        self.window = window
        self.max_retries = max_retries
        self._slots = asyncio.Semaphore(rate)
        self._resume_at = 0.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def _paused(self) -> None:
        loop = asyncio.get_running_loop()
        while (delay := self._resume_at - loop.time()) > 0:
            await asyncio.sleep(delay)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        loop = asyncio.get_running_loop()
        counted = data.get("chat_id") is not None
        for attempt in range(self.max_retries + 1):
            await self._paused()
            if counted:
                await self._slots.acquire()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == self.max_retries:
                    raise
                value = error.retry_after
                seconds = value.total_seconds() if isinstance(value, timedelta) else value
                self._resume_at = max(self._resume_at, loop.time() + float(seconds))
            finally:
                if counted:
                    loop.call_later(self.window, self._slots.release)
        raise AssertionError("unreachable")
