"""Telegram down or slow: the real bot, the stand-in and a manual clock.

An outage is a stretch of *simulated* time in which the stand-in answers 502, drops the
connection, or answers later than the bot waits. The daily job ticks every 20 simulated
seconds throughout; what the bot asks of Telegram meanwhile is counted, to tell back-off
from a hot loop. Slowness is real time: 3 s per Bot API answer.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.delivery.daily import (
    CONCURRENCY,
    FIRST_RETRY,
    LONGEST_RETRY,
    TIMEOUT_ATTEMPTS,
    deliver_due,
)
from bot.telegram.app import DELIVERY_INTERVAL, daily_sender
from tests.conftest import BotHarness
from tests.reliability.reliability_support import Subscriber, dailies, insert_subscribers

FIRST_CHAT = 20_001
SUBSCRIBERS = 40
DAY = date(2026, 3, 2)
NINE = datetime(2026, 3, 2, 9, tzinfo=UTC)
OUTAGE = timedelta(hours=2)
# Slow answers cost real time per attempt (the sender's timeout): a shorter stretch.
SLOW_OUTAGE = timedelta(minutes=30)


async def add_subscribers(bot: BotHarness, count: int, at: datetime = NINE) -> list[int]:
    """``count`` chats subscribed for 09:00 UTC, inserted with SQL, known to the stand-in."""
    chats = list(range(FIRST_CHAT, FIRST_CHAT + count))
    await insert_subscribers(
        bot.store, [Subscriber(c, "UTC", f"{at:%H:%M}", at, DAY) for c in chats]
    )
    for chat in chats:
        bot.standin.add_chat(chat)
    return chats


def backoff_attempts(outage: timedelta) -> int:
    """Sends one chat makes during ``outage`` with the documented back-off (1, 2, 4 ... 30
    minutes), ticking every DELIVERY_INTERVAL: the bound that tells back-off from a loop."""
    attempts, elapsed, delay = 0, timedelta(0), FIRST_RETRY
    while elapsed < outage:
        attempts += 1
        elapsed += delay
        delay = min(delay * 2, LONGEST_RETRY)
    return attempts


async def tick_through(bot: BotHarness, start: datetime, end: datetime, deliver: object) -> None:
    """Run the daily job at every DELIVERY_INTERVAL of simulated time in [start, end)."""
    bot.clock.set(start)
    while bot.clock() < end:
        await deliver()  # type: ignore[operator]
        bot.clock.advance(seconds=DELIVERY_INTERVAL.total_seconds())


def sends_per_chat(bot: BotHarness, chats: list[int]) -> Counter[int]:
    wanted = {str(c) for c in chats}
    return Counter(
        int(p["chat_id"])
        for p in bot.standin.calls("sendMessage")
        if str(p.get("chat_id")) in wanted
    )


async def ledger_for(bot: BotHarness, day: date) -> dict[str, int]:
    async with bot.store.db.execute(
        "SELECT status, COUNT(*) FROM daily WHERE local_date = ? GROUP BY status",
        (day.isoformat(),),
    ) as cursor:
        return {str(s): int(n) for s, n in await cursor.fetchall()}


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"method": None, "status": 502}, id="502-on-every-method"),
        pytest.param({"method": "sendMessage", "drop_connection": True}, id="connection-dropped"),
    ],
)
async def test_after_an_outage_every_due_takeaway_goes_out_the_same_day(
    bot: BotHarness, fault: dict[str, object]
) -> None:
    chats = await add_subscribers(bot, SUBSCRIBERS)
    bot.standin.fail(times=None, **fault)  # type: ignore[arg-type]
    await tick_through(bot, NINE, NINE + OUTAGE, bot.deliver)
    during = sends_per_chat(bot, chats)
    assert all(dailies(bot.standin, c) == [] for c in chats)
    bot.standin.clear_faults()
    await tick_through(bot, NINE + OUTAGE, NINE + OUTAGE + timedelta(minutes=45), bot.deliver)
    counts = [len(dailies(bot.standin, c)) for c in chats]
    ticks = int(OUTAGE / DELIVERY_INTERVAL)
    print(
        f"\noutage {fault}: {sum(during.values())} sendMessage requests during "
        f"{OUTAGE} ({ticks} ticks, {SUBSCRIBERS} chats; a hot loop would make "
        f"{ticks * SUBSCRIBERS}); per chat {sorted(set(during.values()))}"
    )
    assert set(during.values()) == {backoff_attempts(OUTAGE)}  # 8: 0, 1, 3, 7 ... 91 min
    assert counts == [1] * SUBSCRIBERS
    assert await ledger_for(bot, DAY) == {"sent": SUBSCRIBERS}
    assert not bot.standin.internal_errors


async def test_answers_slower_than_the_timeout_deliver_at_most_twice(bot: BotHarness) -> None:
    """A send that timed out after it went out may have arrived: it is retried once that
    day, then given up. Every chat gets its takeaway (the stand-in, like Telegram, still
    delivers late), at most twice."""
    await check_slow_outage(bot, at_most=TIMEOUT_ATTEMPTS)


async def check_slow_outage(bot: BotHarness, *, at_most: int) -> None:
    """Telegram answers after 1 s; this sender gives up after 0.2 s (PTB's 5 s, scaled
    down so the test takes seconds). The stand-in, like Telegram, still delivers."""
    chats = await add_subscribers(bot, CONCURRENCY)  # one wave of sends per attempt
    impatient = Bot(
        bot.standin.token,
        base_url=bot.settings.api_base_url,
        request=HTTPXRequest(read_timeout=0.2, write_timeout=0.2, pool_timeout=1),
    )
    await impatient.initialize()
    send = daily_sender(impatient)

    async def deliver() -> object:
        return await deliver_due(bot.store, send, bot.clock, rng=bot.rng)

    try:
        bot.standin.latency = 1.0
        await tick_through(bot, NINE, NINE + SLOW_OUTAGE, deliver)
        during = sends_per_chat(bot, chats)
        bot.standin.latency = 0
        end = NINE + SLOW_OUTAGE
        await tick_through(bot, end, end + timedelta(minutes=45), deliver)
        await asyncio.sleep(1.2)  # the last slow answers land
    finally:
        await impatient.shutdown()
    counts = Counter(len(dailies(bot.standin, c)) for c in chats)
    print(
        f"\nslow outage: {sum(during.values())} sendMessage requests during {SLOW_OUTAGE}, "
        f"per chat {sorted(set(during.values()))}; copies per chat: {dict(counts)}"
    )
    assert set(during.values()) == {TIMEOUT_ATTEMPTS}
    assert min(counts) >= 1
    assert max(counts) <= at_most
    # Given up after the second timeout: the ledger cannot know they arrived.
    assert await ledger_for(bot, DAY) == {"failed": len(chats)}


async def test_slow_telegram_still_answers_other_people_during_a_run(bot: BotHarness) -> None:
    """3 s per Bot API answer; a run to 70 chats (3 waves of CONCURRENCY sends, 9 s) is
    under way when someone else sends /help: the answer takes one send (3 s), or two if
    it has to wait for a long poll to get past its own 3 s, never the run's 9 s."""
    await bot.stop()
    await bot.start(rate_limit=True)  # as in production
    chats = await add_subscribers(bot, 70)
    bot.clock.set(NINE)
    loop = asyncio.get_running_loop()
    await bot.standin.wait_for(lambda: bot.standin.is_polling, timeout=5)  # a poll waits
    bot.standin.latency = 3.0
    started = loop.time()
    run = asyncio.create_task(bot.deliver())
    await asyncio.sleep(0.2)
    await bot.standin.wait_for(lambda: bot.standin.is_polling, timeout=5)
    stranger = 30_001
    reply = await bot.send(stranger, "/help")
    answered = loop.time() - started
    run_busy = not run.done()
    report = await run
    finished = loop.time() - started
    bot.standin.latency = 0
    print(f"\nslow Telegram: /help answered after {answered:.1f} s; the run took {finished:.1f} s")
    assert reply and "/today" in reply[0].text
    assert run_busy and answered < finished
    assert answered < 0.2 + 2 * 3.0 + 1.0  # at most a poll's and a send's latency
    assert report.sent == len(chats)
    assert all(len(dailies(bot.standin, c)) == 1 for c in chats)
