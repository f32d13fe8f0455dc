"""``pick_next_many`` is ``pick_next`` called once per chat, in fewer queries.

The daily run picks for a whole batch at once; whatever the gaps in the collection and
wherever each chat is in its round, the picks, the states after them and the draws
taken from the random generator must be exactly those of picking one chat at a time.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.delivery.picker import pick_next, pick_next_many
from bot.rules.rounds import RoundState
from bot.sources.model import Takeaway
from bot.store import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "picks.db") as opened:
        await opened.import_takeaways(
            [
                Takeaway(text=f"Idea {n}.", title="A book", location=f"Location {n}")
                for n in range(60)
            ]
        )
        yield opened


def states_for(rng: random.Random, count: int, highest: int) -> list[RoundState]:
    """New chats, chats mid-round, at the end of a segment, and behind new imports."""
    states = []
    for _ in range(count):
        kind = rng.randrange(4)
        key = rng.getrandbits(63)
        if kind == 0:
            states.append(RoundState())
        elif kind == 1:
            states.append(RoundState(1, key, 0, highest, rng.randrange(highest)))
        elif kind == 2:
            states.append(RoundState(2, key, 0, highest, highest))  # segment done
        else:
            low = rng.randrange(highest // 2)
            states.append(RoundState(1, key, 0, low, low))  # new ids since
    return states


async def one_by_one(
    store: Store, states: list[RoundState], rng: random.Random
) -> list[tuple[int | None, RoundState]]:
    return [await pick_next(store.db, state, rng) for state in states]


@pytest.mark.parametrize("deleted", [[], [7], [1, 2, 3, 30, 31, 59, 60], list(range(5, 55))])
async def test_batch_picks_equal_one_by_one_picks(store: Store, deleted: list[int]) -> None:
    if deleted:
        marks = ",".join("?" * len(deleted))
        await store.db.execute(f"DELETE FROM takeaways WHERE id IN ({marks})", deleted)
    for seed in range(20):
        states = states_for(random.Random(seed), 40, 60)
        alone, together = random.Random(seed), random.Random(seed)
        expected = await one_by_one(store, states, alone)
        assert await pick_next_many(store.db, states, together) == expected
        assert together.getstate() == alone.getstate()  # the same draws, in the same order


async def test_an_empty_collection_picks_nothing(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "empty.db") as empty:
        states = [RoundState(), RoundState(1, 5, 0, 3, 3)]
        alone, together = random.Random(1), random.Random(1)
        expected = await one_by_one(empty, states, alone)
        assert [pick for pick, _ in expected] == [None, None]
        assert await pick_next_many(empty.db, states, together) == expected
        assert await pick_next_many(empty.db, [], together) == []
