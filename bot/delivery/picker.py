"""The next takeaway in a chat's round: a few indexed lookups, whatever the collection size."""

from __future__ import annotations

import random

import aiosqlite

from bot.delivery.rounds import RoundState
from bot.store.takeaways import max_id as highest_id


async def _exists(db: aiosqlite.Connection, takeaway_id: int) -> bool:
    async with db.execute("SELECT 1 FROM takeaways WHERE id = ?", (takeaway_id,)) as cursor:
        return await cursor.fetchone() is not None


async def pick_next(
    db: aiosqlite.Connection, state: RoundState, rng: random.Random
) -> tuple[int | None, RoundState]:
    """The next takeaway id of the round and the state after it; ``None`` when empty.

    Ids missing from the table (gaps) are stepped over. A whole empty round (nothing in
    the collection at all) ends the search instead of looping.
    """
    fresh_rounds = 0
    if state.number == 0:
        # A chat's first pick: give it its own key, so no two chats share an order.
        state = state.next_round(await highest_id(db), rng)
    while True:
        if state.segment_done:
            max_id = await highest_id(db)
            if max_id > state.hi:
                state = state.extended_to(max_id)
            else:
                if max_id == 0 or fresh_rounds > 0:
                    return None, state
                state = state.next_round(max_id, rng)
                fresh_rounds += 1
            continue
        candidate = state.current_id()
        state = state.advanced()
        if await _exists(db, candidate):
            return candidate, state
