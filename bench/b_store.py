"""Storage queries: full-text search (and a LIKE scan to compare), random and round picks."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Awaitable, Callable

from bench import gen
from bench.report import Figure, at_most, info, percentile
from bench.workspace import Workspace
from bot.delivery.picker import pick_next
from bot.rules.rounds import RoundState
from bot.store import Store
from bot.store.search import query_tokens


async def _timed(calls: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    """Each call's duration in ms, sorted."""
    times = []
    for index in range(calls):
        started = time.perf_counter()
        await call(index)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


async def run_search(ws: Workspace) -> list[Figure]:
    sizes = ws.sizes
    path = await ws.collection(sizes.collection)
    vocab = gen.Vocabulary(ws.seed)
    rng = random.Random(f"queries-{ws.seed}")
    queries = [vocab.query(rng) for _ in range(sizes.search_queries)]
    at = f"{sizes.collection:,} takeaways"
    async with await Store.open(path) as store:
        # As the bot asks: a page of five and one more to know whether to offer "More".
        for query in queries[:100]:  # warm up the page cache and the statement cache
            await store.search(query, limit=6)
        hits = 0

        async def search(index: int) -> None:
            nonlocal hits
            hits += len(await store.search(queries[index], limit=6))

        times = await _timed(len(queries), search)
        # The worst case: only the most frequent words, "the" and "of" included.
        common = [vocab.common_query(rng) for _ in range(sizes.search_queries // 5)]

        common_hits: list[int] = []

        async def search_common(index: int) -> None:
            common_hits.append(len(await store.search(common[index], limit=6)))

        common_times = await _timed(len(common), search_common)
        # Search reads a window of recent matches: count the pages that came back
        # shorter than the matches that exist (untimed; counting all is the slow part).
        short = 0
        for query, found in zip(common, common_hits, strict=True):
            if found < 6 and await store.count_matches(query) > found:
                short += 1
        # The same words through a LIKE scan: what search would cost without the index.
        like_queries = queries[: sizes.like_queries]
        fts_times = []
        like_times = []
        for query in like_queries:
            words = query_tokens(query)
            started = time.perf_counter()
            await store.search(query, limit=6)
            fts_times.append(time.perf_counter() - started)
            where = " AND ".join("(text LIKE ? OR note LIKE ?)" for _ in words)
            params = [f"%{w}%" for w in words for _ in (0, 1)]
            started = time.perf_counter()
            await store.db.execute_fetchall(
                f"SELECT id FROM takeaways WHERE {where}",  # noqa: S608 - built from a constant
                params,
            )
            like_times.append(time.perf_counter() - started)
    ratio = statistics.median(like_times) / statistics.median(fts_times)
    return [
        at_most("search.p50", percentile(times, 0.5), "ms", 2, f"{len(queries):,} queries, {at}"),
        at_most("search.p99", percentile(times, 0.99), "ms", 10, f"max {times[-1]:.1f} ms"),
        info("search.hits_per_query", hits / len(queries), "rows", "limit 6, as the bot asks"),
        at_most(
            "search.common_words.p50",
            percentile(common_times, 0.5),
            "ms",
            2,
            f"{len(common):,} queries of the 200 most frequent words",
        ),
        at_most(
            "search.common_words.p99",
            percentile(common_times, 0.99),
            "ms",
            10,
            f"max {common_times[-1]:.1f} ms",
        ),
        info(
            "search.common_words.short_pages",
            short,
            "queries",
            f"of {len(common):,}: first page had fewer hits than exist (window bound)",
        ),
        Figure(
            "search.vs_like_scan",
            ratio,
            "x faster",
            "report (expect >= 100)",
            None,
            f"LIKE median {statistics.median(like_times) * 1000:.0f} ms over {len(like_queries)}",
        ),
    ]


async def _pick_times(path_: object, picks: int, seed: int) -> tuple[list[float], list[float]]:
    """(random pick ms, next-in-round pick ms), each pick including reading the takeaway."""
    async with await Store.open(str(path_)) as store:
        rng = random.Random(f"picks-{seed}")
        for _ in range(200):
            await store.random_takeaway(rng)

        async def random_pick(index: int) -> None:
            assert await store.random_takeaway(rng) is not None

        randoms = await _timed(picks, random_pick)
        state = RoundState()
        for _ in range(200):
            _, state = await pick_next(store.db, state, rng)

        async def round_pick(index: int) -> None:
            nonlocal state
            takeaway_id, state = await pick_next(store.db, state, rng)
            assert takeaway_id is not None
            assert await store.get_takeaway(takeaway_id) is not None

        rounds = await _timed(picks, round_pick)
    return randoms, rounds


async def run_pick(ws: Workspace) -> list[Figure]:
    sizes = ws.sizes
    small = await ws.collection(sizes.small_collection)
    large = await ws.collection(sizes.collection)
    small_random, small_round = await _pick_times(small, sizes.picks, ws.seed)
    large_random, large_round = await _pick_times(large, sizes.picks, ws.seed)
    s, n = _size(sizes.small_collection), _size(sizes.collection)
    figures = []
    for kind, at_small, at_large in (
        ("random", small_random, large_random),
        ("round", small_round, large_round),
    ):
        p99_small, p99_large = percentile(at_small, 0.99), percentile(at_large, 0.99)
        p50_small, p50_large = percentile(at_small, 0.5), percentile(at_large, 0.5)
        figures += [
            at_most(f"pick.{kind}.p99@{s}", p99_small, "ms", 1, f"p50 {p50_small:.3f} ms"),
            at_most(f"pick.{kind}.p99@{n}", p99_large, "ms", 1, f"p50 {p50_large:.3f} ms"),
            at_most(
                f"pick.{kind}.p99_growth_{s}_to_{n}",
                p99_large / p99_small,
                "x",
                2,
                "flat: within 2x across 100x more takeaways",
            ),
        ]
    return figures
