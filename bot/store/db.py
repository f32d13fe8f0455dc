"""Opening the database and owning transactions.

The connection runs with ``isolation_level=None``: Python's sqlite3 then never opens
or commits a transaction behind our back, so ``BEGIN IMMEDIATE``/``COMMIT`` below are
the only transaction boundaries. Everything outside ``transaction()`` autocommits.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

# Python's per-connection statement cache; the store's queries are fixed strings, so
# a generous cache means each is prepared once per connection.
_CACHED_STATEMENTS = 256

_PRAGMAS = (
    # foreign_keys is per connection and off by default in SQLite.
    "PRAGMA foreign_keys = ON",
    # The bot and a CLI import may touch the file at once: wait, don't fail.
    "PRAGMA busy_timeout = 5000",
    # Safe with WAL (a power cut can lose the last commits, never corrupt the file).
    "PRAGMA synchronous = NORMAL",
)


async def connect(path: str | Path) -> aiosqlite.Connection:
    """Open ``path`` (creating its folder) with the pragmas every connection needs."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _preflight(path)
    db = await aiosqlite.connect(path, isolation_level=None, cached_statements=_CACHED_STATEMENTS)
    try:
        # WAL lets readers (the bot) go on while a writer (an import) works.
        async with db.execute("PRAGMA journal_mode = WAL") as cursor:
            row = await cursor.fetchone()
        mode = str(row[0]) if row else "?"
        if mode.lower() not in {"wal", "memory"}:
            log.warning("SQLite refused WAL mode for %s (journal_mode=%s)", path, mode)
        for pragma in _PRAGMAS:
            await db.execute(pragma)
    except BaseException:
        await db.close()
        raise
    return db


def _preflight(path: str | Path) -> None:
    """Open and read the file once synchronously, so a folder, a file that is not a
    database or a missing permission fails here with SQLite's own message, before
    aiosqlite's worker thread is involved (its failed connects outlive the event loop)."""
    probe = sqlite3.connect(path)
    try:
        probe.execute("PRAGMA schema_version").fetchone()
    finally:
        probe.close()


@asynccontextmanager
async def transaction(db: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """All statements inside commit together or not at all; the exception propagates.

    IMMEDIATE takes the write lock up front: a deferred transaction that reads first
    and writes later can fail with SQLITE_BUSY without waiting for busy_timeout.
    Transactions do not nest, and nothing here stops another coroutine sharing ``db``
    from writing into this one: use ``Store.transaction()``, which holds a lock,
    unless you own the connection.
    """
    if db.in_transaction:
        # Checked first: the rollback below would otherwise end the outer transaction.
        raise RuntimeError("a transaction is already open on this connection")
    try:
        # Inside the try: if we are cancelled while BEGIN is queued, it still runs.
        await db.execute("BEGIN IMMEDIATE")
        yield db
        await db.execute("COMMIT")
    except BaseException:
        # rollback() is a no-op when SQLite already ended the transaction itself, and
        # it queues behind any statement still running for a cancelled task.
        await db.rollback()
        raise
