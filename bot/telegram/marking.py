"""The rate limiter that also tells the daily ledger when a delivery's request leaves.

The limiter is the last of our code a request passes before PTB sends it over HTTP, so
it is where "admitted, about to be requested" can be known: ``WindowRateLimiter`` runs
the callback given to it once the request holds a slot, and the callback given here
first commits the delivery's "requested" mark (``bot/delivery/journal.py``), then makes
the request, then notes the answer. Requests that are not part of a daily delivery (the
task sending has none, or another chat) pass through untouched. A 429 retried by the
limiter is the same message: it is marked once.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from bot.delivery.journal import delivering
from bot.telegram.limiter import Result, WindowRateLimiter


class MarkingRateLimiter(WindowRateLimiter):
    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        delivery = delivering(data.get("chat_id"))
        if delivery is None:
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )
        marked = False

        async def requested_then_sent(*call_args: Any, **call_kwargs: Any) -> Result:
            nonlocal marked
            if not marked:
                await delivery.request_starting()
                marked = True
            result = await callback(*call_args, **call_kwargs)
            delivery.request_answered()
            return result

        return await super().process_request(
            requested_then_sent, args, kwargs, endpoint, data, rate_limit_args
        )
