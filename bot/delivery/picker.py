"""The next takeaway in a chat's round: a few indexed lookups, whatever the collection size.

What a chat may get (``bot.store.personal.eligible``) is checked as the round is walked:
hidden, discarded and turned-off takeaways are stepped over like deleted ones, so a
choice applies to the very next pick and the round itself never has to be rebuilt.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import replace
from functools import partial

import aiosqlite

from bot.rules.rounds import RoundState
from bot.store.personal import (
    NO_MARKS,
    Pick,
    draw_eligible,
    eligible,
    eligible_ids,
    favorite_due,
    favorite_shown,
    random_eligible,
)
from bot.store.personal import marks as personal_marks
from bot.store.takeaways import get_many, pick_random
from bot.store.takeaways import max_id as highest_id

# Every FAVORITE_EVERY-th delivery of a chat with favorites starts with the favorite it
# has not seen for longest: kept takeaways come back more often than the rest.
FAVORITE_EVERY = 5

# A chat that may get fewer than FEW takeaways is picked for from that list (see
# ``_first_of``); more than that, and walking the round finds one within a few queries.
FEW = 5_000

# Candidates checked per query while walking a round past ineligible takeaways: small
# first (the usual next pick is the first candidate), growing when a chat excludes most
# of the collection, so even then a pick is a few dozen queries.
FIRST_CHUNK = 16
LARGEST_CHUNK = 4096


async def _exists(db: aiosqlite.Connection, takeaway_id: int) -> bool:
    return bool(await eligible(db, None, [takeaway_id]))


async def _existing(db: aiosqlite.Connection, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` may be sent to anyone: one query for a whole batch."""
    return await eligible(db, None, ids)


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
    db: aiosqlite.Connection,
    state: RoundState,
    rng: random.Random,
    chat_id: int | None = None,
    *,
    skip: Collection[int] = (),
) -> tuple[int | None, RoundState]:
    """The next takeaway id of the round and the state after it; ``None`` when empty.

    Ids that are gone, hidden, or (given ``chat_id``) not for that chat are stepped
    over, as are those in ``skip`` (already in the same delivery). When nothing at all
    can be picked the round is left as it was. A chat whose choices leave only a few
    takeaways is not walked id by id: see ``_first_of``.
    """
    before = state
    max_id: int | None = None
    if state.number == 0:
        # A chat's first pick: give it its own key, so no two chats share an order.
        max_id = await highest_id(db)
        state = state.next_round(max_id, rng)
    fresh_rounds = 0
    chunk_size = FIRST_CHUNK
    while True:
        if state.segment_done and max_id is None:
            max_id = await highest_id(db)
        candidate, state, fresh_rounds = _step(state, max_id or 0, fresh_rounds, rng)
        if candidate is None:
            return None, before
        # More candidates from the same segment (no draws from rng within one), checked
        # in one query; the state after each is where the round stands if it is taken.
        chunk = [(candidate, state)]
        while len(chunk) < chunk_size and not state.segment_done:
            chunk.append((state.current_id(), state := state.advanced()))
        found = await eligible(db, chat_id, [c for c, _ in chunk])
        for candidate, after in chunk:
            if candidate in found and candidate not in skip:
                return candidate, after
        if chat_id is not None and chunk_size == FIRST_CHUNK:
            # A chat that excludes much: if what it may get is a short list, find its
            # next one in the round directly rather than by walking.
            few = await eligible_ids(db, chat_id, limit=FEW)
            if len(few) < FEW:
                if max_id is None:
                    max_id = await highest_id(db)
                picked, after = _first_of(state, set(few) - set(skip), max_id, fresh_rounds, rng)
                return (picked, after) if picked is not None else (None, before)
        chunk_size = min(chunk_size * 4, LARGEST_CHUNK)


def _first_of(
    state: RoundState, ids: set[int], max_id: int, fresh_rounds: int, rng: random.Random
) -> tuple[int | None, RoundState]:
    """What walking the round from ``state`` would reach first among ``ids``, found by
    asking each id its position (the permutation is invertible): O(len(ids)) instead
    of O(collection / len(ids)). Segment and round changes follow ``_step``."""
    while True:
        if not state.segment_done:
            positions = [state.position_of(i) for i in ids]
            ahead = [p for p in positions if p is not None and p >= state.position]
            if ahead:
                at = replace(state, position=min(ahead))
                return at.current_id(), at.advanced()
        if max_id > state.hi:
            state = state.extended_to(max_id)
        elif max_id == 0 or fresh_rounds > 0 or not ids:
            return None, state
        else:
            state = state.next_round(max_id, rng)
            fresh_rounds += 1


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
            original = states[start + offset]
            if candidate is None or candidate in found:
                results.append((candidate, state) if candidate is not None else (None, original))
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
            results.append((candidate, state) if candidate is not None else (None, original))
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


async def pick_delivery(
    db: aiosqlite.Connection,
    chat_id: int,
    state: RoundState,
    rng: random.Random,
    *,
    count: int,
    deliveries: int,
    now: int,
) -> tuple[list[int], RoundState]:
    """The takeaway ids of a chat's next delivery (up to ``count``), and the round after.

    The chat's ``deliveries`` so far decide whether this one begins with a favorite
    (which is then marked as shown now); the rest come from the round. Call it inside
    the transaction that records the delivery.
    """
    ids: list[int] = []
    if (deliveries + 1) % FAVORITE_EVERY == 0:
        favorite = await favorite_due(db, chat_id)
        if favorite is not None:
            ids.append(favorite)
            await favorite_shown(db, chat_id, favorite, now)
    while len(ids) < count:
        takeaway_id, state = await pick_next(db, state, rng, chat_id, skip=ids)
        if takeaway_id is None:
            break
        ids.append(takeaway_id)
    return ids, state


RANDOM_TRIES = 8


async def pick_random_for(
    db: aiosqlite.Connection, chat_id: int | None, rng: random.Random
) -> Pick | None:
    """A random takeaway the chat may get (``None``: anyone), read whole with the chat's
    marks, or None if there is none.

    Usually one statement: ``RANDOM_TRIES`` uniform draws between the lowest and highest
    id, the first one that exists and is eligible wins. Only if all miss (ids with
    large gaps, or a chat that excludes much of the collection) does it go on as
    before: draws from the whole collection (O(log n) each) until one is eligible, and
    a chat that excludes nearly everything draws from the short list of what it may get.
    """
    picked = await draw_eligible(db, chat_id, [rng.getrandbits(62) for _ in range(RANDOM_TRIES)])
    if picked is not None:
        return picked
    takeaway_id = await _random_id_for(db, chat_id, rng)
    if takeaway_id is None:
        return None
    found = await get_many(db, [takeaway_id])
    if takeaway_id not in found:
        return None  # deleted meanwhile
    marks = NO_MARKS if chat_id is None else await personal_marks(db, chat_id, [takeaway_id])
    return Pick(found[takeaway_id], marks)


async def _random_id_for(
    db: aiosqlite.Connection, chat_id: int | None, rng: random.Random
) -> int | None:
    for _ in range(RANDOM_TRIES):
        item = await pick_random(db, rng)
        if item is None:
            return None
        if await eligible(db, chat_id, [item.id]):
            return item.id
    if chat_id is not None:
        few = await eligible_ids(db, chat_id, limit=FEW)
        if len(few) < FEW:
            return rng.choice(few) if few else None
    return await random_eligible(db, chat_id, rng)
