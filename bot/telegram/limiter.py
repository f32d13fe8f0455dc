"""Telegram's sending limits, kept so that one chat's limit only ever delays that chat.

Telegram allows a bot about 30 messages a second in all, and 20 a minute into one group
or channel; beyond that it answers 429 "retry after N".

* **Overall: a window.** ``rate`` slots; a message takes one when its request starts and
  gives it back ``window`` seconds after the answer came. Any ``rate + 1`` messages that
  reached Telegram within one window would all have held a slot at the window's end,
  which cannot be (PTB's ``AIORateLimiter`` uses a leaky bucket that also lets a burst
  of 30 through at once: the first second of a daily run put up to 60 on Telegram).
* **Per group: 20 a minute**, a window too, for the same reason: PTB's leaky bucket lets
  20 through at once and then one every 3 s, 40 within a minute, and Telegram answers
  the 21st with 429. A request that has to wait for its group's allowance waits inside
  ``chat_limit_wait`` (bot/telegram/fairness.py): the update it belongs to gives its
  shared processing place back meanwhile, so a busy group cannot hold the places every
  other chat needs.
* **429s.** Waited out and retried up to ``max_retries`` times. A 429 for a group pauses
  that group only (its limit is its own; also waited in ``chat_limit_wait``); a 429 for a
  private chat pauses every send, as the overall limit is what it is about. (PTB's
  ``AIORateLimiter`` pauses every request for any 429.)

Memory: one window and one pause time per group seen lately; a window is forgotten
when it is whole again, checked whenever more than ``_PRUNE_AT`` are kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.daily import retry_seconds
from bot.telegram.fairness import chat_limit_wait

log = logging.getLogger(__name__)

Result = bool | dict[str, Any] | list[dict[str, Any]]
GROUP_RATE = 20  # messages a minute into one group or channel
GROUP_WINDOW = 60.0
_PRUNE_AT = 1000


def group_key(chat_id: object) -> int | str | None:
    """The group a request is for (negative ids and @usernames), None for a private chat."""
    if isinstance(chat_id, str):
        try:
            chat_id = int(chat_id)
        except ValueError:
            return chat_id  # "@channelname"
    if isinstance(chat_id, int) and chat_id < 0:
        return chat_id
    return None


class _Window:
    """``rate`` slots; one is taken when a request starts and given back ``period``
    seconds after its answer came."""

    def __init__(self, rate: int, period: float) -> None:
        self._slots = asyncio.Semaphore(rate)
        self._period = period
        self.held = 0

    def has_capacity(self) -> bool:
        return not self._slots.locked()

    async def acquire(self) -> None:
        await self._slots.acquire()
        self.held += 1

    def release_later(self) -> None:
        asyncio.get_running_loop().call_later(self._period, self._release)

    def _release(self) -> None:
        self.held -= 1
        self._slots.release()


class WindowRateLimiter(BaseRateLimiter[int]):
    def __init__(
        self,
        rate: int = 30,
        window: float = 1.0,
        max_retries: int = 3,
        *,
        group_rate: int = GROUP_RATE,
        group_window: float = GROUP_WINDOW,
    ) -> None:
        self._overall = _Window(rate, window)
        self._max_retries = max_retries
        self._group_rate = group_rate
        self._group_window = group_window
        self._groups: dict[int | str, _Window] = {}
        self._paused: dict[int | str, float] = {}  # group -> loop time its 429 pause ends
        self._all_paused = 0.0  # loop time a private chat's 429 pause ends, for every send

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        chat_id = data.get("chat_id")
        group = group_key(chat_id)
        max_retries = rate_limit_args or self._max_retries
        loop = asyncio.get_running_loop()
        for attempt in range(max_retries + 1):
            try:
                await self._wait_pauses(group)
                if chat_id is None:  # getUpdates, getMe, answerCallbackQuery ...: no limit
                    return await callback(*args, **kwargs)
                window = None if group is None else await self._group_allowance(group)
                try:
                    return await self._in_a_slot(callback, args, kwargs)
                finally:
                    if window is not None:
                        window.release_later()
            except RetryAfter as error:
                if attempt == max_retries:
                    log.warning("429 from Telegram after %d retries: giving up", max_retries)
                    raise
                wait = retry_seconds(error) + 0.1
                until = loop.time() + wait
                log.info("429 from Telegram for %s: retrying in %.1f s", endpoint, wait)
                if group is not None:
                    self._paused[group] = max(self._paused.get(group, 0.0), until)
                else:
                    self._all_paused = max(self._all_paused, until)
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _wait_pauses(self, group: int | str | None) -> None:
        loop = asyncio.get_running_loop()
        while (wait := self._all_paused - loop.time()) > 0:
            await asyncio.sleep(wait)
        if group is None:
            return
        # A loop: a 429 that came while this one waited may have paused the group longer.
        while (wait := self._paused.get(group, 0.0) - loop.time()) > 0:
            await chat_limit_wait(asyncio.sleep(wait))
        if self._paused.get(group, 0.0) <= loop.time():
            self._paused.pop(group, None)

    async def _group_allowance(self, group: int | str) -> _Window:
        window = self._groups.get(group)
        if window is None:
            if len(self._groups) >= _PRUNE_AT:
                self._prune()
            window = self._groups[group] = _Window(self._group_rate, self._group_window)
        if window.has_capacity():
            await window.acquire()
        else:
            await chat_limit_wait(window.acquire())
        return window

    def _prune(self) -> None:
        """Forget groups whose window is whole again (they lose nothing)."""
        for group in [g for g, window in self._groups.items() if window.held == 0]:
            del self._groups[group]

    async def _in_a_slot(
        self, callback: Callable[..., Coroutine[Any, Any, Result]], args: Any, kwargs: Any
    ) -> Result:
        await self._overall.acquire()
        try:
            return await callback(*args, **kwargs)
        finally:
            self._overall.release_later()
