"""Resident memory of the running bot (its own process) through a day's delivery to
every subscriber, then a burst of /random and /search from a thousand people."""

from __future__ import annotations

import asyncio
import random
import signal
import sys
import time

from bench import gen
from bench.remote import RemoteStandin
from bench.report import Figure, at_most, info
from bench.sysinfo import peak_rss_kib, rss_kib
from bench.workspace import Workspace

COMMAND_USERS_FROM = 60_000_001
COMMAND_USERS = 1_000


async def _wait_sent(tg: RemoteStandin, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (await tg.call("stats"))["sent"] < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"the bot did not deliver {count:,} within {timeout:.0f} s")
        await asyncio.sleep(0.25)


async def run(ws: Workspace) -> list[Figure]:
    subscribers = ws.sizes.memory_subscribers
    collection = await ws.collection(ws.sizes.collection)
    path = ws.copy(collection, "memory.db")
    gen.add_subscribers(path, subscribers, ws.seed)
    vocab = gen.Vocabulary(ws.seed)
    rng = random.Random(f"memory-{ws.seed}")
    try:
        async with RemoteStandin() as tg:
            await tg.call("add_chats", first=1, count=subscribers)
            await tg.call("add_chats", first=COMMAND_USERS_FROM, count=COMMAND_USERS)
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.botproc",
                str(path),
                tg.url,
                tg.token,
                stdout=asyncio.subprocess.PIPE,
            )
            assert proc.stdout is not None
            await asyncio.wait_for(proc.stdout.readline(), 120)
            started_kib = rss_kib(proc.pid)
            try:
                # The delivery job's first tick (1 s after start) sends to everyone due.
                await _wait_sent(tg, subscribers, 120 + subscribers / 100)
                after_delivery_kib = rss_kib(proc.pid)
                await tg.call("reset")
                await tg.call("push", first=COMMAND_USERS_FROM, count=COMMAND_USERS, text="/random")
                await tg.wait_answered(COMMAND_USERS, 120)
                await tg.call("reset")
                for chat_id in range(COMMAND_USERS_FROM, COMMAND_USERS_FROM + 200):
                    query = vocab.query(rng)
                    await tg.call("push", first=chat_id, count=1, text=f"/search {query}")
                await tg.wait_answered(200, 120)
                peak_kib = peak_rss_kib(proc.pid)
                end_kib = rss_kib(proc.pid)
            finally:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(proc.wait(), 60)
            if code != 0:
                raise AssertionError(f"the bot exited with {code}")
    finally:
        ws.remove(path)
    at = f"{ws.sizes.collection:,} takeaways, {subscribers:,} subscribers"
    return [
        at_most("memory.peak_rss", peak_kib / 1024, "MB", 150, at),
        info("memory.rss_after_start", started_kib / 1024, "MB"),
        info("memory.rss_after_delivery", after_delivery_kib / 1024, "MB", "all delivered"),
        info("memory.rss_end", end_kib / 1024, "MB", "after 1,000 /random + 200 /search"),
    ]
