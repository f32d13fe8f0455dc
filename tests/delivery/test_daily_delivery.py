"""Daily delivery over simulated days: the real bot, the stand-in and a manual clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.sources.model import Takeaway
from tests.conftest import BotHarness

ADA, BEN = 501, 502


async def subscribe(bot: BotHarness, chat_id: int, *commands: str) -> None:
    await bot.send(chat_id, "/start")
    for command in commands:
        await bot.send(chat_id, command)


async def tick_at(bot: BotHarness, when: datetime) -> int:
    bot.clock.set(when)
    report = await bot.deliver()
    return report.sent


def day(n: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """Day n of the simulation (day 0 = Monday 2 March 2026), UTC."""
    return datetime(2026, 3, 2, hour, minute, second, tzinfo=UTC) + timedelta(days=n)


async def test_delivers_once_at_the_chosen_minute(bot: BotHarness) -> None:
    await subscribe(bot, ADA, "/time 07:30")
    bot.clock.set(day(0, 6, 30))
    await subscribe(bot, BEN)  # 09:00 default
    assert await tick_at(bot, day(0, 7, 29, 59)) == 0
    assert await tick_at(bot, day(0, 7, 30, 0)) == 1
    assert [m.chat_id for m in bot.standin.sent if m.text.startswith("☀️")] == [ADA]
    assert await tick_at(bot, day(0, 7, 30, 20)) == 0  # a second tick sends nothing
    assert await tick_at(bot, day(0, 9, 0, 0)) == 1  # Ben's turn
    assert await tick_at(bot, day(0, 23, 59)) == 0
    assert await tick_at(bot, day(1, 7, 30)) == 1
    assert len(bot.dailies(ADA)) == 2 and len(bot.dailies(BEN)) == 1
    message = bot.dailies(ADA)[0]
    assert message.buttons and "@svpino on Twitter" in message.text


async def test_sixteen_days_are_a_round_without_repeats(bot: BotHarness) -> None:
    await subscribe(bot, ADA)
    await subscribe(bot, BEN)
    for n in range(16):
        assert await tick_at(bot, day(n, 9)) == 2
    for chat in (ADA, BEN):
        texts = [m.text for m in bot.dailies(chat)]
        assert len(texts) == 16 and len(set(texts)) == 16
    # Each chat has its own order.
    assert [m.text for m in bot.dailies(ADA)] != [m.text for m in bot.dailies(BEN)]
    # Day 17 starts a new round: still exactly one that day.
    assert await tick_at(bot, day(16, 9)) == 2


async def test_new_takeaways_join_the_current_round(bot: BotHarness) -> None:
    await subscribe(bot, ADA)
    for n in range(10):
        await tick_at(bot, day(n, 9))
    extra = [Takeaway(text=f"Fresh idea number {i}", title="New book") for i in range(3)]
    await bot.store.import_takeaways(extra)
    for n in range(10, 19):
        assert await tick_at(bot, day(n, 9)) == 1
    texts = [m.text for m in bot.dailies(ADA)]
    assert len(set(texts)) == 19
    assert sum("Fresh idea number" in t for t in texts) == 3


async def test_today_before_delivery_is_what_gets_delivered(bot: BotHarness) -> None:
    await subscribe(bot, ADA)
    [today] = await bot.send(ADA, "/today")
    await tick_at(bot, day(0, 9))
    [daily] = bot.dailies(ADA)[-1:]
    assert daily.text == today.text


@pytest.mark.parametrize(
    ("zone", "at", "first_day_utc", "after_change_utc"),
    [
        # Berlin springs forward on 29 March: 09:00 is 08:00 UTC before, 07:00 UTC after.
        ("Europe/Berlin", "09:00", day(26, 8), day(28, 7)),
        # New York springs forward on 8 March: 09:00 is 14:00 UTC before, 13:00 UTC after.
        ("America/New_York", "09:00", day(5, 14), day(7, 13)),
    ],
)
async def test_dst_moves_the_utc_instant_not_the_local_time(
    bot: BotHarness, zone: str, at: str, first_day_utc: datetime, after_change_utc: datetime
) -> None:
    bot.clock.set(first_day_utc - timedelta(hours=10))
    await subscribe(bot, ADA, f"/timezone {zone}", f"/time {at}")
    assert await tick_at(bot, first_day_utc - timedelta(minutes=1)) == 0
    assert await tick_at(bot, first_day_utc) == 1
    # Walk minute by minute through the change; exactly one per local day.
    sent_at = []
    now = first_day_utc + timedelta(minutes=10)
    while now <= after_change_utc + timedelta(hours=2):
        if await tick_at(bot, now):
            sent_at.append(now)
        now += timedelta(minutes=10)
    assert sent_at[-1] == after_change_utc
    assert len(sent_at) == (after_change_utc - first_day_utc).days + 1


async def test_times_inside_skipped_and_repeated_hours(bot: BotHarness) -> None:
    # Berlin: 29 March 02:00-03:00 does not exist; 25 October 02:00-03:00 happens twice.
    bot.clock.set(datetime(2026, 3, 28, 12, tzinfo=UTC))
    await subscribe(bot, ADA, "/timezone Europe/Berlin", "/time 02:30")
    sent = []
    now = datetime(2026, 3, 28, 12, tzinfo=UTC)
    while now < datetime(2026, 3, 31, tzinfo=UTC):
        if await tick_at(bot, now):
            sent.append(now)
        now += timedelta(minutes=15)
    # 28th at 02:30 CET was before we started; 29th right after the gap; 30th normal.
    assert sent == [
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    ]
    sent = []
    now = datetime(2026, 10, 24, 12, tzinfo=UTC)
    while now < datetime(2026, 10, 26, 12, tzinfo=UTC):
        if await tick_at(bot, now):
            sent.append(now)
        now += timedelta(minutes=15)
    # The 25th's first 02:30 (CEST, 00:30 UTC), not the second; once on the 26th.
    assert datetime(2026, 10, 25, 0, 30, tzinfo=UTC) in sent
    assert datetime(2026, 10, 25, 1, 30, tzinfo=UTC) not in sent
    assert sum(s.date() == datetime(2026, 10, 25).date() for s in sent) == 1


async def test_midnight_delivery_and_timezone_change_after_delivery(bot: BotHarness) -> None:
    await subscribe(bot, ADA, "/time 00:00")
    assert await tick_at(bot, day(1, 0, 0)) == 1
    assert await tick_at(bot, day(1, 0, 0, 30)) == 0
    # Moving west right after it: New York is still on the evening of the 2nd. The
    # ledger already holds "the 3rd" (delivered at UTC midnight), so New York's 3rd is
    # skipped rather than sending a second takeaway five hours later: a zone change
    # can cost one day, never add one.
    await bot.send(ADA, "/timezone America/New_York")
    sent = []
    now = day(1, 0, 30)
    while now < day(3, 12):
        if await tick_at(bot, now):
            sent.append(now)
        now += timedelta(minutes=30)
    # New York midnight is 05:00 UTC in March (EST).
    assert sent == [day(2, 5), day(3, 5)]


async def test_changing_time_after_todays_delivery_waits_for_tomorrow(bot: BotHarness) -> None:
    await subscribe(bot, ADA)
    assert await tick_at(bot, day(0, 9)) == 1
    text = await bot.reply_text(ADA, "/time 18:00")
    assert "tomorrow at 18:00" in text
    assert await tick_at(bot, day(0, 18)) == 0
    assert await tick_at(bot, day(1, 18)) == 1


async def test_restart_never_sends_a_second_one(bot: BotHarness) -> None:
    await subscribe(bot, ADA)
    assert await tick_at(bot, day(0, 9)) == 1
    await bot.restart()
    assert await tick_at(bot, day(0, 9, 1)) == 0
    assert await tick_at(bot, day(0, 20)) == 0
    assert len(bot.dailies(ADA)) == 1


async def test_a_claim_left_by_a_crash_is_sent_after_the_restart(bot: BotHarness) -> None:
    await subscribe(bot, ADA)
    bot.clock.set(day(0, 9))
    # Claim as the run would, then "crash" before sending; the restarted bot is another
    # process (``owner``), which takes the claim up again: sent once, not counted as resent.
    from bot.delivery.daily import claim_batch

    claims, _ = await claim_batch(bot.store, bot.clock(), bot.rng, owner=1)
    assert len(claims) == 1
    await bot.restart()
    bot.clock.set(day(0, 9, 1))
    report = await bot.deliver(owner=2)
    assert (report.sent, report.resent) == (1, 0)
    assert len(bot.dailies(ADA)) == 1
    assert await tick_at(bot, day(0, 20)) == 0
    assert await tick_at(bot, day(1, 9)) == 1


async def test_catches_up_the_same_day_after_downtime(bot: BotHarness) -> None:
    await subscribe(bot, ADA)
    # Down from 08:00 to 15:00: the 09:00 slot is caught up at 15:00.
    assert await tick_at(bot, day(0, 15)) == 1
    # Down for all of day 1 and until day 2 10:00: one for day 2, none for day 1.
    assert await tick_at(bot, day(2, 10)) == 1
    assert await tick_at(bot, day(2, 10, 1)) == 0
    assert len(bot.dailies(ADA)) == 2
    # Down from before the slot to the next morning, before the slot: nothing, then 09:00.
    assert await tick_at(bot, day(4, 8)) == 0
    assert await tick_at(bot, day(4, 9)) == 1


async def test_blocked_chat_is_unsubscribed_and_not_tried_again(bot: BotHarness) -> None:
    await subscribe(bot, ADA)
    await subscribe(bot, BEN)
    bot.standin.block(ADA, notify=False)
    bot.clock.set(day(0, 9))
    report = await bot.deliver()
    assert (report.sent, report.blocked) == (1, 1)
    bot.standin.unblock(ADA, notify=False)
    report = await bot.deliver()
    assert report.due == 0
    bot.clock.set(day(1, 9))
    report = await bot.deliver()
    assert (report.due, report.sent) == (1, 1)
    assert bot.dailies(ADA) == []
    row = await bot.store.db.execute(
        "SELECT subscribed, blocked FROM chats WHERE chat_id = ?", (ADA,)
    )
    assert tuple(await row.fetchone()) == (0, 1)


async def test_server_errors_retry_later_the_same_day(bot: BotHarness) -> None:
    await subscribe(bot, ADA)
    bot.standin.fail("sendMessage", chat_id=ADA, status=502, times=2)
    bot.clock.set(day(0, 9))
    report = await bot.deliver()
    assert (report.sent, report.retried) == (0, 1)
    assert await tick_at(bot, day(0, 9, 0, 30)) == 0  # backing off, not a hot loop
    assert await tick_at(bot, day(0, 9, 1)) == 0  # second failure: waits 2 minutes
    assert await tick_at(bot, day(0, 9, 2)) == 0
    assert await tick_at(bot, day(0, 9, 3)) == 1
    assert len(bot.dailies(ADA)) == 1


async def test_errors_late_in_the_day_give_up_at_midnight(bot: BotHarness) -> None:
    await subscribe(bot, ADA, "/time 23:58")
    bot.standin.fail("sendMessage", chat_id=ADA, status=500, times=None)
    assert await tick_at(bot, day(0, 23, 58)) == 0
    assert await tick_at(bot, day(0, 23, 59)) == 0
    bot.standin.clear_faults()
    assert await tick_at(bot, day(1, 0, 1)) == 0
    assert await tick_at(bot, day(1, 23, 58)) == 1
    assert len(bot.dailies(ADA)) == 1


async def test_429_without_limiter_retries_later(bot: BotHarness) -> None:
    await subscribe(bot, ADA)
    bot.standin.fail("sendMessage", chat_id=ADA, status=429, retry_after=5)
    bot.clock.set(day(0, 9))
    report = await bot.deliver()
    assert report.retried == 1
    assert await tick_at(bot, day(0, 9, 1)) == 1


async def test_429_with_the_rate_limiter_waits_and_delivers(bot: BotHarness) -> None:
    await bot.stop()
    await bot.start(rate_limit=True)
    await subscribe(bot, ADA)
    bot.standin.fail("sendMessage", chat_id=ADA, status=429, retry_after=1)
    bot.clock.set(day(0, 9))
    report = await bot.deliver()
    assert (report.sent, report.retried) == (1, 0)
    assert len(bot.dailies(ADA)) == 1


async def test_migrated_group_follows_its_new_id(bot: BotHarness) -> None:
    group, supergroup, admin = -4001, -1004001, 601
    bot.standin.add_chat(group, type="group", title="Readers")
    bot.standin.set_admins(group, [admin], owner=admin)
    await bot.send(group, "/start", user_id=admin)
    bot.standin.migrate_chat(group, supergroup, notify=False)
    bot.clock.set(day(0, 9))
    report = await bot.deliver()
    # The same run follows the migration and delivers to the new id straight away.
    assert (report.sent, report.retried) == (1, 1)
    assert await tick_at(bot, day(0, 9, 0, 20)) == 0
    assert len(bot.dailies(supergroup)) == 1
    row = await bot.store.db.execute("SELECT COUNT(*) FROM chats WHERE chat_id = ?", (supergroup,))
    assert (await row.fetchone())[0] == 1


async def test_each_run_logs_one_summary_line(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await subscribe(bot, ADA)
    await subscribe(bot, BEN)
    bot.standin.block(BEN, notify=False)
    caplog.set_level(logging.INFO, logger="bot.delivery.daily")
    await tick_at(bot, day(0, 9))
    lines = [r.getMessage() for r in caplog.records if "delivery run" in r.getMessage()]
    assert lines == ["delivery run: due=2 sent=1 blocked=1 failed=0 retried_later=0 skipped=0"]


async def test_a_change_made_while_a_message_is_in_flight_wins(bot: BotHarness) -> None:
    from bot.delivery.daily import Outcome, claim_batch, record_outcomes

    await subscribe(bot, ADA)
    await subscribe(bot, BEN)
    bot.clock.set(day(0, 9))
    claims, _ = await claim_batch(bot.store, bot.clock(), bot.rng)
    # While both sends hang, Ada unsubscribes and Ben moves his time.
    await bot.send(ADA, "/unsubscribe")
    await bot.send(BEN, "/time 18:00")
    failed = [Outcome(claim, "retry", "Bad Gateway") for claim in claims]
    await record_outcomes(bot.store, failed, bot.clock())
    rows = await bot.store.db.execute(
        "SELECT chat_id, subscribed, delivery_time FROM chats ORDER BY chat_id"
    )
    assert [tuple(r) for r in await rows.fetchall()] == [(ADA, 0, "09:00"), (BEN, 1, "18:00")]


async def test_two_commands_at_once_both_take_effect(bot: BotHarness) -> None:
    await subscribe(bot, ADA)
    first = bot.standin.user_sends(ADA, "/time 07:00")
    second = bot.standin.user_sends(ADA, "/timezone Asia/Tokyo")
    assert bot.tracker is not None
    await bot.tracker.wait(first)
    await bot.tracker.wait(second)
    row = await bot.store.db.execute(
        "SELECT delivery_time, timezone FROM chats WHERE chat_id = ?", (ADA,)
    )
    assert tuple(await row.fetchone()) == ("07:00", "Asia/Tokyo")


async def test_one_broken_chat_does_not_stop_the_others(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await subscribe(bot, ADA)
    await subscribe(bot, BEN)
    async with bot.store.transaction():
        await bot.store.db.execute(
            "UPDATE chats SET timezone = 'Nowhere/Land' WHERE chat_id = ?", (ADA,)
        )
    bot.clock.set(day(0, 9))
    report = await bot.deliver()
    assert (report.sent, report.skipped) == (1, 1)
    assert len(bot.dailies(BEN)) == 1
    assert any("cannot schedule" in r.getMessage() for r in caplog.records)


async def test_a_group_that_migrates_between_parts_keeps_what_went_out(
    bot: BotHarness,
) -> None:
    """Part of a delivery reached the group, then Telegram said it became a supergroup:
    the ledger row follows the new id with the parts already out, so the retry sends
    only the rest."""
    from bot.delivery.daily import Outcome, claim_batch, record_outcomes

    group, supergroup, admin = -4002, -1004002, 602
    bot.standin.add_chat(group, type="group", title="Readers")
    bot.standin.set_admins(group, [admin], owner=admin)
    await bot.send(group, "/start", user_id=admin)
    bot.clock.set(day(0, 9))
    (claim,), _ = await claim_batch(bot.store, bot.clock(), bot.rng)
    migrated = Outcome(claim, "migrated", "migrated", new_chat_id=supergroup, parts=1)
    await record_outcomes(bot.store, [migrated], bot.clock())
    rows = await bot.store.db.execute(
        "SELECT chat_id, status, parts_sent FROM daily ORDER BY chat_id"
    )
    assert [tuple(r) for r in await rows.fetchall()] == [(supergroup, "retry", 1)]
