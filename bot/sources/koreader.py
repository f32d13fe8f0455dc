"""KOReader: the ``metadata.*.lua`` sidecar of each book, and its exporter's files.

KOReader keeps every highlight in a ``.sdr`` folder next to the book, so a folder
synced from the device is a complete, always current export. The sidecar is read as
data (``lua_table``), never run. Two layouts exist and one file may hold both after
an upgrade: the current ``annotations`` list, and the older ``highlight`` table (by
page) with a parallel ``bookmarks`` list, where a highlighted bookmark keeps the
highlighted text in ``notes`` and the reader's own note in ``text``. Each highlight
counts once, whichever tables hold it.

The exporter plugin writes JSON (``{"title", "author", "entries": [...]}``, or several
under ``documents``) and Markdown (``# Title``, ``### Page 12 @ date``, text, ``---``,
note); both are read here too, as the same takeaways.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from bot.sources import lua_table
from bot.sources.model import ParseError, Report, Takeaway
from bot.sources.text import heading_text, normalise, optional, split_lines

# KOReader's automatic bookmark text for a highlight without a note:
# "Page 12 <highlighted text> @ 2023-05-19 23:42:17" (see its exporter's clip.lua).
_AUTO_TEXT = re.compile(
    r"Page \[?\d*\]?\d+ (?P<quote>.*) @ \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.DOTALL
)
_MD_ENTRY = re.compile(r"Page (?P<page>\S+) @ (?P<when>.+)")
_MD_GENERATED = re.compile(r"_Generated at: .*_")
# The exporter's Markdown wraps each highlight in the reader's chosen style.
_MD_STYLES = (("**_", "_**"), ("**", "**"), ("==", "=="), ("++", "++"), ("<u>", "</u>"))
_MD_STYLES_SHORT = (("*", "*"), ("~~", "~~"))
_CATEGORY = "books"


@dataclass(frozen=True, slots=True)
class _Book:
    title: str | None
    author: str | None


# --- metadata.*.lua ------------------------------------------------------------------


def parse_sidecar(text: str, name: str, report: Report) -> list[Takeaway]:
    """Takeaways of one ``metadata.<ext>.lua`` file."""
    try:
        data = lua_table.loads(text)
    except lua_table.LuaError as error:
        message = f"not a readable KOReader metadata file ({error})"
        raise ParseError(name, message, error.line or None) from error
    if not isinstance(data, dict):
        raise ParseError(name, "not a KOReader metadata file (no table)")
    book = _sidecar_book(data, name)
    seen = _Seen()
    takeaways: list[Takeaway] = []
    for number, item in enumerate(lua_table.values(data.get("annotations")), start=1):
        if not isinstance(item, dict):
            report.cannot_read(name, f"annotation {number} is not a table")
            continue
        takeaway = _annotation(item, book, report)
        if takeaway is not None and seen.add(item, takeaway, report):
            takeaways.append(takeaway)
    every_bookmark = list(lua_table.values(data.get("bookmarks")))
    bookmarks = [b for b in every_bookmark if isinstance(b, dict)]
    report.skip("bookmarks that are not tables", len(every_bookmark) - len(bookmarks))
    used: set[int] = set()
    for page, items in _old_highlights(data.get("highlight")):
        for item in items:
            if not isinstance(item, dict):
                report.cannot_read(name, f"a highlight on page {page} is not a table")
                continue
            mark = _bookmark_for(item, bookmarks)
            if mark is not None:
                used.add(id(mark))
            takeaway = _old_highlight(item, page, mark, book)
            if takeaway is None:
                report.skip("highlights without text")
            elif seen.add(item, takeaway, report):
                takeaways.append(takeaway)
    for mark in bookmarks:
        if id(mark) in used:
            continue
        takeaway = _orphan_bookmark(mark, book)
        if takeaway is None:
            report.skip("bookmarks without text")
        elif seen.add(mark, takeaway, report):
            takeaways.append(takeaway)
    return takeaways


def _sidecar_book(data: dict[Any, Any], name: str) -> _Book:
    """Title and authors from ``doc_props`` (the book's own metadata), else ``stats``,
    else the ``<book>.sdr`` folder the file sits in."""
    title = author = None
    for key in ("doc_props", "stats"):
        props = data.get(key)
        if isinstance(props, dict):
            title = title or _text(props.get("title"))
            author = author or _text(props.get("authors"))
    if title is None:
        folder = PurePosixPath(name.replace("\\", "/")).parent.name
        if folder.endswith(".sdr"):
            title = optional(PurePosixPath(folder[: -len(".sdr")]).stem)
    if author is not None:
        author = ", ".join(part.strip() for part in author.split("\n") if part.strip())
    return _Book(title, author or None)


def _annotation(item: dict[Any, Any], book: _Book, report: Report) -> Takeaway | None:
    """One entry of the current ``annotations`` list; a page bookmark has no text (nor a
    highlight style), an image highlight in a PDF has a style but no text."""
    text = _text(item.get("text"))
    if text is None:
        highlight = item.get("drawer") is not None or item.get("pos1") is not None
        report.skip("highlights without text" if highlight else "bookmarks without text")
        return None
    return _takeaway(
        text,
        book,
        note=_text(item.get("note")),
        page=item.get("pageno") if item.get("pageno") is not None else item.get("page"),
        when=item.get("datetime"),
    )


def _old_highlights(table: Any) -> list[tuple[Any, list[Any]]]:
    """The older ``highlight`` table: ``[page] = { [1] = {...}, ... }``, pages in order;
    entries as they are (the caller reports one that is not a table)."""
    if not isinstance(table, dict):
        return []
    pages = sorted(table, key=_page_order)
    return [(page, list(lua_table.values(table[page]))) for page in pages]


def _page_order(key: Any) -> tuple[int, float, str]:
    if isinstance(key, int | float) and not isinstance(key, bool):
        return (0, float(key), "")
    return (1, 0.0, str(key))


def _bookmark_for(item: dict[Any, Any], bookmarks: list[dict[Any, Any]]) -> dict[Any, Any] | None:
    """The bookmark KOReader paired with a highlight: same creation time (as its own
    exporter matches them), else same start and end position."""
    when = item.get("datetime")
    for mark in bookmarks:
        if when is not None and mark.get("datetime") == when:
            return mark
    start, end = item.get("pos0"), item.get("pos1")
    if isinstance(start, str) and isinstance(end, str):
        for mark in bookmarks:
            if mark.get("pos0") == start and mark.get("pos1") == end:
                return mark
    return None


def _old_highlight(
    item: dict[Any, Any], page: Any, mark: dict[Any, Any] | None, book: _Book
) -> Takeaway | None:
    text = _text(item.get("text"))
    if text is None:
        return None
    note = _bookmark_note(mark, text)
    return _takeaway(text, book, note=note, page=page, when=item.get("datetime"))


def _bookmark_note(mark: dict[Any, Any] | None, highlighted: str) -> str | None:
    """The reader's note of an old bookmark: its ``text``, unless that is KOReader's
    automatic "Page 12 <quote> @ <date>" or the highlighted text itself."""
    if mark is None:
        return None
    text = _text(mark.get("text"))
    if text is None or text == highlighted:
        return None
    auto = _AUTO_TEXT.fullmatch(text)
    if auto is not None:
        quote = normalise(auto["quote"])
        return None if quote == highlighted or quote == _text(mark.get("notes")) else quote
    return text


def _orphan_bookmark(mark: dict[Any, Any], book: _Book) -> Takeaway | None:
    """A highlighted bookmark whose ``highlight`` entry is gone still holds the highlight
    in ``notes``; a plain page bookmark holds nothing to keep."""
    quote = _text(mark.get("notes"))
    if not mark.get("highlighted") or quote is None:
        return None
    return _takeaway(
        quote, book, note=_bookmark_note(mark, quote), page=None, when=mark.get("datetime")
    )


class _Seen:
    """Each highlight once: by its position in the book, else by text and time."""

    def __init__(self) -> None:
        self.keys: set[tuple[Any, ...]] = set()

    def add(self, item: dict[Any, Any], takeaway: Takeaway, report: Report) -> bool:
        keys: list[tuple[Any, ...]] = [("text", takeaway.text, item.get("datetime"))]
        start, end = item.get("pos0"), item.get("pos1")
        if isinstance(start, str) and isinstance(end, str):
            keys.append(("pos", start, end, takeaway.text))
        if any(key in self.keys for key in keys):
            report.merge("duplicates")
            return False
        self.keys.update(keys)
        return True


# --- exporter JSON ------------------------------------------------------------------------


def looks_like_json_export(head: str) -> bool:
    """A JSON document with KOReader's ``"entries": [`` list (detection by content)."""
    start = head.lstrip()[:1]
    return start in ("{", "[") and re.search(r'"entries"\s*:\s*\[', head) is not None


def parse_json(text: str, name: str, report: Report) -> list[Takeaway]:
    """Takeaways of the exporter's JSON: one book, ``documents`` of several, or a list."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        line = getattr(error, "lineno", None)
        raise ParseError(name, "broken JSON in KOReader export", line) from error
    documents = data.get("documents") if isinstance(data, dict) and "documents" in data else data
    if isinstance(documents, dict):
        documents = [documents]
    if not isinstance(documents, list):
        raise ParseError(name, "not a KOReader JSON export (no entries)")
    takeaways: list[Takeaway] = []
    for number, document in enumerate(documents, start=1):
        if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
            report.cannot_read(name, f"document {number} has no entries list")
            continue
        book = _Book(_text(document.get("title")), _text(document.get("author")))
        for place, entry in enumerate(document["entries"], start=1):
            if not isinstance(entry, dict):
                report.cannot_read(name, f"entry {place} of document {number} is not an object")
                continue
            takeaway = _json_entry(entry, book)
            if takeaway is not None:
                takeaways.append(takeaway)
            elif entry.get("sort") == "bookmark":
                report.skip("bookmarks without text")
            else:
                report.skip("highlights without text")
    return takeaways


def _json_entry(entry: dict[Any, Any], book: _Book) -> Takeaway | None:
    text = _text(entry.get("text"))
    if text is None:
        return None
    when = entry.get("time")
    stamp = None
    if isinstance(when, int | float) and not isinstance(when, bool) and 0 < when < 1e11:
        stamp = datetime.fromtimestamp(when, tz=UTC).isoformat()
    return _takeaway(text, book, note=_text(entry.get("note")), page=entry.get("page"), when=stamp)


# --- exporter Markdown ----------------------------------------------------------------------


def looks_like_markdown_export(head: str) -> bool:
    """KOReader's Markdown: ``# Title``, ``##### Author``, ``### Page N @ date`` headings."""
    lines = split_lines(head)
    has_entry = any(
        (title := heading_text(line)) is not None
        and line.startswith("### ")
        and _MD_ENTRY.fullmatch(title)
        for line in lines
    )
    return has_entry and any(line.startswith("##### ") for line in lines)


def parse_markdown(text: str, name: str, report: Report) -> list[Takeaway]:
    """Takeaways of the exporter's Markdown; several books may follow one another."""
    takeaways: list[Takeaway] = []
    book = _Book(None, None)
    entry: dict[str, Any] | None = None

    def flush() -> None:
        if entry is None:
            return
        body = normalise("\n".join(entry["text"]))
        if body:
            takeaways.append(
                _takeaway(
                    _unstyle(body),
                    book,
                    note=optional("\n".join(entry["note"])),
                    page=entry["page"],
                    when=entry["when"],
                )
            )
        else:
            report.skip("highlights without text")

    for line in split_lines(text):
        title = heading_text(line)
        level = len(line) - len(line.lstrip("#")) if title is not None else 0
        if title is not None and level in (1, 2, 3, 5):
            match = _MD_ENTRY.fullmatch(title) if level == 3 else None
            if level == 1 or level == 5 or match is not None or level == 2:
                flush()
                entry = None
            if level == 1:
                book = _Book(optional(title), None)
            elif level == 5:
                book = _Book(book.title, optional(title) if title != "N/A" else None)
            elif match is not None:
                entry = {
                    "page": match["page"],
                    "when": _md_date(match["when"]),
                    "text": [],
                    "note": [],
                    "in_note": False,
                }
            continue
        if _MD_GENERATED.fullmatch(line.strip()):
            flush()
            entry = None
        elif entry is not None:
            if line.strip() == "---" and not entry["in_note"]:
                entry["in_note"] = True
            else:
                entry["note" if entry["in_note"] else "text"].append(line)
    flush()
    return takeaways


def _md_date(value: str) -> str | None:
    try:
        return datetime.strptime(value.strip(), "%d %B %Y %I:%M:%S %p").isoformat()
    except ValueError:
        return None


def _unstyle(text: str) -> str:
    """Without the style markers the exporter wrapped around the whole highlight."""
    for opening, closing in _MD_STYLES:
        if text.startswith(opening) and text.endswith(closing) and len(text) > 2 * len(opening):
            return text[len(opening) : -len(closing)].strip()
    for opening, closing in _MD_STYLES_SHORT:
        inner = text[len(opening) : -len(closing)]
        if text.startswith(opening) and text.endswith(closing) and inner and opening not in inner:
            return inner.strip()
    return text


# --- shared -------------------------------------------------------------------------------------


def _takeaway(text: str, book: _Book, *, note: str | None, page: Any, when: Any) -> Takeaway:
    return Takeaway(
        text=text,
        title=book.title,
        author=book.author,
        note=note,
        location=_page(page),
        highlighted_at=_iso(when),
        category=_CATEGORY,
    )


def _page(page: Any) -> str | None:
    """ "page 12" for a page number; EPUB positions (XPointers) are not for people."""
    if isinstance(page, bool) or page is None:
        return None
    if isinstance(page, int | float):
        return f"page {int(page)}"
    if isinstance(page, str) and re.fullmatch(r"[0-9]{1,6}|[ivxlcdm]{1,8}", page.strip(), re.I):
        return f"page {page.strip()}"
    return None


def _iso(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip()).isoformat()
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return optional(value) if isinstance(value, str) else None
