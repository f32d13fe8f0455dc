"""The one shape every export format is parsed into.

Parsers know about files; everything after them (store, bot, export) only knows
``Takeaway``. Keeping it a frozen, plain dataclass makes it hashable, cheap to build
in bulk, and trivially serialisable to the JSON the CLI prints.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Takeaway:
    """One idea, cleaned, with where it came from."""

    text: str
    title: str | None = None
    author: str | None = None
    # Link to this very highlight (or tweet) where the export has one, else the source's URL.
    url: str | None = None
    note: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    # Human form of the position in the source: "Location 123", "page 3", ...
    location: str | None = None
    # ISO 8601 (date or date-time) as far as the export tells; None where unknown.
    highlighted_at: str | None = None
    # The document's own URL and category (book, article, tweet, ...), when known.
    source_url: str | None = None
    category: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``tags`` become a list."""
        data = asdict(self)
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Takeaway:
        """Inverse of ``to_json``; unknown keys are ignored so newer exports still load."""
        tags = data.get("tags") or ()
        return cls(
            text=str(data["text"]),
            title=_opt(data.get("title")),
            author=_opt(data.get("author")),
            url=_opt(data.get("url")),
            note=_opt(data.get("note")),
            tags=tuple(str(t) for t in tags),
            location=_opt(data.get("location")),
            highlighted_at=_opt(data.get("highlighted_at")),
            source_url=_opt(data.get("source_url")),
            category=_opt(data.get("category")),
        )


def _opt(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text else None


class ParseError(Exception):
    """A file that cannot be read as any supported format (or is broken inside one).

    ``str(error)`` is the one line a user sees: ``path:line: what is wrong``.
    """

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


@dataclass(slots=True)
class Report:
    """What a parser left out of a file, and why.

    The import summary has to add up (parsed = new + updated + unchanged + merged +
    skipped) and nothing may be dropped without a word, so every parser says here what
    it folded into another takeaway (``merged``), what it leaves out by design
    (``skipped``: bookmarks, headings, placeholders) and what it could not read at all
    (``unreadable``: one ``path:line: reason`` each; the import then fails the file).
    Reasons are short plural phrases that read after a number: "3 bookmarks".
    """

    merged: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    # The same places as errors, for callers that raise the first one.
    errors: list[ParseError] = field(default_factory=list, repr=False, compare=False)

    def merge(self, reason: str, count: int = 1) -> None:
        if count:
            self.merged[reason] = self.merged.get(reason, 0) + count

    def skip(self, reason: str, count: int = 1) -> None:
        if count:
            self.skipped[reason] = self.skipped.get(reason, 0) + count

    def cannot_read(self, path: str, message: str, line: int | None = None) -> None:
        error = ParseError(path, message, line)
        self.errors.append(error)
        self.unreadable.append(str(error))

    def raise_unreadable(self) -> None:
        """Raise the first place that cannot be read (naming how many more), if any."""
        if self.errors:
            first, more = self.errors[0], len(self.errors) - 1
            suffix = f" (and {more} more that cannot be read)" if more else ""
            raise ParseError(first.path, first.message + suffix, first.line)


def versions_of_one_highlight(first: str, second: str) -> bool:
    """Whether two texts can be one highlight before and after an edit on the device.

    Kindle extends or shortens a highlight by writing it again, and the longer version
    often replaces the shorter one's final full stop with a comma ("... sich." then
    "... sich, und ..."), so texts are compared without case, spacing and trailing
    punctuation: one must contain the other. The parser uses this to fold a file's
    versions together, the store to update a stored highlight in place.
    """
    a, b = comparable(first), comparable(second)
    return bool(a) and bool(b) and (a in b or b in a)


def comparable(text: str) -> str:
    """The text as edits are compared: lower case, single spaces, no trailing punctuation."""
    words = " ".join(text.split()).lower()
    end = len(words)
    while end and (words[end - 1].isspace() or unicodedata.category(words[end - 1])[0] == "P"):
        end -= 1
    return words[:end]
