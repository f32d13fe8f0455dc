"""The Kindle app's "Export notebook" HTML (the file the app e-mails or saves).

The page is a flat run of ``div``/``h*`` elements named by class: ``bookTitle``,
``authors``, ``sectionHeading``, then ``noteHeading`` + ``noteText`` pairs. The desktop
app writes them malformed (``<h3 class='noteHeading'>…</div><div class='noteText'>…</h3>``),
so a tree-building reading would nest them wrongly; instead the standard library's
tolerant tokenizer is walked and each classed element's text is taken up to the end
tag that closes it, whatever its name.

A heading says what the entry is, in the app's language: a highlight carries its colour
(``Highlight (<span class='highlight_yellow'>yellow</span>) - Page 3 · Location 40``,
``标注(<span …>橙色</span>) - 位置 84``), a note follows the highlight it was written on,
and a bookmark has no text. Page and location are read from the numbers after the
last ``-``, whatever the words around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from bot.sources.kindle import ATTACHED_NOTES
from bot.sources.model import Report, Takeaway
from bot.sources.text import normalise, optional

_CLASSES = frozenset(
    {"notebookFor", "bookTitle", "authors", "citation", "sectionHeading", "noteHeading", "noteText"}
)
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base"})
_BLOCK_ENDS = frozenset({"div", "h1", "h2", "h3", "h4", "h5", "h6", "p", "body", "html", "span"})
# Detection: the class names every layout writes, in either quote style.
MARKERS = re.compile(r"""class=["'](?:noteHeading|noteText)["']""")
_HIGHLIGHT_WORDS = re.compile(
    r"^\s*(?:highlight|markierung|subrayado|surlignement|evidenziazione|destaque|markering"
    r"|标注|標註|ハイライト|выделение|выделенный)",
    re.IGNORECASE,
)
_NOTE_WORDS = re.compile(
    r"^\s*(?:note|notiz|nota|notitie|remarque|笔记|筆記|メモ|заметка|notatka)\b", re.IGNORECASE
)
_BOOKMARK_WORDS = re.compile(
    r"^\s*(?:bookmark|lesezeichen|marcador|signet|segnalibro|bladwijzer|书签|書籤|ブックマーク"
    r"|закладка|zakładka)",
    re.IGNORECASE,
)
# "Page 3 · Location 40", "Seite 3 · Position 40", "ページ23 ·位置607", "位置 84", "Location 590".
_NUMBER = re.compile(r"(?P<word>[^\W\d_]*)\.?\s*(?P<number>\d+|[ivxlcdm]+\b)", re.IGNORECASE)
_PAGE_WORDS = re.compile(r"^(?:page|seite|página|pagina|pág|ページ|页|頁|страница|стр)$", re.I)
# Chinese writes the page number inside its words: "第 12 页".
_CJK_PAGE = re.compile(r"第\s*(\d+)\s*[页頁]")
# The number a note is allowed to sit past its highlight's start (Kindle stores a note at
# the highlight's last location; long highlights span a few locations).
_NOTE_REACH = 30


@dataclass(slots=True)
class _Element:
    cls: str
    parts: list[str] = field(default_factory=list)
    depth: int = 0

    @property
    def text(self) -> str:
        return normalise("".join(self.parts))


class _Walker(HTMLParser):
    """Collects the text of every element with one of the notebook's classes, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[_Element] = []
        self.current: _Element | None = None
        # Elements holding a colour span (``highlight_yellow``): only highlights have one.
        self.coloured: set[int] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        known = next((c for c in classes if c in _CLASSES), None)
        if known is not None:
            self.current = _Element(known)
            self.elements.append(self.current)
            return
        if self.current is None:
            return
        if tag == "br":
            self.current.parts.append("\n")
        elif tag == "p" and self.current.parts:
            self.current.parts.append("\n\n")
        if any(c.startswith("highlight_") for c in classes):
            self.coloured.add(len(self.elements) - 1)
        if tag not in _VOID:
            self.current.depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.current is not None and tag == "br":
            self.current.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.current is None:
            return
        if self.current.depth > 0:
            self.current.depth -= 1
        elif tag in _BLOCK_ENDS:
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.current.parts.append(data)


@dataclass(slots=True)
class _Entry:
    kind: str
    text: str
    section: str | None
    page: str | None
    location: int | None
    notes: list[str] = field(default_factory=list)


def parse(text: str, name: str, report: Report) -> list[Takeaway]:
    """Takeaways of one notebook: highlights with their notes; bookmarks are skipped."""
    walker = _Walker()
    walker.feed(text)
    walker.close()
    title = author = section = None
    entries: list[_Entry] = []
    elements = walker.elements
    index = 0
    while index < len(elements):
        element = elements[index]
        if element.cls == "bookTitle":
            title = title or optional(element.text)
        elif element.cls == "authors":
            author = author or optional(element.text)
        elif element.cls == "sectionHeading":
            section = optional(element.text)
        elif element.cls == "noteHeading":
            coloured = index in walker.coloured
            body = ""
            if index + 1 < len(elements) and elements[index + 1].cls == "noteText":
                index += 1
                body = elements[index].text
            entries.append(_entry(element.text, body, section, coloured))
        elif element.cls == "noteText":
            entries.append(_Entry("highlight", element.text, section, None, None))
        index += 1
    kept = _attach_notes(entries, report)
    return [
        Takeaway(
            text=entry.text,
            title=title,
            author=author,
            note=optional("\n\n".join(entry.notes)),
            location=_shown(entry),
            category="books",
        )
        for entry in kept
    ]


def _entry(heading: str, body: str, section: str | None, coloured: bool) -> _Entry:
    """Kind, page and location from a heading in any language."""
    kind_part, _, place = heading.rpartition(" - ")
    if not kind_part:
        kind_part, place = heading, ""
    if coloured or re.search(r"\(.+\)", kind_part) or _HIGHLIGHT_WORDS.search(kind_part):
        kind = "highlight"
    elif _BOOKMARK_WORDS.search(kind_part):
        kind = "bookmark"
    elif _NOTE_WORDS.search(kind_part) or body:
        kind = "note"
    else:
        kind = "bookmark"
    # A sub-section may precede the place: "3.7 Title > ページ23 ·位置607".
    place = _CJK_PAGE.sub(r"页 \1 ", place.rpartition(">")[2])
    page = location = None
    for match in _NUMBER.finditer(place):
        word = match["word"]
        if _PAGE_WORDS.match(word or "") and page is None:
            page = match["number"]
        elif match["number"].isdigit():
            location = int(match["number"])
    return _Entry(kind, body, section, page, location)


def _attach_notes(entries: list[_Entry], report: Report) -> list[_Entry]:
    """Highlights in order, each note given to the highlight right before it.

    The app lists a note straight after the highlight it was written on; a note that
    follows something else (a bookmark, another note, a far-away highlight) is the
    reader's own words and kept as a takeaway of its own.
    """
    kept: list[_Entry] = []
    previous: _Entry | None = None
    for entry in entries:
        if entry.kind == "bookmark" or not entry.text:
            bookmark = entry.kind == "bookmark"
            report.skip("bookmarks without text" if bookmark else "highlights without text")
            previous = None
            continue
        if entry.kind == "note" and previous is not None and _near(previous, entry):
            previous.notes.append(entry.text)
            report.merge(ATTACHED_NOTES)  # counted as My Clippings.txt counts it
            previous = None
            continue
        kept.append(entry)
        previous = entry if entry.kind == "highlight" else None
    return kept


def _near(highlight: _Entry, note: _Entry) -> bool:
    if highlight.location is not None and note.location is not None:
        return 0 <= note.location - highlight.location <= _NOTE_REACH
    if highlight.page is not None and note.page is not None:
        return highlight.page == note.page
    return True


def _shown(entry: _Entry) -> str | None:
    """As Kindle clippings show it: the location when known (finer), else the page."""
    if entry.location is not None:
        return f"Location {entry.location}"
    if entry.page is not None:
        return f"page {entry.page}"
    return None
