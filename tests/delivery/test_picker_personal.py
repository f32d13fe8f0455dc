"""Picking for a chat with its own choices: what it may not get is stepped over, and a
chat left with only a few takeaways gets exactly what walking its round would give,
without the walk."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.delivery import picker
from bot.delivery.picker import pick_next
from bot.rules.rounds import RoundState
from bot.sources.model import Takeaway
from bot.store import Store, personal
from bot.store import chats as chat_db

CHAT = 77


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "personal.db") as opened:
        books = [("Big", 300), ("Small", 6), ("Middle", 120)]
        await opened.import_takeaways(
            [
                Takeaway(text=f"{title} idea {n}.", title=title, location=f"Location {n}")
                for title, count in books
                for n in range(count)
            ]
        )
        async with opened.transaction() as db:
            # Gaps, as deletions leave them.
            await db.execute("DELETE FROM takeaways WHERE id % 17 = 0")
            await chat_db.ensure_chat(
                db, CHAT, kind="private", title=None, delivery_time="09:00", timezone="UTC"
            )
        yield opened


async def source_ids(store: Store) -> dict[str, int]:
    rows = await store.db.execute_fetchall("SELECT title, id FROM sources")
    return {str(title): int(source_id) for title, source_id in rows}


async def picks(
    store: Store, state: RoundState, count: int, seed: int
) -> list[tuple[int | None, RoundState]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        takeaway_id, state = await pick_next(store.db, state, rng, CHAT)
        out.append((takeaway_id, state))
    return out


@pytest.mark.parametrize("seed", range(6))
async def test_the_short_list_gives_what_the_walk_gives(
    store: Store, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    ids = await source_ids(store)
    async with store.transaction() as db:
        await personal.set_source(db, CHAT, ids["Big"], False)
        await personal.set_source(db, CHAT, ids["Middle"], False)
        small = [
            int(r[0])
            for r in await db.execute_fetchall(
                "SELECT id FROM takeaways WHERE source_id = ? ORDER BY id", (ids["Small"],)
            )
        ]
        await personal.set_discarded(db, CHAT, small[seed % len(small)], True, 0)
    start = RoundState() if seed % 2 else RoundState(3, 12345 + seed, 0, 200, seed * 7)
    fast = await picks(store, start, 20, seed)
    monkeypatch.setattr(picker, "FEW", 0)  # never the short list: walk every time
    walked = await picks(store, start, 20, seed)
    assert fast == walked
    got = [takeaway_id for takeaway_id, _ in fast]
    eligible = set(small) - {small[seed % len(small)]}
    assert set(got) == eligible
    # Every round holds each eligible takeaway once.
    rounds: dict[int, list[int | None]] = {}
    for takeaway_id, state in fast:
        rounds.setdefault(state.number, []).append(takeaway_id)
    for number, chosen in rounds.items():
        assert len(chosen) == len(set(chosen)), number


async def test_nothing_to_pick_leaves_the_round_as_it_was(store: Store) -> None:
    ids = await source_ids(store)
    async with store.transaction() as db:
        for source_id in ids.values():
            await personal.set_source(db, CHAT, source_id, False)
    state = RoundState(2, 99, 0, 300, 40)
    assert await pick_next(store.db, state, random.Random(1), CHAT) == (None, state)
    async with store.transaction() as db:
        await personal.set_source(db, CHAT, ids["Small"], True)
    only = await personal.eligible_ids(store.db, CHAT, limit=100)
    # The delivery already holds all of them: nothing more, and the round is kept.
    assert await pick_next(store.db, state, random.Random(1), CHAT, skip=only) == (None, state)
    takeaway_id, after = await pick_next(store.db, state, random.Random(1), CHAT)
    assert takeaway_id in only and after != state
