"""A flooding group beside a quiet private chat: what one chat sends only delays that chat.

The bot runs with its real rate limiter (Telegram's 20 messages a minute into one group,
waited out in the bot, as in production). Before bot/telegram/fairness.py, every update
took one of 64 shared places and a reply into a group held its place while it waited
for the group's allowance: five members, each within their own flood limit, filled all
64 and a private /random waited for minutes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bench import b_fairness
from bot.telegram.fairness import NOTE as LINE_NOTE
from bot.telegram.fairness import PER_CHAT, FairUpdateProcessor, chat_limit_wait
from bot.telegram.flood import NOTE as FLOOD_NOTE
from bot.telegram.limiter import WindowRateLimiter
from tests.conftest import BotHarness

GROUP = -4_100
MEMBERS = [81_001 + n for n in range(5)]
QUIET = 81_100
Make = Callable[..., Awaitable[BotHarness]]


def group_with_members(bot: BotHarness) -> None:
    bot.standin.add_chat(GROUP, type="group", title="Busy readers")
    for member in MEMBERS:
        bot.standin.add_member(GROUP, member)


async def test_a_flooding_group_does_not_delay_a_private_chat(bot: BotHarness) -> None:
    """The group first uses up its minute's allowance (20 replies), then five members
    send 19 commands each at once, each within the per-person limit. A private /random
    sent right after is answered at once (it waited minutes before the fix); the group
    gets one note, its line never holds more than ``PER_CHAT``."""
    await bot.stop()
    await bot.start(rate_limit=True)
    group_with_members(bot)
    for n in range(20):  # the group's whole allowance for this minute, 4 per member
        [reply] = await bot.send(GROUP, "/random", user_id=MEMBERS[n % 5])
        assert "@svpino" in reply.text
    processor = bot.app.update_processor
    assert isinstance(processor, FairUpdateProcessor)
    flood = [
        bot.standin.user_sends(GROUP, "/random", user_id=member)
        for _ in range(19)
        for member in MEMBERS
    ]
    loop = asyncio.get_running_loop()
    longest_line = 0
    started = loop.time()
    bot.standin.user_sends(QUIET, "/random")
    quiet_id = int(bot.standin.pending_updates[-1]["update_id"])
    assert bot.tracker is not None
    waiter = asyncio.create_task(bot.tracker.wait(quiet_id, timeout=20))
    while not waiter.done():
        longest_line = max(longest_line, processor.waiting(GROUP))
        await asyncio.sleep(0.01)
    await waiter
    waited = loop.time() - started
    print(f"\nprivate /random beside a flooding group: answered in {waited:.2f} s")
    [answer] = bot.received(QUIET)
    assert "@svpino" in answer.text
    assert waited < 5.0  # minutes before the fix
    assert longest_line <= PER_CHAT
    # Everything from the flood is settled soon: dropped from the full line, dropped by
    # the per-chat flood limit, or waiting its turn in the group's own line.
    group_texts = [m.text for m in bot.received(GROUP)]
    assert group_texts.count(LINE_NOTE) + group_texts.count(FLOOD_NOTE) <= 2
    assert processor.dropped > len(flood) // 2
    assert not bot.standin.failures
    # Stopping does not wait out the group's minute: what waits for it is let go.
    stop_started = loop.time()
    await bot.stop()
    assert loop.time() - stop_started < 5.0


async def test_the_flood_limit_counts_a_group_as_well_as_its_members(bot: BotHarness) -> None:
    """Five members, each far within their own limit (20 in 10 s), send one command
    after another: past the group's limit the group gets one note, then silence."""
    group_with_members(bot)
    replies = []
    for n in range(40):
        replies.append(await bot.send(GROUP, "/help", user_id=MEMBERS[n % 5]))
    answered = [r for r in replies if r and r[0].text != FLOOD_NOTE]
    notes = [r for r in replies if r and r[0].text == FLOOD_NOTE]
    print(f"\n40 commands in a group of five: {len(answered)} answered, {len(notes)} note")
    assert len(answered) == 30
    assert len(notes) == 1
    assert all(r == [] for r in replies[31:])
    # A private chat of one of them is not touched by the group's limit.
    [own] = await bot.send(MEMBERS[0], "/help")
    assert "/today" in own.text


async def test_a_429_for_a_group_pauses_only_that_group(bot: BotHarness) -> None:
    """Telegram tells the bot to wait 4 s before sending into the group; a private
    chat is answered meanwhile (PTB's own limiter paused every send for any 429)."""
    await bot.stop()
    await bot.start(rate_limit=True)
    group_with_members(bot)
    bot.standin.fail("sendMessage", chat_id=GROUP, status=429, retry_after=4, times=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    group_update = bot.standin.user_sends(GROUP, "/random", user_id=MEMBERS[0])
    await bot.standin.wait_for(lambda: bot.standin.failures or None, timeout=5)
    [answer] = await bot.send(QUIET, "/random")
    quiet_waited = loop.time() - started
    assert bot.tracker is not None
    await bot.tracker.wait(group_update, timeout=15)
    group_waited = loop.time() - started
    print(f"\n429 for a group: private answered in {quiet_waited:.2f} s, group {group_waited:.1f}")
    assert "@svpino" in answer.text
    assert quiet_waited < 2.0
    assert group_waited >= 4.0
    assert len(bot.received(GROUP)) == 1


async def test_waiting_on_a_chats_own_limit_holds_no_shared_place() -> None:
    """One shared place: chat A's update waits for its own allowance (as the rate
    limiter does inside ``chat_limit_wait``); chat B's update runs meanwhile."""
    processor = FairUpdateProcessor(running=1, note=None)
    events: list[str] = []
    release = asyncio.Event()

    async def waits_on_its_chat() -> None:
        events.append("a starts")
        await chat_limit_wait(release.wait())
        events.append("a sends")

    async def quick() -> None:
        events.append("b runs")
        release.set()

    a = asyncio.create_task(processor.process_update(_update(1, -500), waits_on_its_chat()))
    await asyncio.sleep(0)
    b = asyncio.create_task(processor.process_update(_update(2, 600), quick()))
    await asyncio.wait_for(asyncio.gather(a, b), timeout=2)
    assert events == ["a starts", "b runs", "a sends"]


async def test_a_full_line_drops_its_oldest_and_keeps_order() -> None:
    processor = FairUpdateProcessor(per_chat=2, note=None)
    ran: list[int] = []
    gate = asyncio.Event()

    async def work(n: int) -> None:
        if n == 0:
            await gate.wait()
        ran.append(n)

    tasks = [
        asyncio.create_task(processor.process_update(_update(n, -700), work(n))) for n in range(6)
    ]
    await asyncio.sleep(0.01)
    assert processor.waiting(-700) == 2
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=2)
    assert ran == [0, 4, 5]
    assert processor.dropped == 3
    assert processor.waiting(-700) == 0


@pytest.mark.parametrize("running", [0, -1])
def test_a_processor_needs_a_place(running: int) -> None:
    with pytest.raises(ValueError):
        FairUpdateProcessor(running=running)


def _update(update_id: int, chat_id: int) -> Any:
    from telegram import Update

    kind = "private" if chat_id > 0 else "group"
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": chat_id, "type": kind},
                "from": {"id": abs(chat_id), "is_bot": False, "first_name": "P"},
                "text": "/random",
            },
        },
        None,
    )


async def test_a_group_gets_at_most_its_rate_within_any_window() -> None:
    """The group limit is a window, not a bucket that lets a second burst through
    (PTB's lets 20 through at once, then one every 3 s: 40 within a minute)."""
    limiter = WindowRateLimiter(group_rate=3, group_window=0.5)
    loop = asyncio.get_running_loop()
    answered: list[float] = []

    async def send(*args: Any, **kwargs: Any) -> bool:
        answered.append(loop.time())
        return True

    data = {"chat_id": -900, "text": "x"}
    for _ in range(7):
        await limiter.process_request(send, (), {}, "sendMessage", data, None)
    assert answered[3] - answered[0] >= 0.5
    assert answered[6] - answered[3] >= 0.5
    private = loop.time()
    await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": 5}, None)
    assert answered[-1] - private < 0.1  # a private chat does not wait for the group


async def test_the_standin_refuses_a_group_past_its_minute_limit(bot: BotHarness) -> None:
    group_with_members(bot)
    bot.standin.max_group_sends_per_minute = 2
    for _ in range(3):
        await bot.send(GROUP, "/help", user_id=MEMBERS[0])
    statuses = [f.status for f in bot.standin.failures]  # the reply, then the apology
    assert statuses and set(statuses) == {429}
    assert len(bot.received(GROUP)) == 2


async def test_the_fairness_benchmark_runs(tmp_path: Path) -> None:
    """Its shape only (a few seconds of flood); the figure comes from ``python -m bench``."""
    figures = await b_fairness.measure(tmp_path / "fairness.db", seconds=3.0)
    assert [f.name.split(".")[0] for f in figures] == ["fairness"] * 8
    assert all(f.value >= 0 for f in figures)
