"""/random's pick: one statement for the usual case, the old draws when that misses.

Whichever path a pick takes, it is a takeaway the chat may get, read whole, with the
chat's marks on it; every eligible takeaway is about as likely as any other, with
gaps in the ids (deletions) and choices in the chat.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.delivery.picker import RANDOM_TRIES, pick_random_for
from bot.sources.model import Takeaway
from bot.store import Store, personal
from bot.store import chats as chat_db

CHAT = 77
CHANNEL = -1001


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "random.db") as opened:
        books = [("Big", 60), ("Small", 6)]
        await opened.import_takeaways(
            [
                Takeaway(text=f"{title} idea {n}.", title=title, location=f"Location {n}")
                for title, count in books
                for n in range(count)
            ]
        )
        async with opened.transaction() as db:
            await db.execute("DELETE FROM takeaways WHERE id % 7 = 0")  # gaps
            for chat_id, kind in ((CHAT, "private"), (CHANNEL, "channel")):
                await chat_db.ensure_chat(
                    db, chat_id, kind=kind, title=None, delivery_time="09:00", timezone="UTC"
                )
        yield opened


async def ids(store: Store, sql: str = "SELECT id FROM takeaways") -> set[int]:
    return {int(row[0]) for row in await store.db.execute_fetchall(sql)}


async def test_picks_are_whole_eligible_and_evenly_spread(store: Store) -> None:
    existing = await ids(store)
    hidden, discarded = min(existing), max(existing)
    small = await ids(
        store,
        "SELECT t.id FROM takeaways AS t JOIN sources AS s ON s.id = t.source_id"
        " WHERE s.title = 'Small'",
    )
    [small_source] = [
        int(row[0])
        for row in await store.db.execute_fetchall("SELECT id FROM sources WHERE title = 'Small'")
    ]
    async with store.transaction() as db:
        await personal.set_hidden(db, hidden, True, by=1, now=0)
        await personal.set_discarded(db, CHAT, discarded, True, now=0)
        await personal.set_source(db, CHAT, small_source, False)
    wanted = existing - {hidden, discarded} - small
    rng = random.Random(3)
    counts: Counter[int] = Counter()
    rounds = 40
    for _ in range(rounds * len(wanted)):
        picked = await pick_random_for(store.db, CHAT, rng)
        assert picked is not None
        counts[picked.item.id] += 1
        assert picked.item == await store.get_takeaway(picked.item.id)
    assert set(counts) == wanted
    # Binomial(rounds * n, 1/n): mean 40, standard deviation about 6.3.
    assert min(counts.values()) > 15 and max(counts.values()) < 70, counts


async def test_the_marks_come_with_the_pick(store: Store) -> None:
    [only] = sorted(await ids(store))[:1]
    async with store.transaction() as db:
        await db.execute("DELETE FROM takeaways WHERE id != ?", (only,))
        await personal.set_favorite(db, CHAT, only, True, now=0)
    picked = await pick_random_for(store.db, CHAT, random.Random(1))
    assert picked is not None and picked.item.id == only
    assert picked.marks == await personal.marks(store.db, CHAT, [only])
    assert picked.marks.favorites == {only} and not picked.marks.channel
    in_channel = await pick_random_for(store.db, CHANNEL, random.Random(1))
    assert in_channel is not None and in_channel.marks.channel
    assert in_channel.marks == await personal.marks(store.db, CHANNEL, [only])
    anyone = await pick_random_for(store.db, None, random.Random(1))
    assert anyone is not None and anyone.marks == personal.NO_MARKS


async def test_a_chat_that_excludes_almost_everything_still_gets_its_one(store: Store) -> None:
    """Most draws miss: the one statement gives up after RANDOM_TRIES, the old path finds it."""
    existing = sorted(await ids(store))
    keep = existing[len(existing) // 2]
    async with store.transaction() as db:
        for takeaway_id in existing:
            if takeaway_id != keep:
                await personal.set_discarded(db, CHAT, takeaway_id, True, now=0)
    rng = random.Random(5)
    draws = [rng.getrandbits(62) for _ in range(RANDOM_TRIES)]
    assert await personal.draw_eligible(store.db, CHAT, draws) is None  # the first try misses
    for seed in range(5):
        picked = await pick_random_for(store.db, CHAT, random.Random(seed))
        assert picked is not None and picked.item.id == keep
        assert picked.marks == await personal.marks(store.db, CHAT, [keep])


async def test_nothing_to_pick(store: Store) -> None:
    async with store.transaction() as db:
        for takeaway_id in await ids(store):
            await personal.set_discarded(db, CHAT, takeaway_id, True, now=0)
    assert await pick_random_for(store.db, CHAT, random.Random(1)) is None
    assert await pick_random_for(store.db, None, random.Random(1)) is not None
    async with store.transaction() as db:
        await db.execute("DELETE FROM discarded")
        await db.execute("DELETE FROM takeaways")
    assert await pick_random_for(store.db, None, random.Random(1)) is None
    assert await personal.draw_eligible(store.db, CHAT, [1, 2, 3]) is None


async def test_draws_are_tried_in_order(store: Store) -> None:
    """The first draw that hits wins, not the lowest id among the hits."""
    existing = sorted(await ids(store))
    low, high = existing[0], existing[-1]
    span = high - low + 1
    for first, second in ((existing[5], existing[1]), (existing[1], existing[5])):
        picked = await personal.draw_eligible(store.db, CHAT, [first - low, second - low + span])
        assert picked is not None and picked.item.id == first
