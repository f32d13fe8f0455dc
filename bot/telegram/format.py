"""Takeaways as Telegram HTML messages.

Everything that reaches Telegram with ``parse_mode=HTML`` is built here, and every piece
of user or collection text goes through ``html.escape`` first. Search marks (control
characters from the store) become ``<b>`` only after escaping, so they can never smuggle
markup in. Long texts are split into messages that each fit Telegram's 4096 limit.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from bot.store import MARK_END, MARK_START, StoredTakeaway

MESSAGE_LIMIT = 4096
# What /today and the daily delivery put above their takeaways.
TODAY_HEADER = "☀️ <b>Today's takeaway</b>"
TODAY_HEADER_MANY = "☀️ <b>Today's takeaways</b>"
# Keep a margin below the limit for the attribution line and marks.
_SPLIT_AT = 3500


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def marked_to_html(marked: str) -> str:
    """Escape, then turn the store's match marks into bold."""
    return escape(marked).replace(MARK_START, "<b>").replace(MARK_END, "</b>")


def strip_marks(text: str) -> str:
    return text.replace(MARK_START, "").replace(MARK_END, "")


def attribution_html(item: StoredTakeaway, *, limit: int = 1000) -> str:
    """``— Author, <a>Title</a>`` with the title linked to the original when possible.

    ``limit`` caps author and title (in characters) so a pathological export cannot
    push a message over Telegram's limit.
    """
    t = item.takeaway
    parts: list[str] = []
    if t.author:
        parts.append(f"<i>{escape(truncate(t.author, limit))}</i>")
    link = source_link(item)
    title = t.title or ("Source" if link else None)
    if title:
        title = truncate(title, limit)
        if link:
            parts.append(f'<a href="{escape(link)}">{escape(title)}</a>')
        else:
            parts.append(escape(title))
    return "— " + ", ".join(parts) if parts else ""


def takeaway_messages(item: StoredTakeaway, *, header: str | None = None) -> list[str]:
    """One takeaway as one or more HTML messages, each within Telegram's limit."""
    chunks = split_text(item.takeaway.text, _SPLIT_AT)
    messages = [marked_to_html(chunk) for chunk in chunks]
    if header:
        messages[0] = f"{header}\n\n{messages[0]}"
    tail = []
    attribution = attribution_html(item)
    if attribution:
        tail.append(attribution)
    if item.takeaway.note:
        tail.append(f"📝 {escape(item.takeaway.note)}")
    if tail:
        extra = "\n\n" + "\n".join(tail)
        if len(messages[-1]) + len(extra) <= MESSAGE_LIMIT:
            messages[-1] += extra
        else:
            messages.extend(html_chunks("\n".join(tail)))
    return messages


def delivery_messages(items: list[StoredTakeaway], *, header: str | None = None) -> list[str]:
    """One or more takeaways as few HTML messages as fit, numbered when there are several.

    Takeaways are packed into messages in order; one too long for a message is split
    by ``takeaway_messages``, and its parts may share a message with its neighbours.
    """
    if len(items) == 1:
        return takeaway_messages(items[0], header=header)
    pieces: list[str] = []
    for number, item in enumerate(items, start=1):
        parts = takeaway_messages(item)
        parts[0] = f"<b>{number}.</b> {parts[0]}"
        pieces.extend(parts)
    messages: list[str] = []
    current = header or ""
    for piece in pieces:
        joined = f"{current}\n\n{piece}" if current else piece
        if len(joined) <= MESSAGE_LIMIT:
            current = joined
        else:
            messages.append(current)
            current = piece
    messages.append(current)
    return messages


def shorten_marked(marked: str, limit: int) -> str:
    """Cut (marked) text to about ``limit`` characters without leaving a mark open."""
    if len(marked) <= limit:
        return marked
    return split_text(marked, limit)[0].rstrip() + " …"


def plain_text(text_html: str) -> str:
    """The text Telegram shows for our HTML: tags gone, references decoded, ends trimmed."""
    return html.unescape(re.sub(r"<[^>]+>", "", text_html)).strip()


def visible_length(text_html: str) -> int:
    """What Telegram counts against its limit: the text after parsing, in UTF-16 units
    (a "𝐛𝐨𝐥𝐝" letter from a tweet counts twice)."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text_html))
    return len(plain.encode("utf-16-le")) // 2


def list_message(
    header: str,
    entries: Sequence[tuple[str, StoredTakeaway]],
    footer: str | None = None,
    *,
    longest: int = 500,
) -> str:
    """A numbered list of takeaways in one message: each entry's text (search marks
    allowed) and attribution, cut shorter until the whole fits Telegram's limit."""
    limit = longest
    while True:
        blocks = [header]
        for number, (text, item) in enumerate(entries, start=1):
            body = marked_to_html(shorten_marked(text, limit))
            blocks.append(f"{number}. {body}\n{attribution_html(item, limit=min(limit, 120))}")
        if footer:
            blocks.append(footer)
        message = "\n\n".join(blocks)
        if visible_length(message) <= MESSAGE_LIMIT or limit <= 20:
            return message
        limit = limit * 2 // 3


def html_chunks(text_html: str) -> list[str]:
    """Last resort for an attribution or note too long to share a message."""
    if len(text_html) <= MESSAGE_LIMIT:
        return [text_html]
    plain = html.unescape(re.sub(r"<[^>]+>", "", text_html))
    return [escape(chunk) for chunk in split_text(plain, _SPLIT_AT)]


_BREAKS = ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " ")


def split_text(text: str, limit: int) -> list[str]:
    """Split at the most natural break before ``limit`` whose escaped form also fits.

    Marks stay balanced in every chunk: one that is cut open is closed at the end of the
    chunk and reopened at the start of the next, so bold never leaks or breaks the HTML.
    """
    chunks: list[str] = []
    rest = text
    while len(escape(rest)) > limit:
        window = rest[:limit]
        while len(escape(window)) > limit:
            window = window[: len(window) * 9 // 10]
        cut = 0
        for mark in _BREAKS:
            found = window.rfind(mark)
            if found > len(window) // 3:
                cut = found + len(mark)
                break
        if cut == 0:
            cut = len(window)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head.count(MARK_START) > head.count(MARK_END):
            head += MARK_END
            rest = MARK_START + rest
        chunks.append(head)
    if rest.strip(MARK_START + MARK_END + " \n") or not chunks:
        chunks.append(rest)
    return chunks


def is_web_url(url: str) -> bool:
    """A link Telegram accepts for a button or text link: http(s), a real host, no spaces."""
    if len(url) > 2048 or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and ("." in host or host == "localhost")


def source_link(item: StoredTakeaway) -> str | None:
    """The takeaway's own link, else its source's, if either is a usable web link."""
    for link in (item.takeaway.url, item.takeaway.source_url):
        if link and is_web_url(link):
            return link
    return None


def truncate(text: str, limit: int) -> str:
    """Plain text cut to ``limit`` characters with an ellipsis, for previews and toasts."""
    text = strip_marks(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
