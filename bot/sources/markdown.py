"""Readwise's Markdown (Obsidian) export: ``# Title``, ``## Metadata``, ``## Highlights``.

Highlights are the unindented list items of the "Highlights" / "New highlights added
..." sections; indented ``- Note:`` / ``- Tags:`` items belong to the highlight above,
and any other following line continues it (Readwise indents wrapped highlights, but
Markdown's lazy continuation is accepted too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.sources.model import Report, Takeaway
from bot.sources.readwise import (
    Block,
    Document,
    build_takeaways,
    clean_author,
    clean_category,
    document_title,
    header_date,
)
from bot.sources.text import first_url, heading_text, parse_tags, split_lines

_HIGHLIGHTS = re.compile(
    r"highlights|(?:new highlights added|highlights first synced)\b.*", re.IGNORECASE
)
_METADATA = re.compile(r"metadata", re.IGNORECASE)
# Readwise Reader also exports the saved document itself; it is not a highlight.
_FULL_DOCUMENT = re.compile(r"full document", re.IGNORECASE)
_ITEM = re.compile(r"[-*+][ \t]+(?P<text>.*)")
_CHILD_FIELD = re.compile(
    r"[ \t]+[-*+][ \t]+\*{0,2}(?P<key>note|tags)\*{0,2}[ \t]*:[ \t]*(?:\*\*)?[ \t]*(?P<value>.*)",
    re.IGNORECASE,
)
_META_ITEM = re.compile(r"[-*+][ \t]+(?P<key>[^:]+):(?P<value>.*)")


@dataclass(slots=True)
class _Page:
    """What the line walk collects; turned into a Document at the end."""

    heading: str | None = None
    full_document: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)


def parse(text: str, name: str, report: Report) -> list[Takeaway]:
    """Takeaways of a Readwise Markdown file (see ``readwise.build_takeaways``).

    A file is usually one page (one document); a file of several ``# Title`` pages, as
    our own /export writes, is read page by page.
    """
    return [t for lines in _pages(split_lines(text)) for t in _parse_page(lines, name, report)]


def _pages(lines: list[str]) -> list[list[str]]:
    """The lines cut before every level-1 heading but the first."""
    starts = [i for i, line in enumerate(lines) if line.startswith(("# ", "#\t"))]
    if len(starts) <= 1:
        return [lines]
    cuts = starts[1:]
    return [lines[a:b] for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True)]


def _parse_page(lines: list[str], name: str, report: Report) -> list[Takeaway]:
    page = _read_page(lines)
    meta = page.metadata
    document = Document(
        title=document_title(meta.get("full title"), page.heading or meta.get("title"), name),
        author=clean_author(meta.get("author")),
        source_url=first_url(meta.get("url", "")),
        category=clean_category(meta.get("category")),
    )
    if page.full_document and not page.blocks:
        report.skip("documents saved without highlights")
    return build_takeaways(document, page.blocks, report)


def _read_page(lines: list[str]) -> _Page:
    """One pass over the lines, tracking which section we are in."""
    page = _Page()
    section: str | None = None
    section_level = 0
    when: str | None = None
    block: Block | None = None
    target: list[str] = []
    for line in lines:
        title = heading_text(line)
        if title is not None:
            level = len(line) - len(line.lstrip("#"))
            block = None
            if _METADATA.fullmatch(title):
                section = "metadata"
            elif _FULL_DOCUMENT.fullmatch(title):
                section, page.full_document = None, True
            elif _HIGHLIGHTS.fullmatch(title):
                section, section_level, when = "highlights", level, header_date(title)
            elif section == "highlights" and level > section_level:
                pass  # a chapter heading inside the highlights keeps us there
            elif level == 1 and page.heading is None and section is None:
                page.heading = title
            else:
                section = None
            continue
        if section == "metadata":
            item = _META_ITEM.fullmatch(line)
            if item is not None:
                page.metadata.setdefault(item["key"].strip().lower(), item["value"].strip())
        elif section == "highlights":
            item = _ITEM.fullmatch(line)
            child = _CHILD_FIELD.fullmatch(line)
            if item is not None:
                block = Block(lines=[item["text"]], highlighted_at=when)
                page.blocks.append(block)
                target = block.lines
            elif block is None:
                continue
            elif child is not None and child["key"].lower() == "note":
                block.note_lines.append(child["value"])
                target = block.note_lines
            elif child is not None:
                block.tags.extend(parse_tags(child["value"]))
            else:
                target.append(line.strip())
    return page
