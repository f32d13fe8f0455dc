"""The daily run's bookkeeping (claim, pick, record) with a send that does nothing."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench import gen
from bench.report import Figure, at_most, info
from bench.sysinfo import peak_rss_kib, rss_kib, thread_cpu_seconds
from bench.workspace import Workspace
from bot.clock import ManualClock
from bot.delivery.daily import CONCURRENCY, RunReport, claim_batch, deliver_due
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


@dataclass(frozen=True, slots=True)
class _Run:
    seconds: float
    report: RunReport
    rss_growth_mb: float
    cpu: float  # the whole process: the event loop's thread and SQLite's
    loop_cpu: float | None  # the event loop's thread alone (None: no /proc here)


async def _run(ws: Workspace, count: int, **options: int) -> _Run:
    """One run over ``count`` due chats."""
    collection = await ws.collection(ws.sizes.collection)
    path = ws.copy(collection, "daily.db")
    ws.say(f"adding {count:,} subscribers, all due")
    gen.add_subscribers(path, count, ws.seed)
    try:
        async with await Store.open(path) as store:
            clock = ManualClock(gen.BENCH_NOW)
            rss_before, hwm_before = rss_kib(), peak_rss_kib()
            loop_thread = threading.get_native_id()
            threads_before = thread_cpu_seconds()
            started, cpu_started = time.perf_counter(), time.process_time()
            report = await deliver_due(
                store, _no_send, clock, rng=random.Random(ws.seed), **options
            )
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            threads_after = thread_cpu_seconds()
            loop_cpu = (
                threads_after[loop_thread] - threads_before[loop_thread]
                if loop_thread in threads_before and loop_thread in threads_after
                else None
            )
            hwm_after = peak_rss_kib()
            ledger = await chat_db.count_daily(store.db, gen.BENCH_NOW.date())
            again = await deliver_due(store, _no_send, clock, rng=random.Random(ws.seed))
    finally:
        ws.remove(path)
    if report.sent != count or sum(ledger.values()) != count or again.due:
        raise AssertionError(f"bookkeeping went wrong: {report.line()}, ledger {ledger}")
    growth = max(0, hwm_after - max(hwm_before, rss_before)) / 1024
    return _Run(elapsed, report, growth, cpu, loop_cpu)


async def _claims_alone(ws: Workspace, count: int) -> tuple[float, float]:
    """Wall and CPU seconds to claim ``count`` due chats with nothing sent or noted.

    The claims are a chain: each waits for the one before it, and each is a series of
    round trips to SQLite's thread. Whatever sends and notes beside them, in this
    process or another, the daily run cannot finish before its claims do: this is
    its floor while the claims are made this way (docs/performance.md).
    """
    collection = await ws.collection(ws.sizes.collection)
    path = ws.copy(collection, "claims.db")
    ws.say(f"adding {count:,} subscribers, all due, to claim alone")
    gen.add_subscribers(path, count, ws.seed)
    claimed = 0
    try:
        async with await Store.open(path) as store:
            rng = random.Random(ws.seed)
            started, cpu_started = time.perf_counter(), time.process_time()
            while True:
                claims, report = await claim_batch(store, gen.BENCH_NOW, rng, CONCURRENCY)
                if not (report.due or report.skipped):
                    break
                claimed += len(claims)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        ws.remove(path)
    if claimed != count:
        raise AssertionError(f"claimed {claimed:,} of {count:,} due")
    return elapsed, cpu


async def run(ws: Workspace) -> list[Figure]:
    count = ws.sizes.daily_subscribers
    run = await _run(ws, count)
    alone, alone_cpu = await _claims_alone(ws, count)
    large = await _run(ws, count, batch_size=LARGE_CLAIMS, concurrency=LARGE_CLAIMS)
    target = TARGET_S_PER_MILLION * count / 1_000_000
    at = f"{count:,} subscribers due, {ws.sizes.collection:,} takeaways"
    figures = [
        at_most("daily.bookkeeping_total", run.seconds, "s", target, at),
        info("daily.bookkeeping_rate", count / run.seconds, "chats/s", "claim + pick + record"),
        info(
            "daily.bookkeeping_cpu",
            run.cpu,
            "s",
            "CPU of both threads (the event loop's and SQLite's): steadier than wall time",
        ),
    ]
    if run.loop_cpu is not None:
        # Python's threads share one interpreter lock: SQLite's thread gets it back after
        # each statement step only when the event loop's thread lets go, so the two take
        # turns, and wall time is close to the sum of the two (see docs/performance.md).
        figures += [
            info("daily.loop_thread_cpu", run.loop_cpu, "s", "the event loop's thread"),
            info(
                "daily.sqlite_thread_cpu", max(0.0, run.cpu - run.loop_cpu), "s", "SQLite's thread"
            ),
            info(
                "daily.threads_overlap",
                100 * max(0.0, run.cpu - run.seconds) / run.seconds,
                "%",
                "at least this much of the wall time both threads were busy (CPU beyond wall)",
            ),
        ]
    return [
        *figures,
        info(
            "daily.claims_alone",
            alone,
            "s",
            "the claims alone, nothing sent or noted: the run's floor (the claims are a chain)",
        ),
        info("daily.claims_alone_cpu", alone_cpu, "s", "CPU of the claims alone"),
        info(
            "daily.peak_rss_growth", run.rss_growth_mb, "MB", "peak RSS above the start: flat in N"
        ),
        info(
            "daily.bookkeeping_total_claims_500",
            large.seconds,
            "s",
            f"experiment: claims of {LARGE_CLAIMS} instead of at most the send concurrency",
        ),
    ]
