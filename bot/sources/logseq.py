"""Readwise's Logseq export: ``key:: value`` page properties, then an outline.

Top-level bullets are Readwise's "Highlights first synced by ..." / "New highlights
added ..." headers, their children the highlights, and a highlight's own children its
``**Note**:`` and ``**Tags**:``. Logseq continues a block on lines indented two spaces
past the bullet, so the outline is rebuilt from indentation rather than read line by line.
"""

from __future__ import annotations

import html
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
from bot.sources.text import first_url, parse_tags, split_lines, unbracket

_PROPERTY = re.compile(r"(?P<key>[A-Za-z][\w-]*)::(?:[ \t]+(?P<value>.*))?")
# Logseq's own block properties (id::, collapsed::) are hidden in Logseq, so not text either.
_BLOCK_PROPERTY = re.compile(r"[a-z][a-z0-9-]*:: \S.*")
_BULLET = re.compile(r"(?P<indent>[ \t]*)-(?:[ \t]+(?P<text>.*))?")
_TAB_BULLET = re.compile(r"^\t+-(?:[ \t]|$)", re.MULTILINE)
_HEADER = re.compile(r"(?:highlights first synced by|new highlights added)\b", re.IGNORECASE)
_NOTE = re.compile(r"\*{0,2}note\*{0,2}[ \t]*:[ \t]*(?:\*\*)?[ \t]*", re.IGNORECASE)
_TAGS = re.compile(r"\*{0,2}tags\*{0,2}[ \t]*::?[ \t]*(?:\*\*)?[ \t]*", re.IGNORECASE)
# A child bullet that only gives the place: "(Page 5)", "(Location 1203)".
_PLACE = re.compile(r"\((?P<place>(?:page|location|loc\.?|position)\s+[\w.-]+)\)", re.IGNORECASE)
_IMAGE_ONLY = re.compile(r"!\[[^\[\]]*\]\([^()\s]*\)")
# A top-level "#tags #[[a]] #b" or "tags:: ..." bullet some templates write: page tags.
_PAGE_TAGS = re.compile(r"#?tags(?::: |[ \t]+#)", re.IGNORECASE)


@dataclass(slots=True)
class _Node:
    width: int
    lines: list[str]
    children: list[_Node] = field(default_factory=list)


def parse(text: str, name: str, report: Report) -> list[Takeaway]:
    """Takeaways of one Readwise Logseq page (see ``readwise.build_takeaways``)."""
    properties, roots = _read_outline(text)
    document = Document(
        title=document_title(properties.get("full-title"), properties.get("title"), name),
        author=clean_author(properties.get("author")),
        source_url=first_url(properties.get("url", "")),
        category=clean_category(properties.get("category")),
    )
    return build_takeaways(document, _blocks(roots, report), report)


def _read_outline(text: str) -> tuple[dict[str, str], list[_Node]]:
    """Page properties and the bullet tree.

    In a tab-indented page (Logseq's default) a line indented with spaces after the
    tabs is always a continuation, even when it starts with "- ": that is how a
    highlight containing a list is written. Space-indented pages cannot tell the two
    apart, so there a bullet is a bullet.
    """
    tabbed = _TAB_BULLET.search(text) is not None
    properties: dict[str, str] = {}
    roots: list[_Node] = []
    stack: list[_Node] = []
    for line in split_lines(text):
        bullet = _BULLET.fullmatch(line)
        if bullet is not None and tabbed and " " in bullet["indent"]:
            bullet = None
        if bullet is not None:
            width = _width(bullet["indent"])
            node = _Node(width, [bullet["text"] or ""])
            while stack and stack[-1].width >= width:
                stack.pop()
            (stack[-1].children if stack else roots).append(node)
            stack.append(node)
        elif not stack:
            prop = _PROPERTY.fullmatch(line.strip())
            if prop is not None:
                properties.setdefault(prop["key"].lower(), (prop["value"] or "").strip())
        else:
            _continue(stack, line)
    return properties, roots


def _continue(stack: list[_Node], line: str) -> None:
    """A continuation line belongs to the deepest open block it is indented under."""
    content = line.strip()
    if not content:
        stack[-1].lines.append("")
        return
    if _BLOCK_PROPERTY.fullmatch(content):
        return
    width = _width(line[: len(line) - len(line.lstrip(" \t"))])
    target = stack[-1]
    for node in reversed(stack):
        if node.width < width:
            target = node
            break
    target.lines.append(content)


def _width(indent: str) -> int:
    return len(indent.expandtabs(4))


def _blocks(roots: list[_Node], report: Report) -> list[Block]:
    """Highlights under Readwise's section headers; a bare top-level bullet is a highlight too.

    Readwise templates (flashcards, covers) also write bare ``-`` bullets: with children
    the children are the highlight, without them there is nothing to keep.
    """
    blocks: list[Block] = []
    for root in roots:
        if _HEADER.match(root.lines[0]):
            when = header_date(root.lines[0])
            children = root.children
        elif _PAGE_TAGS.match(root.lines[0]):
            report.skip("page tag lines")
            continue
        elif _IMAGE_ONLY.fullmatch(root.lines[0].strip()) and not root.children:
            report.skip("cover images")
            continue
        else:
            when, children = None, [root]
        for child in children:
            if not _is_bare(child):
                blocks.append(_block(child, when))
            elif child.children:
                blocks.append(_block(_Node(child.width, [], child.children), when))
            else:
                report.skip("empty bullets")
    return blocks


def _is_bare(node: _Node) -> bool:
    """A bullet with no words of its own: ``-`` alone, or Readwise's ``- -``."""
    return all(line.strip() in ("", "-") for line in node.lines)


def _block(node: _Node, highlighted_at: str | None) -> Block:
    block = Block(lines=_clean(node.lines), highlighted_at=highlighted_at)
    for child in node.children:
        first = child.lines[0]
        note = _NOTE.match(first)
        tags = _TAGS.match(first)
        place = _PLACE.fullmatch(first.strip()) if len(child.lines) == 1 else None
        if place is not None and not child.children and block.location is None:
            block.location = place["place"]
        elif note is not None:
            block.note_lines.extend(_clean([first[note.end() :], *child.lines[1:]]))
        elif tags is not None:
            block.tags.extend(parse_tags(" ".join([first[tags.end() :], *child.lines[1:]])))
        else:
            block.lines.extend(_clean(_flatten(child)))
    return block


def _clean(lines: list[str]) -> list[str]:
    """Logseq markup is not the author's words: ``[[page links]]`` read as their text and
    HTML entities (``&#xA0;``, ``&amp;``) as their characters."""
    cleaned = []
    for line in lines:
        if "[[" in line:
            line = unbracket(line)
        if "&" in line:
            line = html.unescape(line)
        cleaned.append(line.replace("\xa0", " "))
    return cleaned


def _flatten(node: _Node) -> list[str]:
    """An unexpected child block's text stays with its highlight rather than being lost."""
    lines = list(node.lines)
    for child in node.children:
        lines.extend(_flatten(child))
    return lines
