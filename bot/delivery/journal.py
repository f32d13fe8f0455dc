"""The daily run's notes while its messages go out: "requested" before each, "out" after.

After a crash the ledger has to tell apart a claimed delivery that never left (send it)
from one whose request left and whose answer never came (send it again: at least once,
and say so). So right before a delivery's HTTP request leaves (after the rate limiter
admitted it) the row's ``requested`` count is written and committed, and the request
waits for that commit; after each answer ``parts_sent`` (and, once the whole delivery is
out, ``sent``) is written. At any moment, then, the rows that say "requested, no answer"
are the requests really in flight, bounded by the send concurrency, and a crash resends
those and nothing that is known to be out.

Commits are shared (group commit): whatever notes arrive while one commit runs go into
the next, one UPDATE statement for all of them (SQLite makes a lone statement its own
transaction), so 32 concurrent sends cost one or two small commits, not 64. Notes of
answers are not waited for, but commits keep their order, so a sender's next "requested"
commits together with (or after) its last "out".

Who calls what: ``Journal`` belongs to one daily run; ``delivering`` hands the rate
limiter (``bot/telegram/marking.py``) the delivery the current task is sending, which it
marks around each request. Durable means committed: SQLite's WAL survives a killed
process; with ``synchronous = NORMAL`` a power cut may undo the last commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date

from bot.store import Store
from bot.store.db import while_locked

# One statement for all pending notes (a JSON list of [chat_id, local_date, requested,
# parts_sent, sent]): one round trip to SQLite, and SQLite makes it its own transaction.
_NOTES = (
    "UPDATE daily SET requested = j.requested, parts_sent = j.parts_sent,"
    " status = CASE WHEN j.sent THEN 'sent' ELSE daily.status END,"
    " error = CASE WHEN j.sent THEN NULL ELSE daily.error END,"
    " sent_at = CASE WHEN j.sent THEN unixepoch() ELSE daily.sent_at END,"
    " updated_at = CASE WHEN j.sent THEN unixepoch() ELSE daily.updated_at END"
    " FROM (SELECT json_extract(value, '$[0]') AS chat_id, json_extract(value, '$[1]') AS day,"
    " json_extract(value, '$[2]') AS requested, json_extract(value, '$[3]') AS parts_sent,"
    " json_extract(value, '$[4]') AS sent FROM json_each(?)) AS j"
    " WHERE daily.chat_id = j.chat_id AND daily.local_date = j.day"
)


@dataclass(slots=True)
class _Pending:
    requested: int
    parts_sent: int
    sent: bool = False


class Journal:
    """Group-committed notes on ledger rows; ``drain`` before reading them back."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: dict[tuple[int, str], _Pending] = {}
        self._committed: asyncio.Future[None] | None = None  # the next commit's
        self._writer: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self.commits = 0

    def _note(self, chat_id: int, day: date, requested: int, parts_sent: int) -> _Pending:
        key = (chat_id, day.isoformat())
        row = self._pending.get(key)
        if row is None:
            row = self._pending[key] = _Pending(requested, parts_sent)
        else:
            row.requested, row.parts_sent = requested, parts_sent
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())
        return row

    def _next_commit(self) -> asyncio.Future[None]:
        if self._committed is None:
            self._committed = asyncio.get_running_loop().create_future()
        return self._committed

    async def requested(self, chat_id: int, day: date, requested: int, parts_sent: int) -> None:
        """Note that message ``requested`` (counting from 1) is about to be requested;
        returns once that is committed. Raises if the commit failed: then do not send."""
        self._note(chat_id, day, requested, parts_sent)
        await asyncio.shield(self._next_commit())

    def answered(self, chat_id: int, day: date, parts_sent: int) -> None:
        """Note that the first ``parts_sent`` messages are out (not waited for)."""
        self._note(chat_id, day, parts_sent, parts_sent)
        self._next_commit()

    def sent(self, chat_id: int, day: date, requested: int, parts_sent: int) -> None:
        """Note that the whole delivery is out (not waited for)."""
        self._note(chat_id, day, requested, parts_sent).sent = True
        self._next_commit()

    @property
    def failed(self) -> bool:
        """Whether a commit failed: nothing can be marked (so sent) any more."""
        return self._error is not None

    def check(self) -> None:
        """Raise the first commit error, if any, without waiting."""
        if self._error is not None:
            raise self._error

    async def drain(self) -> None:
        """Wait until every note is committed; raise the first commit error, if any."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
        if self._error is not None:
            raise self._error

    async def _write(self) -> None:
        while self._pending:
            rows, self._pending = self._pending, {}
            committed, self._committed = self._next_commit(), None
            notes = [
                (chat_id, day, row.requested, row.parts_sent, row.sent)
                for (chat_id, day), row in rows.items()
            ]
            try:
                await self._commit(json.dumps(notes))
            except BaseException as error:
                if self._error is None:
                    self._error = error
                committed.set_exception(error)
                committed.exception()  # retrieved here: nobody may be waiting for it
                if not isinstance(error, Exception):
                    raise
            else:
                self.commits += 1
                committed.set_result(None)

    async def _commit(self, notes: str) -> None:
        async with self._store.alone() as db:
            await while_locked(lambda: db.execute(_NOTES, (notes,)))


@dataclass(slots=True)
class Delivery:
    """One delivery being sent by the current task: where its messages are."""

    journal: Journal
    chat_id: int
    day: date
    parts_sent: int  # messages known to be out
    requested: int  # messages whose request was started

    async def request_starting(self) -> None:
        """The next message's request is about to leave: commit that first."""
        self.requested = self.parts_sent + 1
        await self.journal.requested(self.chat_id, self.day, self.requested, self.parts_sent)

    def request_answered(self) -> None:
        """Its answer came (Telegram took the message)."""
        self.parts_sent = self.requested
        self.journal.answered(self.chat_id, self.day, self.parts_sent)

    def all_out(self) -> None:
        self.journal.sent(self.chat_id, self.day, self.requested, self.parts_sent)


_delivering: ContextVar[Delivery | None] = ContextVar("delivering", default=None)


def delivering(chat_id: object) -> Delivery | None:
    """The delivery the current task is sending, if a request to ``chat_id`` is part of
    it (the rate limiter asks this for every request)."""
    delivery = _delivering.get()
    if delivery is None:
        return None
    if chat_id == delivery.chat_id or (
        isinstance(chat_id, str) and chat_id == str(delivery.chat_id)
    ):
        return delivery
    return None


@contextlib.contextmanager
def sending(delivery: Delivery) -> Iterator[Delivery]:
    """Within this block, requests of this task to the delivery's chat are its messages."""
    token = _delivering.set(delivery)
    try:
        yield delivery
    finally:
        _delivering.reset(token)
