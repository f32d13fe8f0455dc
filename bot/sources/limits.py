"""How much one takeaway, one file and one upload may hold.

Exports come from anywhere, and before these bounds an 18 MB single line became one
takeaway that a delivery would have sent as about 5,000 messages, and a 1,000,000-line
upload took 845 MiB to import. So:

* A takeaway's text is cut to ``MAX_TEXT`` characters (one Telegram message, with room
  for escaping and the attribution), at the last sentence end before that (else the
  last word break), and then ends with ``MARKER``. Its note is cut to ``MAX_NOTE``;
  title, author and the other short fields to ``MAX_FIELD``; links longer than any
  browser keeps (``MAX_URL``) are dropped; at most ``MAX_TAGS`` tags are kept. The
  same export is always cut the same way, so re-importing it changes nothing.
* A file sent to the bot yields at most ``MAX_TAKEAWAYS``; a bigger one is refused
  whole, with a reason that says to split it (imports are all or nothing per file).
  The operator's own files (``TAKEAWAYS_PATH``, the CLI's ``import``) have no such
  bound: a whole Readwise library or a ``takeaways-bot export`` of a large collection
  must come back whole.
* An upload (a file sent to the bot) may have at most ``MAX_UPLOAD_LINES`` lines (or
  JSON objects), checked on its bytes before anything is parsed: that bounds the
  memory an upload can take (Telegram already bounds its size to 20 MB).

``bound`` is applied in one place, where every parser's output passes
(``bot/sources/__init__.py``), so uploads, ``TAKEAWAYS_PATH``, ``/reload`` and the
CLI's ``import`` all get the same bounds.
"""

from __future__ import annotations

import dataclasses
import re

from bot.sources.model import ParseError, Takeaway

MAX_TEXT = 3000
MAX_NOTE = 1000
MAX_FIELD = 1000
MAX_URL = 2048
MAX_TAGS = 50
MAX_TAKEAWAYS = 50_000
MAX_UPLOAD_LINES = 100_000
MARKER = " …"

# A sentence ends with . ! ? (or their CJK forms), maybe a closing quote or bracket,
# then whitespace.
_SENTENCE_END = re.compile(r"[.!?。！？][\"'”’)\]]*\s")


def cut_text(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` if it fits, else cut at a sentence (or word) end with ``MARKER``, so the
    result, marker included, has at most ``limit`` characters."""
    if len(text) <= limit:
        return text
    room = limit - len(MARKER)
    window = text[: room + 1]  # +1: a sentence may end exactly at the limit
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    cut = ends[-1] if ends and ends[-1] > room // 2 else 0
    if cut == 0:
        space = window.rfind(" ", 0, room)
        cut = space if space > room // 2 else room
    return text[:cut].rstrip() + MARKER


def _short(value: str | None, limit: int = MAX_FIELD) -> str | None:
    if value is None or len(value) <= limit:
        return value
    return value[: limit - 1].rstrip() + "…"


def _link(value: str | None) -> str | None:
    return value if value is None or len(value) <= MAX_URL else None


def bound_one(item: Takeaway) -> Takeaway:
    """The takeaway with every field within its bound (itself if it already was)."""
    if (
        len(item.text) <= MAX_TEXT
        and len(item.note or "") <= MAX_NOTE
        and all(len(v or "") <= MAX_FIELD for v in _short_fields(item))
        and all(len(v or "") <= MAX_URL for v in (item.url, item.source_url))
        and len(item.tags) <= MAX_TAGS
        and all(len(tag) <= MAX_FIELD for tag in item.tags)
    ):
        return item
    return dataclasses.replace(
        item,
        text=cut_text(item.text),
        note=_short(item.note, MAX_NOTE),
        title=_short(item.title),
        author=_short(item.author),
        location=_short(item.location),
        highlighted_at=_short(item.highlighted_at),
        category=_short(item.category),
        url=_link(item.url),
        source_url=_link(item.source_url),
        tags=tuple(t for t in (_short(tag) for tag in item.tags[:MAX_TAGS]) if t is not None),
    )


def _short_fields(item: Takeaway) -> tuple[str | None, ...]:
    return (item.title, item.author, item.location, item.highlighted_at, item.category)


def bound(items: list[Takeaway], name: str) -> list[Takeaway]:
    """A file's takeaways, each within the bounds."""
    return [bound_one(item) for item in items]


def check_upload_count(items: list[Takeaway], name: str) -> None:
    """Refuse an upload that yields more than ``MAX_TAKEAWAYS``."""
    if len(items) > MAX_TAKEAWAYS:
        raise ParseError(
            name,
            f"{len(items):,} takeaways in one file; at most {MAX_TAKEAWAYS:,} are imported"
            " from a file sent to the bot: split it, or put it in TAKEAWAYS_PATH and /reload",
        )


def check_upload(data: bytes | bytearray, name: str) -> None:
    """Refuse an upload with more lines (or JSON objects) than ``MAX_UPLOAD_LINES``
    before it is parsed: every format needs at least one of either per takeaway."""
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    units = max(lines, data.count(b"{"))
    if units > MAX_UPLOAD_LINES:
        raise ParseError(
            name,
            f"{units:,} lines; an upload may have at most {MAX_UPLOAD_LINES:,}: split it,"
            " or put it in TAKEAWAYS_PATH and /reload",
        )


# For the admin's reply to an upload.
DESCRIPTION = (
    f"Limits: a takeaway longer than {MAX_TEXT:,} characters is cut at a sentence"
    f" (ending “{MARKER.strip()}”); a file sent here may hold {MAX_TAKEAWAYS:,} takeaways"
    f" and {MAX_UPLOAD_LINES:,} lines."
)
