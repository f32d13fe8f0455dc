"""Schema versions: fresh files, reopening, refusing the future, failing atomically."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from store_helpers import book, count

from bot.store import MIGRATIONS, SchemaTooNewError, Store
from bot.store.db import connect
from bot.store.migrations import migrate, split_statements, user_version


def _schema(path: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()


async def _pragma(store: Store, name: str) -> object:
    async with store.db.execute(f"PRAGMA {name}") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return row[0]


async def test_fresh_file_is_created_and_migrated(db_path: Path) -> None:
    assert not db_path.parent.exists()
    async with await Store.open(db_path) as store:
        assert await _pragma(store, "user_version") == len(MIGRATIONS)
        assert await _pragma(store, "journal_mode") == "wal"
        assert await _pragma(store, "foreign_keys") == 1
        assert await _pragma(store, "busy_timeout") == 50
        assert await _pragma(store, "synchronous") == 1  # NORMAL
        assert not store.db.in_transaction
    names = {name for _, name, _ in _schema(db_path)}
    assert {"sources", "takeaways", "takeaways_fts"} <= names
    assert not any("subscri" in name or "deliver" in name for name in names)


async def test_reopening_changes_nothing(db_path: Path) -> None:
    async with await Store.open(db_path) as store:
        await store.import_takeaways([book("Habits compound.", 1)])
    before = _schema(db_path)
    async with await Store.open(db_path) as store:
        assert await _pragma(store, "user_version") == len(MIGRATIONS)
        assert await count(store, "takeaways") == 1
    assert _schema(db_path) == before


async def test_a_newer_database_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(SchemaTooNewError, match=f"version {len(MIGRATIONS) + 1}"):
        await Store.open(db_path)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


async def test_a_failing_migration_leaves_the_previous_version(db_path: Path) -> None:
    broken = "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    db = await connect(db_path)
    try:
        assert await migrate(db) == len(MIGRATIONS)
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            await migrate(db, [*MIGRATIONS, broken])
        assert await user_version(db) == len(MIGRATIONS)
        assert not db.in_transaction
    finally:
        await db.close()
    assert "half_done" not in {name for _, name, _ in _schema(db_path)}


async def test_a_failing_first_migration_leaves_an_empty_file(db_path: Path) -> None:
    db = await connect(db_path)
    try:
        with pytest.raises(sqlite3.OperationalError):
            await migrate(db, [MIGRATIONS[0] + "\nSELECT * FROM nowhere;"])
        assert await user_version(db) == 0
    finally:
        await db.close()
    assert _schema(db_path) == []


async def test_later_migrations_apply_on_top(db_path: Path) -> None:
    db = await connect(db_path)
    try:
        assert await migrate(db, MIGRATIONS[:1]) == 1
        extra = "CREATE TABLE later (x INTEGER); INSERT INTO later VALUES (42);"
        assert await migrate(db, [*MIGRATIONS, extra]) == len(MIGRATIONS) + 1
        assert list(await db.execute_fetchall("SELECT x FROM later")) == [(42,)]
    finally:
        await db.close()


def test_split_statements_respects_strings_comments_and_triggers() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE a (x TEXT DEFAULT 'semi;colon');
    CREATE TRIGGER t AFTER INSERT ON a BEGIN
        INSERT INTO a VALUES ('one;'); DELETE FROM a WHERE x = ';';
    END;
    /* block; comment */ CREATE INDEX a_x ON a (x)
    """
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[0].endswith("DEFAULT 'semi;colon');")
    assert statements[1].strip().startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    assert statements[2].endswith("CREATE INDEX a_x ON a (x)")
    conn = sqlite3.connect(":memory:")
    for statement in statements:
        conn.execute(statement)


async def test_the_ledger_moves_to_write_order_with_every_row_and_its_guarantee(
    db_path: Path,
) -> None:
    """Version 6 rebuilds ``daily``: every row and column comes over, rows end up in the
    order they are written, and a second row for a chat and date is still refused."""
    db = await connect(db_path)
    try:
        assert await migrate(db, MIGRATIONS[:5]) == 5
        await db.execute(
            "INSERT INTO chats (chat_id, delivery_time, timezone, subscribed)"
            " VALUES (7, '09:00', 'UTC', 1), (3, '08:00', 'Europe/Berlin', 1)"
        )
        await db.executemany(
            "INSERT INTO daily (chat_id, local_date, takeaway_id, status, attempts, error,"
            " sent_at, updated_at, more_ids, parts_sent, requested, claimed_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (7, "2026-03-02", 11, "sending", 1, None, None, 100, "[12, 13]", 1, 2, 99),
                (3, "2026-03-01", 5, "sent", 1, None, 90, 90, None, 1, 1, None),
                (7, "2026-03-01", 4, "failed", 2, "chat not found", None, 80, None, 0, 1, None),
            ],
        )
        columns = (
            "chat_id, local_date, takeaway_id, status, attempts, error, sent_at, updated_at,"
            " more_ids, parts_sent, requested, claimed_by"
        )
        query = f"SELECT {columns} FROM daily ORDER BY chat_id, local_date"
        before = list(await db.execute_fetchall(query))
        assert await migrate(db) == len(MIGRATIONS) >= 6
        assert list(await db.execute_fetchall(query)) == before
        # Oldest date first (then chat): the order the rows were once written in.
        in_storage = await db.execute_fetchall(
            "SELECT chat_id, local_date FROM daily ORDER BY rowid"
        )
        assert list(in_storage) == [(3, "2026-03-01"), (7, "2026-03-01"), (7, "2026-03-02")]
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            await db.execute(
                "INSERT INTO daily (chat_id, local_date, takeaway_id, status)"
                " VALUES (7, '2026-03-02', 1, 'picked')"
            )
        # A group that becomes a supergroup still takes its ledger along.
        await db.execute("UPDATE chats SET chat_id = -1007 WHERE chat_id = 7")
        moved = await db.execute_fetchall("SELECT count(*) FROM daily WHERE chat_id = -1007")
        assert list(moved) == [(2,)]
    finally:
        await db.close()
