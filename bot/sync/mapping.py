"""Readwise's export JSON -> the takeaways a file export of the same book would give.

The point is identity. A synced takeaway and the same highlight imported later from a
Readwise Markdown or Logseq file must be one row, and the store recognises a highlight
by its own link. So each highlight is rendered the way Readwise writes it into those
files (its text followed by ``([Location 118](https://readwise.io/to_kindle?...))``,
``([View Highlight](https://read.readwise.io/read/...))`` or ``([View Tweet](...))``)
and handed to the very code that reads those files (``readwise.build_takeaways``):
links, locations, the whitespace rule and the tweet-thread rule then cannot drift
apart between sync and files.

A highlight that has no link of its own in Readwise's exports (no Kindle ASIN, no URL)
gets its ``readwise_url`` (``https://readwise.io/open/<id>``): Readwise's id then is
its identity, so edits update it in place, at the price that a file export without
links cannot be matched to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.sources.model import Report, Takeaway
from bot.sources.readwise import (
    Block,
    Document,
    build_takeaways,
    clean_author,
    clean_category,
    document_title,
)
from bot.sources.text import first_url, split_trailing_links

# Readwise turns a highlight tagged h1...h6 (written ``.h1`` in its apps) into a heading.
_HEADING_TAG = re.compile(r"\.?h[1-6]", re.IGNORECASE)
_TWEET_CATEGORIES = frozenset({"tweet", "tweets", "twitter"})
# How Readwise names a location in its exports, by the API's ``location_type``.
_LOCATION_LABELS = {"location": "Location", "page": "Page", "time_offset": "Time Offset"}


@dataclass(slots=True)
class BookChanges:
    """What one book of the export asks of the store."""

    live: list[Takeaway] = field(default_factory=list)
    # Takeaways of highlights that are gone (deleted, discarded, turned into headings):
    # the sync removes their rows, unless a live takeaway has the same identity.
    gone: list[Takeaway] = field(default_factory=list)
    highlights: int = 0
    # Highlights that are no takeaway by Readwise's own rules: headings, discarded.
    left_out: int = 0
    deleted: int = 0


def is_tweets(book: dict[str, Any]) -> bool:
    """Books whose takeaways depend on their other highlights (the thread rule)."""
    category = str(book.get("category") or "").lower()
    return category in _TWEET_CATEGORIES


def book_changes(book: dict[str, Any]) -> BookChanges:
    """The takeaways of one exported book, live and gone, as the file parsers make them."""
    document = Document(
        title=document_title(_text(book.get("title")), None, ""),
        author=clean_author(_text(book.get("author"))),
        source_url=first_url(_text(book.get("source_url")) or ""),
        category=clean_category(_text(book.get("category"))),
    )
    tweets = is_tweets(book)
    asin = _text(book.get("asin"))
    changes = BookChanges()
    live: list[Block] = []
    every: list[Block] = []
    for highlight in _highlights(book):
        changes.highlights += 1
        block = _block(highlight, asin, tweets)
        if highlight.get("is_deleted"):
            changes.deleted += 1
        elif highlight.get("is_discard") or _is_heading(highlight):
            changes.left_out += 1
        else:
            live.append(block)
        every.append(block)
    report = Report()
    changes.live = build_takeaways(document, live, report)
    # What the file parsers leave out too (images, a thread's unnumbered tweets).
    changes.left_out += sum(report.skipped.values())
    if len(every) > len(live):
        # The gone ones as they were: among all of them, so that thread items keep the
        # numbers they were stored with.
        changes.gone = build_takeaways(document, every, Report())
    return changes


def _highlights(book: dict[str, Any]) -> Iterable[dict[str, Any]]:
    highlights = book.get("highlights")
    if not isinstance(highlights, list):
        return ()
    return (h for h in highlights if isinstance(h, dict))


def _is_heading(highlight: dict[str, Any]) -> bool:
    return any(_HEADING_TAG.fullmatch(name) for name in _tag_names(highlight))


def _tag_names(highlight: dict[str, Any]) -> list[str]:
    tags = highlight.get("tags")
    if not isinstance(tags, list):
        return []
    names = (tag.get("name") if isinstance(tag, dict) else tag for tag in tags)
    return [str(name).strip() for name in names if name is not None and str(name).strip()]


def _block(highlight: dict[str, Any], asin: str | None, tweets: bool) -> Block:
    """The highlight as the Markdown export lays it out: text, its link, note, tags."""
    text = _text(highlight.get("text")) or ""
    if not text.strip():
        # A deleted highlight may come without its text; its link still identifies it.
        text = "…"
    label, url = _link(highlight, asin, tweets)
    lines = f"{text} ([{label}]({url}))".split("\n")
    if split_trailing_links("\n".join(lines)).url != url:
        # A URL the export's link syntax cannot carry: the Readwise one always can.
        url = _readwise_url(highlight)
        lines = f"{text} ([{label}]({url}))".split("\n")
    note = _text(highlight.get("note"))
    return Block(
        lines=lines,
        note_lines=note.split("\n") if note else [],
        tags=[t for t in _tag_names(highlight) if not _HEADING_TAG.fullmatch(t)],
        highlighted_at=_iso(highlight.get("highlighted_at")),
    )


def _link(highlight: dict[str, Any], asin: str | None, tweets: bool) -> tuple[str, str]:
    """The trailing link Readwise's Markdown/Logseq export writes for this highlight.

    Kindle books (with an ASIN and a Kindle location) get the ``to_kindle`` link that
    opens the book there; anything with a URL of its own (Reader, tweets, web
    highlights) gets that; the rest Readwise's own page of the highlight.
    """
    kind = str(highlight.get("location_type") or "")
    location = highlight.get("location")
    label = _LOCATION_LABELS.get(kind)
    if asin and kind == "location" and location is not None:
        return (
            f"Location {location}",
            f"https://readwise.io/to_kindle?action=open&asin={asin}&location={location}",
        )
    url = _text(highlight.get("url")) or _readwise_url(highlight)
    if label and location is not None:
        return f"{label} {location}", url
    return ("View Tweet" if tweets else "View Highlight"), url


def _readwise_url(highlight: dict[str, Any]) -> str:
    given = _text(highlight.get("readwise_url"))
    if given and " " not in given and "(" not in given and ")" not in given:
        return given
    return f"https://readwise.io/open/{highlight.get('id')}"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _iso(value: Any) -> str | None:
    """Readwise's ``2023-01-16T04:56:00Z`` as the CSV parser writes dates."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        return None
