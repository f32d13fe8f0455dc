"""Takeaways back out as a Readwise-style Markdown file, the shape ``markdown.parse`` reads.

Used for a chat's /export: one page (``# Title``, ``## Metadata``, ``## Highlights``) per
source, so the file can be read by a person, kept in a notes app, or imported into
another takeaways bot and come out as the same takeaways with the same sources.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from bot.sources.model import Takeaway

_URL_SAFE = re.compile(r"[^()\s]+")
_LOCATION = re.compile(r"(?:location|loc\.?|page|time|position)\s+\S", re.IGNORECASE)


def to_markdown(takeaways: Iterable[Takeaway], *, shared_links: Collection[str] = ()) -> str:
    """All ``takeaways`` as Markdown pages, grouped by source in order of appearance.

    A link that several takeaways share (a tweet split into its numbered points) is
    left out: the importer tells such takeaways apart by their order in the file, and
    an export holds only some of them, so the link would make one pass for another.
    """
    pages: dict[tuple[str | None, ...], list[Takeaway]] = {}
    for takeaway in takeaways:
        key = (takeaway.title, takeaway.author, takeaway.source_url, takeaway.category)
        pages.setdefault(key, []).append(takeaway)
    return "\n\n".join(_page(items, shared_links) for items in pages.values()) + "\n"


def _page(items: list[Takeaway], shared_links: Collection[str]) -> str:
    first = items[0]
    title = _one_line(first.title) or "Untitled"
    lines = [f"# {title}", "", "## Metadata"]
    if first.author:
        lines.append(f"- Author: {_one_line(first.author)}")
    lines.append(f"- Full Title: {title}")
    if first.category:
        lines.append(f"- Category: #{_one_line(first.category).replace(' ', '_')}")
    if first.source_url and _URL_SAFE.fullmatch(first.source_url):
        lines.append(f"- URL: {first.source_url}")
    lines += ["", "## Highlights"]
    for takeaway in items:
        lines.extend(_highlight(takeaway, shared_links))
    return "\n".join(lines)


def _highlight(takeaway: Takeaway, shared_links: Collection[str]) -> list[str]:
    text_lines = [line.strip() for line in takeaway.text.splitlines() if line.strip()]
    if not text_lines:
        return []
    # Continuation lines are indented: then no line of the text can be read as a new
    # item or a heading (the parser takes the indentation off again).
    body = [text_lines[0]] + ["  " + line for line in text_lines[1:]]
    links = []
    if takeaway.location:
        label = _one_line(takeaway.location).replace("[", "(").replace("]", ")")
        if not _LOCATION.match(label):
            label = f"Location {label}"
        links.append(f"([{label}]())")
    url = takeaway.url
    if url and url != takeaway.source_url and url not in shared_links and _URL_SAFE.fullmatch(url):
        links.append(f"([View Highlight]({url}))")
    if links:
        body[-1] += " " + " ".join(links)
    lines = [f"- {body[0]}", *body[1:]]
    if takeaway.note:
        note_lines = [line.strip() for line in takeaway.note.splitlines() if line.strip()]
        if note_lines:
            lines.append(f"    - Note: {note_lines[0]}")
            lines.extend("      " + line for line in note_lines[1:])
    if takeaway.tags:
        lines.append("    - Tags: " + " ".join(f"[[{tag}]]" for tag in takeaway.tags))
    return lines


def _one_line(value: str | None) -> str:
    return " ".join((value or "").split())
