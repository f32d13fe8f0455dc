"""Hand-written lists: a ``.txt``/``.md`` of takeaways with no export markers.

If the file has a list, each top-level item (``-``, ``*``, ``+``, ``•`` or ``1.``/``1)``)
is one takeaway and text outside the list is commentary; with no list at all, each
paragraph is one. A leading ``# heading`` names the collection.
"""

from __future__ import annotations

import re

from bot.sources.model import Report, Takeaway
from bot.sources.text import heading_text, normalise, split_lines

_ITEM = re.compile(r"(?P<indent>[ \t]*)(?:[-*+•]|[0-9]{1,4}[.)])[ \t]+(?P<text>\S.*)")
_RULE = re.compile(r"[ \t]*(?:[-*_=][ \t]*){3,}")
_FRONT_MATTER_LIMIT = 100
_QUOTE = re.compile(r"[ \t]{0,3}>[ \t]?(?P<text>.*)")
# "— Bertrand Russell" under a quote names who said it.
_ATTRIBUTION = re.compile(r"(?:—|―|–|--|~)[ \t]*(?P<who>\S.{0,120})")


def parse(text: str, name: str, report: Report) -> list[Takeaway]:
    """Takeaways of a plain list, of Markdown blockquotes, or of plain paragraphs."""
    lines = _skip_front_matter(split_lines(text))
    title, lines = _take_title(lines)
    widths = _item_widths(lines)
    # A file of quotes; a list with a quote among its items stays a list (its items
    # would otherwise be taken for commentary between the quotes).
    if not widths and any(_QUOTE.match(line) for line in lines):
        return _quotes(lines, title, report)
    if widths:
        chunks, outside = _list_items(lines, widths)
        report.skip("lines outside the list items", outside)
    else:
        chunks = _paragraphs(lines)
    texts = [normalise("\n".join(chunk)) for chunk in chunks]
    return [Takeaway(text=text, title=title) for text in texts if text]


def _quotes(lines: list[str], title: str | None, report: Report) -> list[Takeaway]:
    """Markdown blockquotes: each ``>`` block is one quote, its bare ``>`` lines are
    paragraph breaks inside it, and the markers are not part of the words.

    A heading above a run of quotes (``#### Bertrand Russell``) names their author, as
    does a ``— Name`` line right under one quote. Other text between the quotes is the
    collector's commentary: left out, and reported so nothing goes silently.
    """
    quotes: list[tuple[list[str], str | None]] = []
    heading: str | None = None
    current: list[str] | None = None
    after_quote = False
    for line in lines:
        quote = _QUOTE.fullmatch(line)
        stripped = line.strip()
        head = heading_text(stripped)
        if quote is not None:
            if current is None:
                current = []
                quotes.append((current, heading))
            current.append(quote["text"])
            after_quote = True
        elif head is not None:
            heading, current, after_quote = normalise(head) or None, None, False
        elif not stripped:
            current = None
        elif after_quote and (attribution := _ATTRIBUTION.fullmatch(stripped)):
            quotes[-1] = (quotes[-1][0], normalise(attribution["who"]))
            current, after_quote = None, False
        elif current is not None:
            current.append(stripped)  # Markdown's lazy continuation of a quote
        elif not _RULE.fullmatch(line):
            report.skip("lines outside the quotes")
            after_quote = False
    takeaways = []
    for text_lines, heading_author in quotes:
        text, author = _split_attribution(normalise("\n".join(text_lines)))
        author = author or heading_author
        if text:
            takeaways.append(Takeaway(text=text, title=title, author=author))
        else:
            report.skip("empty quotes")
    return takeaways


def _split_attribution(text: str) -> tuple[str, str | None]:
    """A quote's own last line "— Great Gatsby, F. Scott Fitzgerald" names its source;
    emphasis wrapped around the whole quote (``**"..."**``) is styling, not words."""
    lines = text.split("\n")
    author = None
    if len(lines) > 1 and (attribution := _ATTRIBUTION.fullmatch(lines[-1].strip())):
        author = normalise(attribution["who"])
        text = normalise("\n".join(lines[:-1]))
    for marker in ("**", "__", "*", "_"):
        inner = text[len(marker) : -len(marker)]
        if text.startswith(marker) and text.endswith(marker) and inner and marker not in inner:
            text = inner.strip()
            break
    return text, author


def _item_widths(lines: list[str]) -> list[int]:
    """Indent widths of every list item; an empty result means "paragraphs"."""
    return [_width(m["indent"]) for m in map(_ITEM.fullmatch, lines) if m is not None]


def _skip_front_matter(lines: list[str]) -> list[str]:
    """Obsidian-style ``---`` YAML front matter is metadata, not takeaways."""
    if not lines or lines[0].strip() != "---":
        return lines
    for index in range(1, min(len(lines), _FRONT_MATTER_LIMIT)):
        if lines[index].strip() in ("---", "..."):
            return lines[index + 1 :]
    return lines


def _take_title(lines: list[str]) -> tuple[str | None, list[str]]:
    for index, line in enumerate(lines):
        if line.strip():
            heading = heading_text(line)
            if heading is None:
                return None, lines
            return normalise(heading) or None, lines[index + 1 :]
    return None, lines


def _list_items(lines: list[str], widths: list[int]) -> tuple[list[list[str]], int]:
    """Top-level items with their continuation lines (indented, or lazily unindented
    right after the item, as hard-wrapped text is); deeper items are sub-points and
    stay inside their parent. Unindented text after a blank line ends the item; such
    lines outside every item are counted, so the summary can say they were left out."""
    base = min(widths)
    items: list[list[str]] = []
    current: list[str] | None = None
    blank = False
    outside = 0
    for line in lines:
        item = _ITEM.fullmatch(line)
        content = line.strip()
        width = _width(line[: len(line) - len(line.lstrip(" \t"))])
        if item is not None and width <= base + 1:
            current = [item["text"]]
            items.append(current)
            blank = False
        elif not content:
            blank = current is not None
        elif heading_text(line) is not None or (_RULE.fullmatch(line) and width <= base):
            current = None
        elif current is not None and (width > base or not blank):
            current.extend(["", content] if blank else [content])
            blank = False
        else:
            current = None
            outside += 1
    return items, outside


def _paragraphs(lines: list[str]) -> list[list[str]]:
    """Blank-line separated paragraphs, without headings and horizontal rules."""
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if not line.strip():
            current = []
        elif heading_text(line) is None and not _RULE.fullmatch(line):
            if not current:
                paragraphs.append(current)
            current.append(line)
    return paragraphs


def _width(indent: str) -> int:
    return len(indent.expandtabs(4))
