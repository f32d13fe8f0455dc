"""The daily run: claim what is due, send it, record what happened.

Order of events for one chat, and why:
1. *Claim* (one transaction per batch): the chat's ``daily`` row for its due local date
   becomes ``sending`` and its schedule moves to the next day. After this commit nothing
   can send that date again: a second tick, an overlapping run or a restart sees the row.
2. *Send*, outside any transaction, with bounded concurrency.
3. *Record* (one transaction per batch): ``sent``; or ``retry`` with the schedule pulled
   back to a back-off instant the same local day; or the subscription ended on 403.
A crash between 1 and 3 leaves ``sending`` rows: those messages may or may not have
reached Telegram, so they are never sent again (at most once for what was in flight).
"""

from __future__ import annotations

import asyncio
import logging
import random
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

import aiosqlite
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.clock import Clock
from bot.delivery.picker import pick_next
from bot.delivery.schedule import instant_for, local_date
from bot.settings import parse_hhmm
from bot.store import Store, StoredTakeaway
from bot.store import chats as chat_db
from bot.store.chats import Chat

log = logging.getLogger(__name__)

Send = Callable[[int, StoredTakeaway], Awaitable[None]]

BATCH_SIZE = 500
CONCURRENCY = 32
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(minutes=30)


@dataclass(slots=True)
class RunReport:
    due: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0

    def add(self, other: RunReport) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def fields(self) -> dict[str, int]:
        return asdict(self)

    def line(self) -> str:
        return (
            f"delivery run: due={self.due} sent={self.sent} blocked={self.blocked} "
            f"failed={self.failed} retried_later={self.retried} skipped={self.skipped}"
        )


@dataclass(frozen=True, slots=True)
class Claim:
    chat: Chat
    day: date
    item: StoredTakeaway
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    claim: Claim
    status: str  # sent | retry | blocked | failed | migrated
    error: str | None = None
    retry_after: float | None = None
    new_chat_id: int | None = None


async def deliver_due(
    store: Store,
    send: Send,
    clock: Clock,
    *,
    rng: random.Random | None = None,
    batch_size: int = BATCH_SIZE,
    concurrency: int = CONCURRENCY,
) -> RunReport:
    """Deliver everything due at ``clock()``, batch by batch, and report the counts."""
    rng = rng or random.Random()
    report = RunReport()
    while True:
        now = clock()
        claims, batch_report = await claim_batch(store, now, rng, batch_size)
        report.add(batch_report)
        if not (batch_report.due or batch_report.skipped):
            break
        outcomes = await send_all(claims, send, concurrency)
        report.add(await record_outcomes(store, outcomes, clock()))
    if report.due or report.skipped:
        log.info(report.line(), extra={"event": "delivery_run", **report.fields()})
    return report


async def claim_batch(
    store: Store, now: datetime, rng: random.Random, limit: int = BATCH_SIZE
) -> tuple[list[Claim], RunReport]:
    """Claim up to ``limit`` due chats, moving each one's schedule on, in one transaction.

    The due chats are read inside the transaction, so a /time or /unsubscribe that
    committed a moment ago is what the claim sees. One chat that cannot be handled (a
    zone this machine no longer knows, say) is logged and put off a day; it never holds
    up the others.
    """
    report = RunReport()
    claims: list[tuple[Chat, date, int, int]] = []
    async with store.transaction():
        for chat in await chat_db.due_chats(store.db, now, limit):
            try:
                claim = await _claim_one(store.db, chat, now, rng)
            except (ValueError, LookupError) as error:  # bad zone or time in the row
                log.error(
                    "chat %s: cannot schedule (%s); trying again tomorrow", chat.chat_id, error
                )
                await chat_db.move_due(store.db, chat.chat_id, now + timedelta(days=1), None)
                report.skipped += 1
                continue
            if claim is None:
                report.skipped += 1
            else:
                claims.append(claim)
                report.due += 1
    items = await store.get_takeaways([c[2] for c in claims])
    ready = [Claim(chat, day, items[tid], n) for chat, day, tid, n in claims if tid in items]
    return ready, report


async def _claim_one(
    db: aiosqlite.Connection, chat: Chat, now: datetime, rng: random.Random
) -> tuple[Chat, date, int, int] | None:
    """Move the chat's schedule on and mark its day ``sending``; None if nothing to send."""
    at = parse_hhmm(chat.delivery_time)
    day = _due_day(chat, now)
    if day is None:
        # The slot's whole local day passed while we were down: today's slot next.
        await _close_missed(db, chat)
        today = local_date(now, chat.timezone)
        await chat_db.move_due(db, chat.chat_id, instant_for(today, at, chat.timezone), today)
        return None
    tomorrow = day + timedelta(days=1)
    await chat_db.move_due(db, chat.chat_id, instant_for(tomorrow, at, chat.timezone), tomorrow)
    entry = await chat_db.get_daily(db, chat.chat_id, day)
    if entry is not None and entry.status not in ("picked", "retry"):
        return None  # sent, failed, or in flight when we last stopped
    if entry is None:
        takeaway_id, state = await pick_next(db, chat.round, rng)
        if takeaway_id is None:
            return None
        await chat_db.save_round(db, chat.chat_id, state)
    else:
        takeaway_id = entry.takeaway_id
    await chat_db.put_daily(db, chat.chat_id, day, takeaway_id, "sending")
    return chat, day, takeaway_id, 1 if entry is None else entry.attempts + 1


def _due_day(chat: Chat, now: datetime) -> date | None:
    """The local date this chat is due for, or None if that day is already over."""
    today = local_date(now, chat.timezone)
    day = chat.due_date or today
    if day < today:
        slot_today = instant_for(today, parse_hhmm(chat.delivery_time), chat.timezone)
        # Down through yesterday's slot but today's has come: deliver today's now.
        return today if slot_today <= now else None
    return day


async def _close_missed(db: aiosqlite.Connection, chat: Chat) -> None:
    if chat.due_date is None:
        return
    entry = await chat_db.get_daily(db, chat.chat_id, chat.due_date)
    if entry is not None and entry.status in ("picked", "retry"):
        await chat_db.set_daily_status(db, chat.chat_id, chat.due_date, "failed", "day ended")


async def send_all(claims: list[Claim], send: Send, concurrency: int) -> list[Outcome]:
    gate = asyncio.Semaphore(concurrency)

    async def one(claim: Claim) -> Outcome:
        async with gate:
            return await send_one(claim, send)

    return list(await asyncio.gather(*(one(c) for c in claims)))


async def send_one(claim: Claim, send: Send) -> Outcome:
    """Send and classify Telegram's answer; never raises for a Telegram error."""
    try:
        await send(claim.chat.chat_id, claim.item)
    except Forbidden as error:
        return Outcome(claim, "blocked", error.message)
    except ChatMigrated as error:
        return Outcome(claim, "migrated", error.message, new_chat_id=error.new_chat_id)
    except RetryAfter as error:
        return Outcome(claim, "retry", error.message, retry_after=retry_seconds(error))
    except BadRequest as error:
        if "chat not found" in error.message.lower():
            return Outcome(claim, "blocked", error.message)
        return Outcome(claim, "failed", error.message)
    except NetworkError as error:  # timeouts and 5xx land here
        return Outcome(claim, "retry", error.message)
    except Exception as error:
        log.exception("unexpected error sending to chat %s", claim.chat.chat_id)
        return Outcome(claim, "retry", repr(error))
    return Outcome(claim, "sent")


def retry_seconds(error: RetryAfter) -> float:
    """``retry_after`` as seconds, whichever type this PTB version hands out."""
    with warnings.catch_warnings():
        # PTB 22 warns that the attribute becomes a timedelta; both are handled here.
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def record_outcomes(store: Store, outcomes: list[Outcome], now: datetime) -> RunReport:
    db = store.db
    report = RunReport()
    async with store.transaction():
        for out in outcomes:
            chat, day = out.claim.chat, out.claim.day
            if out.status == "sent":
                await chat_db.set_daily_status(db, chat.chat_id, day, "sent")
                report.sent += 1
            elif out.status == "blocked":
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
    return report


async def _schedule_retry(db: aiosqlite.Connection, out: Outcome, now: datetime) -> int:
    """Back off exponentially, but only within the same local day; 1 if scheduled."""
    chat, day = out.claim.chat, out.claim.day
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
