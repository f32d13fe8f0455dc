"""Opening the database and owning transactions.

The connection runs with ``isolation_level=None``: Python's sqlite3 then never opens
or commits a transaction behind our back, so ``BEGIN IMMEDIATE``/``COMMIT`` below are
the only transaction boundaries. Everything outside ``transaction()`` autocommits.

The database holds chat ids, names and search queries: it is the owner's alone.
``connect`` creates it 0600 (and a missing folder 0700) whatever the umask, and
tightens a database (and its ``-wal``/``-shm``) left readable by an older version.
SQLite creates ``-wal``, ``-shm`` and ``-journal`` with the database file's mode, so
they follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
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
    # Statements wait only briefly for a lock inside SQLite, which would block the
    # connection's one worker thread (and every query queued behind it); transactions
    # wait for the write lock in ``begin_immediate`` instead, without blocking.
    "PRAGMA busy_timeout = 50",
    # Safe with WAL (a power cut can lose the last commits, never corrupt the file).
    "PRAGMA synchronous = NORMAL",
    # A checkpoint (copying the WAL back, with an fsync) every 10,000 pages rather than
    # SQLite's 1,000: the daily run rewrites the same ledger and chat pages commit after
    # commit, and a checkpoint copies each page once however often it changed. Measured
    # on the daily run: 13 % less CPU, a quarter less wall time; the WAL file may grow
    # to about 40 MB under such a burst (and is reused, not regrown, afterwards).
    "PRAGMA wal_autocheckpoint = 10000",
)


async def connect(path: str | Path) -> aiosqlite.Connection:
    """Open ``path`` (creating its folder) with the pragmas every connection needs."""
    if str(path) != ":memory:":
        private_file(Path(path), side_files=True)
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


SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(folder: Path) -> None:
    """Create ``folder`` and any missing parents 0700 (an existing folder is left as it
    is: it may be the operator's own, shared with other things)."""
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        with contextlib.suppress(FileExistsError):
            candidate.mkdir(mode=0o700)
            os.chmod(candidate, 0o700)  # mkdir's mode is filtered by the umask


def private_file(path: Path, *, side_files: bool = False) -> None:
    """Make sure ``path`` exists and only its owner may read or write it (0600); with
    ``side_files``, SQLite's ``-wal``/``-shm``/``-journal`` next to it too."""
    private_dir(path.parent)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    except OSError:
        return  # a folder, no permission ...: SQLite says what is wrong, in its own words
    else:
        try:
            os.fchmod(descriptor, 0o600)  # open's mode is filtered by the umask
        finally:
            os.close(descriptor)
    for candidate in [path, *(Path(f"{path}{end}") for end in SIDE_FILES if side_files)]:
        _tighten(candidate)


def _tighten(path: Path) -> None:
    """Take group and other permissions away from an existing regular file."""
    try:
        status = os.stat(path)
        mode = stat.S_IMODE(status.st_mode)
        if mode & 0o077 and stat.S_ISREG(status.st_mode):
            os.chmod(path, mode & 0o700)
    except FileNotFoundError:
        return
    except OSError as error:  # not ours to change: say so, and go on
        log.warning("cannot make %s private (%s)", path, error.strerror or error)


def _preflight(path: str | Path) -> None:
    """Open and read the file once synchronously, so a folder, a file that is not a
    database or a missing permission fails here with SQLite's own message, before
    aiosqlite's worker thread is involved (its failed connects outlive the event loop)."""
    probe = sqlite3.connect(path)
    try:
        probe.execute("PRAGMA schema_version").fetchone()
    finally:
        probe.close()


# How long a transaction waits for another process (a CLI import, a backup) to release
# the write lock before giving up with SQLite's "database is locked".
LOCK_WAIT = 30.0


async def begin_immediate(db: aiosqlite.Connection, wait: float | None = None) -> None:
    """Take the write lock, retrying with asyncio sleeps while another process holds it
    (up to ``wait`` seconds, default ``LOCK_WAIT``), so the bot keeps answering reads."""
    await while_locked(lambda: db.execute("BEGIN IMMEDIATE"), wait)


async def while_locked(attempt: Callable[[], Awaitable[object]], wait: float | None = None) -> None:
    """Await ``attempt()`` until SQLite stops saying another process holds the write
    lock, with asyncio sleeps between tries, for up to ``wait`` (default ``LOCK_WAIT``)
    seconds. For ``BEGIN IMMEDIATE``, or a single write statement run outside a
    transaction (SQLite makes it its own: one round trip instead of three)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (LOCK_WAIT if wait is None else wait)
    pause = 0.01
    while True:
        try:
            await attempt()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or loop.time() >= deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.25)


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
        await begin_immediate(db)
        yield db
        await db.execute("COMMIT")
    except BaseException:
        # rollback() is a no-op when SQLite already ended the transaction itself, and
        # it queues behind any statement still running for a cancelled task.
        await db.rollback()
        raise
