"""The one object the rest of the bot holds: a connection plus a write lock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType

import aiosqlite

from bot.sources.model import Takeaway
from bot.store import search as _search
from bot.store import takeaways as _takeaways
from bot.store.db import connect, transaction
from bot.store.migrations import migrate
from bot.store.records import ImportResult, SearchHit, Stats, StoredTakeaway


class Store:
    """Takeaways in SQLite, behind async methods.

    ``db`` is public so later modules (subscribers, deliveries) can run their own
    queries on the same connection. It is in autocommit mode (``isolation_level=None``):
    group writes with ``async with store.transaction():``, which also keeps two
    coroutines from interleaving their transactions on the shared connection.
    """

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self._write_lock = asyncio.Lock()
        self._lock_owner: asyncio.Task[object] | None = None

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        """Open (or create) the database at ``path`` and bring its schema up to date."""
        db = await connect(path)
        try:
            await migrate(db)
        except BaseException:
            await db.close()
            raise
        return cls(db)

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction at a time on this store; rolls back on any exception.

        Reads by other coroutines meanwhile go through the same connection and so see
        the transaction's uncommitted rows. Does not nest: inside it, use ``db``
        directly, and do not call ``import_takeaways``.
        """
        async with self._exclusive(), transaction(self.db) as db:
            yield db

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[aiosqlite.Connection]:
        """The write lock without a transaction: for one write statement, which SQLite
        makes its own transaction (run it with ``db.while_locked``)."""
        async with self._exclusive():
            yield self.db

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        """The write lock, refusing the task that already holds it (that would hang)."""
        task = asyncio.current_task()
        if task is not None and task is self._lock_owner:
            raise RuntimeError("Store.transaction() does not nest")
        async with self._write_lock:
            self._lock_owner = task
            try:
                yield
            finally:
                self._lock_owner = None

    async def import_takeaways(self, takeaways: Sequence[Takeaway]) -> ImportResult:
        """Add new takeaways, update edited ones in place, skip the rest: all or nothing."""
        prepared = _takeaways.prepare(takeaways)
        if not prepared.rows:
            return ImportResult(0, 0, 0)
        # The lock is held for the read-only check too: another coroutine's open
        # transaction on this connection could otherwise show it rows about to roll back.
        async with self._exclusive():
            if await _takeaways.unchanged(self.db, prepared):
                return ImportResult(0, 0, len(prepared.rows), prepared.duplicates)
            async with transaction(self.db) as db:
                return await _takeaways.write(db, prepared)

    async def search(self, query: str, *, limit: int = 5, offset: int = 0) -> list[SearchHit]:
        return await _search.search(self.db, query, limit=limit, offset=offset)

    async def count_matches(self, query: str) -> int:
        return await _search.count_matches(self.db, query)

    async def random_takeaway(self, rng: random.Random | None = None) -> StoredTakeaway | None:
        return await _takeaways.pick_random(self.db, rng)

    async def get_takeaway(self, takeaway_id: int) -> StoredTakeaway | None:
        return await _takeaways.get(self.db, takeaway_id)

    async def get_takeaways(self, ids: Sequence[int]) -> dict[int, StoredTakeaway]:
        return await _takeaways.get_many(self.db, ids)

    async def max_takeaway_id(self) -> int:
        """The highest id in use, 0 when empty; ids are never reused once handed out."""
        return await _takeaways.max_id(self.db)

    async def stats(self) -> Stats:
        return await _takeaways.stats(self.db)

    def export(self) -> AsyncIterator[Takeaway]:
        """Every takeaway in id order, streamed a page at a time."""
        return _takeaways.export(self.db)
