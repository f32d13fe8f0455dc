"""Inline keyboards and the callback data they carry.

Callback data is at most 64 bytes and comes back from the client untrusted, so every
payload here is a short ``verb:args`` string that ``parse_callback`` validates strictly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.store import StoredTakeaway
from bot.telegram.format import source_link

ANOTHER = "another"
_MORE = re.compile(r"more:(\d{1,12}):(\d{1,6})")


@dataclass(frozen=True, slots=True)
class MoreResults:
    query_id: int
    offset: int


Callback = str | MoreResults


def parse_callback(data: str | None) -> Callback | None:
    """A known button press, or None for anything stale, forged or malformed."""
    if data == ANOTHER:
        return ANOTHER
    match = _MORE.fullmatch(data or "")
    if match:
        return MoreResults(int(match.group(1)), int(match.group(2)))
    return None


def takeaway_keyboard(item: StoredTakeaway) -> InlineKeyboardMarkup:
    """ "Another one", and the source when it has a web link."""
    row = [InlineKeyboardButton("🎲 Another one", callback_data=ANOTHER)]
    link = source_link(item)
    if link:
        row.append(InlineKeyboardButton("🔗 Source", url=link))
    return InlineKeyboardMarkup([row])


def more_results_keyboard(query_id: int, offset: int) -> InlineKeyboardMarkup:
    data = f"more:{query_id}:{offset}"
    return InlineKeyboardMarkup([[InlineKeyboardButton("More results ▸", callback_data=data)]])
