"""Fair update processing: what one chat sends can only delay that chat.

python-telegram-bot's default processor runs up to N updates at once from one shared
pool. A reply into a group waits for that group's own Telegram limit (20 messages a
minute, ``bot/telegram/limiter.py``) while it holds its place in the pool, so one busy
group filled the pool and every private chat waited behind it. This processor (PTB's
documented extension point, ``ApplicationBuilder.concurrent_updates(processor)``)
changes three things:

* **One chat, one line.** Updates of a chat run one after another, in order; different
  chats run side by side. Updates without a chat (inline queries) are keyed by their
  person, and updates with neither run on their own.
* **A short line.** At most ``per_chat`` updates of one chat wait; when one more comes,
  the oldest waiting one is dropped (never run) and the chat gets one note, until its
  line is empty again. A flood can cost a chat its own backlog, never anyone else's time.
  ``exempt`` private chats (the admins', who may send a folder of exports at once) have
  no bound.
* **Waiting on Telegram is not working.** At most ``running`` updates run at once (the
  database and the CPU are shared), but an update that waits for its chat's own
  Telegram allowance (a group's minute limit, a 429 for that chat) gives its place back
  while it waits (``chat_limit_wait``, which the rate limiter enters) and takes one again
  before it sends. So shared capacity goes to chats that can use it. When the bot
  stops, such waits are abandoned and the waiting updates dropped (``drain``).

Memory is bounded: per chat with something waiting, one small record and at most
``per_chat`` parked updates; the chat's record goes when its line is empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Collection
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)
_T = TypeVar("_T")

RUNNING = 64  # updates running at once, across all chats (not counting those parked)
PER_CHAT = 8  # updates of one chat waiting behind the one running
# Updates accepted at once in all (running, waiting, parked): PTB's own bound above ours,
# reached only if thousands of chats each have a full line.
MAX_PENDING = 20_000
NOTE = "Lots of requests here at once: I skipped some of the oldest. Try again in a minute."


class _Slot:
    """A running update's place among the ``running``; given back while parked."""

    def __init__(self, slots: asyncio.Semaphore, stopping: asyncio.Event) -> None:
        self._slots = slots
        self.stopping = stopping
        self.held = False

    async def take(self) -> None:
        await self._slots.acquire()
        self.held = True

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self._slots.release()


_CURRENT: ContextVar[_Slot | None] = ContextVar("takeaways_update_slot", default=None)


class Stopping(TelegramError):
    """A send abandoned while it waited for its chat's allowance: the bot is stopping.

    A ``TelegramError``, so it ends the update like a failed send would."""

    def __init__(self) -> None:
        super().__init__("not sent: the bot is stopping")


async def chat_limit_wait(waiting: Awaitable[_T]) -> _T:
    """Await ``waiting``, a wait for one chat's own Telegram allowance. The running update
    (if any) gives its shared place back meanwhile and takes one again afterwards; if the
    bot stops meanwhile, the wait is abandoned (``Stopping``) rather than holding the
    stop up for as long as a group's minute."""
    slot = _CURRENT.get()
    if slot is None or not slot.held:
        return await waiting
    slot.give_back()
    try:
        task = asyncio.ensure_future(waiting)
        stop = asyncio.ensure_future(slot.stopping.wait())
        try:
            await asyncio.wait((task, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.cancelled():
            raise Stopping
        return task.result()
    finally:
        await slot.take()


@dataclass(slots=True)
class _Line:
    """One chat's updates: whether one runs, the ones waiting (their go-ahead futures)."""

    busy: bool = False
    waiting: deque[asyncio.Future[bool]] = field(default_factory=deque)
    noted: bool = False


def chat_key(update: object) -> int | None:
    """Which line an update joins: its chat, else its person (inline queries)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class FairUpdateProcessor(BaseUpdateProcessor):
    """Per-chat lines with a bound, a shared cap on running updates; see the module."""

    def __init__(
        self,
        *,
        running: int = RUNNING,
        per_chat: int = PER_CHAT,
        max_pending: int = MAX_PENDING,
        note: str | None = NOTE,
        exempt: Collection[int] = (),
    ) -> None:
        if running < 1 or per_chat < 1:
            raise ValueError("running and per_chat must be at least 1")
        super().__init__(max_pending)
        self.running = running
        self.per_chat = per_chat
        self.note = note
        self.exempt = frozenset(exempt)
        self._slots = asyncio.Semaphore(running)
        self._stopping = asyncio.Event()
        self._lines: dict[int, _Line] = {}
        self._notes: set[asyncio.Task[Any]] = set()
        self.dropped = 0
        self.on_drop: list[Callable[[object], Awaitable[None]]] = []
        """Called with each dropped update (the console and tests wait on updates)."""

    async def initialize(self) -> None:
        """Nothing to set up: lines are made as chats write."""

    async def shutdown(self) -> None:
        """Let the notes already on their way finish."""
        if self._notes:
            await asyncio.gather(*self._notes, return_exceptions=True)

    def drain(self) -> int:
        """For stopping: drop every waiting update, and abandon the sends of running ones
        that wait for their chat's allowance (``Stopping``); how many were dropped. A
        group's line can wait minutes for Telegram, longer than a stop may take, and
        what waits was taken from Telegram either way."""
        self._stopping.set()
        for note in self._notes:
            note.cancel()  # a note into a group may wait a minute for its allowance too
        count = 0
        for line in self._lines.values():
            while line.waiting:
                turn = line.waiting.popleft()
                if not turn.done():
                    turn.set_result(False)
                    count += 1
            line.noted = True  # no note while stopping
        return count

    def waiting(self, key: int) -> int:
        """Updates of this chat waiting behind the running one (tests look)."""
        line = self._lines.get(key)
        return 0 if line is None else len(line.waiting)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            await self._run(coroutine)
            return
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = _Line()
        if line.busy:
            turn: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            while len(line.waiting) >= self.per_chat and key not in self.exempt:
                oldest = line.waiting.popleft()
                if not oldest.done():
                    oldest.set_result(False)
            line.waiting.append(turn)
            try:
                go = await turn
            except asyncio.CancelledError:
                _close(coroutine)
                if turn.done() and not turn.cancelled() and turn.result():
                    self._next(key, line)  # it was our turn: pass it on
                raise
            if not go:
                _close(coroutine)
                await self._dropped(update, line)
                return
        line.busy = True
        try:
            await self._run(coroutine)
        finally:
            self._next(key, line)

    async def _run(self, coroutine: Awaitable[Any]) -> None:
        slot = _Slot(self._slots, self._stopping)
        await slot.take()
        token = _CURRENT.set(slot)
        try:
            await coroutine
        finally:
            _CURRENT.reset(token)
            slot.give_back()

    def _next(self, key: int, line: _Line) -> None:
        """Hand the chat to its oldest waiting update, or forget the chat."""
        while line.waiting:
            turn = line.waiting.popleft()
            if not turn.done():  # its task may have been cancelled meanwhile
                turn.set_result(True)
                return
        line.busy = False
        line.noted = False
        if self._lines.get(key) is line:
            del self._lines[key]

    async def _dropped(self, update: object, line: _Line) -> None:
        self.dropped += 1
        if not line.noted:
            line.noted = True
            log.info("chat %s sends faster than it is answered: oldest dropped", chat_key(update))
            if self.note is not None and isinstance(update, Update):
                task = asyncio.create_task(tell(update, self.note))
                self._notes.add(task)
                task.add_done_callback(self._notes.discard)
        for listener in self.on_drop:
            try:
                await listener(update)
            except Exception:
                log.exception("a drop listener failed")


def _close(coroutine: Awaitable[Any]) -> None:
    """A dropped update's coroutine never started: close it (no "never awaited" warning)."""
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()


async def tell(update: Update, note: str) -> None:
    """A chat's one note about what happened to its update (a full line here, a flood in
    ``flood.py``): a toast for a button, a message otherwise; never raises."""
    with contextlib.suppress(TelegramError):
        if update.callback_query is not None:
            await update.callback_query.answer(note)
        elif update.effective_chat is not None:
            await update.get_bot().send_message(update.effective_chat.id, note)
