"""Operations: the heartbeat the running bot writes, the health check, backup and restore.

These use the standard library's sqlite3 directly: ``health`` must not migrate or lock
anything (Docker runs it every 30 seconds next to the live bot), and the backup API
copies a consistent snapshot while the bot keeps writing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.db import private_file
from bot.store.migrations import MIGRATIONS

HEARTBEAT_KEY = "heartbeat"
# Why the running bot stopped writing its heartbeat, when it knows (webhook mode).
PROBLEM_KEY = "heartbeat_problem"
# What the running bot knows about its link to Telegram (see bot/telegram/heartbeat.py):
# a JSON object, rewritten every 10 s while it polls, and once more when it stops.
TELEGRAM_KEY = "telegram"
DEFAULT_MAX_AGE = 120.0  # seconds: long polls return every ~10 s, the beat is written every 10 s
# A bot that showed a sign of life this recently is taken to be running (restore refuses).
RUNNING_WINDOW = timedelta(seconds=45)
SQLITE_HEADER = b"SQLite format 3\x00"


async def write_heartbeat(db: aiosqlite.Connection, now: datetime) -> None:
    await db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (HEARTBEAT_KEY, now.isoformat()),
    )
    await write_problem(db, None)


async def write_problem(db: aiosqlite.Connection, problem: str | None) -> None:
    """Record why the bot is not well (``health`` reports it at once), or clear it."""
    if problem is None:
        await db.execute("DELETE FROM meta WHERE key = ?", (PROBLEM_KEY,))
        return
    await db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (PROBLEM_KEY, problem),
    )


def check_health(database: Path, now: datetime, max_age: float = DEFAULT_MAX_AGE) -> str | None:
    """None when healthy; otherwise the one-line reason."""
    if not database.exists():
        return f"no database at {database}"
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (HEARTBEAT_KEY,)).fetchone()
            problem = db.execute("SELECT value FROM meta WHERE key = ?", (PROBLEM_KEY,)).fetchone()
    except sqlite3.Error as error:
        return f"cannot read the database {database}: {error}"
    if problem is not None:
        return str(problem[0])
    age = None if row is None else (now - datetime.fromisoformat(row[0])).total_seconds()
    status = read_telegram_status(database)
    if age is not None and age <= max_age and not _stopped(status):
        return None
    link = telegram_reason(status, now, max_age)
    if link is not None:
        return link
    if age is None:
        return "no heartbeat yet: the bot has not polled Telegram (is `takeaways-bot run` up?)"
    return f"last heartbeat {age:.0f} s ago (more than {max_age:.0f} s): the bot is stuck or down"


def read_telegram_status(database: Path) -> dict[str, Any] | None:
    """The running bot's last record of its link to Telegram, or None if it wrote none."""
    try:
        # closing(): restore needs the file to itself right after this, not after the
        # garbage collector gets round to it.
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (TELEGRAM_KEY,)).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    try:
        value = json.loads(row[0])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _stopped(status: dict[str, Any] | None) -> bool:
    return status is not None and status.get("state") == "stopped"


def telegram_reason(status: dict[str, Any] | None, now: datetime, max_age: float) -> str | None:
    """Why there is no fresh heartbeat, when the bot's own record can tell: Telegram out
    of reach while the bot runs and retries, or a bot that was stopped. None when the
    record is missing or as old as the heartbeat (then the bot itself is stuck or down).

    Polling mode only: in webhook mode the bot does not poll, and writes no such record.
    """
    if status is None:
        return None
    written = _when(status.get("written_at"))
    ago = f" {describe_duration(now - written)} ago" if written else ""
    if status.get("state") == "stopped":
        return f"the bot is not running: it stopped cleanly{ago}"
    if status.get("state") == "starting":
        return f"the bot is starting (it began{ago}) and has not reached Telegram yet"
    # The record is rewritten every 10 s: younger than this, the bot's loop is turning.
    fresh = max(max_age, RUNNING_WINDOW.total_seconds())
    if written is None or (now - written).total_seconds() > fresh:
        return None
    last_ok = _when(status.get("last_ok"))
    ok_text = (
        f"last successful call {describe_duration(now - last_ok)} ago"
        if last_ok
        else "no successful call since the bot started"
    )
    if last_ok is None and status.get("down_since") is None:
        return "the bot is running and waiting for Telegram's first answer"
    down_since = _when(status.get("down_since"))
    if down_since is not None:
        error_at = _when(status.get("last_error_at")) or down_since
        return (
            f"Telegram cannot be reached, for {describe_duration(now - down_since)} now "
            f"(last error {describe_duration(now - error_at)} ago: {status.get('last_error')}; "
            f"{ok_text}). The bot is running and retrying: check this host's network "
            "and BOT_API_URL"
        )
    return (
        f"the bot is running but Telegram has not answered ({ok_text}, no error either): "
        "a request to Telegram hangs, or the bot is stuck"
    )


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def describe_duration(span: timedelta) -> str:
    """``2 min 14 s``, ``3 h 5 min``, ``0 s``: for log lines and health reasons."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


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


# --- restore ----------------------------------------------------------------------------


class RestoreError(Exception):
    """The file cannot be restored, or not now; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Restored:
    takeaways: int
    subscribers: int
    schema: int  # the restored file's schema version; the bot migrates it up at start
    kept: Path | None  # the copy of the database it replaced, if there was one


def check_restorable(source: Path, label: str | None = None) -> int:
    """The schema version of ``source`` if it is an intact takeaways database this bot
    can run; RestoreError otherwise. Reads only: the file may be a read-only backup.
    ``label`` names the file in messages (``stdin`` for a file streamed in)."""
    name = label or str(source)
    if not source.is_file():
        what = "a folder" if source.is_dir() else "no such file"
        raise RestoreError(f"{name}: {what}; give the file `takeaways-bot backup` wrote")
    try:
        with source.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as error:
        raise RestoreError(f"{name}: cannot read it ({error.strerror or error})") from None
    if header != SQLITE_HEADER:
        empty = " (it is empty)" if not header else ""
        raise RestoreError(f"{name}: not an SQLite database{empty}; nothing was changed")
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=5)) as db:
            verdict = [str(row[0]) for row in db.execute("PRAGMA integrity_check")]
            if verdict != ["ok"]:
                raise RestoreError(
                    f"{name}: damaged, it failed SQLite's integrity check "
                    f"({'; '.join(verdict[:3])}); nothing was changed"
                )
            (version,) = db.execute("PRAGMA user_version").fetchone()
            tables = {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error as error:
        raise RestoreError(f"{name}: cannot read it as a database ({error})") from None
    known = len(MIGRATIONS)
    if version == 0 or not {"takeaways", "sources"} <= tables:
        raise RestoreError(f"{name}: not a takeaways database; nothing was changed")
    if version > known:
        raise RestoreError(
            f"{name}: written by a newer version of the bot (database schema {version}; "
            f"this one knows up to {known}): upgrade the bot first, then restore"
        )
    return int(version)


def running_bot(database: Path, now: datetime) -> str | None:
    """Whether the bot looks alive on ``database``: its heartbeat or its status record
    is younger than RUNNING_WINDOW and it has not said it stopped. The reason, or None."""
    if not database.exists():
        return None
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (HEARTBEAT_KEY,)).fetchone()
    except sqlite3.Error:
        return None  # nothing a running bot could be using
    status = read_telegram_status(database)
    if _stopped(status):
        return None
    signs = [_when(row[0]) if row else None]
    if status is not None:
        signs.append(_when(status.get("written_at")))
    latest = max((t for t in signs if t is not None), default=None)
    if latest is None or now - latest > RUNNING_WINDOW:
        return None
    ago = describe_duration(now - latest)
    return f"the bot is running on {database} (last sign of life {ago} ago)"


def restore(
    source: Path, database: Path, now: datetime, *, force: bool = False, label: str | None = None
) -> Restored:
    """Replace ``database`` with the backup ``source``, after checking it.

    Stops nothing: a bot that is running (see ``running_bot``) is refused unless
    ``force``. The copy goes through SQLite's backup API into the live file, so the
    old database's -wal and -shm files cannot be replayed over the restored one, and the
    file keeps its owner and mode. The database it replaces is kept first, next to it,
    as ``<name>.before-restore`` (or, when it cannot be read, moved aside as it is, as
    ``<name>.damaged``). The restored copy drops the old
    process's heartbeat so health does not mistake it for a running bot.
    """
    version = check_restorable(source, label)
    if not force:
        running = running_bot(database, now)
        if running is not None:
            raise RestoreError(
                f"{running}: stop it first, then restore (docker compose stop bot). If it is "
                "not running (it crashed), wait a minute or pass --force"
            )
    kept: Path | None = None
    if database.exists() and database.stat().st_size > 0:
        kept = database.with_name(database.name + ".before-restore")
        try:
            backup(database, kept)
        except (OSError, sqlite3.Error):
            # A damaged database is a reason to restore, not to stop: it is set aside as
            # it is (SQLite could not even open it to write over it), with its side files.
            kept = database.with_name(database.name + ".damaged")
            os.replace(database, kept)
            for suffix in ("-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    database.with_name(database.name + suffix).unlink()
    private_file(database, side_files=True)  # a new host's folder and file, 0700 and 0600
    try:
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=5)) as src,
            closing(sqlite3.connect(database, timeout=5)) as target,
        ):
            # Leaving WAL mode needs the only connection: a bot still running makes
            # this fail with "database is locked" instead of restoring under it.
            target.execute("PRAGMA journal_mode = DELETE")
            src.backup(target)
            # (The first schema versions had no chats and no meta table.)
            tables = {str(r[0]) for r in target.execute("SELECT name FROM sqlite_master")}
            if "meta" in tables:
                target.execute(
                    "DELETE FROM meta WHERE key IN (?, ?)", (HEARTBEAT_KEY, TELEGRAM_KEY)
                )
                target.commit()
            # fetchall: a statement left unfinished would keep the file locked.
            verdict = target.execute("PRAGMA quick_check").fetchall()[0][0]
            takeaways = target.execute("SELECT COUNT(*) FROM takeaways").fetchall()[0][0]
            subscribers = (
                target.execute("SELECT COUNT(*) FROM chats WHERE subscribed = 1").fetchall()[0][0]
                if "chats" in tables
                else 0
            )
            target.execute("PRAGMA journal_mode = WAL")
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            raise RestoreError(
                f"{database} is in use (SQLite says: {error}): stop the bot first, then restore"
            ) from None
        raise
    if verdict != "ok":
        raise RestoreError(f"the restored {database} failed its check ({verdict})")
    return Restored(int(takeaways), int(subscribers), version, kept)
