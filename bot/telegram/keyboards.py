"""Inline keyboards and the callback data they carry.

Callback data is at most 64 bytes and comes back from the client untrusted, so every
payload here is a short ``verb:numbers`` string that ``parse_callback`` validates
strictly (longest: ``uh:`` + 12 digits + ``:`` + 6 digits, 22 bytes). Review buttons
say what they do, not "toggle": ``k`` keeps and ``uk`` lets go, so a press on a stale
keyboard does what its label said, never the opposite.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.rules.schedule import EVERY_DAY, WEEKDAYS, delivers_on_bit
from bot.store import StoredTakeaway
from bot.store.personal import NO_MARKS, Marks, SourceChoice
from bot.telegram.format import source_link, truncate

ANOTHER = "another"

# Review verbs, each followed by a takeaway id.
KEEP, UNKEEP, DISCARD, UNDO, HIDE, UNHIDE = "k", "uk", "n", "u", "h", "sh"
REVIEW_VERBS = frozenset({KEEP, UNKEEP, DISCARD, UNDO, HIDE, UNHIDE})
# Paging and settings verbs.
MORE = "more"  # search results: query id, offset
FAVORITES = "fp"  # offset
FAVORITES_SEARCH = "fq"  # query id, offset
SOURCES = "sp"  # offset
SOURCE_TOGGLE = "st"  # source id, offset
HIDDEN = "hp"  # offset
HIDDEN_UNHIDE = "uh"  # takeaway id, offset
DAYS = "d"  # weekday mask
COUNT = "c"  # takeaways per delivery

_ARITY = {
    **dict.fromkeys(REVIEW_VERBS, 1),
    MORE: 2,
    FAVORITES: 1,
    FAVORITES_SEARCH: 2,
    SOURCES: 1,
    SOURCE_TOGGLE: 2,
    HIDDEN: 1,
    HIDDEN_UNHIDE: 2,
    DAYS: 1,
    COUNT: 1,
}
_DATA = re.compile(r"([a-z]{1,4})((?::\d{1,12}){1,2})")
_MAX_OFFSET = 999_999


@dataclass(frozen=True, slots=True)
class Press:
    """A validated button press: its verb and numbers."""

    verb: str
    args: tuple[int, ...]

    @property
    def first(self) -> int:
        return self.args[0]

    @property
    def second(self) -> int:
        return self.args[1]


@dataclass(frozen=True, slots=True)
class MoreResults:
    query_id: int
    offset: int


Callback = str | MoreResults | Press


def parse_callback(data: str | None) -> Callback | None:
    """A known button press, or None for anything stale, forged or malformed."""
    if data == ANOTHER:
        return ANOTHER
    match = _DATA.fullmatch(data or "")
    if match is None:
        return None
    verb = match.group(1)
    args = tuple(int(part) for part in match.group(2)[1:].split(":"))
    if _ARITY.get(verb) != len(args):
        return None
    if verb in (MORE, FAVORITES_SEARCH, SOURCE_TOGGLE, HIDDEN_UNHIDE) and args[1] > _MAX_OFFSET:
        return None
    if verb in (FAVORITES, SOURCES, HIDDEN) and args[0] > _MAX_OFFSET:
        return None
    if verb == MORE:
        return MoreResults(*args)
    return Press(verb, args)


def data(verb: str, *args: int) -> str:
    return ":".join([verb, *(str(a) for a in args)])


def button(text: str, verb: str, *args: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data(verb, *args))


# --- review buttons under takeaways ------------------------------------------------------


# A button as the Bot API's JSON object: its text and its callback data or URL, keys in
# the order PTB writes them (alphabetical), so the JSON is byte for byte what PTB sends.
Key = dict[str, str]


def _key(text: str, verb: str, *args: int) -> Key:
    return {"callback_data": data(verb, *args), "text": text}


def _link(text: str, url: str) -> Key:
    return {"text": text, "url": url}


def review_rows(items: Sequence[StoredTakeaway], marks: Marks, *, admin: bool) -> list[list[Key]]:
    """Keep / Not for me / source for each takeaway, and Another one, as JSON objects.

    One takeaway gets labelled buttons; several get a numbered row each. Admins (in
    their own chat) also get "Hide for everyone".
    """
    rows: list[list[Key]] = []
    if len(items) == 1:
        item = items[0]
        rows.append(_review_row(item, marks, label=None))
        last = [{"callback_data": ANOTHER, "text": "🎲 Another one"}]
        link = source_link(item)
        if link:
            last.append(_link("🔗 Source", link))
        rows.append(last)
        if admin:
            rows.append([_hide_key(item.id, marks, label=None)])
    else:
        for number, item in enumerate(items, start=1):
            row = _review_row(item, marks, label=str(number))
            link = source_link(item)
            if link:
                row.append(_link(f"🔗 {number}", link))
            if admin:
                row.append(_hide_key(item.id, marks, label=str(number)))
            rows.append(row)
        rows.append([{"callback_data": ANOTHER, "text": "🎲 Another one"}])
    return rows


def review_keyboard(
    items: Sequence[StoredTakeaway],
    marks: Marks,
    *,
    admin: bool = False,
    extra_rows: Sequence[Sequence[InlineKeyboardButton]] = (),
) -> InlineKeyboardMarkup:
    """The review buttons (``review_rows``) and ``extra_rows``, as PTB objects."""
    rows = [
        [
            InlineKeyboardButton(
                key["text"], url=key.get("url"), callback_data=key.get("callback_data")
            )
            for key in row
        ]
        for row in review_rows(items, marks, admin=admin)
    ]
    rows.extend(list(row) for row in extra_rows)
    return InlineKeyboardMarkup(rows)


def review_keyboard_json(items: Sequence[StoredTakeaway], marks: Marks, *, admin: bool) -> str:
    """``review_keyboard`` as the JSON PTB sends for it, without building its objects
    (building and serialising them took a tenth of the CPU time of a ``/random``)."""
    return json.dumps({"inline_keyboard": review_rows(items, marks, admin=admin)})


def _review_row(item: StoredTakeaway, marks: Marks, *, label: str | None) -> list[Key]:
    def text(full: str, short: str) -> str:
        return full if label is None else f"{short} {label}"

    if item.id in marks.favorites:
        keep = _key(text("✅ Kept", "✅"), UNKEEP, item.id)
    else:
        keep = _key(text("❤️ Keep", "❤️"), KEEP, item.id)
    if item.id in marks.discarded:
        nope = _key(text("↩️ Undo", "↩️"), UNDO, item.id)
    else:
        nope = _key(text("🚫 Not for me", "🚫"), DISCARD, item.id)
    return [keep, nope]


def _hide_key(takeaway_id: int, marks: Marks, *, label: str | None) -> Key:
    if takeaway_id in marks.hidden:
        return _key("👁 Unhide" + (f" {label}" if label else ""), UNHIDE, takeaway_id)
    return _key("🙈 Hide for everyone" if label is None else f"🙈 {label}", HIDE, takeaway_id)


def review_ids(markup: InlineKeyboardMarkup | None) -> list[int]:
    """The takeaway ids a message's review buttons are about, in order."""
    ids: list[int] = []
    for row in markup.inline_keyboard if markup else ():
        for key in row:
            press = parse_callback(
                key.callback_data if isinstance(key.callback_data, str) else None
            )
            if isinstance(press, Press) and press.verb in REVIEW_VERBS and press.first not in ids:
                ids.append(press.first)
    return ids


def other_rows(markup: InlineKeyboardMarkup | None) -> list[list[InlineKeyboardButton]]:
    """The rows of a message's keyboard that are not review buttons (e.g. "More results")."""
    kept: list[list[InlineKeyboardButton]] = []
    for row in markup.inline_keyboard if markup else ():
        pressed = [parse_callback(k.callback_data) for k in row if isinstance(k.callback_data, str)]
        if (
            pressed
            and len(pressed) == len(row)
            and all(
                p is not None
                and p != ANOTHER
                and not (isinstance(p, Press) and p.verb in REVIEW_VERBS)
                for p in pressed
            )
        ):
            kept.append(list(row))
    return kept


# --- paging and settings -----------------------------------------------------------------


def pager_row(
    offset: int, page_size: int, total: int, verb: str, *lead: int
) -> list[InlineKeyboardButton]:
    """◂ / ▸ buttons for a paged list (empty when it all fits on one page)."""
    row: list[InlineKeyboardButton] = []
    if offset > 0:
        row.append(button("◂ Back", verb, *lead, max(0, offset - page_size)))
    if offset + page_size < total:
        row.append(button("Next ▸", verb, *lead, offset + page_size))
    return row


def more_results_keyboard(query_id: int, offset: int) -> list[InlineKeyboardButton]:
    return [button("More results ▸", MORE, query_id, offset)]


def sources_keyboard(
    choices: Sequence[SourceChoice], offset: int, page_size: int, total: int
) -> InlineKeyboardMarkup:
    rows = [
        [
            button(
                f"{'✅' if choice.on else '⬜'} {truncate(choice.title or 'Untitled', 40)}"
                f" ({choice.takeaways})",
                SOURCE_TOGGLE,
                choice.id,
                offset,
            )
        ]
        for choice in choices
    ]
    pager = pager_row(offset, page_size, total, SOURCES)
    if pager:
        rows.append(pager)
    return InlineKeyboardMarkup(rows)


DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def days_keyboard(days: int) -> InlineKeyboardMarkup:
    """One toggle per weekday (its data is the set after the press), and two presets."""
    toggles = [
        button(f"{'✅' if delivers_on_bit(days, n) else '⬜'} {name}", DAYS, days ^ (1 << n))
        for n, name in enumerate(DAY_NAMES)
    ]
    return InlineKeyboardMarkup(
        [
            toggles[:4],
            toggles[4:],
            [button("Every day", DAYS, EVERY_DAY), button("Weekdays", DAYS, WEEKDAYS)],
        ]
    )


def count_keyboard(count: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(f"{'✅ ' if n == count else ''}{n}", COUNT, n) for n in (1, 2, 3)]]
    )


def takeaway_keyboard(item: StoredTakeaway) -> InlineKeyboardMarkup:
    """The buttons under a takeaway nobody has marked yet."""
    return review_keyboard([item], NO_MARKS)
