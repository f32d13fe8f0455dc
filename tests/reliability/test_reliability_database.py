"""Database trouble: a file that is not SQLite, a read-only or full disk, another
process holding the lock. Wanted: a clear line and an exit code, or a retry; never a
corrupted file (``PRAGMA integrity_check``), never a lost subscription, nothing twice.

The read-only and full-disk cases mount a small tmpfs, which needs root; elsewhere they
are skipped with the reason. (Root ignores file modes, so ``chmod 444`` proves nothing
there; a read-only mount is what a read-only file is to root.)
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.clock import ManualClock
from bot.delivery.daily import deliver_due
from bot.settings import Settings
from bot.standin import BotAPIStandin
from bot.store import Store, StoredTakeaway
from bot.store import db as store_db
from bot.telegram.app import daily_sender
from tests.conftest import BotHarness
from tests.reliability.reliability_support import (
    Subscriber,
    dailies,
    integrity,
    ledger,
    one_clear_line,
    run_cli,
    scalar,
    seed_database,
)

NINE = datetime(2026, 3, 2, 9, tzinfo=UTC)
CHATS = list(range(60_001, 60_021))
NEWCOMER = 60_999
SORRY = "Sorry, something went wrong"
# Holds SQLite's write lock from another process: BEGIN EXCLUSIVE, then sleeps.
LOCKER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")
db.execute("UPDATE chats SET title = title WHERE chat_id = 0")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
"""
# The bot waits up to LOCK_WAIT (30 s, bot/store/db.py) for another process's lock;
# tests that need the wait to run out lower it to this, to stay fast.
SHORT_BUSY_MS = 500


def subscribers() -> list[Subscriber]:
    return [Subscriber(c, "UTC", "09:00", NINE, NINE.date()) for c in CHATS]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs (remount it read-only, or fill it, to make trouble)."""
    where = tmp_path / "mnt"
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (mount -t tmpfs); not root here")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> Path:
    """Write zeros until the file system is full; the filler file, to delete later."""
    filler = folder / "filler"
    block = b"\0" * 4096
    with filler.open("wb", buffering=0) as out:
        try:
            while out.write(block):
                pass
        except OSError:
            pass
    return filler


async def harness(standin: BotAPIStandin, store: Store, database: Path) -> BotHarness:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=SecretStr(standin.token),
        bot_api_url=standin.url,
        database_path=database,
    )
    for chat in CHATS:
        standin.add_chat(chat)
    bot = BotHarness(standin, store, ManualClock(datetime(2026, 3, 2, 8, tzinfo=UTC)), settings)
    await bot.start()
    return bot


def check_whole(database: Path) -> None:
    assert integrity(database) == "ok"
    assert scalar(database, "SELECT COUNT(*) FROM chats WHERE subscribed = 1") >= len(CHATS)
    assert scalar(database, "SELECT COUNT(*) FROM takeaways") == 16


# --- a file that is not a database -------------------------------------------------------


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    database = tmp_path / "data" / "takeaways.db"
    database.parent.mkdir()
    database.write_bytes(b"Readwise export, not a database\n" * 200)
    before = digest(database)
    for command in (["run"], ["stats"], ["import", str(tmp_path)]):
        line = one_clear_line(run_cli(database, *command))
        assert "file is not a database" in line, line
    assert digest(database) == before
    assert sorted(p.name for p in database.parent.iterdir()) == ["takeaways.db"]


def test_the_failure_line_names_the_database_file(tmp_path: Path) -> None:
    database = tmp_path / "data" / "takeaways.db"
    database.parent.mkdir()
    database.write_bytes(b"not a database\n" * 100)
    assert str(database) in one_clear_line(run_cli(database, "run"))


# --- read-only -------------------------------------------------------------------------------


async def test_a_read_only_file_system_stops_the_bot_at_start(tmpfs: Path) -> None:
    database = tmpfs / "takeaways.db"
    await seed_database(database, subscribers())
    before = digest(database)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    line = one_clear_line(run_cli(database, "run"))
    assert "unable to open database file" in line, line
    subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True)
    assert digest(database) == before
    check_whole(database)


async def test_a_database_that_turns_read_only_while_running_loses_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``PRAGMA query_only`` on the bot's own connection: every write is refused with
    SQLite's SQLITE_READONLY, as after a file system was remounted read-only."""
    database = tmp_path / "takeaways.db"
    await seed_database(database, subscribers())
    async with BotAPIStandin() as standin, await Store.open(database) as store:
        bot = await harness(standin, store, database)
        try:
            await store.db.execute("PRAGMA query_only = 1")
            bot.clock.set(NINE)
            with pytest.raises(sqlite3.OperationalError, match="readonly database"):
                await bot.deliver()
            [sorry] = await bot.send(NEWCOMER, "/start")
            assert sorry.text.startswith(SORRY)
            [answer] = await bot.send(NEWCOMER, "/random")  # reads still work
            assert "@svpino" in answer.text
            assert "readonly database" in caplog.text  # the error handler's log line
            await store.db.execute("PRAGMA query_only = 0")
            bot.clock.set(NINE.replace(minute=1))
            assert (await bot.deliver()).sent == len(CHATS)
            assert (await bot.deliver()).due == 0
            assert "Welcome" in (await bot.send(NEWCOMER, "/start"))[0].text
        finally:
            await bot.stop()
        assert all(len(dailies(standin, c)) == 1 for c in CHATS)
    check_whole(database)


# --- full disk -------------------------------------------------------------------------------


async def test_a_full_disk_at_start_is_one_clear_line(tmpfs: Path) -> None:
    database = tmpfs / "takeaways.db"
    await seed_database(database, subscribers())
    fill(tmpfs)
    line = one_clear_line(run_cli(database, "run"))
    assert "disk I/O error" in line or "disk is full" in line, line
    (tmpfs / "filler").unlink()
    check_whole(database)


async def test_a_disk_that_fills_up_while_running_loses_nothing(tmpfs: Path) -> None:
    database = tmpfs / "takeaways.db"
    await seed_database(database, subscribers())
    async with BotAPIStandin() as standin, await Store.open(database) as store:
        bot = await harness(standin, store, database)
        try:
            filler = fill(tmpfs)
            bot.clock.set(NINE)
            with pytest.raises(sqlite3.OperationalError, match="disk is full"):
                await bot.deliver()
            [sorry] = await bot.send(NEWCOMER, "/start")
            assert sorry.text.startswith(SORRY)
            assert all(dailies(standin, c) == [] for c in CHATS)
            filler.unlink()
            bot.clock.set(NINE.replace(minute=1))
            assert (await bot.deliver()).sent == len(CHATS)
            assert (await bot.deliver()).due == 0
            assert "Welcome" in (await bot.send(NEWCOMER, "/start"))[0].text
        finally:
            await bot.stop()
        assert all(len(dailies(standin, c)) == 1 for c in CHATS)
    check_whole(database)


# --- another process holds the lock ----------------------------------------------------------


async def hold_lock(database: Path, seconds: float) -> asyncio.subprocess.Process:
    locker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LOCKER, str(database), str(seconds), stdout=asyncio.subprocess.PIPE
    )
    assert locker.stdout is not None
    assert await locker.stdout.readline() == b"locked\n"
    return locker


async def test_a_lock_held_elsewhere_fails_the_tick_then_the_next_delivers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held longer than the store waits for it (``LOCK_WAIT``): the run gives up claiming
    (nothing claimed, nothing sent, one error logged), the next tick sends everything."""
    monkeypatch.setattr(store_db, "LOCK_WAIT", SHORT_BUSY_MS / 1000)
    database = tmp_path / "takeaways.db"
    await seed_database(database, subscribers())
    async with BotAPIStandin() as standin, await Store.open(database) as store:
        bot = await harness(standin, store, database)
        try:
            locker = await hold_lock(database, SHORT_BUSY_MS / 1000 + 1)
            bot.clock.set(NINE)
            with pytest.raises(sqlite3.OperationalError, match="database is locked") as failed:
                await bot.deliver()
            # What the delivery job's error path logs (PTB hands job errors to on_error).
            await bot.app.process_error(None, failed.value)
            assert ledger(database) == {}
            await locker.wait()
            bot.clock.set(NINE.replace(second=20))
            assert (await bot.deliver()).sent == len(CHATS)
        finally:
            await bot.stop()
        assert all(len(dailies(standin, c)) == 1 for c in CHATS)
    assert "database is locked" in caplog.text
    check_whole(database)


async def test_reads_are_answered_while_the_bot_waits_for_a_lock(tmp_path: Path) -> None:
    database = tmp_path / "takeaways.db"
    await seed_database(database, subscribers())
    async with BotAPIStandin() as standin, await Store.open(database) as store:
        bot = await harness(standin, store, database)
        try:
            locker = await hold_lock(database, 1.5)  # shorter than LOCK_WAIT: the run waits
            bot.clock.set(NINE)
            loop = asyncio.get_running_loop()
            started = loop.time()
            run = asyncio.create_task(bot.deliver())
            await asyncio.sleep(0.05)
            [answer] = await bot.send(NEWCOMER, "/random")
            read_took = loop.time() - started
            assert (await run).sent == len(CHATS)
            await locker.wait()
        finally:
            await bot.stop()
    print(f"\nlock held elsewhere for 1.5 s: /random answered after {read_took:.2f} s")
    assert "@svpino" in answer.text
    assert read_took < 0.5


async def test_a_lock_taken_while_messages_are_out_never_resends_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock arrives between sending and recording and outlasts ``LOCK_WAIT``: the run
    cannot record, the rows stay "sending" (they may have arrived), and no later tick
    sends them again."""
    monkeypatch.setattr(store_db, "LOCK_WAIT", SHORT_BUSY_MS / 1000)
    database = tmp_path / "takeaways.db"
    await seed_database(database, subscribers())
    async with BotAPIStandin() as standin, await Store.open(database) as store:
        bot = await harness(standin, store, database)
        locker: asyncio.Future[asyncio.subprocess.Process] | None = None
        send = daily_sender(bot.app.bot)

        async def send_then_lock(chat_id: int, items: Sequence[StoredTakeaway]) -> None:
            nonlocal locker
            await send(chat_id, items)
            if locker is None:  # the first send to come back takes the lock
                locker = asyncio.ensure_future(hold_lock(database, SHORT_BUSY_MS / 1000 + 1))
            await asyncio.shield(locker)  # every send returns once the lock is held

        try:
            bot.clock.set(NINE)
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                await deliver_due(store, send_then_lock, bot.clock, rng=bot.rng)
            assert locker is not None
            await (await locker).wait()
            states = ledger(database)
            for minute in range(1, 30):
                bot.clock.set(NINE.replace(minute=minute))
                assert (await bot.deliver()).due == 0
        finally:
            await bot.stop()
        print(f"\nlock during the record step: ledger afterwards {states}")
        assert states == {"sending": len(CHATS)}
        assert all(len(dailies(standin, c)) == 1 for c in CHATS)
    check_whole(database)
