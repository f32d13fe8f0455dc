"""Reading back: random picks, lookups by id, stats and export."""

from __future__ import annotations

import random
from collections import Counter

from store_helpers import book, column

from bot.sources.model import Takeaway
from bot.store import Stats, Store

MIXED = [
    book("You do not rise to the level of your goals.", 10, note="Key idea", tags=("habits",)),
    book("Every action is a vote.", 20, highlighted_at="2023-01-02T10:00:00"),
    Takeaway(
        text="Small models are underrated.",
        title="ML thread",
        author="@svpino",
        url="https://x.com/svpino/status/2",
        source_url="https://x.com/svpino/status/1",
        category="tweets",
        tags=("ml", "été"),
    ),
    Takeaway(text="A thought with no source at all."),
    Takeaway(
        text="Read less, better.",
        title="Essay",
        url="https://example.com/essay#p3",
        location="paragraph 3",
        source_url="https://example.com/essay",
        category="articles",
        note="multi\nline",
    ),
]


async def test_random_on_an_empty_store_is_none(store: Store) -> None:
    assert await store.random_takeaway() is None
    assert await store.random_takeaway(random.Random(1)) is None


async def test_random_returns_every_takeaway_eventually(store: Store) -> None:
    await store.import_takeaways([book(f"Idea {i}.", i) for i in range(7)])
    rng = random.Random(42)
    seen: Counter[int] = Counter()
    for _ in range(400):
        item = await store.random_takeaway(rng)
        assert item is not None
        seen[item.id] += 1
    assert set(seen) == set(range(1, 8))
    assert min(seen.values()) > 20  # roughly uniform, not just "eventually"


async def test_random_is_reproducible_with_a_seeded_rng(store: Store) -> None:
    await store.import_takeaways([book(f"Idea {i}.", i) for i in range(20)])
    first = [await store.random_takeaway(random.Random(7)) for _ in range(3)]
    again = [await store.random_takeaway(random.Random(7)) for _ in range(3)]
    assert first == again


async def test_random_skips_gaps_without_favouring_their_neighbours(store: Store) -> None:
    await store.import_takeaways([book(f"Idea {i}.", i) for i in range(1, 31)])
    # Leave ids 1, 15 and 30 (the ends stay, so min/max do not move).
    await store.db.execute("DELETE FROM takeaways WHERE id NOT IN (1, 15, 30)")
    rng = random.Random(3)
    seen: Counter[int] = Counter()
    for _ in range(300):
        item = await store.random_takeaway(rng)
        assert item is not None
        seen[item.id] += 1
    assert set(seen) == {1, 15, 30}
    # With "next id after the gap" id 15 and 30 would get ~14/30 each and 1 almost none.
    assert min(seen.values()) > 60


async def test_random_pick_uses_the_index_not_a_scan(store: Store) -> None:
    await store.import_takeaways([book(f"Idea {i}.", i) for i in range(50)])
    statements: list[str] = []
    await store.db.set_trace_callback(statements.append)
    assert await store.random_takeaway(random.Random(1)) is not None
    await store.db.set_trace_callback(None)  # type: ignore[arg-type]
    assert 1 <= len(statements) <= 3
    for sql in statements:
        assert "random()" not in sql.lower() and "count(" not in sql.lower()
        params = [1] * sql.count("?")
        plan = await store.db.execute_fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
        details = " ".join(str(row[3]) for row in plan)
        assert "SCAN" not in details.replace("SCAN CONSTANT ROW", ""), details


async def test_get_by_id(store: Store) -> None:
    await store.import_takeaways(MIXED)
    item = await store.get_takeaway(3)
    assert item is not None and item.takeaway == MIXED[2]
    assert await store.get_takeaway(999) is None
    many = await store.get_takeaways([5, 1, 999, 1])
    assert sorted(many) == [1, 5]
    assert many[5].takeaway == MIXED[4]
    assert await store.get_takeaways([]) == {}


async def test_max_takeaway_id(store: Store) -> None:
    assert await store.max_takeaway_id() == 0
    await store.import_takeaways(MIXED)
    assert await store.max_takeaway_id() == len(MIXED)


async def test_stats(store: Store) -> None:
    assert await store.stats() == Stats(takeaways=0, sources=0, with_notes=0, by_category={})
    await store.import_takeaways(MIXED)
    assert await store.stats() == Stats(
        takeaways=5,
        sources=4,
        with_notes=2,
        by_category={"books": 2, None: 1, "articles": 1, "tweets": 1},
    )


async def test_export_round_trip(store: Store) -> None:
    await store.import_takeaways(MIXED)
    assert [t async for t in store.export()] == MIXED


async def test_export_fills_in_source_fields(store: Store) -> None:
    link = "https://example.com/book"
    await store.import_takeaways(
        [
            Takeaway(text="First.", location="1", source_url=link),
            Takeaway(text="Second.", location="2", source_url=link, title="Book", author="A"),
        ]
    )
    exported = [t async for t in store.export()]
    assert [(t.text, t.title, t.author) for t in exported] == [
        ("First.", "Book", "A"),
        ("Second.", "Book", "A"),
    ]


async def test_export_streams_in_id_order_past_one_page(store: Store) -> None:
    items = [book(f"Idea {i}.", i, title=f"Book {i % 3}") for i in range(1234)]
    await store.import_takeaways(items)
    await store.db.execute("DELETE FROM takeaways WHERE id % 100 = 0")
    exported = [t async for t in store.export()]
    expected = [t for i, t in enumerate(items, start=1) if i % 100 != 0]
    assert exported == expected
    assert await column(store, "SELECT count(*) FROM takeaways") == [len(expected)]
