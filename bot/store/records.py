"""The shapes the store hands out, and the one place a result row becomes one.

Every read query selects the same columns in the same order (``TAKEAWAY_COLUMNS``)
so that a single function rebuilds a ``Takeaway`` and the source's fields cannot
drift between ``get``, ``random``, ``search`` and ``export``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.sources.model import Takeaway

# Control characters no real highlight contains: the import strips them from stored
# text, so a mark in ``SearchHit.marked_text`` can only come from FTS5's highlight().
MARK_START = "\x02"
MARK_END = "\x03"


@dataclass(frozen=True, slots=True)
class StoredTakeaway:
    """A takeaway with its row id (what deliveries remember) and its source's id."""

    id: int
    source_id: int
    # Rebuilt with the *source's* title/author/source_url/category, which may differ in
    # case or completeness from what one particular import line said.
    takeaway: Takeaway


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result; hits come best first."""

    item: StoredTakeaway
    # The takeaway text with each matched word between MARK_START and MARK_END.
    marked_text: str
    # FTS5's bm25 rank as SQLite reports it: negative, and more negative is better.
    rank: float


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one import did, counting each distinct takeaway once."""

    new: int
    updated: int
    unchanged: int
    # Takeaways given again within the same import (same identity): folded into the
    # first one's row, the later version winning, and counted here so none vanishes.
    merged: int = 0

    @property
    def total(self) -> int:
        """Distinct takeaways of the import: what it leaves stored."""
        return self.new + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts for a /stats reply; all from one cheap pass."""

    takeaways: int
    sources: int
    with_notes: int = 0
    # Category (None where the export did not say) -> takeaways, largest first.
    by_category: dict[str | None, int] = field(default_factory=dict)


# Column order every takeaway-reading query selects; ``stored_from_row`` depends on it.
TAKEAWAY_COLUMNS = (
    "t.id, t.source_id, t.text, t.note, t.tags, t.url, t.location, t.highlighted_at, "
    "s.title, s.author, s.url, s.category"
)


def stored_from_row(row: Sequence[Any]) -> StoredTakeaway:
    """Rebuild a ``StoredTakeaway`` from the first 12 columns of ``TAKEAWAY_COLUMNS``."""
    return StoredTakeaway(
        id=row[0],
        source_id=row[1],
        takeaway=Takeaway(
            text=row[2],
            note=row[3],
            tags=tuple(json.loads(row[4])) if row[4] and row[4] != "[]" else (),
            url=row[5],
            location=row[6],
            highlighted_at=row[7],
            title=row[8],
            author=row[9],
            source_url=row[10],
            category=row[11],
        ),
    )
