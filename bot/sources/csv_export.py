"""Readwise's CSV export: one row per highlight, columns named by the header.

Cells may span lines (quoted), so rows come from the csv module, never from splitting
lines. Columns are found by name, so a reordered or extended export still reads.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

from bot.sources.model import ParseError, Report, Takeaway
from bot.sources.text import normalise, optional, unique

HEADER_MARKERS = ("Highlight", "Book Title")
_HEADING_TAG = re.compile(r"\.?h[1-6]", re.IGNORECASE)
_POSITION_ONLY = frozenset({"order", "offset"})


def is_readwise_header(first_line: str) -> bool:
    """Whether a file's first line is Readwise's CSV header (used by format detection)."""
    try:
        cells = next(csv.reader([first_line]), [])
    except csv.Error:
        return False
    names = {cell.strip() for cell in cells}
    return all(marker in names for marker in HEADER_MARKERS)


def parse(text: str, name: str, report: Report) -> list[Takeaway]:
    """Takeaways of a Readwise CSV export; a malformed row is an error naming its line."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = [cell.strip() for cell in next(reader, [])]
        if "Highlight" not in header:
            raise ParseError(name, "not a Readwise CSV export (no 'Highlight' column)", line=1)
        columns = {column: index for index, column in enumerate(header)}
        takeaways: list[Takeaway] = []
        while True:
            line = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                return takeaways
            if not row:
                continue
            if len(row) != len(header):
                message = f"expected {len(header)} columns, found {len(row)}"
                report.cannot_read(name, message, line=line)
                continue
            if _is_heading(row, columns):
                report.skip("headings")
                continue
            takeaway = _takeaway(row, columns)
            if takeaway is None:
                report.skip("highlights without text")
            else:
                takeaways.append(takeaway)
    except csv.Error as error:
        raise ParseError(name, f"broken CSV ({error})", line=reader.line_num or None) from error


def _is_heading(row: list[str], columns: dict[str, int]) -> bool:
    """Readwise tags a book's headings ``h1``...``h6`` (``.h1`` in older exports) so its
    apps can show the outline; they name a section, they are not a takeaway."""
    index = columns.get("Tags")
    if index is None:
        return False
    return any(_HEADING_TAG.fullmatch(tag.strip()) for tag in row[index].split(","))


def _takeaway(row: list[str], columns: dict[str, int]) -> Takeaway | None:
    def cell(column: str) -> str:
        index = columns.get(column)
        return row[index].strip() if index is not None else ""

    text = normalise(cell("Highlight"))
    if not text:
        return None
    return Takeaway(
        text=text,
        title=optional(cell("Book Title")),
        author=optional(cell("Book Author")),
        note=optional(cell("Note")),
        tags=unique([tag for tag in (normalise(t) for t in cell("Tags").split(",")) if tag]),
        location=_location(cell("Location Type"), cell("Location")),
        highlighted_at=_iso(cell("Highlighted at")),
    )


def _location(kind: str, value: str) -> str | None:
    """``location``/``123`` -> ``Location 123``; ``time_offset`` -> ``Time Offset ...``.

    ``order`` and ``offset`` are Readwise's positions inside an article or document:
    "Order 2" would mean nothing to a reader, so they are not shown. Identity does not
    need them: the text tells two highlights of one document apart.
    """
    if not kind or not value or kind.strip().lower() in _POSITION_ONLY:
        return None
    return normalise(f"{kind.replace('_', ' ').title()} {value}")


def _iso(value: str) -> str | None:
    """Readwise writes ``2022-11-19 10:12:00+00:00``; anything else is unknown, not an error."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        return None
