"""Shared pieces of the reliability suite: bot subprocesses, bulk subscribers, checks.

Not a test module (no ``test_`` prefix); the suite's tests import it as
``tests.reliability.reliability_support``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from bot.importer import import_paths
from bot.standin import BotAPIStandin, SentMessage
from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "bot" / "samples"
DAILY_PREFIX = "☀️ Today's takeaway"
# The full-size runs (5,000 subscribers killed mid-run, ...) are slow; CI runs smaller ones.
FULL = os.environ.get("TAKEAWAYS_FULL_RELIABILITY") == "1"


def dailies(standin: BotAPIStandin, chat_id: int) -> list[SentMessage]:
    """The daily takeaways a chat received (not /random answers or notes)."""
    return [m for m in standin.messages(chat_id) if m.text.startswith(DAILY_PREFIX)]


def daily_counts(standin: BotAPIStandin, chat_ids: Iterable[int]) -> dict[int, int]:
    return {chat: len(dailies(standin, chat)) for chat in chat_ids}


def integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` of the file, read by a fresh connection."""
    with sqlite3.connect(path) as db:
        rows = db.execute("PRAGMA integrity_check").fetchall()
    return ", ".join(str(row[0]) for row in rows)


def scalar(path: Path, sql: str, params: Sequence[object] = ()) -> Any:
    with sqlite3.connect(path, timeout=10) as db:
        row = db.execute(sql, params).fetchone()
    return None if row is None else row[0]


def ledger(path: Path) -> dict[str, int]:
    """Daily ledger rows by status."""
    with sqlite3.connect(path, timeout=10) as db:
        rows = db.execute("SELECT status, COUNT(*) FROM daily GROUP BY status").fetchall()
    return {str(status): int(count) for status, count in rows}


def noon_zone(now: datetime) -> str:
    """A fixed-offset zone where ``now`` is around midday, so a real-clock run never
    straddles a local midnight (``Etc/GMT-3`` is UTC+3: the sign is inverted)."""
    offset = 12 - now.astimezone(UTC).hour  # -11 .. +12 hours
    return f"Etc/GMT{-offset:+d}"


@dataclass(frozen=True, slots=True)
class Subscriber:
    chat_id: int
    timezone: str
    delivery_time: str  # HH:MM
    next_due: datetime
    due_date: date


async def insert_subscribers(store: Store, subscribers: Sequence[Subscriber]) -> None:
    """Subscribed private chats, in bulk: one statement, one transaction."""
    async with store.transaction():
        await store.db.executemany(
            "INSERT INTO chats (chat_id, kind, subscribed, delivery_time, timezone,"
            " next_due, due_date) VALUES (?, 'private', 1, ?, ?, ?, ?)",
            [
                (
                    s.chat_id,
                    s.delivery_time,
                    s.timezone,
                    int(s.next_due.timestamp()),
                    s.due_date.isoformat(),
                )
                for s in subscribers
            ],
        )


async def seed_database(path: Path, subscribers: Sequence[Subscriber] = ()) -> None:
    """The bundled sample plus ``subscribers``, in a database file that is then closed."""
    async with await Store.open(path) as store:
        if (await store.stats()).takeaways == 0:
            await import_paths(store, [SAMPLES])
        await insert_subscribers(store, subscribers)


def due_now(chat_ids: Iterable[int], now: datetime) -> list[Subscriber]:
    """Subscribers whose takeaway for today is due a minute before ``now`` (real clock)."""
    zone = noon_zone(now)
    slot = (now - timedelta(minutes=1)).replace(second=0, microsecond=0)
    local = slot.astimezone(_zone(zone))
    return [Subscriber(c, zone, f"{local:%H:%M}", slot, local.date()) for c in chat_ids]


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def bot_environment(standin: BotAPIStandin, database: Path, **settings: str) -> dict[str, str]:
    """The environment of a ``takeaways-bot run`` against the stand-in: no inherited
    settings (upper-case variables) except PATH and HOME, and no .env lookup surprises."""
    environ = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    environ.update(
        BOT_TOKEN=standin.token,
        BOT_API_URL=standin.url,
        DATABASE_PATH=str(database),
        LOG_LEVEL="INFO",
    )
    environ.update(settings)
    return environ


class BotProcess:
    """A ``takeaways-bot run`` subprocess whose log goes to a file (a pipe nobody reads
    would fill up and stall the bot)."""

    def __init__(self, environ: dict[str, str], log_path: Path, *, code: str | None = None):
        self.environ = environ
        self.log_path = log_path
        self.code = code
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    async def start(self) -> BotProcess:
        self._log = self.log_path.open("ab")
        args = ["-c", self.code] if self.code else ["-m", "bot", "run"]
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            env=self.environ,
            cwd=self.log_path.parent,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def kill(self) -> int:
        """``kill -9``: no signal handler, no clean-up, nothing flushed."""
        assert self.process is not None
        self.process.kill()
        return await self._reap()

    async def terminate(self, timeout: float = 30) -> int:
        assert self.process is not None
        self.process.terminate()
        return await self._reap(timeout)

    async def wait(self, timeout: float = 60) -> int:
        return await self._reap(timeout)

    async def _reap(self, timeout: float = 30) -> int:
        assert self.process is not None
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
            if self._log is not None:
                self._log.close()
        return code

    async def __aenter__(self) -> BotProcess:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self._log is not None and not self._log.closed:
            self._log.close()


async def poll(predicate: Callable[[], Any], *, timeout: float, every: float = 0.2) -> Any:
    """Wait (real time) until ``predicate()`` is truthy; for conditions outside the
    stand-in's event-driven ``wait_for`` (files, another process's database)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(every)


def run_cli(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``takeaways-bot ARGS`` with DATABASE_PATH set (and a stand-in-looking token for run:
    it never gets as far as Telegram)."""
    environ = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    environ.update(
        DATABASE_PATH=str(database),
        BOT_TOKEN="123456789:AAStandinStandinStandinStandin_12345",
        BOT_API_URL="http://127.0.0.1:9",
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=database.parent.parent,
        timeout=60,
    )


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]
