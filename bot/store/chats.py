"""Chats (subscribers), their schedule and round position, and the daily ledger.

The ``daily`` table is the once-a-day guarantee: one row per chat and local date, its
UNIQUE (chat_id, local_date) making a second takeaway for the same day impossible
whatever runs twice (rows are stored in the order they are written: schema 6).
A chat's ``next_due`` (UTC, unix seconds) and ``due_date`` (the local date that instant
belongs to) make "who is due" one indexed range query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import aiosqlite

from bot.rules.rounds import RoundState
from bot.rules.schedule import EVERY_DAY, delivers_on

CHAT_COLUMNS = (
    "chat_id, kind, title, subscribed, blocked, delivery_time, timezone, next_due, due_date, "
    "days, per_delivery, deliveries, round_number, round_key, round_lo, round_hi, round_pos"
)


@dataclass(frozen=True, slots=True)
class Chat:
    chat_id: int
    kind: str
    title: str | None
    subscribed: bool
    blocked: bool
    delivery_time: str
    timezone: str
    next_due: datetime | None
    due_date: date | None
    round: RoundState
    days: int = EVERY_DAY
    per_delivery: int = 1
    deliveries: int = 0

    def delivers_on(self, day: date) -> bool:
        return delivers_on(self.days, day)


@dataclass(frozen=True, slots=True)
class DailyEntry:
    chat_id: int
    local_date: date
    takeaway_id: int
    status: str  # picked | sending | sent | retry | failed
    attempts: int
    more_ids: tuple[int, ...] = ()

    @property
    def takeaway_ids(self) -> list[int]:
        return [self.takeaway_id, *self.more_ids]


def _chat(row: Sequence[Any]) -> Chat:
    # Positional and without a generator: the daily run decodes a row per due chat.
    (chat_id, kind, title, subscribed, blocked, at, zone, next_due, due_date, *rest) = row
    days, per_delivery, deliveries, number, key, lo, hi, position = rest
    return Chat(
        int(chat_id),
        str(kind),
        None if title is None else str(title),
        bool(subscribed),
        bool(blocked),
        str(at),
        str(zone),
        None if next_due is None else from_unix(int(next_due)),
        None if due_date is None else date.fromisoformat(str(due_date)),
        RoundState(int(number), int(key), int(lo), int(hi), int(position)),
        int(days),
        int(per_delivery),
        int(deliveries),
    )


def to_unix(instant: datetime) -> int:
    return int(instant.timestamp())


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def get_chat(db: aiosqlite.Connection, chat_id: int) -> Chat | None:
    sql = f"SELECT {CHAT_COLUMNS} FROM chats WHERE chat_id = ?"  # noqa: S608 - constant
    async with db.execute(sql, (chat_id,)) as cursor:
        row = await cursor.fetchone()
    return None if row is None else _chat(row)


async def ensure_chat(
    db: aiosqlite.Connection,
    chat_id: int,
    *,
    kind: str,
    title: str | None,
    delivery_time: str,
    timezone: str,
) -> Chat:
    """The chat's row, created with the bot's defaults on first contact."""
    await db.execute(
        "INSERT INTO chats (chat_id, kind, title, delivery_time, timezone) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (chat_id) DO UPDATE SET kind = excluded.kind,"
        " title = COALESCE(excluded.title, chats.title)",
        (chat_id, kind, title, delivery_time, timezone),
    )
    chat = await get_chat(db, chat_id)
    assert chat is not None
    return chat


async def save_schedule(
    db: aiosqlite.Connection,
    chat_id: int,
    *,
    subscribed: bool,
    delivery_time: str,
    timezone: str,
    days: int,
    next_due: datetime | None,
    due_date: date | None,
) -> None:
    await db.execute(
        "UPDATE chats SET subscribed = ?, blocked = CASE WHEN ? THEN 0 ELSE blocked END,"
        " delivery_time = ?, timezone = ?, days = ?, next_due = ?, due_date = ?,"
        " updated_at = unixepoch() WHERE chat_id = ?",
        (
            int(subscribed),
            int(subscribed),
            delivery_time,
            timezone,
            days,
            None if next_due is None else to_unix(next_due),
            None if due_date is None else due_date.isoformat(),
            chat_id,
        ),
    )


async def move_due(
    db: aiosqlite.Connection,
    chat_id: int,
    next_due: datetime,
    due_date: date | None,
    *,
    only_if: Chat | None = None,
) -> None:
    """Move only the chat's next delivery; its settings are the person's, not the run's.

    With ``only_if``, nothing moves unless the chat is still subscribed with the same
    time and zone as that snapshot: a /time, /timezone or /unsubscribe that landed
    while a message was in flight has already set the schedule it wants.
    """
    sql = "UPDATE chats SET next_due = ?, due_date = ? WHERE chat_id = ? AND subscribed = 1"
    params: list[object] = [
        to_unix(next_due),
        None if due_date is None else due_date.isoformat(),
        chat_id,
    ]
    if only_if is not None:
        sql += " AND delivery_time = ? AND timezone = ? AND days = ?"
        params += [only_if.delivery_time, only_if.timezone, only_if.days]
    await db.execute(sql, params)


async def save_round(
    db: aiosqlite.Connection, chat_id: int, state: RoundState, *, delivery: bool = False
) -> None:
    """Where the chat is in its round; ``delivery``: a delivery was picked (every few
    deliveries bring back a favorite, so they are counted)."""
    await db.execute(
        "UPDATE chats SET round_number = ?, round_key = ?, round_lo = ?, round_hi = ?,"
        " round_pos = ?, deliveries = deliveries + ? WHERE chat_id = ?",
        (state.number, state.key, state.lo, state.hi, state.position, int(delivery), chat_id),
    )


async def save_per_delivery(db: aiosqlite.Connection, chat_id: int, count: int) -> None:
    await db.execute(
        "UPDATE chats SET per_delivery = ?, updated_at = unixepoch() WHERE chat_id = ?",
        (count, chat_id),
    )


async def mark_blocked(db: aiosqlite.Connection, chat_id: int) -> None:
    """The chat blocked or removed the bot: stop for good (until it sends /start again)."""
    await db.execute(
        "UPDATE chats SET subscribed = 0, blocked = 1, next_due = NULL, updated_at = unixepoch()"
        " WHERE chat_id = ?",
        (chat_id,),
    )


async def migrate_chat(db: aiosqlite.Connection, old_id: int, new_id: int) -> None:
    """A group became a supergroup: its history and schedule follow the new id."""
    async with db.execute("SELECT 1 FROM chats WHERE chat_id = ?", (new_id,)) as cursor:
        exists = await cursor.fetchone()
    if exists:
        await db.execute("DELETE FROM chats WHERE chat_id = ?", (new_id,))
    await db.execute("UPDATE chats SET chat_id = ? WHERE chat_id = ?", (new_id, old_id))


_DUE = (
    "SELECT c.chat_id, c.kind, c.title, c.subscribed, c.blocked, c.delivery_time, c.timezone,"
    " c.next_due, c.due_date, c.days, c.per_delivery, c.deliveries, c.round_number,"
    " c.round_key, c.round_lo, c.round_hi, c.round_pos,"  # CHAT_COLUMNS, of ``c``
    " d.takeaway_id, d.status, d.attempts, d.more_ids, d.parts_sent"
    " FROM chats AS c LEFT JOIN daily AS d"
    " ON d.chat_id = c.chat_id AND d.local_date = c.due_date"
    " WHERE c.subscribed = 1 AND c.next_due IS NOT NULL AND c.next_due <= ?"
    " ORDER BY c.next_due LIMIT ?"
)
_CHAT_WIDTH = len(CHAT_COLUMNS.split(", "))


async def due_chats(
    db: aiosqlite.Connection, now: datetime, limit: int
) -> list[tuple[Chat, tuple[Any, ...] | None]]:
    """Up to ``limit`` due chats, soonest first, each with its ledger row for its
    ``due_date`` (takeaway_id, status, attempts, more_ids, parts_sent) if it has one:
    the usual due chat's whole state in one query."""
    rows = await db.execute_fetchall(_DUE, (to_unix(now), limit))
    return [
        (_chat(row[:_CHAT_WIDTH]), None if row[_CHAT_WIDTH] is None else tuple(row[_CHAT_WIDTH:]))
        for row in rows
    ]


async def get_daily(db: aiosqlite.Connection, chat_id: int, day: date) -> DailyEntry | None:
    async with db.execute(
        "SELECT chat_id, local_date, takeaway_id, status, attempts, more_ids FROM daily"
        " WHERE chat_id = ? AND local_date = ?",
        (chat_id, day.isoformat()),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    return DailyEntry(
        int(row[0]),
        date.fromisoformat(row[1]),
        int(row[2]),
        row[3],
        int(row[4]),
        more_ids=parse_more_ids(row[5]),
    )


def parse_more_ids(value: object) -> tuple[int, ...]:
    """``daily.more_ids`` (a JSON array, or NULL for a one-takeaway delivery)."""
    if not isinstance(value, str) or not value:
        return ()
    return tuple(int(v) for v in json.loads(value))


def dump_more_ids(ids: Sequence[int]) -> str | None:
    return json.dumps([int(i) for i in ids]) if ids else None


async def put_daily(
    db: aiosqlite.Connection,
    chat_id: int,
    day: date,
    takeaway_ids: Sequence[int],
    status: str,
) -> None:
    """Insert or move on the chat's entry for ``day``; counts sending attempts."""
    first, *more = takeaway_ids
    await db.execute(
        "INSERT INTO daily (chat_id, local_date, takeaway_id, status, attempts, more_ids)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id, local_date) DO UPDATE SET"
        " status = excluded.status, attempts = daily.attempts + excluded.attempts,"
        " takeaway_id = excluded.takeaway_id, more_ids = excluded.more_ids,"
        " updated_at = unixepoch()",
        (
            chat_id,
            day.isoformat(),
            first,
            status,
            1 if status == "sending" else 0,
            dump_more_ids(more),
        ),
    )


async def set_daily_status(
    db: aiosqlite.Connection, chat_id: int, day: date, status: str, error: str | None = None
) -> None:
    await db.execute(
        "UPDATE daily SET status = ?, error = ?, updated_at = unixepoch(),"
        " sent_at = CASE WHEN ? = 'sent' THEN unixepoch() ELSE sent_at END"
        " WHERE chat_id = ? AND local_date = ?",
        (status, error, status, chat_id, day.isoformat()),
    )


async def count_chats(db: aiosqlite.Connection) -> dict[str, int]:
    async with db.execute(
        "SELECT COALESCE(SUM(subscribed), 0), COALESCE(SUM(blocked), 0), COUNT(*) FROM chats"
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return {"subscribed": int(row[0]), "blocked": int(row[1]), "chats": int(row[2])}


async def count_daily(db: aiosqlite.Connection, day: date) -> dict[str, int]:
    """Ledger entries for one local date by status (sent, failed, retry, ...)."""
    async with db.execute(
        "SELECT status, COUNT(*) FROM daily WHERE local_date = ? GROUP BY status",
        (day.isoformat(),),
    ) as cursor:
        rows = await cursor.fetchall()
    return {str(status): int(count) for status, count in rows}


async def subscribed_channels(db: aiosqlite.Connection) -> list[int]:
    async with db.execute(
        "SELECT chat_id FROM chats WHERE kind = 'channel' AND subscribed = 1"
    ) as cursor:
        return [int(row[0]) for row in await cursor.fetchall()]
