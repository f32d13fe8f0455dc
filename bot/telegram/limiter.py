"""Telegram's broadcast limit, counted the way Telegram counts it.

PTB's ``AIORateLimiter`` keeps the overall limit with a leaky bucket of 30 a second
that also lets 30 through at once, and it counts a request when it starts: the first
second of a daily run can put up to 60 messages on Telegram's side, and requests that
leave late (the process was busy) bunch up there. Telegram answers those with 429.

So the overall limit here is a window: ``rate`` slots, a message takes one when its
request starts and gives it back ``window`` seconds after the answer came. Any
``rate + 1`` messages that reached Telegram within one window would all have held a
slot at the window's end, which cannot be; and the rate stays as high as the rule
allows (``rate`` per window plus one round trip). Everything else (groups' 20 a
minute, waiting out a 429 and retrying) stays ``AIORateLimiter``'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import AIORateLimiter

Result = bool | dict[str, Any] | list[dict[str, Any]]


class WindowRateLimiter(AIORateLimiter):
    def __init__(self, rate: int = 30, window: float = 1.0, max_retries: int = 3) -> None:
        super().__init__(overall_max_rate=0, max_retries=max_retries)
        self._window = window
        self._slots = asyncio.Semaphore(rate)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        if data.get("chat_id") is None:  # getUpdates, getMe ...: not messages
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )

        async def in_a_slot(*call_args: Any, **call_kwargs: Any) -> Result:
            await self._slots.acquire()
            try:
                return await callback(*call_args, **call_kwargs)
            finally:
                asyncio.get_running_loop().call_later(self._window, self._slots.release)

        return await super().process_request(
            in_a_slot, args, kwargs, endpoint, data, rate_limit_args
        )
