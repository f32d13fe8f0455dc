"""The daily run: claim what is due, send it, record what happened.

Order of events for one chat, and why:
1. *Claim* (one transaction per batch): the chat's ``daily`` row for its due local date
   becomes ``sending`` and its schedule moves to the next day. After this commit nothing
   can send that date again: a second tick, an overlapping run or a restart sees the row.
2. *Send*, outside any transaction, with bounded concurrency.
   Right before each message's request leaves (the rate limiter admitted it), the row's
   ``requested`` count is committed, and after each answer ``parts_sent`` and then
   ``sent`` are (``journal.py``, shared commits).
3. *Record* (one transaction per batch) what did not go out: ``retry`` with the schedule
   pulled back to a back-off instant the same local day; or ``failed``; or the
   subscription ended on 403.
A crash between 1 and 3 leaves ``sending`` rows claimed by a process that is gone; the
next run takes them up again the same local day (``resume_after_crash``): one never
requested is simply sent; one requested with no answer recorded is sent again (at least
once: it may have arrived) and counted as "resent after a crash". So a crash costs nobody
their day, and duplicates are at most the requests in flight at the crash (bounded by
the send concurrency). A delivery of several messages goes on from ``parts_sent``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import warnings
from collections.abc import Awaitable, Collection, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

import aiosqlite
import httpx
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.clock import Clock
from bot.delivery.journal import Delivery, Journal, sending
from bot.delivery.picker import pick_delivery, pick_next_many
from bot.rules.rounds import RoundState
from bot.rules.schedule import instant_for, local_date, next_delivery_day, parse_hhmm
from bot.store import Store, StoredTakeaway, personal
from bot.store import chats as chat_db
from bot.store.chats import Chat, to_unix

log = logging.getLogger(__name__)


class Send(Protocol):
    """Sends one delivery (one message, or several if long) of one or more takeaways.

    ``done`` messages of it are already out (an earlier try stopped part-way): send the
    rest. A sender that got some out and then failed raises ``PartlySent``.
    """

    def __call__(
        self, chat_id: int, items: Sequence[StoredTakeaway], done: int = 0, /
    ) -> Awaitable[None]: ...


class PartlySent(Exception):
    """``parts`` messages of a delivery are out (in all), then ``error`` stopped it."""

    def __init__(self, parts: int, error: Exception) -> None:
        super().__init__(f"{parts} messages out, then: {error}")
        self.parts = parts
        self.error = error


BATCH_SIZE = 500
CONCURRENCY = 32
TIMEOUT_ATTEMPTS = 2
FIRST_RETRY = timedelta(minutes=1)
# A slot just before local midnight whose chat is claimed just after it is still delivered.
MIDNIGHT_GRACE = timedelta(hours=1)
LONGEST_RETRY = timedelta(minutes=30)
# Who claims: ``sending`` rows of any other value were left by a process that is gone.
THIS_PROCESS = secrets.randbits(62)


@dataclass(slots=True)
class RunReport:
    due: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0
    resent: int = 0  # requested before a crash, no answer recorded: sent again

    def add(self, other: RunReport) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def fields(self) -> dict[str, int]:
        return asdict(self)

    def line(self) -> str:
        line = (
            f"delivery run: due={self.due} sent={self.sent} blocked={self.blocked} "
            f"failed={self.failed} retried_later={self.retried} skipped={self.skipped}"
        )
        return line + (f" resent_after_crash={self.resent}" if self.resent else "")


@dataclass(frozen=True, slots=True)
class Claim:
    chat: Chat
    day: date
    items: tuple[StoredTakeaway, ...]
    attempts: int
    parts_done: int = 0  # messages of this delivery already out


@dataclass(frozen=True, slots=True)
class Outcome:
    claim: Claim
    status: str  # sent | retry | timeout | blocked | failed | migrated
    error: str | None = None
    retry_after: float | None = None
    new_chat_id: int | None = None
    parts: int = 0  # messages of the delivery out after this try, in all


async def deliver_due(
    store: Store,
    send: Send,
    clock: Clock,
    *,
    rng: random.Random | None = None,
    batch_size: int = BATCH_SIZE,
    concurrency: int = CONCURRENCY,
    owner: int = THIS_PROCESS,
) -> RunReport:
    """Deliver everything due at ``clock()``, batch by batch, and report the counts.

    ``owner`` marks the claims as this process's: ``sending`` rows of another owner are
    what a crash left, taken up again first.
    """
    rng = rng or random.Random()
    report = await resume_after_crash(store, clock(), owner)
    # A crash no longer loses what is claimed (it is taken up again). Claims stay no
    # larger than the send concurrency all the same: the rows that may have reached
    # Telegram unrecorded (requests out, answers not yet noted, timeouts recorded only
    # at the batch's end) are then never more than that, which bounds the duplicates a
    # crash can cause; and a /unsubscribe or /time landing while a batch is out misses
    # few (what a claim holds is fixed when it is made).
    claim_size = max(1, min(batch_size, concurrency))
    while True:
        now = clock()
        claims, batch_report = await claim_batch(store, now, rng, claim_size, owner)
        report.add(batch_report)
        if not (batch_report.due or batch_report.skipped):
            break
        outcomes = await send_all(claims, send, concurrency, Journal(store))
        report.add(await record_outcomes(store, outcomes, clock()))
    if report.due or report.skipped or report.resent:
        log.info(report.line(), extra={"event": "delivery_run", **report.fields()})
    return report


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
_DUE_NOW = "UPDATE chats SET next_due = ?, due_date = ? WHERE chat_id = ? AND subscribed = 1"
_DAY_OVER = (
    "UPDATE daily SET status = 'failed', error = ?, updated_at = unixepoch()"
    " WHERE chat_id = ? AND local_date = ?"
)
RESENT = "resent after a crash"
NEVER_REQUESTED = "claimed before a crash, never requested"
TOO_LATE = "claimed before a crash; its day was over before the restart"


async def resume_after_crash(store: Store, now: datetime, owner: int) -> RunReport:
    """Take up again the deliveries a crashed process claimed and did not finish.

    Each becomes a ``retry`` due now for its own local date, sent by the claims that
    follow from ``parts_sent`` on. If one of its messages was requested with no answer
    recorded, it may have arrived: sent again all the same (at least once) and counted
    in ``resent``. A date that is over (past its slot's ``MIDNIGHT_GRACE``) is failed.
    """
    utc_day = now.astimezone(UTC).date()
    days = [(utc_day + timedelta(days=n)).isoformat() for n in (-1, 0, 1)]
    rows = await store.db.execute_fetchall(_LEFT_SENDING, (*days, owner))
    if not rows:
        return RunReport()
    calendar = _Calendar(now)
    report = RunReport()
    taken: list[tuple[str, int, str]] = []
    due: list[tuple[int, str, int]] = []
    over: list[tuple[str, int, str]] = []
    for chat_id, day_text, requested, zone, at in rows:
        day = date.fromisoformat(str(day_text))
        try:
            missed = day < calendar.today(zone) and calendar.slot(day, at, zone) < (
                now - MIDNIGHT_GRACE
            )
        except (ValueError, LookupError):
            missed = True
        if missed:
            over.append((TOO_LATE, chat_id, day_text))
            continue
        taken.append((RESENT if requested else NEVER_REQUESTED, chat_id, day_text))
        due.append((to_unix(now), day_text, chat_id))
        report.resent += bool(requested)
    async with store.transaction() as db:
        await db.executemany(_TAKE_UP, taken)
        await db.executemany(_DUE_NOW, due)
        await db.executemany(_DAY_OVER, over)
    log.warning(
        "after a crash: %d claimed deliveries never requested are sent now; %d requested"
        " with no answer recorded are sent again (they may have arrived); %d too late for"
        " their day",
        len(taken) - report.resent,
        report.resent,
        len(over),
    )
    return report


async def claim_batch(
    store: Store,
    now: datetime,
    rng: random.Random,
    limit: int = BATCH_SIZE,
    owner: int = THIS_PROCESS,
) -> tuple[list[Claim], RunReport]:
    """Claim up to ``limit`` due chats, moving each one's schedule on, in one transaction.

    The due chats are read inside the transaction, so a /time or /unsubscribe that
    committed a moment ago is what the claim sees. One chat that cannot be handled (a
    zone this machine no longer knows, say) is logged and put off a day; it never holds
    up the others.

    The usual chat (due today, nothing in the ledger yet) costs no query of its own: the
    batch takes a fixed handful of statements (ledger lookup, picks with their takeaways,
    schedule and ledger writes), whatever its size.
    """
    report = RunReport()
    db = store.db
    calendar = _Calendar(now)
    async with store.transaction():
        due: list[_Due] = []
        for chat in await chat_db.due_chats(db, now, limit):
            try:
                slot = calendar.due(chat)
                if slot is None:
                    await _skip_missed_day(db, chat, now)
                    report.skipped += 1
                else:
                    due.append(slot)
            except (ValueError, LookupError) as error:  # bad zone or time in the row
                log.error(
                    "chat %s: cannot schedule (%s); trying again tomorrow", chat.chat_id, error
                )
                await chat_db.move_due(db, chat.chat_id, now + timedelta(days=1), None)
                report.skipped += 1
        claims, items = await _claim_due(db, due, rng, now, owner)
    report.due += len(claims)
    report.skipped += len(due) - len(claims)
    missing = [tid for c in claims for tid in c.ids if tid not in items]
    if missing:  # retries of an earlier pick
        items.update(await store.get_takeaways(missing))
    ready = [
        Claim(c.chat, c.day, tuple(items[tid] for tid in c.ids if tid in items), c.attempts, c.done)
        for c in claims
        if any(tid in items for tid in c.ids)
    ]
    return ready, report


@dataclass(frozen=True, slots=True)
class _Due:
    chat: Chat
    day: date  # the local date being delivered
    next_due: datetime  # the slot on the next delivery day after it
    next_date: date
    delivers: bool = True  # False: not one of the chat's days, only the schedule moves


class _Calendar:
    """A batch's time arithmetic, memoised: its chats share a few zones, times and days."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._times: dict[str, time] = {}
        self._todays: dict[str, date] = {}
        self._slots: dict[tuple[date, str, str], datetime] = {}

    def today(self, zone: str) -> date:
        today = self._todays.get(zone)
        if today is None:
            today = self._todays[zone] = local_date(self.now, zone)
        return today

    def slot(self, day: date, at: str, zone: str) -> datetime:
        key = (day, at, zone)
        instant = self._slots.get(key)
        if instant is None:
            parsed = self._times.get(at)
            if parsed is None:
                parsed = self._times[at] = parse_hhmm(at)
            instant = self._slots[key] = instant_for(day, parsed, zone)
        return instant

    def due(self, chat: Chat) -> _Due | None:
        """The chat's delivery and where its schedule moves; None if its day is over.

        A slot from a past local day still counts within ``MIDNIGHT_GRACE`` (a run that
        was busy at 23:59 claims that chat at 00:01); older, the day was missed while the
        bot was down, and today's slot counts if it has come, else nothing yet. A day
        that is not one of the chat's delivery days (it changed /days since) is no
        delivery: the schedule just moves on to the next one.
        """
        zone, at = chat.timezone, chat.delivery_time
        today = self.today(zone)
        day = chat.due_date or today
        if day < today and self.slot(day, at, zone) < self.now - MIDNIGHT_GRACE:
            if self.slot(today, at, zone) > self.now:
                return None
            day = today
        else:
            self.slot(day, at, zone)  # an unreadable time fails here, as it always did
        following = next_delivery_day(day, chat.days)
        return _Due(chat, day, self.slot(following, at, zone), following, chat.delivers_on(day))


async def _skip_missed_day(db: aiosqlite.Connection, chat: Chat, now: datetime) -> None:
    """The slot's whole local day passed while we were down: today's slot next."""
    at = parse_hhmm(chat.delivery_time)
    await _close_missed(db, chat)
    today = local_date(now, chat.timezone)
    await chat_db.move_due(db, chat.chat_id, instant_for(today, at, chat.timezone), today)


# The statements of chat_db.move_due, save_round, get_daily and put_daily (status
# "sending"), each run once for a whole batch: the daily run then costs a handful of
# round trips to SQLite per batch instead of five or six per chat. Moving the schedule
# and saving the round are one UPDATE: both write the same row.
_MOVE_DUE = "UPDATE chats SET next_due = ?, due_date = ? WHERE chat_id = ? AND subscribed = 1"
_MOVE_DUE_AND_ROUND = (
    "UPDATE chats SET next_due = ?, due_date = ?, round_number = ?, round_key = ?,"
    " round_lo = ?, round_hi = ?, round_pos = ?, deliveries = deliveries + 1"
    " WHERE chat_id = ? AND subscribed = 1"
)
_GET_DAILY = (
    "SELECT d.chat_id, d.local_date, d.takeaway_id, d.status, d.attempts, d.more_ids,"
    " d.parts_sent"
    " FROM json_each(?) AS j JOIN daily AS d ON d.chat_id = json_extract(j.value, '$[0]')"
    " AND d.local_date = json_extract(j.value, '$[1]')"
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
class _Entry:
    """A ledger row for a due chat and date."""

    ids: list[int]
    status: str
    attempts: int
    parts_sent: int


@dataclass(frozen=True, slots=True)
class _Claimed:
    chat: Chat
    day: date
    ids: list[int]
    attempts: int
    done: int = 0


async def _claim_due(
    db: aiosqlite.Connection,
    due: list[_Due],
    rng: random.Random,
    now: datetime,
    owner: int = THIS_PROCESS,
) -> tuple[list[_Claimed], dict[int, StoredTakeaway]]:
    """Move every schedule on, pick where the ledger has nothing yet, mark ``sending``.

    Chats whose day is already sent, failed or in flight are moved on and left out.
    Returns the claims and the takeaways read while picking (the picks' existence
    check reads them whole: they are about to be sent anyway).

    Plain chats (one takeaway a delivery, no favorites, nothing turned off) are picked
    for all at once; a chat with personal choices is picked on its own, a few queries.
    A delivery picked earlier (by /today, or a retry) is sent as it was, less what the
    chat has turned down or an admin hid since; if that leaves nothing of one that
    never went out, it is picked afresh.
    """
    if not due:
        return [], {}
    pairs = [(d.chat.chat_id, d.day.isoformat()) for d in due]
    entries = {
        (int(row[0]), str(row[1])): _Entry(
            [int(row[2]), *chat_db.parse_more_ids(row[5])], str(row[3]), int(row[4]), int(row[6])
        )
        for row in await db.execute_fetchall(_GET_DAILY, (json.dumps(pairs),))
    }
    items: dict[int, StoredTakeaway] = {}

    async def existing(ids: Sequence[int]) -> Collection[int]:
        found = await personal.visible_many(db, ids)
        items.update(found)
        return found.keys()

    reused: dict[int, list[int]] = {}
    for d, pair in zip(due, pairs, strict=True):
        entry = entries.get(pair)
        if entry is None or not d.delivers or entry.status not in ("picked", "retry"):
            continue
        if entry.parts_sent:  # part of it is out: the rest must match
            reused[d.chat.chat_id] = entry.ids
            continue
        allowed = await personal.eligible(db, d.chat.chat_id, entry.ids)
        reused[d.chat.chat_id] = [i for i in entry.ids if i in allowed]
        if not reused[d.chat.chat_id] and entry.status == "picked":
            del entries[pair]  # nothing of it went out: pick again below
    fresh = [d for d, pair in zip(due, pairs, strict=True) if pair not in entries and d.delivers]
    special = await personal.personal_chats(db, [d.chat.chat_id for d in fresh])
    plain = [d for d in fresh if d.chat.per_delivery == 1 and d.chat.chat_id not in special]
    picks: dict[int, tuple[list[int], RoundState]] = {}
    for d, (tid, state) in zip(
        plain,
        await pick_next_many(db, [d.chat.round for d in plain], rng, existing),
        strict=True,
    ):
        picks[d.chat.chat_id] = ([] if tid is None else [tid], state)
    stamp = to_unix(now)
    for d in fresh:
        chat = d.chat
        if chat.chat_id not in picks:
            picks[chat.chat_id] = await pick_delivery(
                db,
                chat.chat_id,
                chat.round,
                rng,
                count=chat.per_delivery,
                deliveries=chat.deliveries,
                now=stamp,
            )
    claims: list[_Claimed] = []
    moves: list[tuple[object, ...]] = []
    moves_with_round: list[tuple[object, ...]] = []
    closed: list[tuple[int, str]] = []
    for d, pair in zip(due, pairs, strict=True):
        schedule = (to_unix(d.next_due), d.next_date.isoformat())
        entry = entries.get(pair)
        picked = picks.get(d.chat.chat_id) if entry is None else None
        if picked is not None and picked[0]:
            ids, state = picked
            position = (state.number, state.key, state.lo, state.hi, state.position)
            moves_with_round.append((*schedule, *position, d.chat.chat_id))
            claims.append(_Claimed(d.chat, d.day, ids, 1))
            continue
        if entry is not None and d.chat.chat_id in reused:
            if reused[d.chat.chat_id]:
                claims.append(
                    _Claimed(
                        d.chat, d.day, reused[d.chat.chat_id], entry.attempts + 1, entry.parts_sent
                    )
                )
            else:
                closed.append(pair)
        # else: nothing to send (not a delivery day, or nothing eligible), or the day
        # was sent, failed, or in flight when we last stopped
        moves.append((*schedule, d.chat.chat_id))
    if moves:
        await db.executemany(_MOVE_DUE, moves)
    if moves_with_round:
        await db.executemany(_MOVE_DUE_AND_ROUND, moves_with_round)
    if closed:
        await db.executemany(_NOT_ELIGIBLE, closed)
    if claims:
        await db.executemany(
            _PUT_SENDING,
            [
                (
                    c.chat.chat_id,
                    c.day.isoformat(),
                    c.ids[0],
                    chat_db.dump_more_ids(c.ids[1:]),
                    owner,
                )
                for c in claims
            ],
        )
    return claims, items


async def _close_missed(db: aiosqlite.Connection, chat: Chat) -> None:
    if chat.due_date is None:
        return
    entry = await chat_db.get_daily(db, chat.chat_id, chat.due_date)
    if entry is not None and entry.status in ("picked", "retry"):
        await chat_db.set_daily_status(db, chat.chat_id, chat.due_date, "failed", "day ended")


async def send_all(
    claims: list[Claim], send: Send, concurrency: int, journal: Journal
) -> list[Outcome]:
    """Every claim's outcome, in order, with at most ``concurrency`` sends at a time;
    returns once ``journal`` has committed every delivery that went out.

    A fixed pool of workers takes the claims in turn (rather than a task per claim
    waiting on a semaphore): the same bound, a fraction of the bookkeeping per message.
    """
    outcomes: list[Outcome | None] = [None] * len(claims)
    queue = iter(enumerate(claims))

    async def worker() -> None:
        for index, claim in queue:
            outcomes[index] = await send_one(claim, send, journal)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(claims))))))
    await journal.drain()
    return [out for out in outcomes if out is not None]


async def send_one(claim: Claim, send: Send, journal: Journal) -> Outcome:
    """Send and classify Telegram's answer; never raises for a Telegram error.

    While it sends, its requests are the delivery's (``journal.sending``): the rate
    limiter marks each one in the ledger before it leaves. A delivery that went out
    whole is noted ``sent`` at once, without waiting for the batch.
    """
    delivery = Delivery(journal, claim.chat.chat_id, claim.day, claim.parts_done, claim.parts_done)
    try:
        with sending(delivery):
            if claim.parts_done:
                await send(claim.chat.chat_id, claim.items, claim.parts_done)
            else:
                await send(claim.chat.chat_id, claim.items)
    except PartlySent as partly:
        return replace(classify(claim, partly.error), parts=partly.parts)
    except Exception as error:
        return classify(claim, error)
    delivery.all_out()
    return Outcome(claim, "sent")


def classify(claim: Claim, error: Exception) -> Outcome:
    """What a send's exception means for the delivery: blocked, retry, failed ..."""
    parts = claim.parts_done
    if isinstance(error, Forbidden):
        return Outcome(claim, "blocked", error.message, parts=parts)
    if isinstance(error, ChatMigrated):
        return Outcome(claim, "migrated", error.message, new_chat_id=error.new_chat_id, parts=parts)
    if isinstance(error, RetryAfter):
        return Outcome(claim, "retry", error.message, retry_after=retry_seconds(error), parts=parts)
    if isinstance(error, BadRequest):
        if "chat not found" in error.message.lower():
            return Outcome(claim, "blocked", error.message, parts=parts)
        return Outcome(claim, "failed", error.message, parts=parts)
    if isinstance(error, TimedOut):
        if isinstance(error.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout):
            return Outcome(claim, "retry", error.message, parts=parts)  # never left here
        # The request went out and no answer came: it may well have arrived.
        return Outcome(claim, "timeout", error.message, parts=parts)
    if isinstance(error, NetworkError):  # 5xx and connection errors: nothing arrived
        return Outcome(claim, "retry", error.message, parts=parts)
    log.error("unexpected error sending to chat %s", claim.chat.chat_id, exc_info=error)
    return Outcome(claim, "retry", repr(error), parts=parts)


def retry_seconds(error: RetryAfter) -> float:
    """``retry_after`` as seconds, whichever type this PTB version hands out."""
    with warnings.catch_warnings():
        # PTB 22 warns that the attribute becomes a timedelta; both are handled here.
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def record_outcomes(store: Store, outcomes: list[Outcome], now: datetime) -> RunReport:
    """Count the outcomes and record the ones that did not go out ("sent" is written by
    the journal as each delivery goes out); no transaction when all went out."""
    db = store.db
    report = RunReport(sent=sum(1 for out in outcomes if out.status == "sent"))
    if report.sent == len(outcomes):
        return report
    async with store.transaction():
        for out in outcomes:
            chat, day = out.claim.chat, out.claim.day
            if out.status == "sent":
                continue
            if out.status == "blocked":
                await chat_db.set_daily_status(db, chat.chat_id, day, "failed", out.error)
                await chat_db.mark_blocked(db, chat.chat_id)
                report.blocked += 1
            elif out.status == "failed":
                await chat_db.set_daily_status(db, chat.chat_id, day, "failed", out.error)
                report.failed += 1
                log.warning("chat %s: not delivered: %s", chat.chat_id, out.error)
            elif out.status == "migrated" and out.new_chat_id is not None:
                await chat_db.migrate_chat(db, chat.chat_id, out.new_chat_id)
                await chat_db.set_daily_status(db, out.new_chat_id, day, "retry", out.error)
                await chat_db.move_due(db, out.new_chat_id, now, day, only_if=chat)
                report.retried += 1
            else:
                retried = await _schedule_retry(db, out, now)
                report.retried += retried
                report.failed += 1 - retried
        progress = [
            (out.parts, out.claim.chat.chat_id, out.claim.day.isoformat())
            for out in outcomes
            if out.status != "sent" and out.parts > out.claim.parts_done
        ]
        if progress:
            await db.executemany(_SET_PARTS, progress)
    return report


_SET_PARTS = "UPDATE daily SET parts_sent = ? WHERE chat_id = ? AND local_date = ?"


async def _schedule_retry(db: aiosqlite.Connection, out: Outcome, now: datetime) -> int:
    """Back off exponentially, but only within the same local day; 1 if scheduled.

    A send that timed out after it went out may have arrived: it is retried once that
    day, then given up, so a slow Telegram costs at most one duplicate, never a stream.
    """
    chat, day = out.claim.chat, out.claim.day
    if out.status == "timeout" and out.claim.attempts >= TIMEOUT_ATTEMPTS:
        await chat_db.set_daily_status(db, chat.chat_id, day, "failed", out.error)
        log.warning("chat %s: gave up for %s after repeated timeouts", chat.chat_id, day)
        return 0
    delay = min(FIRST_RETRY * 2 ** (out.claim.attempts - 1), LONGEST_RETRY)
    if out.retry_after is not None:
        delay = max(delay, timedelta(seconds=out.retry_after))
    when = now + delay
    if local_date(when, chat.timezone) != day:
        await chat_db.set_daily_status(db, chat.chat_id, day, "failed", out.error)
        log.warning("chat %s: gave up for %s: %s", chat.chat_id, day, out.error)
        return 0
    await chat_db.set_daily_status(db, chat.chat_id, day, "retry", out.error)
    await chat_db.move_due(db, chat.chat_id, when, day, only_if=chat)
    return 1
