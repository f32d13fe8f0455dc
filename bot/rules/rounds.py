"""Each chat's own shuffled order through the collection, without storing it.

A round visits every takeaway once before any repeats. Storing a shuffled list per chat
would cost O(collection) per chat and per round, and ``ORDER BY random()`` would scan the
table per delivery. Instead a round is a keyed pseudo-random *permutation* of takeaway
ids: position ``p`` of segment ``(lo, hi]`` is ``lo + 1 + permute(p, hi - lo, key)``.
Computing the next id is O(1), and the chat's whole position is four integers.

Takeaways imported mid-round have ids above ``hi`` (ids are never reused); when the chat
finishes the segment it continues with a new segment over the new ids before the round
ends, so new takeaways join the current round.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

_MASK64 = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class RoundState:
    """Where a chat is: round number, the round's key, and the segment being walked."""

    number: int = 0
    key: int = 0
    lo: int = 0
    hi: int = 0
    position: int = 0

    @property
    def segment_done(self) -> bool:
        return self.position >= self.hi - self.lo

    def current_id(self) -> int:
        """The takeaway id at ``position`` (the caller checks ``segment_done`` first)."""
        return self.lo + 1 + permute(self.position, self.hi - self.lo, self.key ^ self.lo)

    def position_of(self, takeaway_id: int) -> int | None:
        """Where ``takeaway_id`` comes in this segment (None if outside it): O(1)."""
        if not self.lo < takeaway_id <= self.hi:
            return None
        return unpermute(takeaway_id - self.lo - 1, self.hi - self.lo, self.key ^ self.lo)

    def advanced(self) -> RoundState:
        # Not dataclasses.replace: this runs once per pick, and replace costs 3x more.
        return RoundState(self.number, self.key, self.lo, self.hi, self.position + 1)

    def extended_to(self, max_id: int) -> RoundState:
        """Same round, a new segment over the ids added since the segment began."""
        return replace(self, lo=self.hi, hi=max_id, position=0)

    def next_round(self, max_id: int, rng: random.Random) -> RoundState:
        return RoundState(
            number=self.number + 1, key=rng.getrandbits(63), lo=0, hi=max_id, position=0
        )


_GOLDEN = 0x9E3779B97F4A7C15
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB


def _mix(value: int, key: int) -> int:
    """A keyed 64-bit mixer (splitmix64 finaliser): cheap and well spread."""
    z = (value + key + _GOLDEN) & _MASK64
    z = ((z ^ (z >> 30)) * _MUL1) & _MASK64
    z = ((z ^ (z >> 27)) * _MUL2) & _MASK64
    return z ^ (z >> 31)


def permute(index: int, size: int, key: int) -> int:
    """A bijection on ``range(size)``: a 4-round Feistel network with cycle walking.

    The network permutes a power-of-four domain >= size; values that land outside
    ``range(size)`` are fed back in until they land inside, which keeps it a bijection
    and takes fewer than four steps on average. Each round is ``_mix(right, key +
    round)``, written out here: the daily run computes this once per chat, and the
    calls were a tenth of its Python time. The order must never change (chats are
    part-way through rounds): ``tests/delivery/test_schedule_and_rounds.py`` pins it.
    """
    if not 0 <= index < size:
        raise ValueError(f"index {index} outside 0..{size - 1}")
    if size == 1:
        return 0
    half_bits = max(1, ((size - 1).bit_length() + 1) // 2)
    half_mask = (1 << half_bits) - 1
    base = key + _GOLDEN
    keys = (base, base + 1, base + 2, base + 3)
    mask = _MASK64
    value = index
    while True:
        left, right = value >> half_bits, value & half_mask
        for round_key in keys:
            z = (right + round_key) & mask
            z = ((z ^ (z >> 30)) * _MUL1) & mask
            z = ((z ^ (z >> 27)) * _MUL2) & mask
            left, right = right, left ^ ((z ^ (z >> 31)) & half_mask)
        value = (left << half_bits) | right
        if value < size:
            return value


def unpermute(value: int, size: int, key: int) -> int:
    """The inverse of ``permute``: the index that ``permute`` sends to ``value``.

    Each Feistel round is undone in reverse order; cycle walking is undone by walking
    back until the value lands inside ``range(size)`` again (the values in between are
    exactly the ones the forward walk passed through, all outside it).
    """
    if not 0 <= value < size:
        raise ValueError(f"value {value} outside 0..{size - 1}")
    if size == 1:
        return 0
    half_bits = max(1, ((size - 1).bit_length() + 1) // 2)
    half_mask = (1 << half_bits) - 1
    while True:
        left, right = value >> half_bits, value & half_mask
        for round_no in range(3, -1, -1):
            left, right = right ^ (_mix(left, key + round_no) & half_mask), left
        value = (left << half_bits) | right
        if value < size:
            return value
