"""The next takeaway in a chat's round: a few indexed lookups, whatever the collection size."""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable, Collection, Sequence
from functools import partial

import aiosqlite

from bot.delivery.rounds import RoundState
from bot.store.takeaways import max_id as highest_id


async def _exists(db: aiosqlite.Connection, takeaway_id: int) -> bool:
    async with db.execute("SELECT 1 FROM takeaways WHERE id = ?", (takeaway_id,)) as cursor:
        return await cursor.fetchone() is not None


async def _existing(db: aiosqlite.Connection, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` are in the table: one query for a whole batch."""
    rows = await db.execute_fetchall(
        "SELECT id FROM takeaways WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(ids)),),
    )
    return {int(row[0]) for row in rows}


def _step(
    state: RoundState, max_id: int, fresh_rounds: int, rng: random.Random
) -> tuple[int | None, RoundState, int]:
    """From ``state``, the next id to try, the state after it and the fresh rounds begun.

    ``None`` when the search is over: the collection is empty, or a fresh round was
    walked without finding anything. The one definition of a round's order, shared by
    ``pick_next`` and ``pick_next_many``.
    """
    while state.segment_done:
        if max_id > state.hi:
            state = state.extended_to(max_id)
        else:
            if max_id == 0 or fresh_rounds > 0:
                return None, state, fresh_rounds
            state = state.next_round(max_id, rng)
            fresh_rounds += 1
    return state.current_id(), state.advanced(), fresh_rounds


async def pick_next(
    db: aiosqlite.Connection, state: RoundState, rng: random.Random
) -> tuple[int | None, RoundState]:
    """The next takeaway id of the round and the state after it; ``None`` when empty.

    Ids missing from the table (gaps) are stepped over. A whole empty round (nothing in
    the collection at all) ends the search instead of looping.
    """
    max_id: int | None = None
    if state.number == 0:
        # A chat's first pick: give it its own key, so no two chats share an order.
        max_id = await highest_id(db)
        state = state.next_round(max_id, rng)
    fresh_rounds = 0
    while True:
        if state.segment_done and max_id is None:
            max_id = await highest_id(db)
        candidate, state, fresh_rounds = _step(state, max_id or 0, fresh_rounds, rng)
        if candidate is None:
            return None, state
        if await _exists(db, candidate):
            return candidate, state


async def pick_next_many(
    db: aiosqlite.Connection,
    states: Sequence[RoundState],
    rng: random.Random,
    existing: Callable[[Sequence[int]], Awaitable[Collection[int]]] | None = None,
) -> list[tuple[int | None, RoundState]]:
    """``pick_next`` for each state, in order: the same results, the same draws from
    ``rng``, as calling it once per state, in two queries for the usual batch.

    The highest id is read once, so call it inside a transaction (as the daily run
    does), where no import can add takeaways half-way. Every state's first candidate
    is tried in one query: ``existing(ids)`` (by default a query for the ids alone; the
    daily run passes one that reads the takeaways it is about to send). A candidate that
    falls into a gap (deleted takeaways) needs the search to go on, and that search may
    draw from ``rng``; so the states after it are tried again from the ``rng`` state
    they would have seen.
    """
    lookup = existing or partial(_existing, db)
    results: list[tuple[int | None, RoundState]] = []
    if not states:
        return results
    max_id = await highest_id(db)
    start = 0
    while start < len(states):
        before = rng.getstate()
        firsts = [_first_step(state, max_id, rng) for state in states[start:]]
        found = set(await lookup([c for c, _, _ in firsts if c is not None]))
        for offset, (candidate, state, fresh_rounds) in enumerate(firsts):
            if candidate is None or candidate in found:
                results.append((candidate, state))
                continue
            # A gap: put rng back where it was after this state's own first step ...
            rng.setstate(before)
            for earlier in states[start : start + offset + 1]:
                _first_step(earlier, max_id, rng)
            # ... and go on with this search one query at a time (rare: only after deletes).
            while candidate is not None and candidate not in found:
                candidate, state, fresh_rounds = _step(state, max_id, fresh_rounds, rng)
                if candidate is not None and await _exists(db, candidate):
                    found.add(candidate)
            results.append((candidate, state))
            start += offset + 1
            break
        else:
            start = len(states)
    return results


def _first_step(
    state: RoundState, max_id: int, rng: random.Random
) -> tuple[int | None, RoundState, int]:
    if state.number == 0:
        state = state.next_round(max_id, rng)
    return _step(state, max_id, 0, rng)
