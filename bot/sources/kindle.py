"""Kindle's ``My Clippings.txt``: clips separated by ``==========`` lines.

Each clip is ``Title (Author)``, a meta line (kind, page/location, date, in the
device's language), a blank line and the text. The file only ever grows: re-reading,
editing a highlight or adding a note appends new clips, so the parser has to fold
repeats and superseded versions back into one takeaway per idea.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from bot.sources.model import Report, Takeaway
from bot.sources.text import normalise, split_lines

SEPARATOR = re.compile(r"^\ufeff?={8,}[ \t]*$", re.MULTILINE)
# The meta line always has "|" between its parts; used by format detection too.
META_LINE = re.compile(r"^\ufeff?-[ \t]+\S.*\|", re.MULTILINE)

_HIGHLIGHT = "highlight"
_NOTE = "note"
_BOOKMARK = "bookmark"
# Words that decide a clip's kind, per device language (en, de, es, fr, it, pt, nl);
# one alternation per kind, so a single search on the lower-cased meta line decides.
_KIND = re.compile(
    r"(bookmark|lesezeichen|marcador|signet|segnalibro|bladwijzer)"
    r"|(highlight|markierung|subrayado|surlignement|evidenziazione|destaque|markering)"
    r"|(note|notiz|nota|notitie)"
)
_KINDS = {1: _BOOKMARK, 2: _HIGHLIGHT, 3: _NOTE}
# Matched against the lower-cased meta line (cheaper than IGNORECASE on every clip).
_LOCATION = re.compile(
    r"\b(?:location|loc\.|position|posición|posicion|emplacement|posizione|posição|posicao"
    r"|positie)[ \t]+(?P<start>\d+)(?:[ \t]*-[ \t]*(?P<end>\d+))?"
)
_PAGE = re.compile(r"\b(?:page|seite|página|pagina|pág\.|bladzijde)[ \t]+(?P<page>[0-9ivxlcdm]+)\b")
_CJK_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CJK_AFTERNOON = ("下午", "午後")
# A date is read as tokens: a clock time, numbers (year, day), words (month, am/pm).
_DATE_TOKEN = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?|(\d+)|([^\W\d_]+)")
_HALF_DAY = {"am": 0, "a": 0, "pm": 12, "p": 12}
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan", "januar", "enero", "janvier", "gennaio", "janeiro", "januari"),
            ("february", "feb", "februar", "febrero", "février", "febbraio", "fevereiro"),
            ("march", "mar", "märz", "marzo", "mars", "março", "maart"),
            ("april", "apr", "abril", "avril", "aprile"),
            ("may", "mai", "mayo", "maggio", "maio", "mei"),
            ("june", "jun", "juni", "junio", "juin", "giugno", "junho"),
            ("july", "jul", "juli", "julio", "juillet", "luglio", "julho"),
            ("august", "aug", "agosto", "août", "augustus"),
            ("september", "sep", "sept", "septiembre", "setiembre", "septembre", "settembre"),
            ("october", "oct", "oktober", "octubre", "octobre", "ottobre", "outubro"),
            ("november", "nov", "noviembre", "novembre", "novembro"),
            ("december", "dec", "dezember", "diciembre", "décembre", "dicembre", "dezembro"),
        ),
        start=1,
    )
    for name in names
}
_NOTE_SEARCH_WINDOW = 64


@dataclass(slots=True)
class _Clip:
    """One clip as read; ``start``/``end`` are on the ``axis`` ("loc" or "page")."""

    order: int
    title: str | None
    author: str | None
    kind: str
    text: str
    location: str | None
    axis: str | None
    start: int
    end: int
    highlighted_at: str | None
    notes: list[str] = field(default_factory=list)
    superseded: bool = False

    @property
    def book(self) -> tuple[str | None, str | None, str | None]:
        return (self.title, self.author, self.axis)


def parse(text: str, name: str, report: Report) -> list[Takeaway]:
    """Takeaways of a clippings file: highlights, with notes attached, repeats folded."""
    clips = _unique_clips(_read_clips("\n".join(split_lines(text))))
    highlights = [clip for clip in clips if clip.kind == _HIGHLIGHT]
    _mark_superseded(highlights)
    survivors = [clip for clip in highlights if not clip.superseded]
    standalone = _attach_notes(survivors, [clip for clip in clips if clip.kind == _NOTE])
    kept = sorted([*survivors, *standalone], key=lambda clip: clip.order)
    return [_takeaway(clip) for clip in kept]


def _read_clips(text: str) -> list[_Clip]:
    """Valid clips in file order; anything that is not one (a truncated start) is skipped."""
    clips = []
    for order, chunk in enumerate(SEPARATOR.split(text)):
        clip = _read_clip(order, chunk)
        if clip is not None and clip.kind != _BOOKMARK and clip.text:
            clips.append(clip)
    return clips


def _read_clip(order: int, chunk: str) -> _Clip | None:
    """A clip, or None when the chunk is not one (no meta line of a known kind)."""
    head, _, rest = chunk.lstrip("\ufeff \t\n").partition("\n")
    meta, _, body = rest.partition("\n")
    meta = meta.strip().lower()
    if not meta.startswith("-"):
        return None
    kind = _kind(meta.split("|", 1)[0])
    if kind is None:
        return None
    title, author = _title_author(head)
    location, axis, start, end = _position(meta)
    return _Clip(
        order=order,
        title=title,
        author=author,
        kind=kind,
        text=normalise(body),
        location=location,
        axis=axis,
        start=start,
        end=end,
        highlighted_at=_date(meta.rsplit("|", 1)[-1]) if "|" in meta else None,
    )


def _kind(first_part: str) -> str | None:
    """Kind from the lower-cased first part of the meta line, in any device language."""
    match = _KIND.search(first_part)
    return _KINDS[match.lastindex or 0] if match is not None else None


def _title_author(line: str) -> tuple[str | None, str | None]:
    """Split at the LAST balanced parenthesised group: titles may hold parentheses too.

    Scanning back from the closing parenthesis keeps this linear however odd the line.
    """
    line = normalise(line)
    if not line.endswith(")"):
        return line or None, None
    opening = line.rfind("(")
    if opening >= 0 and line.find(")", opening) == len(line) - 1:  # no nesting: the usual case
        return line[:opening].strip() or None, line[opening + 1 : -1].strip() or None
    depth = 0
    for index in range(len(line) - 1, -1, -1):
        if line[index] == ")":
            depth += 1
        elif line[index] == "(":
            depth -= 1
            if depth == 0:
                return line[:index].strip() or None, line[index + 1 : -1].strip() or None
    return line, None


def _position(meta: str) -> tuple[str | None, str | None, int, int]:
    """Human location plus a numeric range for comparing clips of one book.

    The location wins over the page when both are given: it is finer and always
    present on Kindle books; words are given in English whatever the device language.
    """
    location = _LOCATION.search(meta)
    if location is not None:
        start = int(location["start"])
        end = _range_end(start, location["end"])
        shown = f"{location['start']}-{location['end']}" if location["end"] else location["start"]
        return f"Location {shown}", "loc", start, end
    page = _PAGE.search(meta)
    if page is not None:
        number = page["page"]
        numeric = int(number) if number.isdigit() else -1
        return f"page {number}", ("page" if numeric >= 0 else None), numeric, numeric
    return None, None, -1, -1


def _range_end(start: int, end: str | None) -> int:
    """Old Kindles abbreviate ranges ("Loc. 2054-56" means 2054-2056)."""
    if end is None:
        return start
    value = int(end)
    if value < start and len(end) < len(str(start)):
        value = int(str(start)[: -len(end)] + end)
    return max(value, start)


def _date(text: str) -> str | None:
    """ISO date-time of a lower-cased "added on ..." part in any device language, or None.

    The words around the date differ by language but the pieces do not: a month name
    (or CJK numerals), a day, a year, a clock time and maybe am/pm. One tokenising
    pass finds them all. A date that does not parse is unknown, never an error.
    """
    year = month = day = None
    clock: tuple[int, int, int] | None = None
    half: int | None = None
    for hour, minute, second, number, word in _DATE_TOKEN.findall(text):
        if hour:
            clock = clock or (int(hour), int(minute), int(second or 0))
        elif number:
            if len(number) == 4:
                year = year or int(number)
            elif len(number) <= 2:
                day = day or int(number)
        elif clock is not None:
            half = _HALF_DAY.get(word, half) if half is None else half
        elif month is None:
            month = _MONTHS.get(word)
    cjk = _CJK_DATE.search(text) if "年" in text else None
    if cjk is not None:
        year, month, day = int(cjk[1]), int(cjk[2]), int(cjk[3])
        half = 12 if any(word in text for word in _CJK_AFTERNOON) else None
    if year is None or month is None or day is None:
        return None
    try:
        if clock is None:
            return datetime(year, month, day).date().isoformat()
        hour = clock[0] if half is None else clock[0] % 12 + half
        return datetime(year, month, day, hour, clock[1], clock[2]).isoformat()
    except ValueError:
        return None


def _unique_clips(clips: list[_Clip]) -> list[_Clip]:
    """Exact repeats (same book, kind, place and text) collapse to the first one."""
    seen: set[tuple[object, ...]] = set()
    unique = []
    for clip in clips:
        key = (clip.title, clip.author, clip.kind, clip.location, clip.text)
        if key not in seen:
            seen.add(key)
            unique.append(clip)
    return unique


def _mark_superseded(highlights: list[_Clip]) -> None:
    """Mark all but the latest version of highlights edited on the device.

    Extending or shortening a highlight appends a new clip whose range overlaps the old
    one and whose text contains (or is contained in) it. Per book, clips sorted by
    start are swept with only the still-overlapping ones kept active, so a normal file
    costs O(n log n) rather than comparing every pair.
    """
    by_book: dict[tuple[str | None, str | None, str | None], list[_Clip]] = defaultdict(list)
    for clip in highlights:
        if clip.axis is not None:
            by_book[clip.book].append(clip)
    for clips in by_book.values():
        clips.sort(key=lambda clip: (clip.start, clip.order))
        active: list[_Clip] = []
        for clip in clips:
            active = [other for other in active if other.end >= clip.start]
            for other in active:
                if other.text in clip.text or clip.text in other.text:
                    older = other if other.order < clip.order else clip
                    older.superseded = True
            active.append(clip)


def _attach_notes(highlights: list[_Clip], notes: list[_Clip]) -> list[_Clip]:
    """Give each note to the highlight it was written on; return the notes left over.

    Kindle stores a note at a single location, normally the last one of the highlight
    it annotates, so a highlight ending there wins over one merely containing it, and
    of equals the one nearest in the file. A note with no such highlight is kept as a
    takeaway of its own: the reader's own words are worth as much as a highlight.
    """
    by_book: dict[tuple[str | None, str | None, str | None], list[_Clip]] = defaultdict(list)
    for clip in highlights:
        if clip.axis is not None:
            by_book[clip.book].append(clip)
    starts: dict[tuple[str | None, str | None, str | None], list[int]] = {}
    for book, clips in by_book.items():
        clips.sort(key=lambda clip: (clip.start, clip.order))
        starts[book] = [clip.start for clip in clips]
    standalone = []
    for note in notes:
        target = _note_target(note, by_book.get(note.book, []), starts.get(note.book, []))
        if target is None:
            standalone.append(note)
        else:
            target.notes.append(note.text)
    return standalone


def _note_target(note: _Clip, clips: list[_Clip], starts: list[int]) -> _Clip | None:
    if note.axis is None or not clips:
        return None
    at = note.end
    best: _Clip | None = None
    best_rank: tuple[bool, int] = (False, 0)
    upper = bisect_right(starts, at)
    for clip in clips[max(0, upper - _NOTE_SEARCH_WINDOW) : upper]:
        if clip.start <= at <= clip.end:
            rank = (clip.end == at, -abs(note.order - clip.order))
            if best is None or rank > best_rank:
                best, best_rank = clip, rank
    return best


def _takeaway(clip: _Clip) -> Takeaway:
    return Takeaway(
        text=clip.text,
        title=clip.title,
        author=clip.author,
        note=normalise("\n".join(clip.notes)) or None,
        location=clip.location,
        highlighted_at=clip.highlighted_at,
        category="books",
    )
