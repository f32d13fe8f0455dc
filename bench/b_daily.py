"""The daily run's bookkeeping (claim, pick, record) with a send that does nothing."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from bench import gen
from bench.report import Figure, at_most, info
from bench.sysinfo import peak_rss_kib, rss_kib
from bench.workspace import Workspace
from bot.clock import ManualClock
from bot.delivery.daily import RunReport, deliver_due
from bot.delivery.journal import delivering
from bot.store import Store, StoredTakeaway
from bot.store import chats as chat_db

TARGET_S_PER_MILLION = 60.0
# The experiment: claims of this size (the daily run claims at most its send concurrency,
# so that a crash loses no more than what was in flight; this shows what that costs).
LARGE_CLAIMS = 500


async def _no_send(chat_id: int, items: Sequence[StoredTakeaway], done: int = 0, /) -> None:
    """No message, but the ledger marks one as the rate limiter does around a real one
    (``bot/telegram/marking.py``): "requested" committed first, then "answered"."""
    delivery = delivering(chat_id)
    if delivery is not None:
        await delivery.request_starting()
        delivery.request_answered()


async def _run(ws: Workspace, count: int, **options: int) -> tuple[float, RunReport, float, float]:
    """(seconds, report, peak RSS growth in MB, CPU seconds of the whole process: the
    event loop's thread and SQLite's) of one run over ``count`` due chats."""
    collection = await ws.collection(ws.sizes.collection)
    path = ws.copy(collection, "daily.db")
    ws.say(f"adding {count:,} subscribers, all due")
    gen.add_subscribers(path, count, ws.seed)
    try:
        async with await Store.open(path) as store:
            clock = ManualClock(gen.BENCH_NOW)
            rss_before, hwm_before = rss_kib(), peak_rss_kib()
            started, cpu_started = time.perf_counter(), time.process_time()
            report = await deliver_due(
                store, _no_send, clock, rng=random.Random(ws.seed), **options
            )
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            hwm_after = peak_rss_kib()
            ledger = await chat_db.count_daily(store.db, gen.BENCH_NOW.date())
            again = await deliver_due(store, _no_send, clock, rng=random.Random(ws.seed))
    finally:
        ws.remove(path)
    if report.sent != count or sum(ledger.values()) != count or again.due:
        raise AssertionError(f"bookkeeping went wrong: {report.line()}, ledger {ledger}")
    return elapsed, report, max(0, hwm_after - max(hwm_before, rss_before)) / 1024, cpu


async def run(ws: Workspace) -> list[Figure]:
    count = ws.sizes.daily_subscribers
    elapsed, _, growth, cpu = await _run(ws, count)
    large, _, _, _ = await _run(ws, count, batch_size=LARGE_CLAIMS, concurrency=LARGE_CLAIMS)
    target = TARGET_S_PER_MILLION * count / 1_000_000
    at = f"{count:,} subscribers due, {ws.sizes.collection:,} takeaways"
    return [
        at_most("daily.bookkeeping_total", elapsed, "s", target, at),
        info("daily.bookkeeping_rate", count / elapsed, "chats/s", "claim + pick + record"),
        info(
            "daily.bookkeeping_cpu",
            cpu,
            "s",
            "CPU of both threads (the event loop's and SQLite's): steadier than wall time",
        ),
        info("daily.peak_rss_growth", growth, "MB", "peak RSS above the start: flat in N"),
        info(
            "daily.bookkeeping_total_claims_500",
            large,
            "s",
            f"experiment: claims of {LARGE_CLAIMS} instead of at most the send concurrency",
        ),
    ]
