"""A person flooding the bot: one polite note, then silence, and nobody else waits.

``bot/telegram/flood.py`` counts each person's updates on the bot's clock (the manual
one here, frozen unless a test moves it: a whole flood arrives "at once", which is
what 100 a second looks like to a bot that fetches 100 updates per poll).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pydantic import SecretStr
from telegram import Update

from bot.clock import ManualClock
from bot.settings import Settings
from bot.telegram.deps import Deps
from bot.telegram.fairness import NOTE as LINE_NOTE
from bot.telegram.flood import LIMIT, NOTE, WINDOW, FloodGuard
from tests.conftest import BotHarness

FLOODER, OTHER, ADMIN = 80_001, 80_002, 80_003
Make = Callable[..., Awaitable[BotHarness]]


async def settle_all(bot: BotHarness, update_ids: list[int]) -> None:
    assert bot.tracker is not None
    for update_id in update_ids:
        await bot.tracker.wait(update_id)


def texts(bot: BotHarness, chat_id: int) -> list[str]:
    return [m.text for m in bot.standin.messages(chat_id)]


async def test_a_flood_gets_one_note_then_silence_and_others_are_answered(
    bot: BotHarness,
) -> None:
    """300 commands (three seconds at 100 a second) arrive together, then someone else's
    /help. Every Bot API answer takes 0.2 s. Without the guard the 300 replies hold the
    bot's 64 update slots and the /help waited about 6 s (measured once by lifting the
    limit). Now the chat's own line (bot/telegram/fairness.py) keeps the newest
    ``PER_CHAT`` and drops the rest with one note, and /help is answered within a few
    polls (each poll returns at most 100 updates)."""
    bot.standin.latency = 0.2
    loop = asyncio.get_running_loop()
    flood = [bot.standin.user_sends(FLOODER, "/random") for _ in range(300)]
    started = loop.time()
    [answer] = await bot.send(OTHER, "/help")
    other_waited = loop.time() - started
    await settle_all(bot, flood)
    bot.standin.latency = 0
    got = texts(bot, FLOODER)
    requests = sum(1 for _, p in bot.standin.all_requests if str(p.get("chat_id")) == str(FLOODER))
    notes = [t for t in got if t in (NOTE, LINE_NOTE)]
    print(
        f"\nflood of 300 commands: {len(got) - len(notes)} answered, {len(notes)} note, "
        f"{requests} Bot API requests for them; another person's /help took {other_waited:.2f} s"
    )
    assert "/today" in answer.text
    assert len(notes) == 1
    assert requests <= LIMIT + 1
    assert other_waited < 3.0
    assert not bot.standin.failures


async def test_a_person_past_the_limit_gets_one_note_then_silence(bot: BotHarness) -> None:
    """One command after another (each answered before the next), faster than anyone
    reads: the first ``LIMIT`` are answered, then one note, then silence."""
    replies = [await bot.send(FLOODER, "/random") for _ in range(LIMIT + 5)]
    assert all(len(r) == 1 and "@svpino" in r[0].text for r in replies[:LIMIT])
    assert [m.text for m in replies[LIMIT]] == [NOTE]
    assert all(r == [] for r in replies[LIMIT + 1 :])
    # Still flooding, a second later: silence (no note again).
    bot.clock.advance(seconds=1)
    assert await bot.send(FLOODER, "/random") == []
    # The rate has dropped (a whole window without a flood): answered again.
    bot.clock.advance(seconds=WINDOW.total_seconds())
    [again] = await bot.send(FLOODER, "/random")
    assert "@svpino" in again.text
    assert not bot.standin.failures


async def test_flooding_buttons_gets_one_toast_and_no_other_requests(bot: BotHarness) -> None:
    [message] = await bot.send(FLOODER, "/random")
    data = message.button_data("🎲 Another one")
    before = len(bot.standin.all_requests)
    queries, updates = [], []
    for _ in range(60):
        queries.append(bot.standin.user_presses(FLOODER, message.message_id, data))
        updates.append(int(bot.standin.pending_updates[-1]["update_id"]))
    await settle_all(bot, updates)
    toasts = [a.text for a in bot.standin.callback_answers.values() if a.text]
    answered = [q for q in queries if q in bot.standin.callback_answers]
    made = [m for m, _ in bot.standin.all_requests[before:] if m != "getUpdates"]
    print(f"\nflood of 60 presses: {len(answered)} answered, {made.count('sendMessage')} sent")
    # The chat's line or the guard drops the rest, with one toast either way.
    assert len(toasts) == 1 and toasts[0] in (NOTE, LINE_NOTE)
    assert len(answered) <= LIMIT
    assert made.count("sendMessage") <= LIMIT - 1


async def test_group_chatter_is_never_counted(bot: BotHarness) -> None:
    group, member = -4_001, 80_010
    bot.standin.add_chat(group, type="group", title="Readers")
    bot.standin.add_member(group, member)
    chatter = [bot.standin.user_sends(group, f"hello {n}", user_id=member) for n in range(60)]
    await settle_all(bot, chatter)
    [answer] = await bot.send(group, "/random", user_id=member)
    assert "@svpino" in answer.text
    assert NOTE not in texts(bot, group)


async def test_admins_are_not_slowed_down(make_bot: Make) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    sent = [
        bot.standin.user_sends_document(ADMIN, f"part{n}.txt", f"- Idea number {n}\n".encode())
        for n in range(LIMIT + 10)
    ]
    await settle_all(bot, sent)
    summaries = [t for t in texts(bot, ADMIN) if "1 new" in t]
    assert len(summaries) == LIMIT + 10
    assert NOTE not in texts(bot, ADMIN)


def update(update_id: int, user_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": "P"},
                "text": "/random",
            },
        },
        None,
    )


def guard_context(clock: ManualClock) -> Any:
    """What FloodGuard.check reads of a PTB context: the injected clock."""
    settings = Settings(_env_file=None, bot_token=SecretStr("1:x"))  # type: ignore[call-arg]
    return SimpleNamespace(bot_data={"deps": Deps(settings, None, clock)})  # type: ignore[arg-type]


async def test_a_clock_set_back_is_no_flood() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    context = guard_context(clock)
    guard = FloodGuard(epilogue_group=None)
    for n in range(LIMIT):
        await guard.check(update(n, 42), context)
    clock.advance(days=-1)
    await guard.check(update(LIMIT, 42), context)  # would raise ApplicationHandlerStop
    assert guard.dropped == 0


async def test_memory_stays_bounded_however_many_people_write() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    context = guard_context(clock)
    guard = FloodGuard(max_people=500)
    for n in range(5_000):
        clock.advance(seconds=0.001)
        await guard.check(update(n, 1_000_000 + n), context)
        assert len(guard._rates) <= 500
    assert guard.dropped == 0
    clock.advance(seconds=(WINDOW + timedelta(seconds=1)).total_seconds())
    await guard.check(update(99_999, 1), context)
    assert len(guard._rates) <= 500


def test_the_console_answers_a_whole_piped_script(tmp_path: Path) -> None:
    """The console is one person running a script: no flood guard there. 25 piped
    /random (faster than anyone types) get 25 answers and a normal exit."""
    environ = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    environ["DATABASE_PATH"] = str(tmp_path / "takeaways.db")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input="/random\n" * 25,
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Another one") == 25
    assert "Slow down" not in result.stdout
