"""What the two Readwise page flavours (Logseq and Markdown) share after layout.

Both carry the same content: document metadata plus highlight blocks that end in
Readwise links and may have a note and tags. The layout modules only turn lines into
``Block``s; turning blocks into takeaways, including the tweet-thread rule, happens
here once so both flavours behave the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from bot.sources.model import Report, Takeaway
from bot.sources.text import (
    drop_image_lines,
    normalise,
    optional,
    parse_tags,
    split_trailing_links,
    stem,
    unbracket,
    unique,
    unquote,
)

_HIGHLIGHTS_SUFFIX = re.compile(r"\s*\(highlights\)\s*$", re.IGNORECASE)
_TWITTER_URL = re.compile(r"https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/", re.IGNORECASE)
_TWEET_CATEGORIES = frozenset({"tweet", "tweets", "twitter"})
# "Nov 19th, 2022", "[[Nov 19th, 2022]] at 10:12 AM", "November 19, 2022 at 10:12 AM".
_HEADER_DATE = re.compile(
    r"(?P<month>[A-Za-z]{3,9})\.? (?P<day>\d{1,2})(?:st|nd|rd|th)?, (?P<year>\d{4})(?:\]\])?"
    r"(?: at (?P<hour>\d{1,2}):(?P<minute>\d{2})\s*(?P<ampm>[AP]M)?)?",
    re.IGNORECASE,
)
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
# How far a thread's numbering may jump between two highlighted items (unhighlighted
# tweets in between); anything further is a number inside a tweet, not the thread's.
_MAX_THREAD_GAP = 10
# Numbered paragraphs looked at per document: threads are far shorter; this bounds the
# quadratic run search on a pathological file.
_MAX_THREAD_ITEMS = 500
_NUMBERED = re.compile(r"(?P<number>[0-9]{1,3})[.)][ \t]+(?P<text>\S.*)")
# Lines of a thread that are scaffolding, not content: "↓ 2/10", "10/10", "🧵", images, bare links.
_THREAD_JUNK = re.compile(
    r"(?:[↓⬇👇🧵]\ufe0f?\s*)*\(?\d{1,3}\s*/\s*\d{1,3}\)?(?:\s*[↓⬇👇🧵]\ufe0f?)*"
    r"|(?:[↓⬇👇🧵]\ufe0f?\s*)+"
    r"|!\[[^\[\]]*\]\([^()\s]*\)"
    r"|<?https?://\S+>?"
)
_COUNTER = re.compile(r"(?:[↓⬇👇🧵]\ufe0f?\s*)*\(?\d{1,3}\s*/\s*\d{1,3}\)?(?:\s*[↓⬇👇🧵]\ufe0f?)*")
_TRAILING_THREAD_JUNK = re.compile(
    r"(?:\s+(?:https?://t\.co/\S+|[↓⬇👇🧵]\ufe0f?(?:\s*\d{1,3}/\d{1,3})?))+\Z"
)


# Inline tags a template writes after the trailing Readwise link: ``...)) #a #[[b c]]``.
_TAGS_AFTER_LINK = re.compile(r"\)\)(?P<tags>(?:[ \t]+#(?:\[\[[^\[\]\n]+\]\]|[^\s#\[\]]+))+)\s*\Z")


@dataclass(slots=True)
class Block:
    """One highlight as its layout gave it: raw lines, note lines, tags."""

    lines: list[str] = field(default_factory=list)
    note_lines: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    highlighted_at: str | None = None
    # A location the layout found outside the text (Logseq's "(Page 5)" child bullet).
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """The page-level facts every takeaway of the page repeats."""

    title: str | None
    author: str | None
    source_url: str | None
    category: str | None


@dataclass(frozen=True, slots=True)
class _Highlight:
    text: str
    url: str | None
    location: str | None
    note: str | None
    tags: tuple[str, ...]
    highlighted_at: str | None


def document_title(full_title: str | None, title: str | None, name: str) -> str | None:
    """The title rule for both flavours.

    ``full-title::`` / ``Full Title`` wins (without surrounding quotes) because
    ``title::`` may be shortened; otherwise the title as written minus Readwise's
    " (highlights)" suffix; otherwise the file name, which Readwise derives from the title.
    """
    for candidate in (unquote(full_title or ""), title or "", stem(name)):
        cleaned = normalise(_HIGHLIGHTS_SUFFIX.sub("", unbracket(candidate)))
        if cleaned:
            return cleaned
    return None


def clean_author(value: str | None) -> str | None:
    """``[[@svpino on Twitter]]`` -> ``@svpino on Twitter``."""
    return optional(unbracket(value)) if value else None


def clean_category(value: str | None) -> str | None:
    """``#tweets`` / ``[[books]]`` -> ``tweets`` / ``books``: the markup is Logseq's, not data."""
    return optional(unbracket(value).lstrip("#")) if value else None


def header_date(header: str) -> str | None:
    """ISO date (and time) from a "Highlights first synced by ..." style header.

    It is when Readwise received the highlights, the closest to "highlighted at" that
    these exports tell; anything unparsable is simply unknown.
    """
    match = _HEADER_DATE.search(header)
    if match is None:
        return None
    month = _MONTHS.get(match["month"].lower())
    if month is None:
        return None
    try:
        day = datetime(int(match["year"]), month, int(match["day"]))
        if match["hour"] is None:
            return day.date().isoformat()
        hour = int(match["hour"])
        if match["ampm"]:
            hour = hour % 12 + (12 if match["ampm"].upper() == "PM" else 0)
        return day.replace(hour=hour, minute=int(match["minute"])).isoformat()
    except ValueError:
        return None


def build_takeaways(document: Document, blocks: list[Block], report: Report) -> list[Takeaway]:
    """Blocks to takeaways: one per highlight, or one per numbered item of a thread.

    A block with no words left (an image, a bare link) is reported as skipped; the
    unnumbered tweets of a thread are its scaffolding and reported as such.
    """
    prepared = [_prepare(block) for block in blocks]
    highlights = [h for h in prepared if h.text]
    report.skip("highlights without text", len(prepared) - len(highlights))
    if _is_tweets(document):
        items = _thread_items(highlights)
        if items is not None:
            used = len({id(highlight) for highlight, _ in items})
            report.skip("tweets of a thread around its numbered items", len(highlights) - used)
            return [_takeaway(document, highlight, text) for highlight, text in items]
        # Tweets numbered "1/10" (not "1.") are each one takeaway, without the counter.
        return [
            _takeaway(document, highlight, _without_counters(highlight.text) or highlight.text)
            for highlight in highlights
        ]
    return [_takeaway(document, highlight, highlight.text) for highlight in highlights]


def _without_counters(text: str) -> str:
    """A tweet without its leading or trailing "1/10" / "↓ 2/10" counter line."""
    lines = text.split("\n")
    while lines and _COUNTER.fullmatch(lines[0].strip()):
        lines.pop(0)
    while lines and _COUNTER.fullmatch(lines[-1].strip()):
        lines.pop()
    return normalise("\n".join(lines))


def _prepare(block: Block) -> _Highlight:
    text = "\n".join(block.lines)
    tags = list(block.tags)
    trailing = _TAGS_AFTER_LINK.search(text)
    if trailing is not None:
        # Custom templates append "#Highlight #[[2023-08-08]]" after the links.
        tags.extend(parse_tags(trailing["tags"]))
        text = text[: trailing.start("tags")]
    linked = split_trailing_links(text)
    return _Highlight(
        text=drop_image_lines(normalise(linked.text)),
        url=linked.url,
        location=linked.location or block.location,
        note=optional("\n".join(block.note_lines)),
        tags=unique(tags),
        highlighted_at=block.highlighted_at,
    )


def _takeaway(document: Document, highlight: _Highlight, text: str) -> Takeaway:
    return Takeaway(
        text=text,
        title=document.title,
        author=document.author,
        url=highlight.url or document.source_url,
        note=highlight.note,
        tags=highlight.tags,
        location=highlight.location,
        highlighted_at=highlight.highlighted_at,
        source_url=document.source_url,
        category=document.category,
    )


def _is_tweets(document: Document) -> bool:
    """Only tweet documents get the thread rule: a book whose highlights happen to be
    numbered must not lose its other highlights."""
    if document.category and document.category.lower() in _TWEET_CATEGORIES:
        return True
    return bool(document.source_url and _TWITTER_URL.match(document.source_url))


def _thread_items(highlights: list[_Highlight]) -> list[tuple[_Highlight, str]] | None:
    """The numbered items of a thread, or None when the document is no numbered thread.

    A thread is a rising run of numbered items over at least two highlights (tweets).
    The reader highlights only the tweets they liked, so the run may have gaps (1-4,
    6-8, 10). Lists quoted inside a tweet number from 1 again (an intro announcing
    "1. ... 2. ...", a tweet listing options), so the thread is the longest rising run
    among all numbered paragraphs, not the first one met. Each item is its numbered
    paragraph; intro, "↓ 2/10" markers, images, links, promotion and replies are the
    unnumbered rest and fall away. A single tweet that holds a whole list is left as
    one takeaway: it is one thought, not a thread.
    """
    candidates = _numbered_paragraphs(highlights)
    chain = _longest_run(candidates)
    if len(chain) < 2 or len({candidates[i].index for i in chain}) < 2:
        return None
    # A list quoted inside an item's tweet (after it) stays part of that item.
    chosen = set(chain)
    owner: int | None = None
    for i, candidate in enumerate(candidates):
        if i in chosen:
            owner = i
        elif owner is not None and candidates[owner].index == candidate.index:
            lines = candidates[owner].lines
            lines.extend([f"{candidate.number}. {candidate.lines[0]}", *candidate.lines[1:]])
    items = []
    for i in chain:
        text = normalise(_TRAILING_THREAD_JUNK.sub("", "\n".join(candidates[i].lines)))
        if text:
            items.append((highlights[candidates[i].index], text))
    return items


@dataclass(slots=True)
class _Numbered:
    """A paragraph that starts "12. ..." in highlight ``index``, with its lines."""

    index: int
    number: int
    lines: list[str]
    # Whether the tweet opens with it: a thread numbers its tweets, quoted lists sit inside.
    opens: bool


def _numbered_paragraphs(highlights: list[_Highlight]) -> list[_Numbered]:
    found: list[_Numbered] = []
    for index, highlight in enumerate(highlights):
        current: list[str] | None = None
        for position, line in enumerate(highlight.text.split("\n")):
            match = _NUMBERED.fullmatch(line)
            if match is not None:
                current = [match["text"]]
                found.append(_Numbered(index, int(match["number"]), current, position == 0))
            elif current is not None:
                if not line or _THREAD_JUNK.fullmatch(line):
                    current = None
                else:
                    current.append(line)
    return found[:_MAX_THREAD_ITEMS]


def _longest_run(candidates: list[_Numbered]) -> list[int]:
    """Indexes of the longest run whose numbers rise by 1 to ``_MAX_THREAD_GAP`` at a time
    and that starts low; of equally long runs, the one with more items opening their
    tweet, then the one spread over more tweets."""
    # Per candidate: the best run ending there as (length, opening items, tweets), previous.
    best: list[tuple[tuple[int, int, int], int]] = []
    for i, item in enumerate(candidates):
        entry = ((1, int(item.opens), 1), -1) if item.number <= _MAX_THREAD_GAP else ((0, 0, 0), -1)
        for j in range(i):
            before = candidates[j]
            (length, opening, tweets), _ = best[j]
            if length and before.number < item.number <= before.number + _MAX_THREAD_GAP:
                score = (length + 1, opening + item.opens, tweets + (before.index != item.index))
                if score > entry[0]:
                    entry = (score, j)
        best.append(entry)
    if not best or max(score for score, _ in best)[0] == 0:
        return []
    end = max(range(len(best)), key=lambda i: best[i][0])
    chain = []
    while end >= 0:
        chain.append(end)
        end = best[end][1]
    return chain[::-1]
