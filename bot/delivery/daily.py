"""The daily run: claim what is due, send it, record what happened.

Order of events for one chat, and why:
1. *Claim* (one transaction per batch): the chat's ``daily`` row for its due local date
   becomes ``sending`` and its schedule moves to the next day. After this commit nothing
   can send that date again: a second tick, an overlapping run or a restart sees the row.
2. *Send*, outside any transaction, by a fixed number of workers, while the next batch
   is claimed (a pipeline: the claim's queries overlap the sends). Right before each
   message's request leaves (the rate limiter admitted it), the row's ``requested``
   count is committed, and after each answer ``parts_sent`` and then ``sent`` are
   (``journal.py``, shared commits).
3. *Record* (one transaction, before each next claim) what did not go out: ``retry``
   with the schedule pulled back to a back-off instant the same local day; or
   ``failed``; or the subscription ended on 403.
A crash between 1 and 3 leaves ``sending`` rows claimed by a process that is gone; the
next run takes them up again the same local day (``resume_after_crash``): one never
requested is simply sent; one requested with no answer recorded is sent again (at least
once: it may have arrived) and counted as "resent after a crash". So a crash costs nobody
their day, and duplicates are at most the requests in flight at the crash (bounded by
the send concurrency). A delivery of several messages goes on from ``parts_sent``.

The rows behind each step are ``bot.store.ledger``'s, one call per step; the calendar is
``bot.rules.calendar``'s. What stays here is the story, the picks and what each outcome
means.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import warnings
from collections.abc import Awaitable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
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
from bot.rules.schedule import local_date
from bot.store import Store, StoredTakeaway, ledger
from bot.store.chats import to_unix
from bot.store.ledger import TOO_LATE as TOO_LATE  # what a too-late crash leftover says
from bot.store.ledger import Batch, Claim, Note

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

    A pipeline: this task claims batch after batch while ``concurrency`` workers send
    what was claimed, so the next claim's queries run while the last one's messages go
    out, and a batch never waits for its slowest message. At most two claims wait
    unsent (the queue and the batch being claimed); what did not go out is recorded
    before each next claim.
    """
    rng = rng or random.Random()
    report = await resume_after_crash(store, clock(), owner)
    # A crash no longer loses what is claimed (it is taken up again). Claims stay no
    # larger than the send concurrency all the same: the rows that may have reached
    # Telegram unrecorded (requests out, answers not yet noted) are then never more
    # than that, which bounds the duplicates a crash can cause; and a /unsubscribe or
    # /time landing while a batch is out misses few (what a claim holds is fixed when
    # it is made).
    claim_size = max(1, min(batch_size, concurrency))
    journal = Journal(store)
    queue: asyncio.Queue[Claim | None] = asyncio.Queue(maxsize=claim_size)
    unsent: list[Outcome] = []  # outcomes to record: what did not go out whole

    async def worker() -> None:
        while (claim := await queue.get()) is not None:
            outcome = await send_one(claim, send, journal)
            if outcome.status == "sent":
                report.sent += 1
            else:
                unsent.append(outcome)
            queue.task_done()

    async def record_unsent() -> None:
        if unsent:
            outcomes, unsent[:] = list(unsent), []
            report.add(await record_outcomes(store, outcomes, clock()))

    workers: list[asyncio.Future[None]] = []  # started as claims come: none for a quiet tick
    try:
        while True:
            journal.check()  # a ledger that cannot be written stops the run
            await record_unsent()
            claims, batch_report = await claim_batch(store, clock(), rng, claim_size, owner)
            report.add(batch_report)
            if not (batch_report.due or batch_report.skipped):
                await queue.join()  # all claimed is out or in ``unsent``
                if not unsent:
                    break
                continue  # recorded next; one may be due again now (a migrated group)
            for claim in claims:
                if len(workers) < max(1, concurrency):
                    workers.append(asyncio.ensure_future(worker()))
                await queue.put(claim)
        await _finish(queue, workers, journal)
        await record_unsent()
    except Exception:
        if not journal.failed:
            # A claim or a record failed (the database locked too long, say): what is
            # already claimed and queued still goes out, rather than requests in flight
            # being cut off (each of those would be sent again: a duplicate). (With the
            # journal failing, nothing more can be marked, so nothing more would leave.)
            with contextlib.suppress(Exception):
                await _finish(queue, workers, journal)
                await record_unsent()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await _release(store, owner)
        raise
    except BaseException:  # cancelled (the bot stops): stop sending now
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await _release(store, owner)
        raise
    if report.due or report.skipped or report.resent:
        log.info(report.line(), extra={"event": "delivery_run", **report.fields()})
    return report


async def _finish(
    queue: asyncio.Queue[Claim | None], workers: list[asyncio.Future[None]], journal: Journal
) -> None:
    """Let the workers send what is queued, then stop them; wait for the journal."""
    for _ in workers:
        await queue.put(None)
    await asyncio.gather(*workers)
    await journal.drain()


async def _release(store: Store, owner: int) -> None:
    """Not lost for the day: the next tick takes up what is left claimed, as a crash's."""
    with contextlib.suppress(aiosqlite.Error):
        await ledger.release(store, owner)


async def resume_after_crash(store: Store, now: datetime, owner: int) -> RunReport:
    """Take up again the deliveries a crashed process claimed and did not finish.

    Each becomes a ``retry`` due now for its own local date, sent by the claims that
    follow from ``parts_sent`` on. If one of its messages was requested with no answer
    recorded, it may have arrived: sent again all the same (at least once) and counted
    in ``resent``. A date that is over (past its slot's ``MIDNIGHT_GRACE``) is failed.
    """
    taken = await ledger.take_up_left(store, now, owner)
    if taken is None:
        return RunReport()
    log.warning(
        "after a crash: %d claimed deliveries never requested are sent now; %d requested"
        " with no answer recorded are sent again (they may have arrived); %d too late for"
        " their day",
        taken.never_requested,
        taken.resent,
        taken.too_late,
    )
    return RunReport(resent=taken.resent)


async def claim_batch(
    store: Store,
    now: datetime,
    rng: random.Random,
    limit: int = BATCH_SIZE,
    owner: int = THIS_PROCESS,
) -> tuple[list[Claim], RunReport]:
    """Claim up to ``limit`` due chats, pick for them and move each one's schedule on, in
    one transaction: who is due (``ledger.due_batch``), the picks, the claims written.

    The usual chat (due today, nothing in the ledger yet) costs no query of its own: the
    batch takes a fixed handful of statements, whatever its size.
    """
    db = store.db
    async with store.transaction():
        batch = await ledger.due_batch(db, now, limit)
        claims, claimed = await _claim_due(db, batch, rng, now, owner)
    for chat_id, error in batch.put_off:
        log.error("chat %s: cannot schedule (%s); trying again tomorrow", chat_id, error)
    skipped = batch.skipped + len(batch.due) - claimed
    return claims, RunReport(due=claimed, skipped=skipped)


async def _claim_due(
    db: aiosqlite.Connection, batch: Batch, rng: random.Random, now: datetime, owner: int
) -> tuple[list[Claim], int]:
    """Pick for the batch's chats that need a pick, then write the claims.

    Plain chats (one takeaway a delivery, no favorites, nothing turned off) are picked
    for all at once; a chat with personal choices is picked on its own, a few queries.
    """
    picks: dict[int, tuple[list[int], RoundState]] = {}
    plain = await pick_next_many(db, [d.chat.round for d in batch.plain], rng, batch.visible)
    for d, (tid, state) in zip(batch.plain, plain, strict=True):
        picks[d.chat.chat_id] = ([] if tid is None else [tid], state)
    stamp = to_unix(now)
    for d in batch.personal:
        chat = d.chat
        picks[chat.chat_id] = await pick_delivery(
            db,
            chat.chat_id,
            chat.round,
            rng,
            count=chat.per_delivery,
            deliveries=chat.deliveries,
            now=stamp,
        )
    return await ledger.claim(batch, picks, owner)


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
    report = RunReport(sent=sum(1 for out in outcomes if out.status == "sent"))
    notes: list[Note] = []
    for out in outcomes:
        if out.status == "sent":
            continue
        chat, day = out.claim.chat, out.claim.day
        parts = out.parts if out.parts > out.claim.parts_done else None
        if out.status == "blocked":
            notes.append(Note(chat, day, "failed", out.error, blocked=True, parts=parts))
            report.blocked += 1
        elif out.status == "failed":
            notes.append(Note(chat, day, "failed", out.error, parts=parts))
            report.failed += 1
            log.warning("chat %s: not delivered: %s", chat.chat_id, out.error)
        elif out.status == "migrated" and out.new_chat_id is not None:
            notes.append(
                Note(chat, day, "retry", out.error, now, migrated_to=out.new_chat_id, parts=parts)
            )
            report.retried += 1
        else:
            note = _retry(out, now, parts)
            notes.append(note)
            retried = int(note.status == "retry")
            report.retried += retried
            report.failed += 1 - retried
    if notes:
        await ledger.record(store, notes)
    return report


def _retry(out: Outcome, now: datetime, parts: int | None) -> Note:
    """Back off exponentially, but only within the same local day; else give up.

    A send that timed out after it went out may have arrived: it is retried once that
    day, then given up, so a slow Telegram costs at most one duplicate, never a stream.
    """
    chat, day = out.claim.chat, out.claim.day
    if out.status == "timeout" and out.claim.attempts >= TIMEOUT_ATTEMPTS:
        log.warning("chat %s: gave up for %s after repeated timeouts", chat.chat_id, day)
        return Note(chat, day, "failed", out.error, parts=parts)
    delay = min(FIRST_RETRY * 2 ** (out.claim.attempts - 1), LONGEST_RETRY)
    if out.retry_after is not None:
        delay = max(delay, timedelta(seconds=out.retry_after))
    when = now + delay
    if local_date(when, chat.timezone) != day:
        log.warning("chat %s: gave up for %s: %s", chat.chat_id, day, out.error)
        return Note(chat, day, "failed", out.error, parts=parts)
    return Note(chat, day, "retry", out.error, when, parts=parts)
