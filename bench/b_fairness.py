"""A group flooding the bot at 10x Telegram's limit for it, beside quiet private chats.

The bot runs as ``takeaways-bot run`` wires it (polling, its rate limiter with
Telegram's 20 messages a minute per group, the flood guard on the real clock), against
the stand-in in this process, which answers 429 for a group past 20 sends a minute as
Telegram does. Ten members of one group send /random at 20 a minute each (within the
per-person limit): 200 a minute into a group the bot may answer 20 times a minute.
Meanwhile five people in private chats send /random one after another (the next once
the answer came); the figure is their p99 wait for the answer.

Before the fair update processor (bot/telegram/fairness.py) each group reply held one
of 64 shared places while it waited for the group's allowance: private answers waited
for minutes.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from pathlib import Path

from pydantic import SecretStr

from bench.report import Figure, at_most, info, percentile
from bench.workspace import Workspace
from bot.importer import import_paths
from bot.settings import Settings
from bot.standin import BotAPIStandin, BotEvent
from bot.store import Store
from bot.telegram.app import SAMPLES, build_application, start_bot, stop_bot

GROUP = -4_200_000
MEMBERS = [70_000_001 + n for n in range(10)]
PRIVATE = [71_000_001 + n for n in range(5)]
PER_MEMBER_PER_MINUTE = 20  # 10 members: 200 a minute, 10x the group's limit
TARGET_P99 = 1.0  # seconds


async def run(ws: Workspace) -> list[Figure]:
    seconds = 90.0 if ws.sizes.collection >= 1_000_000 else 30.0
    return await measure(ws.root / "fairness.db", seconds)


async def measure(path: Path, seconds: float) -> list[Figure]:
    path.unlink(missing_ok=True)
    async with BotAPIStandin() as tg, await Store.open(path) as store:
        await import_paths(store, [SAMPLES])
        tg.max_group_sends_per_minute = 20
        tg.add_chat(GROUP, type="group", title="Flooders")
        for member in MEMBERS:
            tg.add_member(GROUP, member)
        for person in PRIVATE:
            tg.add_chat(person)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=SecretStr(tg.token),
            bot_api_url=tg.url,
            database_path=path,
        )
        app = build_application(settings, store, rate_limit=True, jobs=False)
        answered: dict[int, asyncio.Event] = {p: asyncio.Event() for p in PRIVATE}
        group_sends: list[float] = []

        def on_event(event: BotEvent) -> None:
            if event.kind != "sent" or event.chat_id is None:
                return
            if event.chat_id in answered:
                answered[event.chat_id].set()
            elif event.chat_id == GROUP:
                group_sends.append(time.perf_counter())

        tg.add_listener(on_event)
        await start_bot(app)
        try:
            waits, pushed = await _flood(tg, answered, seconds)
        finally:
            stop_started = time.perf_counter()
            await stop_bot(app)
            stopped = time.perf_counter() - stop_started
    waits.sort()
    too_many = sum(1 for f in tg.failures if f.status == 429)
    processor = app.update_processor
    dropped = getattr(processor, "dropped", 0)
    guard = app.bot_data.get("flood_guard")
    guarded = getattr(guard, "dropped", 0)
    note = f"{len(waits)} private /random while the group sent {pushed} in {seconds:.0f} s"
    return [
        at_most("fairness.private_random_p99", percentile(waits, 0.99), "s", TARGET_P99, note),
        info("fairness.private_random_p50", statistics.median(waits) if waits else 0, "s"),
        info("fairness.private_random_max", waits[-1] if waits else 0, "s"),
        info("fairness.group_sent", len(group_sends), "messages", f"in {seconds:.0f} s"),
        at_most(
            "fairness.group_most_in_a_minute",
            _most_within(group_sends, 60.0),
            "messages",
            20,
            "Telegram's limit for one group",
        ),
        info(
            "fairness.group_dropped",
            dropped + guarded,
            "updates",
            f"{dropped} from its full line, {guarded} by the flood guard",
        ),
        info("fairness.standin_429s", too_many, "responses"),
        info("fairness.stop_s", stopped, "s"),
    ]


def _most_within(times: list[float], period: float) -> int:
    """The most of ``times`` (sorted) that fall within any ``period`` seconds."""
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= period:
            start += 1
        most = max(most, end - start + 1)
    return most


async def _flood(
    tg: BotAPIStandin, answered: dict[int, asyncio.Event], seconds: float
) -> tuple[list[float], int]:
    """The group's members at their pace, the private people one command after another."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    waits: list[float] = []
    pushed = 0
    rng = random.Random(3)

    async def member(user_id: int) -> None:
        nonlocal pushed
        interval = 60.0 / PER_MEMBER_PER_MINUTE
        await asyncio.sleep(rng.uniform(0, interval))
        while loop.time() < end:
            tg.user_sends(GROUP, "/random", user_id=user_id)
            pushed += 1
            await asyncio.sleep(interval)

    async def person(chat_id: int) -> None:
        await asyncio.sleep(rng.uniform(0, 0.5))
        while loop.time() < end:
            event = answered[chat_id]
            event.clear()
            started = loop.time()
            tg.user_sends(chat_id, "/random")
            try:
                await asyncio.wait_for(event.wait(), timeout=max(1.0, end - loop.time() + 5))
            except TimeoutError:
                waits.append(loop.time() - started)
                return
            waits.append(loop.time() - started)
            await asyncio.sleep(0.5)

    await asyncio.gather(*(member(m) for m in MEMBERS), *(person(p) for p in PRIVATE))
    return waits, pushed
