"""Reading highlight exports into ``Takeaway``s.

The rest of the bot calls only this module: ``parse_path`` for files on disk,
``parse_bytes`` for Telegram uploads, ``parse_text`` for text in hand, and
``iter_source_files`` to expand folders. Every failure about the input, whatever
its cause, surfaces as one ``ParseError`` line the user can act on, never as a
traceback, because imports run unattended over folders of unknown files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.sources import (
    csv_export,
    detect,
    jsonl,
    kindle,
    kindle_notebook,
    koreader,
    limits,
    logseq,
    markdown,
    plain,
)
from bot.sources.detect import FORMATS, detect_format
from bot.sources.files import SOURCE_SUFFIXES, iter_source_files
from bot.sources.model import ParseError, Report, Takeaway
from bot.sources.text import decode

__all__ = [
    "FORMATS",
    "SOURCE_SUFFIXES",
    "ParseError",
    "Report",
    "Takeaway",
    "detect_format",
    "iter_source_files",
    "parse_bytes",
    "parse_bytes_report",
    "parse_path",
    "parse_text",
    "parse_text_report",
    "read_path",
]

_PARSERS: dict[str, Callable[[str, str, Report], list[Takeaway]]] = {
    detect.LOGSEQ: logseq.parse,
    detect.MARKDOWN: markdown.parse,
    detect.CSV: csv_export.parse,
    detect.KINDLE: kindle.parse,
    detect.JSONL: jsonl.parse,
    detect.PLAIN: plain.parse,
    detect.KINDLE_NOTEBOOK: kindle_notebook.parse,
    detect.KOREADER: koreader.parse_sidecar,
    detect.KOREADER_JSON: koreader.parse_json,
    detect.KOREADER_MARKDOWN: koreader.parse_markdown,
}


def parse_path(path: Path) -> list[Takeaway]:
    """Takeaways of one file on disk; the path as given names it in errors."""
    return parse_bytes(read_path(path), str(path))


def read_path(path: Path) -> bytes:
    """The bytes of one file on disk; ParseError (naming the path as given) if unreadable."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise ParseError(str(path), f"cannot read file ({error.strerror or error})") from error


def parse_bytes(data: bytes, name: str) -> list[Takeaway]:
    """Takeaways of raw file content (a Telegram upload); ``name`` hints the format.

    A file with a clip or row that cannot be read raises ParseError naming its line:
    without the report, a caller could not know that something is missing.
    """
    takeaways, report = parse_bytes_report(data, name)
    report.raise_unreadable()
    return takeaways


def parse_bytes_report(data: bytes, name: str) -> tuple[list[Takeaway], Report]:
    """``parse_bytes`` with what the parser merged, skipped or could not read."""
    try:
        text = decode(data, name)
    except ParseError:
        raise
    except Exception as error:
        raise ParseError(name, f"cannot be read ({type(error).__name__})") from error
    return parse_text_report(text, name)


def parse_text(text: str, name: str) -> list[Takeaway]:
    """Takeaways of decoded text; ParseError if it is empty, unknown or yields nothing,
    or if a clip or row of it cannot be read."""
    takeaways, report = parse_text_report(text, name)
    report.raise_unreadable()
    return takeaways


def parse_text_report(text: str, name: str) -> tuple[list[Takeaway], Report]:
    """``parse_text`` with what the parser merged, skipped or could not read.

    Any unexpected failure inside a parser is turned into a ParseError too: a bug
    met on one odd file must not abort an import of two thousand.
    """
    try:
        return _parse_text(text, name)
    except ParseError:
        raise
    except Exception as error:
        raise ParseError(name, f"cannot be parsed ({type(error).__name__})") from error


def _parse_text(text: str, name: str) -> tuple[list[Takeaway], Report]:
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ParseError(name, "empty file")
    file_format = detect_format(text, name)
    report = Report()
    parsed = _PARSERS[file_format](text, name, report)
    takeaways = [t for t in parsed if t.text.strip()]
    report.skip("empty highlights", len(parsed) - len(takeaways))
    takeaways = limits.bound(takeaways, name)  # length and count bounds: bot/sources/limits.py
    # A file whose entries were all left out by design says so in its report, and a
    # KOReader sidecar of a book read without highlighting is normal in a synced device
    # folder: neither is an error. Any other file that yields nothing is one.
    accounted = report.unreadable or report.skipped or report.merged
    if not takeaways and not accounted and file_format != detect.KOREADER:
        raise ParseError(name, f"no takeaways found (read as {file_format})")
    return takeaways, report
