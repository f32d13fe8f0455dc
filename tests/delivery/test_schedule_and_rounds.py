"""The pure parts of delivery: local time -> UTC instants, and per-chat permutations."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time

from hypothesis import given
from hypothesis import strategies as st

from bot.rules.rounds import RoundState, permute
from bot.rules.schedule import instant_for, local_date, next_delivery


def test_instant_for_regular_and_dst_days() -> None:
    assert instant_for(date(2026, 1, 5), time(9), "Europe/Berlin") == datetime(
        2026, 1, 5, 8, tzinfo=UTC
    )
    assert instant_for(date(2026, 7, 5), time(9), "Europe/Berlin") == datetime(
        2026, 7, 5, 7, tzinfo=UTC
    )
    # Skipped hour: 02:30 does not exist on 29 March in Berlin -> 03:30 CEST.
    assert instant_for(date(2026, 3, 29), time(2, 30), "Europe/Berlin") == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )
    # Repeated hour: 02:30 happens twice on 25 October -> the first (CEST).
    assert instant_for(date(2026, 10, 25), time(2, 30), "Europe/Berlin") == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


def test_next_delivery_today_tomorrow_and_done() -> None:
    now = datetime(2026, 3, 2, 6, tzinfo=UTC)
    assert next_delivery(now, time(9), "UTC", done_through=None) == datetime(
        2026, 3, 2, 9, tzinfo=UTC
    )
    assert next_delivery(now, time(5), "UTC", done_through=None) == datetime(
        2026, 3, 3, 5, tzinfo=UTC
    )
    assert next_delivery(now, time(9), "UTC", done_through=date(2026, 3, 2)) == datetime(
        2026, 3, 3, 9, tzinfo=UTC
    )
    # Tokyo is already on the 3rd at 06:00 UTC.
    assert local_date(now, "Asia/Tokyo") == date(2026, 3, 2)
    assert local_date(datetime(2026, 3, 2, 16, tzinfo=UTC), "Asia/Tokyo") == date(2026, 3, 3)


@given(size=st.integers(1, 3000), key=st.integers(0, 2**63 - 1))
def test_permute_is_a_bijection(size: int, key: int) -> None:
    values = [permute(i, size, key) for i in range(size)]
    assert sorted(values) == list(range(size))


def test_permute_order_never_changes() -> None:
    """Chats are part-way through rounds stored as (key, position): a faster ``permute``
    must give exactly the order it always gave, or they would see repeats."""
    pinned = [
        (0, 10, 1, 2),
        (7, 10, 12345, 7),
        (99999, 100000, 2**62 + 17, 69156),
        (123456, 1000000, 987654321, 372992),
        (5, 3000, 0, 1675),
        (2999, 3000, 2**63 - 1, 1222),
        (4, 5, 42, 4),
    ]
    assert [permute(i, size, key) for i, size, key, _ in pinned] == [v for *_, v in pinned]


def test_round_state_walks_every_id_once_and_extends() -> None:
    rng = random.Random(1)
    state = RoundState().next_round(10, rng)
    seen = []
    while not state.segment_done:
        seen.append(state.current_id())
        state = state.advanced()
    assert sorted(seen) == list(range(1, 11))
    state = state.extended_to(13)
    more = []
    while not state.segment_done:
        more.append(state.current_id())
        state = state.advanced()
    assert sorted(more) == [11, 12, 13]
    assert state.number == 1
    assert state.next_round(13, rng).number == 2


def test_the_due_query_reads_the_chat_columns_in_their_order() -> None:
    """``due_chats`` spells ``CHAT_COLUMNS`` out with the join's alias; decoding a row
    relies on the two lists being the same."""
    from bot.store import chats

    listed = chats._DUE.split("SELECT ", 1)[1].split(" d.takeaway_id", 1)[0]
    columns = [c.strip().removeprefix("c.") for c in listed.split(",") if c.strip()]
    assert columns == chats.CHAT_COLUMNS.split(", ")
