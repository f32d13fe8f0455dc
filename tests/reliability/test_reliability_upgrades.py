"""Upgrades: a database from an older schema under a newer bot, mid-day.

Schema version 1 (the first release: takeaways only) upgraded by the running bot; then
the next upgrade, simulated by appending a version-3 migration the way a release would:
the old bot stops mid-day after its morning deliveries, the new one migrates and goes
on, and nobody gets a second takeaway. Going back to the old bot is refused clearly;
a migration that fails leaves the database as it was.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.clock import ManualClock
from bot.settings import Settings
from bot.standin import BotAPIStandin
from bot.store import MIGRATIONS, SchemaTooNewError, Store
from tests.conftest import BotHarness
from tests.first_schema import first_schema
from tests.reliability.reliability_support import (
    Subscriber,
    daily_counts,
    integrity,
    one_clear_line,
    run_cli,
    scalar,
    seed_database,
)

NINE = datetime(2026, 3, 2, 9, tzinfo=UTC)
THREE = NINE.replace(hour=15)
MORNING = list(range(70_001, 70_021))
AFTERNOON = list(range(70_101, 70_121))
# What a next release might add: a column and an index, in the usual append-only way.
NEXT = """
ALTER TABLE chats ADD COLUMN language TEXT;
CREATE INDEX daily_by_status ON daily (status);
"""


async def running(
    standin: BotAPIStandin, store: Store, path: Path, clock: ManualClock
) -> BotHarness:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=SecretStr(standin.token),
        bot_api_url=standin.url,
        database_path=path,
    )
    bot = BotHarness(standin, store, clock, settings)
    await bot.start()
    return bot


async def test_the_bot_upgrades_a_first_schema_database_and_delivers_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "takeaways.db"
    first_schema(path)
    clock = ManualClock(NINE - timedelta(hours=1))
    async with BotAPIStandin() as standin:
        async with await Store.open(path) as store:
            assert scalar(path, "PRAGMA user_version") == len(MIGRATIONS)
            bot = await running(standin, store, path, clock)
            try:
                await bot.send(501, "/start")
                [old] = await bot.send(501, "/random")
                assert "An old idea" in old.text
                clock.set(NINE)
                assert (await bot.deliver()).sent == 1
            finally:
                await bot.stop()
        # Restarted mid-day on the upgraded file: nothing again today, tomorrow's comes.
        async with await Store.open(path) as store:
            bot = await running(standin, store, path, clock)
            try:
                clock.set(NINE + timedelta(hours=3))
                assert (await bot.deliver()).due == 0
                clock.set(NINE + timedelta(days=1))
                assert (await bot.deliver()).sent == 1
            finally:
                await bot.stop()
        assert daily_counts(standin, [501]) == {501: 2}
    assert integrity(path) == "ok"


async def test_old_bot_stopped_mid_day_new_bot_migrates_and_sends_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "data" / "takeaways.db"
    path.parent.mkdir()
    morning = [Subscriber(c, "UTC", "09:00", NINE, NINE.date()) for c in MORNING]
    afternoon = [Subscriber(c, "UTC", "15:00", THREE, NINE.date()) for c in AFTERNOON]
    await seed_database(path, morning + afternoon)
    everyone = MORNING + AFTERNOON
    clock = ManualClock(NINE)
    async with BotAPIStandin() as standin:
        for chat in everyone:
            standin.add_chat(chat)
        # The old bot: the morning's deliveries, then it is stopped at noon for the upgrade.
        async with await Store.open(path) as store:
            old = await running(standin, store, path, clock)
            try:
                assert (await old.deliver()).sent == len(MORNING)
                clock.set(NINE.replace(hour=12))
                assert (await old.deliver()).due == 0
            finally:
                await old.stop()
        # The new release: one more migration.
        monkeypatch.setattr("bot.store.migrations.MIGRATIONS", [*MIGRATIONS, NEXT])
        async with await Store.open(path) as store:
            assert scalar(path, "PRAGMA user_version") == len(MIGRATIONS) + 1
            columns = [
                row[1] for row in await store.db.execute_fetchall("PRAGMA table_info(chats)")
            ]
            assert "language" in columns
            new = await running(standin, store, path, clock)
            try:
                clock.set(NINE.replace(hour=12, minute=5))
                assert (await new.deliver()).due == 0  # the morning is not sent again
                clock.set(THREE)
                assert (await new.deliver()).sent == len(AFTERNOON)
                for hour in (9, 15):
                    clock.set((NINE + timedelta(days=1)).replace(hour=hour))
                    assert (await new.deliver()).sent == 20
            finally:
                await new.stop()
        assert set(daily_counts(standin, everyone).values()) == {2}
    assert integrity(path) == "ok"
    # Going back to the old release is refused with one line, the file untouched.
    monkeypatch.undo()
    with pytest.raises(SchemaTooNewError):
        await Store.open(path)
    line = one_clear_line(run_cli(path, "stats"))
    newer = len(MIGRATIONS) + 1
    assert f"schema version {newer}" in line and "upgrade the bot" in line
    assert scalar(path, "PRAGMA user_version") == len(MIGRATIONS) + 1


async def test_a_failing_migration_leaves_the_database_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "takeaways.db"
    await seed_database(path, [Subscriber(c, "UTC", "09:00", NINE, NINE.date()) for c in MORNING])
    broken = "ALTER TABLE chats ADD COLUMN language TEXT;\nALTER TABLE nowhere ADD COLUMN x;"
    monkeypatch.setattr("bot.store.migrations.MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        await Store.open(path)
    monkeypatch.undo()
    assert scalar(path, "PRAGMA user_version") == len(MIGRATIONS)
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(chats)")]
    db.close()
    assert "language" not in columns
    assert integrity(path) == "ok"
    assert scalar(path, "SELECT COUNT(*) FROM chats WHERE subscribed = 1") == len(MORNING)
