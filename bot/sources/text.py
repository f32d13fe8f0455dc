"""Text helpers every parser shares, so each rule lives in exactly one place.

Exports disagree about layout but agree about the small things: whitespace is noisy,
Readwise appends its links to the end of a highlight, tags come as ``#tag`` or
``[[tag]]``. Getting those right once keeps the format modules about layout only.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from bot.sources.model import ParseError

_SPACE_RUN = re.compile(r"[ \t]+")
_BLANK_RUN = re.compile(r"\n{3,}")
_IMAGE_LINE = re.compile(r"!\[[^\[\]\n]*\]\([^()\s]*\)")
# One trailing Readwise link: ``([label](url))``; the url may hold one level of parentheses.
_LINK = re.compile(r"\(\[(?P<label>[^\[\]\n]*)\]\((?P<url>[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)\)\)")
_VIEW_LABEL = re.compile(r"view\b", re.IGNORECASE)
_LOCATION_LABEL = re.compile(r"(?:location|loc\.?|page|time|position)\s+\S", re.IGNORECASE)
_TAG = re.compile(r"#?\[\[(?P<bracketed>[^\[\]]+)\]\]|#(?P<hashed>[^\s#\[\],]+)")
_WIKILINK = re.compile(r"\[\[([^\[\]]*)\]\]")
_URL = re.compile(r"https?://[^\s<>()\[\]]+")
_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»"}


def split_lines(text: str) -> list[str]:
    """Lines of any newline convention; Kindle files are CRLF, old Mac exports CR."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def normalise(text: str) -> str:
    """The one whitespace rule for every takeaway.

    Exports pad, indent and double-space freely; the author's own line breaks are
    meaning, so they stay, while runs of blank lines shrink to one blank line. Most
    values need only a strip, so the regexes run only where there is something to do.
    """
    if "\n" not in text and "\r" not in text:
        if "  " in text or "\t" in text:
            text = _SPACE_RUN.sub(" ", text)
        return text.strip()
    lines = [_squeeze(line) for line in split_lines(text)]
    joined = "\n".join(lines).strip()
    return _BLANK_RUN.sub("\n\n", joined) if "\n\n\n" in joined else joined


def _squeeze(line: str) -> str:
    line = line.strip()
    if "  " in line or "\t" in line:
        return _SPACE_RUN.sub(" ", line)
    return line


def heading_text(line: str) -> str | None:
    """Text of an ATX Markdown heading (``## Title ##``), or None if the line is none.

    Done with string operations because a regex for the optional closing hashes
    backtracks quadratically on long runs of spaces.
    """
    if not line.startswith("#"):
        return None
    hashes = len(line) - len(line.lstrip("#"))
    rest = line[hashes:]
    if hashes > 6 or rest[:1] not in (" ", "\t"):
        return None
    text = rest.strip(" \t")
    closed = text.rstrip("#")
    if closed != text and (not closed or closed[-1] in " \t"):
        text = closed.rstrip(" \t")
    return text


def drop_image_lines(text: str) -> str:
    """Without lines that are only a Markdown image: a picture is no readable takeaway."""
    if "![" not in text:
        return text
    kept = [line for line in text.split("\n") if not _IMAGE_LINE.fullmatch(line.strip())]
    return normalise("\n".join(kept))


@dataclass(frozen=True, slots=True)
class LinkedText:
    """A highlight's words with the links Readwise appended split off."""

    text: str
    url: str | None
    location: str | None


def split_trailing_links(text: str) -> LinkedText:
    """Take ``([View Tweet](u))``, ``([Location 12](u))``... off the end of a highlight.

    They are navigation, not the author's words. A "View ..." link is the highlight's
    own URL; a location link gives the location, and its URL (e.g. Readwise's
    ``to_kindle`` link, which opens the book there) stands in when no "View" link exists.
    Only the last ``([`` is tried each round, so this stays linear in the text length.
    """
    body = text.rstrip()
    url: str | None = None
    location: str | None = None
    location_url: str | None = None
    while body.endswith("))"):
        start = body.rfind("([")
        match = _LINK.fullmatch(body, start) if start >= 0 else None
        if match is None:
            break
        label = normalise(match["label"])
        if _VIEW_LABEL.match(label):
            url = url or match["url"] or None
        elif _LOCATION_LABEL.match(label):
            location = location or label
            location_url = location_url or match["url"] or None
        else:
            break
        body = body[:start].rstrip()
    return LinkedText(body, url or location_url, location)


def parse_tags(text: str) -> list[str]:
    """Tags written as ``#a #b``, ``[[a b]]`` or ``#[[a b]]``; plain commas as a fallback."""
    found = [normalise(m["bracketed"] or m["hashed"]) for m in _TAG.finditer(text)]
    if not found:
        found = [normalise(part) for part in text.split(",")]
    return [tag for tag in found if tag]


def unique(values: list[str]) -> tuple[str, ...]:
    """Order-keeping de-duplication, for tags gathered from several places."""
    return tuple(dict.fromkeys(values))


def unbracket(value: str) -> str:
    """``[[@svpino on Twitter]]`` -> ``@svpino on Twitter``: wiki links are markup."""
    return _WIKILINK.sub(r"\1", value)


def unquote(value: str) -> str:
    """Drop one pair of quotes around a whole value, as Logseq writes ``full-title::``."""
    value = value.strip()
    if len(value) >= 2 and _QUOTE_PAIRS.get(value[0]) == value[-1]:
        return value[1:-1].strip()
    return value


def first_url(value: str) -> str | None:
    """The URL in a metadata value, whether bare, ``<...>`` or ``[text](...)``."""
    match = _URL.search(value)
    return match.group(0) if match else None


def optional(value: str | None) -> str | None:
    """Whitespace-normalised value, or None where nothing is left."""
    if value is None:
        return None
    return normalise(value) or None


def suffix(name: str) -> str:
    """Lower-case extension of a file name, for the hints that extensions give."""
    return PurePosixPath(name.replace("\\", "/")).suffix.lower()


def stem(name: str) -> str:
    """File name without folders and extension: Readwise names its files after the title."""
    return PurePosixPath(name.replace("\\", "/")).stem


def decode(data: bytes, name: str) -> str:
    """Bytes to text: UTF-8 (BOM or not) or UTF-16 with BOM, anything else is binary.

    Exports are text; guessing legacy code pages would import garbage silently, so a
    file that is not clean Unicode is refused with a message the user understands.
    """
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")
        elif b"\x00" in data:
            raise ValueError("NUL byte")
        else:
            text = data.decode("utf-8-sig")
    except ValueError as error:  # UnicodeDecodeError is a ValueError
        raise ParseError(name, "not a text file (binary data)") from error
    if "\x00" in text:
        raise ParseError(name, "not a text file (binary data)")
    return text
