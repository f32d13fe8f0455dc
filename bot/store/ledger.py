"""The daily run's steps in the store, one call each: take up, claim, record.

The daily run (``bot.delivery.daily``) tells its story in a few calls; the rows behind
each step are this module's. Each step is a fixed handful of statements per batch
(``executemany`` and ``json_each`` lookups), whatever the batch's size:

- ``take_up_left``: ``sending`` rows a crashed process left become due again (or failed,
  if their day is over), in one transaction.
- ``due_batch`` then ``claim``, inside the claim's transaction: who is due and what the
  ledger already holds for them; then, with the picks made, every schedule moved on and
  every claimed row marked ``sending``.
- ``record``: what became of the deliveries that did not go out whole, in one transaction.

When a chat is due and where its schedule moves are the rules' (``bot.rules.calendar``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiosqlite

from bot.rules.calendar import Calendar, Slot
from bot.rules.rounds import RoundState
from bot.store import personal
from bot.store import takeaways as takeaway_db
from bot.store.chats import (
    Chat,
    due_chats,
    dump_more_ids,
    get_daily,
    mark_blocked,
    migrate_chat,
    move_due,
    parse_more_ids,
    set_daily_status,
    to_unix,
)
from bot.store.records import StoredTakeaway
from bot.store.store import Store

# --- take up what a crash left ---------------------------------------------------------

# "sending" rows a gone process left, on any local date that can still be today
# somewhere (the ledger index is on (local_date, status): three seeks).
_LEFT_SENDING = (
    "SELECT d.chat_id, d.local_date, d.requested > d.parts_sent, c.timezone,"
    " c.delivery_time FROM daily AS d JOIN chats AS c ON c.chat_id = d.chat_id"
    " WHERE d.local_date IN (?, ?, ?) AND d.status = 'sending' AND d.claimed_by IS NOT ?"
)
_TAKE_UP = (
    "UPDATE daily SET status = 'retry', error = ?, claimed_by = NULL,"
    " updated_at = unixepoch() WHERE chat_id = ? AND local_date = ?"
)
# chats.move_due's statement, for many chats at once (an imported name would escape the
# SQL scan in tests/reliability/test_reliability_security.py, which trusts constants of
# the module itself).
_MOVE_DUE = "UPDATE chats SET next_due = ?, due_date = ? WHERE chat_id = ? AND subscribed = 1"
_DAY_OVER = (
    "UPDATE daily SET status = 'failed', error = ?, updated_at = unixepoch()"
    " WHERE chat_id = ? AND local_date = ?"
)
RESENT = "resent after a crash"
NEVER_REQUESTED = "claimed before a crash, never requested"
TOO_LATE = "claimed before a crash; its day was over before the restart"


@dataclass(frozen=True, slots=True)
class TakenUp:
    """What ``take_up_left`` found: rows due again (``resent`` of them requested with no
    answer recorded: they may have arrived) and rows whose day was over."""

    never_requested: int
    resent: int
    too_late: int


async def release(store: Store, owner: int) -> None:
    """Hand ``owner``'s unfinished claims to the next run's ``take_up_left``.

    A batch cut short in this process (a ledger commit that failed, a bug) leaves its
    rows ``sending`` under its own id, which ``take_up_left`` never takes from its own
    process: released, they are taken up at the next tick instead of at the next start.
    """
    async with store.transaction() as db:
        await db.execute(
            "UPDATE daily SET claimed_by = NULL WHERE status = 'sending' AND claimed_by = ?",
            (owner,),
        )


async def take_up_left(store: Store, now: datetime, owner: int) -> TakenUp | None:
    """Make the ``sending`` rows not claimed by ``owner`` due now for their own local
    date, or failed if that date is over; None (and no transaction) if there are none."""
    utc_day = now.astimezone(UTC).date()
    days = [(utc_day + timedelta(days=n)).isoformat() for n in (-1, 0, 1)]
    rows = await store.db.execute_fetchall(_LEFT_SENDING, (*days, owner))
    if not rows:
        return None
    calendar = Calendar(now)
    taken: list[tuple[str, int, str]] = []
    due: list[tuple[int, str, int]] = []
    over: list[tuple[str, int, str]] = []
    resent = 0
    for chat_id, day_text, requested, zone, at in rows:
        if calendar.over(date.fromisoformat(str(day_text)), at, zone):
            over.append((TOO_LATE, chat_id, day_text))
            continue
        taken.append((RESENT if requested else NEVER_REQUESTED, chat_id, day_text))
        due.append((to_unix(now), day_text, chat_id))
        resent += bool(requested)
    async with store.transaction() as db:
        await db.executemany(_TAKE_UP, taken)
        await db.executemany(_MOVE_DUE, due)
        await db.executemany(_DAY_OVER, over)
    return TakenUp(len(taken) - resent, resent, len(over))


# --- claim ------------------------------------------------------------------------------

_GET_DAILY = (
    "SELECT d.chat_id, d.local_date, d.takeaway_id, d.status, d.attempts, d.more_ids,"
    " d.parts_sent"
    " FROM json_each(?) AS j JOIN daily AS d ON d.chat_id = json_extract(j.value, '$[0]')"
    " AND d.local_date = json_extract(j.value, '$[1]')"
)
# The statements of chats.move_due, save_round and put_daily (status "sending"), each
# run once for a whole batch. Moving the schedule and saving the round are one UPDATE:
# both write the same row.
_MOVE_DUE_AND_ROUND = (
    "UPDATE chats SET next_due = ?, due_date = ?, round_number = ?, round_key = ?,"
    " round_lo = ?, round_hi = ?, round_pos = ?, deliveries = deliveries + 1"
    " WHERE chat_id = ? AND subscribed = 1"
)
# A new attempt has requested nothing yet: ``requested`` starts again from what is out.
_PUT_SENDING = (
    "INSERT INTO daily (chat_id, local_date, takeaway_id, more_ids, status, attempts,"
    " claimed_by) VALUES (?, ?, ?, ?, 'sending', 1, ?) ON CONFLICT (chat_id, local_date)"
    " DO UPDATE SET status = excluded.status, attempts = daily.attempts + excluded.attempts,"
    " takeaway_id = excluded.takeaway_id, more_ids = excluded.more_ids,"
    " claimed_by = excluded.claimed_by, requested = daily.parts_sent,"
    " updated_at = unixepoch()"
)
_NOT_ELIGIBLE = (
    "UPDATE daily SET status = 'failed', error = 'no longer for this chat',"
    " updated_at = unixepoch() WHERE chat_id = ? AND local_date = ?"
)


@dataclass(frozen=True, slots=True)
class Claim:
    """One chat's delivery for one local date, marked ``sending`` and ready to go out."""

    chat: Chat
    day: date
    items: tuple[StoredTakeaway, ...]
    attempts: int
    parts_done: int = 0  # messages of this delivery already out


@dataclass(frozen=True, slots=True)
class Due:
    chat: Chat
    slot: Slot


@dataclass(frozen=True, slots=True)
class _Entry:
    """A ledger row for a due chat and date."""

    ids: list[int]
    status: str
    attempts: int
    parts_sent: int


@dataclass(slots=True)
class Batch:
    """Due chats in the claim's transaction, and what the ledger holds for them.

    ``plain`` (one takeaway a delivery, no personal choices) and ``personal`` are the
    chats that need a pick, in due order. ``visible`` is the picks' existence check: it
    keeps the takeaways it reads, which are about to be sent anyway.
    """

    db: aiosqlite.Connection
    due: list[Due] = field(default_factory=list)
    skipped: int = 0  # chats whose day was missed, or put off a day
    put_off: list[tuple[int, str]] = field(default_factory=list)  # (chat, why), to log
    plain: list[Due] = field(default_factory=list)
    personal: list[Due] = field(default_factory=list)
    items: dict[int, StoredTakeaway] = field(default_factory=dict)
    _pairs: list[tuple[int, str]] = field(default_factory=list)  # (chat, date) of ``due``
    _entries: dict[tuple[int, str], _Entry] = field(default_factory=dict)
    _reused: dict[int, list[int]] = field(default_factory=dict)

    async def visible(self, ids: Sequence[int]) -> Collection[int]:
        found = await personal.visible_many(self.db, ids)
        self.items.update(found)
        return found.keys()


async def due_batch(db: aiosqlite.Connection, now: datetime, limit: int) -> Batch:
    """Up to ``limit`` due chats, read inside the caller's transaction (a /time or
    /unsubscribe that committed a moment ago is what it sees), with their ledger rows.

    A chat whose day was missed while the bot was down moves to today's slot; one that
    cannot be scheduled (a zone this machine no longer knows, say) is put off a day and
    listed in ``put_off``; neither holds up the others. A delivery picked earlier (by
    /today, or a retry) is sent as it was, less what the chat has turned down or an
    admin hid since; if that leaves nothing of one that never went out, it is picked
    afresh.
    """
    batch = Batch(db)
    calendar = Calendar(now)
    # Ledger rows come with the due chats for their ``due_date``; a slot on another
    # day (a missed day, a first delivery) is looked up afterwards, all in one query.
    known: dict[tuple[int, str], tuple[Any, ...] | None] = {}
    for chat, row in await due_chats(db, now, limit):
        try:
            slot = calendar.due(chat.timezone, chat.delivery_time, chat.due_date, chat.days)
            if slot is None:
                await _skip_missed_day(db, chat, calendar)
                batch.skipped += 1
            else:
                batch.due.append(Due(chat, slot))
                if slot.day == chat.due_date:
                    known[(chat.chat_id, slot.day.isoformat())] = row
        except (ValueError, LookupError) as error:  # bad zone or time in the row
            batch.put_off.append((chat.chat_id, str(error)))
            await move_due(db, chat.chat_id, now + timedelta(days=1), None)
            batch.skipped += 1
    if not batch.due:
        return batch
    pairs = batch._pairs = [(d.chat.chat_id, d.slot.day.isoformat()) for d in batch.due]
    rows: list[Any] = [(*pair, *row) for pair, row in known.items() if row is not None]
    unknown = [pair for pair in pairs if pair not in known]
    if unknown:
        rows.extend(await db.execute_fetchall(_GET_DAILY, (json.dumps(unknown),)))
    entries = batch._entries = {
        (int(row[0]), str(row[1])): _Entry(
            [int(row[2]), *parse_more_ids(row[5])], str(row[3]), int(row[4]), int(row[6])
        )
        for row in rows
    }
    for d, pair in zip(batch.due, pairs, strict=True):
        entry = entries.get(pair)
        if entry is None or not d.slot.delivers or entry.status not in ("picked", "retry"):
            continue
        if entry.parts_sent:  # part of it is out: the rest must match
            batch._reused[d.chat.chat_id] = entry.ids
            continue
        allowed = await personal.eligible(db, d.chat.chat_id, entry.ids)
        batch._reused[d.chat.chat_id] = [i for i in entry.ids if i in allowed]
        if not batch._reused[d.chat.chat_id] and entry.status == "picked":
            del entries[pair]  # nothing of it went out: pick again
    due = zip(batch.due, pairs, strict=True)
    fresh = [d for d, pair in due if pair not in entries and d.slot.delivers]
    special = await personal.personal_chats(db, [d.chat.chat_id for d in fresh])
    for d in fresh:
        plain = d.chat.per_delivery == 1 and d.chat.chat_id not in special
        (batch.plain if plain else batch.personal).append(d)
    return batch


async def _skip_missed_day(db: aiosqlite.Connection, chat: Chat, calendar: Calendar) -> None:
    """The slot's whole local day passed while we were down: today's slot next."""
    if chat.due_date is not None:
        entry = await get_daily(db, chat.chat_id, chat.due_date)
        if entry is not None and entry.status in ("picked", "retry"):
            await set_daily_status(db, chat.chat_id, chat.due_date, "failed", "day ended")
    today = calendar.today(chat.timezone)
    await move_due(db, chat.chat_id, calendar.slot(today, chat.delivery_time, chat.timezone), today)


async def claim(
    batch: Batch, picks: dict[int, tuple[list[int], RoundState]], owner: int
) -> tuple[list[Claim], int]:
    """Move every due chat's schedule on and mark its delivery ``sending`` for ``owner``.

    ``picks`` are the fresh picks by chat (ids and the round after them). Chats whose
    day is already sent, failed or in flight, or not a delivery day, or with nothing to
    send, are moved on and left out. Returns the claims ready to send and how many were
    claimed (a claim whose takeaways are all gone since is not sent).
    """
    db = batch.db
    claimed: list[tuple[Chat, date, list[int], int, int]] = []
    moves: list[tuple[object, ...]] = []
    moves_with_round: list[tuple[object, ...]] = []
    closed: list[tuple[int, str]] = []
    for d, pair in zip(batch.due, batch._pairs, strict=True):
        chat, slot = d.chat, d.slot
        schedule = (to_unix(slot.next_due), slot.next_date.isoformat())
        entry = batch._entries.get(pair)
        picked = picks.get(chat.chat_id) if entry is None else None
        if picked is not None and picked[0]:
            ids, state = picked
            position = (state.number, state.key, state.lo, state.hi, state.position)
            moves_with_round.append((*schedule, *position, chat.chat_id))
            claimed.append((chat, slot.day, ids, 1, 0))
            continue
        if entry is not None and chat.chat_id in batch._reused:
            reused = batch._reused[chat.chat_id]
            if reused:
                claimed.append((chat, slot.day, reused, entry.attempts + 1, entry.parts_sent))
            else:
                closed.append(pair)
        # else: nothing to send (not a delivery day, or nothing eligible), or the day
        # was sent, failed, or in flight when we last stopped
        moves.append((*schedule, chat.chat_id))
    # Queued together, awaited together: the statements run in order in SQLite's
    # thread without a round trip back here between them. One failing raises here and
    # the caller's transaction rolls all of them back.
    writes = []
    if moves:
        writes.append(db.executemany(_MOVE_DUE, moves))
    if moves_with_round:
        writes.append(db.executemany(_MOVE_DUE_AND_ROUND, moves_with_round))
    if closed:
        writes.append(db.executemany(_NOT_ELIGIBLE, closed))
    if claimed:
        rows = [
            (chat.chat_id, day.isoformat(), ids[0], dump_more_ids(ids[1:]), owner)
            for chat, day, ids, _, _ in claimed
        ]
        writes.append(db.executemany(_PUT_SENDING, rows))
    for result in await asyncio.gather(*writes, return_exceptions=True):
        if isinstance(result, BaseException):
            raise result
    items = batch.items
    missing = [tid for _, _, ids, _, _ in claimed for tid in ids if tid not in items]
    if missing:  # retries of an earlier pick
        items.update(await takeaway_db.get_many(db, missing))
    ready = [
        Claim(chat, day, tuple(items[tid] for tid in ids if tid in items), attempts, done)
        for chat, day, ids, attempts, done in claimed
        if any(tid in items for tid in ids)
    ]
    return ready, len(claimed)


# --- record -----------------------------------------------------------------------------

_SET_PARTS = "UPDATE daily SET parts_sent = ? WHERE chat_id = ? AND local_date = ?"


@dataclass(frozen=True, slots=True)
class Note:
    """What became of one delivery that did not go out whole."""

    chat: Chat  # as claimed: a schedule moves only if the chat's settings are unchanged
    day: date
    status: str  # failed | retry
    error: str | None
    due_again: datetime | None = None  # a retry: when the schedule is pulled back to
    blocked: bool = False  # the chat blocked the bot: its subscription ends
    migrated_to: int | None = None  # the group's new id; the row and retry follow it
    parts: int | None = None  # messages out in all, if more than before this try


async def record(store: Store, notes: Sequence[Note]) -> None:
    """Write the notes, in order, in one transaction."""
    async with store.transaction() as db:
        progress: list[tuple[int, int, str]] = []
        for note in notes:
            chat_id = note.chat.chat_id
            if note.migrated_to is not None:
                await migrate_chat(db, chat_id, note.migrated_to)
                chat_id = note.migrated_to  # the row moved with the chat
            await set_daily_status(db, chat_id, note.day, note.status, note.error)
            if note.blocked:
                await mark_blocked(db, chat_id)
            if note.due_again is not None:
                await move_due(db, chat_id, note.due_again, note.day, only_if=note.chat)
            if note.parts is not None:
                progress.append((note.parts, chat_id, note.day.isoformat()))
        if progress:
            await db.executemany(_SET_PARTS, progress)
