"""Kindle's ``My Clippings.txt``: clips separated by ``==========`` lines.

Each clip is ``Title (Author)``, a meta line (kind, page/location, date, in the
device's language), a blank line and the text. The file only ever grows: re-reading,
editing a highlight or adding a note appends new clips, so the parser has to fold
repeats and superseded versions back into one takeaway per idea, and say so in the
report: nothing a reader clipped may disappear without a word.

Devices write the meta line in their own language and firmware generation:

    - Your Highlight on page 12 | Location 180-182 | Added on Saturday, 2 May 2020 10:15:01
    - Your Underline on page 33 | Location 490-491 | Added on ...       (2025 firmware)
    - Highlight Loc. 242-43  | Added on Monday, 3 December 12 19:00:12 Greenwich Mean Time
    - 您在第 12 页（位置 #180-182）的标注 | 添加于 2019年3月2日星期六 下午10:08:09
    - 12ページ|位置No. 180-182のハイライト |作成日: 2020年5月3日日曜日 10:15:01
    – Ваш выделенный отрывок в месте 637–640 | Добавлено: среда, 3 марта 2021 г. в 9:01:02
    - Seu destaque ou posição 12-13 | Adicionado: sábado, 16 de maio de 2015 13:16:48

so a clip's kind, place and date are read by words and patterns, not by position.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from bot.sources.model import Report, Takeaway, comparable
from bot.sources.text import normalise, split_lines

SEPARATOR = re.compile(r"^\ufeff?={8,}[ \t]*$", re.MULTILINE)
# The meta line always has "|" between its parts; used by format detection too. Russian
# devices write an en dash as its bullet.
META_LINE = re.compile(r"^\ufeff?[-–—][ \t]+\S.*\|", re.MULTILINE)
_BULLETS = ("-", "–", "—")

_HIGHLIGHT = "highlight"
_NOTE = "note"
_BOOKMARK = "bookmark"
# Words that decide a clip's kind, per device language (en, de, es, fr, it, pt, nl, ru,
# zh, ja); one alternation per kind, so a single search on the lower-cased meta line
# (without its date) decides.
_KIND = re.compile(
    r"(bookmark|lesezeichen|marcador|signet|segnalibro|bladwijzer|закладка|书签|書籤"
    r"|ブックマーク)"
    r"|(highlight|underline|markierung|subrayado|surlignement|evidenziazione|destaque"
    r"|markering|выделен|标注|標註|ハイライト|clip this article)"
    r"|(note|notiz|nota|notitie|заметка|笔记|筆記|メモ)"
)
_KINDS = {1: _BOOKMARK, 2: _HIGHLIGHT, 3: _NOTE}
# Matched against the lower-cased meta line (cheaper than IGNORECASE on every clip).
# Ranges use "-", an en dash (Russian) or "t/m" (Dutch); Chinese writes "#37-#38".
_RANGE = r"[ \t]*#?(?P<start>\d+)(?:[ \t]*(?:[-–—]|t/m)[ \t]*#?(?P<end>\d+))?"
_LOCATION = re.compile(
    r"(?:\b(?:location|loc\.|position|posición|posicion|emplacement|posizione|posição"
    r"|posicao|positie|locatie|место|месте|местоположение|позиция|позиции)"
    r"|位置[ \t]*(?:no\.)?)" + _RANGE
)
_PAGE = re.compile(
    r"\b(?:page|seite|página|pagina|pág\.|bladzijde|странице|страница|стр\.)[ \t]+"
    r"(?P<page>[0-9ivxlcdm]+)\b(?:[ \t]*(?:[-–—]|t/m)[ \t]*(?P<end>\d+))?"
    r"|第[ \t]*(?P<zh>\d+)(?:[ \t]*-[ \t]*(?P<zh_end>\d+))?[ \t]*页"
    r"|(?P<ja>\d+)[ \t]*ページ"
)
_CJK_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CJK_HALF_DAY = {"下午": 12, "午後": 12, "上午": 0, "午前": 0}
# A date is read as tokens: a clock time, numbers (year, day), words (month, am/pm).
_DATE_TOKEN = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?|(\d+)|([^\W\d_]+)")
_HALF_DAY = {"am": 0, "a": 0, "pm": 12, "p": 12}
# Month names (and their abbreviations and grammatical cases) per device language.
_MONTH_NAMES = (
    "january jan januar enero janvier gennaio janeiro januari января январь",
    "february feb februar febrero février febbraio fevereiro februari февраля февраль",
    "march mar märz marzo mars março maart марта март",
    "april apr abril avril aprile апреля апрель",
    "may mai mayo maggio maio mei мая май",
    "june jun juni junio juin giugno junho июня июнь",
    "july jul juli julio juillet luglio julho июля июль",
    "august aug agosto août augustus августа август",
    "september sep sept septiembre setiembre septembre settembre setembro сентября сентябрь",
    "october oct oktober octubre octobre ottobre outubro октября октябрь",
    "november nov noviembre novembre novembro ноября ноябрь",
    "december dec dezember diciembre décembre dicembre dezembro декабря декабрь",
)
_MONTHS = {
    name: number for number, names in enumerate(_MONTH_NAMES, start=1) for name in names.split()
}
# Kindle writes this instead of the text once the publisher's clipping limit for a
# book is reached: "<You have reached the clipping limit for this item>", in the
# device's language, between angle brackets of some kind.
_PLACEHOLDER = re.compile(r"[<‹＜«][^<>‹›＜＞«»\n]{4,160}[>›＞»]")
_PLACEHOLDER_WORDS = re.compile(
    r"limit|límite|limite|grenze|limiet|上限|限制|лимит|предел|ограничени", re.IGNORECASE
)
_NOTE_SEARCH_WINDOW = 64

# What the report calls what this parser folds or leaves out.
DUPLICATES = "duplicates of earlier clips"
EDITED_HIGHLIGHTS = "earlier versions of edited highlights"
EDITED_NOTES = "earlier versions of edited notes"
ATTACHED_NOTES = "notes added to their highlight"
BOOKMARKS = "bookmarks"
PLACEHOLDERS = "clipping-limit placeholders"
EMPTY = "empty clips"
FRAGMENT = "cut-off clip ends at the start of the file"


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
    core: str = ""  # the text as ``comparable`` sees it, once needed (``_versions``)

    @property
    def book(self) -> tuple[str | None, str | None, str | None]:
        return (self.title, self.author, self.axis)


def parse(text: str, name: str, report: Report) -> list[Takeaway]:
    """Takeaways of a clippings file: highlights, with notes attached, repeats folded."""
    clips = _unique_clips(_read_clips(text, name, report), report)
    highlights = [clip for clip in clips if clip.kind == _HIGHLIGHT]
    report.merge(EDITED_HIGHLIGHTS, _mark_superseded(highlights))
    notes = [clip for clip in clips if clip.kind == _NOTE]
    report.merge(EDITED_NOTES, _mark_superseded(notes, same_start=True))
    survivors = [clip for clip in highlights if not clip.superseded]
    latest_notes = [clip for clip in notes if not clip.superseded]
    standalone = _attach_notes(survivors, latest_notes)
    report.merge(ATTACHED_NOTES, len(latest_notes) - len(standalone))
    kept = sorted([*survivors, *standalone], key=lambda clip: clip.order)
    return [_takeaway(clip) for clip in kept]


def looks_like_kindle_without_separators(head: str) -> bool:
    """Kindle clips whose ``==========`` lines are gone (a copy pasted or re-saved).

    Read as a plain list, every title and meta line would become a takeaway; format
    detection asks this first and refuses the file with a message instead.
    """
    if SEPARATOR.search(head):
        return False
    found = 0
    for match in META_LINE.finditer(head):
        line = match.group(0).lower()
        if _kind(line.split("|")) is not None and (_LOCATION.search(line) or _PAGE.search(line)):
            found += 1
            if found >= 2:
                return True
    return False


def _read_clips(text: str, name: str, report: Report) -> list[_Clip]:
    """Clips in file order; what is not one is reported with its line."""
    clips = []
    for order, (index, line, chunk) in enumerate(_chunks("\n".join(split_lines(text)))):
        clip = _read_clip(order, line, chunk, name, report, first=index == 0)
        if clip is None:
            continue
        if clip.kind == _BOOKMARK:
            report.skip(BOOKMARKS)
        elif not clip.text:
            report.skip(EMPTY)
        elif not _without_placeholder(clip):
            report.skip(PLACEHOLDERS)
        else:
            clips.append(clip)
    return clips


def _chunks(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """(index among all chunks, line number of its first non-blank line, its lines from
    there) of every non-blank chunk between separators."""
    line = 1  # where the current chunk starts
    for index, chunk in enumerate(SEPARATOR.split(text)):
        content = chunk.lstrip(" \t\n\ufeff")
        if content.strip():
            # Back to the start of the first non-blank line (it may be indented).
            lead = chunk.count("\n", 0, len(chunk) - len(content))
            first = chunk.split("\n")[lead:]
            yield index, line + lead, first
        line += chunk.count("\n")


def _read_clip(
    order: int, line: int, chunk: list[str], name: str, report: Report, *, first: bool
) -> _Clip | None:
    """A clip, or None (reported as unreadable) when the chunk is not one."""
    head = chunk[0].lstrip("\ufeff")
    if _meta_kind(head) is not None:
        # A clip whose title line is empty: the meta line comes first.
        head, meta, body = "", head, chunk[1:]
        meta_line = line
    elif len(chunk) > 1:
        meta, body = chunk[1], chunk[2:]
        meta_line = line + 1
    else:
        meta, body, meta_line = "", [], line
    meta = meta.strip(" \t\ufeff").lower()
    if not meta.isascii():
        meta = unicodedata.normalize("NFC", meta)
    parts = meta.split("|")
    kind = _kind(parts) if len(parts) > 1 and meta.startswith(_BULLETS) else None
    if kind is None and first and not meta.startswith(_BULLETS):
        # The end of a clip whose start was cut off (files get trimmed by hand).
        report.skip(FRAGMENT)
        return None
    if kind is None:
        problem = "no Kindle meta line" if not meta.startswith(_BULLETS) else "unknown clip kind"
        report.cannot_read(name, f"{problem}: {meta[:60]!r}", meta_line)
        return None
    title, author = _title_author(head)
    location, axis, start, end = _position(parts)
    return _Clip(
        order=order,
        title=title,
        author=author,
        kind=kind,
        text=normalise("\n".join(body)),
        location=location,
        axis=axis,
        start=start,
        end=end,
        highlighted_at=_date(parts[-1]),
    )


def _meta_kind(meta: str) -> str | None:
    """The kind of a lower-cased (or not yet) meta line; None if it is not one."""
    if not meta.startswith(_BULLETS) or "|" not in meta:
        return None
    return _kind(meta.lower().split("|"))


def _kind(parts: list[str]) -> str | None:
    """Kind from the lower-cased meta line's parts, in any device language.

    Looked for in every part but the last (the date, whose words could be taken for a
    kind), the first one first: Japanese devices put the page before the kind
    ("12ページ|位置No. 1のメモ").
    """
    for part in parts[:-1]:
        match = _KIND.search(part)
        if match is not None:
            return _KINDS[match.lastindex or 0]
    return None


def _without_placeholder(clip: _Clip) -> str:
    """The clip's text without the clipping-limit placeholder, which takes the place of
    the whole text, or of its end when the limit was reached within the highlight."""
    match = _PLACEHOLDER.search(clip.text, max(0, len(clip.text) - 170))
    if (
        match is not None
        and match.end() == len(clip.text)
        and _PLACEHOLDER_WORDS.search(match.group()) is not None
    ):
        clip.text = clip.text[: match.start()].rstrip()
    return clip.text


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


def _position(parts: list[str]) -> tuple[str | None, str | None, int, int]:
    """Human location plus a numeric range for comparing clips of one book.

    The location wins over the page when both are given: it is finer and always
    present on Kindle books; words are given in English whatever the device language.
    """
    # Looked for in the parts before the date, the last one first: some firmware writes
    # "at location 5 | location 70-71" (a page, then the place).
    location = None
    for part in reversed(parts[:-1]):
        location = _LOCATION.search(part)
        if location is not None:
            break
    if location is not None:
        start = int(location["start"])
        end = _range_end(start, location["end"])
        shown = f"{start}-{end}" if location["end"] else str(start)
        return f"Location {shown}", "loc", start, end
    page = _PAGE.search("|".join(parts[:-1]))
    if page is None:
        return None, None, -1, -1
    number = page["page"] or page["zh"] or page["ja"]
    if not number.isdigit():
        return f"page {number}", None, -1, -1
    start = int(number)
    given_end = page["end"] or page["zh_end"]
    end = _range_end(start, given_end)
    shown = f"{start}-{end}" if given_end and end != start else str(start)
    return f"page {shown}", "page", start, end


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
    pass finds them all. Old devices wrote two-digit years ("3 December 12"). A date
    that does not parse is unknown, never an error.
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
                if day is None:
                    day = int(number)
                elif year is None and clock is None and month is not None:
                    year = 2000 + int(number)
        elif clock is not None:
            half = _HALF_DAY.get(word, half) if half is None else half
        elif month is None:
            month = _MONTHS.get(word)
    cjk = _CJK_DATE.search(text) if "年" in text else None
    if cjk is not None:
        year, month, day = int(cjk[1]), int(cjk[2]), int(cjk[3])
        half = next((value for word, value in _CJK_HALF_DAY.items() if word in text), None)
    if year is None or month is None or day is None:
        return None
    try:
        if clock is None:
            return datetime(year, month, day).date().isoformat()
        hour = clock[0] if half is None else clock[0] % 12 + half
        return datetime(year, month, day, hour, clock[1], clock[2]).isoformat()
    except ValueError:
        return None


def _unique_clips(clips: list[_Clip], report: Report) -> list[_Clip]:
    """Exact repeats (same book, kind, place and text) collapse to the first one."""
    seen: set[tuple[object, ...]] = set()
    unique = []
    for clip in clips:
        key = (clip.title, clip.author, clip.kind, clip.location, clip.text)
        if key not in seen:
            seen.add(key)
            unique.append(clip)
    report.merge(DUPLICATES, len(clips) - len(unique))
    return unique


def _mark_superseded(clips: list[_Clip], *, same_start: bool = False) -> int:
    """Mark all but the latest version of clips edited on the device; how many marked.

    Extending or shortening a highlight appends a new clip whose range overlaps the old
    one and whose text contains (or is contained in) it, compared without trailing
    punctuation (see ``comparable``). An edited note is written again at the same
    location (``same_start``). Per book, clips sorted by start are swept with only the
    still-overlapping ones kept active, so a normal file costs O(n log n) rather than
    comparing every pair.
    """
    by_book: dict[tuple[str | None, str | None, str | None], list[_Clip]] = defaultdict(list)
    for clip in clips:
        if clip.axis is not None:
            by_book[clip.book].append(clip)
    for group in by_book.values():
        group.sort(key=lambda clip: (clip.start, clip.order))
        active: list[_Clip] = []
        for clip in group:
            if same_start:
                active = [other for other in active if other.start == clip.start]
            else:
                active = [other for other in active if other.end >= clip.start]
            for other in active:
                if _versions(other, clip):
                    older = other if other.order < clip.order else clip
                    older.superseded = True
            active.append(clip)
    return sum(clip.superseded for clip in clips)


def _versions(first: _Clip, second: _Clip) -> bool:
    """``versions_of_one_highlight``, with each clip's comparable text worked out once
    and only for clips that overlap another."""
    a = first.core or comparable(first.text)
    b = second.core or comparable(second.text)
    first.core, second.core = a, b
    return bool(a) and bool(b) and (a in b or b in a)


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
