"""Which export a text is, decided from its content first and its name second.

People rename files (and Telegram uploads arrive as "document.txt"), so the markers
each exporter always writes decide; the extension only settles what content cannot:
a ``.json``/``.jsonl`` is read as JSON (to get line-numbered errors), a ``.csv`` that
is not Readwise's is refused, and only ``.txt``/``.md`` (or no extension) may be plain.
An ``.html`` or ``.lua`` file without its format's markers is refused the same way.
"""

from __future__ import annotations

import json
import re

from bot.sources import csv_export, kindle, kindle_notebook, koreader
from bot.sources.model import ParseError
from bot.sources.text import split_lines, suffix

LOGSEQ = "readwise-logseq"
MARKDOWN = "readwise-markdown"
CSV = "readwise-csv"
KINDLE = "kindle"
JSONL = "jsonl"
PLAIN = "plain"
KINDLE_NOTEBOOK = "kindle-notebook"
KOREADER = "koreader"
KOREADER_JSON = "koreader-json"
KOREADER_MARKDOWN = "koreader-markdown"
FORMATS = (
    LOGSEQ,
    MARKDOWN,
    CSV,
    KINDLE,
    JSONL,
    PLAIN,
    KINDLE_NOTEBOOK,
    KOREADER,
    KOREADER_JSON,
    KOREADER_MARKDOWN,
)

# Markers appear near the top; looking further only costs time on big files.
_HEAD = 65_536
# Both Readwise flavours say "Highlights"/"highlights" somewhere; this substring test
# spares the (case-insensitive, so slower) marker regexes on every other file.
_READWISE_HINT = "ighlights"
_LOGSEQ_HEADER = re.compile(
    r"^[ \t]*-[ \t]+(?:Highlights first synced by|New highlights added)\b.*\[\[",
    re.MULTILINE | re.IGNORECASE,
)
_LOGSEQ_PROPERTY = re.compile(r"\s*[A-Za-z][\w-]*::[ \t]")
_BULLET = re.compile(r"^[ \t]*-[ \t]+\S", re.MULTILINE)
_MARKDOWN_SECTION = re.compile(
    r"^#{1,6}[ \t]+(?:Highlights|New highlights added\b.*|Highlights first synced\b.*)[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
# A KOReader sidecar: Lua that returns a table with one of the keys KOReader writes.
_KOREADER_SIDECAR = re.compile(
    r"\A\s*(?:--[^\n]*\n\s*)*return\s*\{.*?"
    r"\[\"(?:annotations|highlight|bookmarks|doc_props|stats|doc_path)\"\]\s*=",
    re.DOTALL,
)
# Readwise Reader's export of a document saved without highlights.
_READER_DOCUMENT = re.compile(r"^##[ \t]+Full Document[ \t]*$", re.MULTILINE | re.IGNORECASE)
_READER_METADATA = re.compile(r"^##[ \t]+Metadata[ \t]*$", re.MULTILINE | re.IGNORECASE)
_SIDECAR_NAME = re.compile(r"(?:^|[/\\])metadata\.[A-Za-z0-9]+\.lua$", re.IGNORECASE)
_JSON_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson"})
_PLAIN_SUFFIXES = frozenset({"", ".txt", ".text", ".md", ".markdown"})


def detect_format(text: str, name: str) -> str:
    """One of ``FORMATS`` for this text, or ParseError when it is none of them."""
    head = "\n".join(split_lines(text[:_HEAD].lstrip("\ufeff")))
    if not head.strip():
        raise ParseError(name, "empty file")
    if kindle_notebook.MARKERS.search(head):
        return KINDLE_NOTEBOOK
    if _KOREADER_SIDECAR.match(head) or (
        _SIDECAR_NAME.search(name) and head.lstrip().startswith(("return", "--"))
    ):
        return KOREADER
    if _is_logseq(head):
        return LOGSEQ
    if _READWISE_HINT in head and _MARKDOWN_SECTION.search(head):
        return MARKDOWN
    if _READER_DOCUMENT.search(head) and _READER_METADATA.search(head):
        return MARKDOWN
    if csv_export.is_readwise_header(head.lstrip().split("\n", 1)[0]):
        return CSV
    if kindle.SEPARATOR.search(head) and kindle.META_LINE.search(head):
        return KINDLE
    if koreader.looks_like_markdown_export(head):
        return KOREADER_MARKDOWN
    extension = suffix(name)
    if koreader.looks_like_json_export(head):
        return KOREADER_JSON
    if extension in _JSON_SUFFIXES or _starts_with_json_object(head):
        return JSONL
    if extension == ".csv":
        raise ParseError(name, "not a Readwise CSV export (header not recognised)")
    if kindle.looks_like_kindle_without_separators(head):
        raise ParseError(name, "looks like Kindle clippings, but without '==========' lines")
    if extension in _PLAIN_SUFFIXES:
        return PLAIN
    raise ParseError(name, f"unsupported file type {extension!r} (no known export format found)")


def _is_logseq(head: str) -> bool:
    """Readwise's section bullets, or a page that opens with ``key:: value`` properties."""
    if _READWISE_HINT in head and _LOGSEQ_HEADER.search(head):
        return True
    first = head.lstrip().split("\n", 1)[0]
    return _LOGSEQ_PROPERTY.match(first) is not None and _BULLET.search(head) is not None


def _starts_with_json_object(head: str) -> bool:
    """A first line that is a whole JSON object: JSON Lines under any name."""
    first = head.lstrip().split("\n", 1)[0]
    if not first.startswith("{"):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except (ValueError, RecursionError):
        return False
