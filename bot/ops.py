"""Operations: the heartbeat the running bot writes, the health check, online backup.

These use the standard library's sqlite3 directly: ``health`` must not migrate or lock
anything (Docker runs it every 30 seconds next to the live bot), and the backup API
copies a consistent snapshot while the bot keeps writing.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path

import aiosqlite

from bot.store.db import private_file

HEARTBEAT_KEY = "heartbeat"
DEFAULT_MAX_AGE = 120.0  # seconds: long polls return every ~10 s, the beat is written every 10 s


async def write_heartbeat(db: aiosqlite.Connection, now: datetime) -> None:
    await db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (HEARTBEAT_KEY, now.isoformat()),
    )


def check_health(database: Path, now: datetime, max_age: float = DEFAULT_MAX_AGE) -> str | None:
    """None when healthy; otherwise the one-line reason."""
    if not database.exists():
        return f"no database at {database}"
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (HEARTBEAT_KEY,)).fetchone()
    except sqlite3.Error as error:
        return f"cannot read the database {database}: {error}"
    if row is None:
        return "no heartbeat yet: the bot has not polled Telegram (is `takeaways-bot run` up?)"
    age = (now - datetime.fromisoformat(row[0])).total_seconds()
    if age > max_age:
        return (
            f"last heartbeat {age:.0f} s ago (more than {max_age:.0f} s): the bot is stuck or down"
        )
    return None


def backup(database: Path, target: Path) -> tuple[int, int]:
    """Copy ``database`` to ``target`` consistently, even while the bot writes to it.

    Written to a temporary file first and renamed, so ``target`` is never half a
    database. Returns (takeaways, chats) counted in the copy, after an integrity check.
    The copy is the owner's alone, like the database: 0600, in a folder made 0700.
    """
    if not database.exists():
        raise FileNotFoundError(f"no database at {database}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    private_file(partial, side_files=True)
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as source:
        with sqlite3.connect(partial) as copy:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")
            (verdict,) = copy.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"the copy failed its integrity check: {verdict}")
            counts = copy.execute(
                "SELECT (SELECT COUNT(*) FROM takeaways),"
                " (SELECT COUNT(*) FROM chats WHERE subscribed = 1)"
            ).fetchone()
        copy.close()
    source.close()
    os.replace(partial, target)
    return int(counts[0]), int(counts[1])
