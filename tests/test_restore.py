"""``takeaways-bot restore``: checked before anything changes, refused while the bot runs,
and safe against the old database's WAL; ``backup -`` and ``--version`` alongside."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import __version__
from bot.ops import (
    RestoreError,
    backup,
    check_health,
    check_restorable,
    restore,
    running_bot,
    write_heartbeat,
)
from bot.sources.model import Takeaway
from bot.store import Store
from bot.store.migrations import MIGRATIONS
from bot.telegram.heartbeat import mark_state
from tests.first_schema import first_schema

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def make_database(path: Path, texts: list[str]) -> None:
    async with await Store.open(path) as store:
        await store.import_takeaways([Takeaway(text=t, title="T") for t in texts])


def count(path: Path) -> int:
    # closing(): an idle connection left open would rightly make restore refuse.
    with closing(sqlite3.connect(path)) as db:
        (n,) = db.execute("SELECT COUNT(*) FROM takeaways").fetchone()
    return int(n)


def cli(*args: str, db: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    environ = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    environ["DATABASE_PATH"] = str(db)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        input=stdin if stdin is not None else b"",
        env=environ,
        cwd=db.parent,
        timeout=120,
    )


async def test_restore_replaces_the_database_and_keeps_the_old_one(tmp_path: Path) -> None:
    live = tmp_path / "data" / "takeaways.db"
    await make_database(live, ["kept in the backup"])
    backup(live, tmp_path / "backup.db")
    async with await Store.open(live) as store:
        await store.import_takeaways([Takeaway(text="written after the backup", title="T")])
        # The bot stopped without a checkpoint: its -wal holds the last writes. They
        # must not be replayed over the restored file.
        async with store.transaction():
            await write_heartbeat(store.db, NOW - timedelta(hours=1))
    result = restore(tmp_path / "backup.db", live, NOW)
    assert (result.takeaways, result.schema) == (1, len(MIGRATIONS))
    assert count(live) == 1
    assert result.kept == live.with_name("takeaways.db.before-restore")
    assert count(result.kept) == 2  # what was replaced, in case it was the wrong file
    async with await Store.open(live) as store:  # the bot opens it as usual
        assert [h.item.takeaway.text for h in await store.search("kept")] == ["kept in the backup"]
    # The backup's copy of the old heartbeat is gone: health does not trust it.
    assert "no heartbeat yet" in (check_health(live, NOW) or "")


async def test_restore_refuses_what_it_cannot_run_and_changes_nothing(tmp_path: Path) -> None:
    live = tmp_path / "takeaways.db"
    await make_database(live, ["one", "two"])
    (tmp_path / "junk.db").write_bytes(b"not a database" * 100)
    (tmp_path / "empty.db").write_bytes(b"")
    with closing(sqlite3.connect(tmp_path / "other.db")) as other:
        other.execute("CREATE TABLE notes (x)")
    newer = tmp_path / "newer.db"
    backup(live, newer)
    with closing(sqlite3.connect(newer)) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1:d}")
    cases = {
        "missing.db": "no such file",
        "junk.db": "not an SQLite database",
        "empty.db": "not an SQLite database (it is empty)",
        "other.db": "not a takeaways database",
        "newer.db": f"database schema {len(MIGRATIONS) + 1}; this one knows up to",
    }
    for name, wanted in cases.items():
        with pytest.raises(RestoreError, match=None) as caught:
            restore(tmp_path / name, live, NOW)
        assert wanted in str(caught.value), (name, caught.value)
    assert count(live) == 2
    assert not live.with_name("takeaways.db.before-restore").exists()


async def test_a_damaged_backup_fails_the_integrity_check(tmp_path: Path) -> None:
    source = tmp_path / "damaged.db"
    await make_database(source, [f"idea number {i} " * 20 for i in range(300)])
    backup(source, tmp_path / "copy.db")
    data = bytearray((tmp_path / "copy.db").read_bytes())
    page = 4096
    data[page * 3 : page * 3 + 200] = b"\xff" * 200  # scribble over a b-tree page
    (tmp_path / "copy.db").write_bytes(bytes(data))
    with pytest.raises(RestoreError, match=r"integrity check|cannot read it"):
        check_restorable(tmp_path / "copy.db")


async def test_an_older_schema_is_accepted_and_upgraded_at_start(tmp_path: Path) -> None:
    old = tmp_path / "v1.db"
    first_schema(old)
    live = tmp_path / "takeaways.db"
    result = restore(old, live, NOW)
    assert result.schema == 1 and result.kept is None
    async with await Store.open(live) as store:
        assert [h.item.id for h in await store.search("old idea")] == [1]


async def test_restore_refuses_while_the_bot_runs(tmp_path: Path) -> None:
    live = tmp_path / "takeaways.db"
    await make_database(live, ["live"])
    backup(live, tmp_path / "backup.db")
    async with await Store.open(live) as store:
        async with store.transaction():
            await write_heartbeat(store.db, NOW - timedelta(seconds=5))
        assert "last sign of life 5 s ago" in (running_bot(live, NOW) or "")
        with pytest.raises(RestoreError, match="stop it first"):
            restore(tmp_path / "backup.db", live, NOW)
        # --force gets past the heartbeat, not past SQLite: the open bot still blocks it.
        with pytest.raises(RestoreError, match="is in use"):
            restore(tmp_path / "backup.db", live, NOW, force=True)
        await mark_state(store, NOW, "stopped")
    # Stopped cleanly a moment ago: no need to wait for the heartbeat to age.
    assert running_bot(live, NOW) is None
    assert restore(tmp_path / "backup.db", live, NOW).takeaways == 1
    # A bot that died without a word: refused until its last sign of life is old.
    async with await Store.open(live) as store, store.transaction():
        await write_heartbeat(store.db, NOW)
    assert running_bot(live, NOW + timedelta(seconds=30)) is not None
    assert running_bot(live, NOW + timedelta(seconds=60)) is None
    assert restore(tmp_path / "backup.db", live, NOW, force=True).takeaways == 1


async def test_backup_to_stdout_then_restore_from_stdin(tmp_path: Path) -> None:
    """The README's container commands: ``exec -T bot takeaways-bot backup - > FILE`` and
    ``run --rm -T bot restore - < FILE``, with a backup only its owner can read."""
    live = tmp_path / "data" / "takeaways.db"
    await make_database(live, ["first", "second", "third"])
    made = cli("backup", "-", db=live)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(b"SQLite format 3\x00")
    assert b"3 takeaways" in made.stderr  # the summary stays out of the file
    saved = tmp_path / "takeaways-2026-03-02.db"
    saved.write_bytes(made.stdout)
    saved.chmod(0o600)
    assert not list(live.parent.glob(".backup-*"))  # its temporary copy is gone
    await make_database(live, ["fourth"])
    restored = cli("restore", "-", db=live, stdin=saved.read_bytes())
    assert restored.returncode == 0, restored.stderr
    out = restored.stdout.decode()
    assert out.startswith(f"Restored stdin into {live} (3 takeaways, 0 subscribers, schema")
    assert "Start the bot now." in out
    assert count(live) == 3
    assert not list(live.parent.glob(".restore-*"))
    by_name = cli("restore", str(saved), db=live)
    assert by_name.returncode == 0 and b"Restored " + str(saved).encode() in by_name.stdout


def test_restore_failures_are_one_clear_line(tmp_path: Path) -> None:
    live = tmp_path / "takeaways.db"
    missing = cli("restore", "takeaways-2026-01-31.db", db=live)
    nothing = cli("restore", "-", db=live, stdin=b"")
    for result, wanted in [
        (missing, "takeaways-2026-01-31.db: no such file"),
        (nothing, "stdin: not an SQLite database (it is empty)"),
    ]:
        assert result.returncode == 1
        lines = result.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and wanted in lines[0], result.stderr
        assert lines[0].startswith("takeaways-bot: restore refused: ")
    assert not live.exists()


def test_version_names_the_release_and_the_schema(tmp_path: Path) -> None:
    result = cli("--version", db=tmp_path / "t.db")
    assert result.returncode == 0
    assert result.stdout.decode().strip() == (
        f"takeaways-bot {__version__} (database schema {len(MIGRATIONS)})"
    )


async def test_restore_over_a_damaged_database_sets_it_aside(tmp_path: Path) -> None:
    live = tmp_path / "data" / "takeaways.db"
    await make_database(tmp_path / "good.db", ["from the backup"])
    live.parent.mkdir()
    live.write_bytes(b"not a database at all, but many bytes of it" * 100)
    live.with_name("takeaways.db-wal").write_bytes(b"junk")

    result = restore(tmp_path / "good.db", live, NOW)

    assert count(live) == 1
    assert result.kept == live.with_name("takeaways.db.damaged")
    assert result.kept.read_bytes().startswith(b"not a database")
    assert not live.with_name("takeaways.db-wal").exists()


async def test_restore_onto_a_new_host_makes_private_files(tmp_path: Path) -> None:
    backup_file = tmp_path / "good.db"
    await make_database(backup_file, ["one"])
    live = tmp_path / "new" / "takeaways.db"
    old = os.umask(0o022)
    try:
        restore(backup_file, live, NOW)
    finally:
        os.umask(old)
    assert live.stat().st_mode & 0o777 == 0o600
    assert live.parent.stat().st_mode & 0o777 == 0o700
