"""What the ledger knows about a delivery's requests, and what a restart does with it.

In-process: the real bot, the stand-in and a manual clock. A "crash" is a claim made by
another owner (``deliver_due(owner=...)``) whose rows are then left as a killed process
would leave them; the kill -9 tests in ``tests/reliability`` do the same with a real
process.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.delivery import daily, journal
from bot.delivery.daily import TOO_LATE, claim_batch
from tests.conftest import BotHarness

ADA = 501
DATABASE = "takeaways.db"  # in tmp_path, as the ``store`` fixture opens it
NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; the chat's slot (UTC default)


def row(path: Path, chat_id: int = ADA) -> tuple[str, int, int, str | None]:
    """(status, requested, parts_sent, error) of the chat's newest ledger row, read by
    another connection: only what is committed."""
    with sqlite3.connect(path) as db:
        found = db.execute(
            "SELECT status, requested, parts_sent, error FROM daily WHERE chat_id = ?"
            " ORDER BY local_date DESC LIMIT 1",
            (chat_id,),
        ).fetchone()
    assert found is not None
    return str(found[0]), int(found[1]), int(found[2]), found[3]


async def crashed_claim(bot: BotHarness, requested: int = 0, parts_sent: int = 0) -> None:
    """Ada's delivery claimed by another process that died, its marks as it left them."""
    await bot.send(ADA, "/start")
    bot.clock.set(NINE)
    claims, _ = await claim_batch(bot.store, bot.clock(), bot.rng, owner=1)
    assert len(claims) == 1
    async with bot.store.transaction() as db:
        await db.execute(
            "UPDATE daily SET requested = ?, parts_sent = ? WHERE chat_id = ?",
            (requested, parts_sent, ADA),
        )


async def test_the_request_is_marked_and_committed_before_it_leaves(
    bot: BotHarness, tmp_path: Path
) -> None:
    await bot.stop()
    await bot.start(rate_limit=True)  # the limiter marks, as in production
    await bot.send(ADA, "/start")
    bot.standin.latency = 0.3
    bot.clock.set(NINE)
    before = len(bot.standin.calls("sendMessage"))  # the reply to /start
    run = asyncio.ensure_future(bot.deliver())
    await bot.standin.wait_for_request("sendMessage", before + 1)
    # The request has reached Telegram, its answer has not come back: the ledger says so.
    assert row(tmp_path / DATABASE)[:3] == ("sending", 1, 0)
    report = await run
    assert report.sent == 1
    assert row(tmp_path / DATABASE)[0] == "sent"


async def test_without_a_marking_limiter_a_delivery_is_still_recorded(
    bot: BotHarness, tmp_path: Path
) -> None:
    await bot.send(ADA, "/start")
    bot.clock.set(NINE)
    assert (await bot.deliver()).sent == 1
    assert row(tmp_path / DATABASE)[:3] == ("sent", 0, 0)


async def test_a_claim_never_requested_is_sent_and_not_counted_as_resent(
    bot: BotHarness, tmp_path: Path
) -> None:
    await crashed_claim(bot)
    bot.clock.set(NINE + timedelta(minutes=2))
    report = await bot.deliver(owner=2)
    assert (report.sent, report.resent) == (1, 0)
    assert len(bot.dailies(ADA)) == 1
    assert row(tmp_path / DATABASE)[0] == "sent"


async def test_a_request_with_no_answer_recorded_is_sent_again_and_counted(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await crashed_claim(bot, requested=1)
    caplog.set_level(logging.INFO, logger="bot.delivery.daily")
    bot.clock.set(NINE + timedelta(minutes=2))
    report = await bot.deliver(owner=2)
    assert (report.due, report.sent, report.resent) == (1, 1, 1)
    lines = [r.getMessage() for r in caplog.records if "delivery run" in r.getMessage()]
    assert lines == [
        "delivery run: due=1 sent=1 blocked=0 failed=0 retried_later=0 skipped=0"
        " resent_after_crash=1"
    ]
    # Once only: the next ticks that day send nothing, the next day is as usual.
    bot.clock.set(NINE + timedelta(minutes=3))
    assert (await bot.deliver(owner=2)).due == 0
    assert len(bot.dailies(ADA)) == 1


async def test_the_same_process_never_takes_up_its_own_claims(bot: BotHarness) -> None:
    """A run whose recording failed (a lock) leaves its own rows: they went out."""
    await crashed_claim(bot, requested=1)
    bot.clock.set(NINE + timedelta(minutes=2))
    assert (await bot.deliver(owner=1)).due == 0
    assert bot.dailies(ADA) == []


async def test_a_crash_whose_day_is_over_is_not_sent_the_next_day(
    bot: BotHarness, tmp_path: Path
) -> None:
    await crashed_claim(bot, requested=1)
    bot.clock.set(NINE + timedelta(days=1, hours=1))
    report = await bot.deliver(owner=2)
    assert (report.sent, report.resent) == (1, 0)  # the new day's, nothing of the old one
    assert len(bot.dailies(ADA)) == 1
    with sqlite3.connect(tmp_path / DATABASE) as db:
        old = db.execute(
            "SELECT status, error FROM daily WHERE chat_id = ? AND local_date = '2026-03-02'",
            (ADA,),
        ).fetchone()
    assert tuple(old) == ("failed", TOO_LATE)


async def test_a_batch_cut_short_in_this_process_is_taken_up_at_the_next_tick(
    bot: BotHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure inside the run after the claim (here the ledger's "sent" commit) must
    not strand the claim as this process's until a restart: the next tick takes it up."""
    await bot.send(ADA, "/start")
    bot.clock.set(NINE)

    with monkeypatch.context() as patch:
        # The "sent" note's commit fails: the message went out, the ledger cannot say so.
        # (A note that says "sent" fails at run time; "requested" notes still commit.)
        failing = journal._NOTES.replace("THEN NULL", "THEN json('not json')")
        assert failing != journal._NOTES
        patch.setattr(journal, "_NOTES", failing)
        with pytest.raises(sqlite3.OperationalError):
            await bot.deliver()
    assert row(tmp_path / DATABASE)[0] == "sending"
    bot.clock.advance(seconds=20)
    await bot.deliver()
    assert row(tmp_path / DATABASE)[0] == "sent"


async def test_a_claim_that_fails_lets_the_sends_in_flight_finish(
    bot: BotHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run claims while it sends: a claim that fails (the database locked too long,
    say) must not cut off the requests already out, which would make each of them a
    "requested, no answer" row sent again at the next tick (a duplicate)."""
    chats = list(range(ADA, ADA + 10))
    for chat in chats:
        await bot.send(chat, "/start")
    greeted = {chat: len(bot.received(chat)) for chat in chats}
    bot.clock.set(NINE)
    bot.standin.latency = 0.2  # the first batch's requests are out when the next claim runs
    real, calls = daily._claim_due, []

    async def second_claim_fails(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise sqlite3.OperationalError("database is locked")
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(daily, "_claim_due", second_claim_fails)
        with pytest.raises(sqlite3.OperationalError):
            await bot.deliver(concurrency=4)
    delivered = {chat: len(bot.received(chat)) - greeted[chat] for chat in chats}
    first = [chat for chat in chats if delivered[chat]]
    assert len(first) == 4  # the first claim's, all of them out and answered
    assert all(row(tmp_path / DATABASE, chat)[0] == "sent" for chat in first)
    bot.standin.latency = 0
    bot.clock.advance(seconds=20)
    report = await bot.deliver(concurrency=4)
    assert (report.sent, report.resent) == (6, 0)
    assert all(len(bot.received(chat)) - greeted[chat] == 1 for chat in chats)  # nobody twice
