"""What a chat chooses for itself: /favorites, /export, /sources, /days, /count; and the
admins' /hidden list.

Lists are paged in place: the page buttons edit the message they are under rather
than sending a new one, so a long list never floods the chat. In groups, sources, days
and count are the group's schedule: only its admins change them.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest

from bot.delivery.subscriptions import apply_schedule
from bot.rules.schedule import EVERY_DAY, WEEKDAYS, WEEKEND, delivers_on_bit
from bot.sources.markdown_writer import to_markdown
from bot.store import chats as chat_db
from bot.store import personal
from bot.store.chats import Chat, to_unix
from bot.store.search import match_expression
from bot.telegram.common import (
    ONLY_ADMINS,
    command_argument,
    current_chat,
    describe_next,
    may_change_schedule,
    remember_query,
    reply,
    stored_query,
)
from bot.telegram.deps import Context, Deps, deps
from bot.telegram.format import escape, list_message, truncate
from bot.telegram.keyboards import (
    COUNT,
    DAY_NAMES,
    DAYS,
    FAVORITES,
    FAVORITES_SEARCH,
    HIDDEN,
    HIDDEN_UNHIDE,
    SOURCE_TOGGLE,
    SOURCES,
    Press,
    button,
    count_keyboard,
    days_keyboard,
    pager_row,
    sources_keyboard,
)

FAVORITES_PAGE = 5
SOURCES_PAGE = 8
HIDDEN_PAGE = 5
MAX_PER_DELIVERY = 3
MAX_QUERY = 300
EXPORT_NAME = "takeaways-favorites.md"

View = tuple[str, InlineKeyboardMarkup | None]


# --- favorites and export -----------------------------------------------------------------


async def favorites_command(update: Update, context: Context) -> None:
    """This chat's favorites, newest first; ``/favorites words`` searches within them."""
    chat = await current_chat(update, context)
    if chat is None:
        return
    d = deps(context)
    words = command_argument(update)[:MAX_QUERY]
    query_id = None
    if words:
        if match_expression(words) is None:
            await reply(
                update, "Send /favorites alone, or with words to search them: /favorites habits"
            )
            return
        query_id = await remember_query(d, chat.chat_id, words)
    text, markup = await favorites_view(d, chat.chat_id, 0, words or None, query_id)
    await reply(update, text, markup)


async def favorites_view(
    d: Deps, chat_id: int, offset: int, query: str | None, query_id: int | None
) -> View:
    items, total = await personal.favorites_page(
        d.store.db, chat_id, limit=FAVORITES_PAGE, offset=offset, query=query
    )
    shown = f" matching “{escape(truncate(query, 100))}”" if query else ""
    if total == 0:
        if query:
            return f"No favorites{shown}. /favorites lists them all.", None
        return "No favorites yet. Press ❤️ Keep under a takeaway to keep it here.", None
    if not items:
        return "No more favorites. /favorites starts again from the newest.", None
    header = f"❤️ <b>Your favorites{shown}</b> ({offset + 1}–{offset + len(items)} of {total})"
    footer = "/export sends them all as a Markdown file." if offset == 0 and not query else None
    text = list_message(header, [(item.takeaway.text, item) for item in items], footer)
    if query_id is None:
        pager = pager_row(offset, FAVORITES_PAGE, total, FAVORITES)
    else:
        pager = pager_row(offset, FAVORITES_PAGE, total, FAVORITES_SEARCH, query_id)
    return text, InlineKeyboardMarkup([pager]) if pager else None


async def export_command(update: Update, context: Context) -> None:
    """The chat's favorites as a Markdown file, in the shape the importer reads."""
    chat = await current_chat(update, context)
    if chat is None:
        return
    d = deps(context)
    items = await personal.all_favorites(d.store.db, chat.chat_id)
    if not items:
        await reply(update, "No favorites to export yet. Press ❤️ Keep under a takeaway to keep it.")
        return
    links = [item.takeaway.url for item in items if item.takeaway.url]
    shared = await personal.shared_links(d.store.db, links)
    content = to_markdown((item.takeaway for item in items), shared_links=shared).encode()
    noun = "favorite" if len(items) == 1 else "favorites"
    await context.bot.send_document(
        chat.chat_id,
        document=content,
        filename=EXPORT_NAME,
        caption=f"Your {len(items)} {noun} as Markdown (Readwise style).",
    )


# --- sources ------------------------------------------------------------------------------


async def sources_command(update: Update, context: Context) -> None:
    chat = await current_chat(update, context)
    if chat is None:
        return
    text, markup = await sources_view(deps(context), chat.chat_id, 0)
    await reply(update, text, markup)


async def sources_view(d: Deps, chat_id: int, offset: int) -> View:
    db = d.store.db
    choices, total = await personal.sources_page(db, chat_id, limit=SOURCES_PAGE, offset=offset)
    if total == 0:
        return "The collection has no sources yet.", None
    if not choices:  # the list shrank since this page was drawn
        offset = max(0, (total - 1) // SOURCES_PAGE * SOURCES_PAGE)
        choices, total = await personal.sources_page(db, chat_id, limit=SOURCES_PAGE, offset=offset)
    on = await personal.sources_on(db, chat_id)
    lines = [
        f"📚 <b>Sources</b>: {on} of {total} on for this chat"
        f" ({offset + 1}–{offset + len(choices)} shown). Tap one to turn it on or off."
    ]
    for choice in choices:
        who = f" — {escape(truncate(choice.author, 60))}" if choice.author else ""
        mark = "✅" if choice.on else "⬜"
        title = escape(truncate(choice.title or "Untitled", 80))
        lines.append(f"{mark} {title}{who} ({choice.takeaways})")
    if on == 0:
        lines.append("\n⚠️ Every source is off: nothing will be sent until you turn one on.")
    return "\n".join(lines), sources_keyboard(choices, offset, SOURCES_PAGE, total)


# --- days and count -----------------------------------------------------------------------

_DAY_WORDS = {
    name: n
    for n, names in enumerate(
        [
            ("mo", "mon", "monday"),
            ("tu", "tue", "tues", "tuesday"),
            ("we", "wed", "wednesday"),
            ("th", "thu", "thur", "thurs", "thursday"),
            ("fr", "fri", "friday"),
            ("sa", "sat", "saturday"),
            ("su", "sun", "sunday"),
        ]
    )
    for name in names
}
_PRESETS = {
    "every": EVERY_DAY,
    "everyday": EVERY_DAY,
    "daily": EVERY_DAY,
    "all": EVERY_DAY,
    "weekdays": WEEKDAYS,
    "workdays": WEEKDAYS,
    "weekends": WEEKEND,
    "weekend": WEEKEND,
}
DAYS_HINT = "Use /days every, /days weekdays, /days weekends, or days like: /days mon wed fri"


def parse_days(text: str) -> int | None:
    """A weekday set from what a person typed, or None if any word is no day."""
    words = [w for w in re.split(r"[\s,;/+&]+", text.lower().replace("every day", "every")) if w]
    words = [w for w in words if w not in ("and", "day", "days", "only")]
    if not words:
        return None
    if len(words) == 1 and words[0] in _PRESETS:
        return _PRESETS[words[0]]
    mask = 0
    for word in words:
        start, dash, end = word.partition("-")
        if start not in _DAY_WORDS or (dash and end not in _DAY_WORDS):
            return None
        first = _DAY_WORDS[start]
        last = _DAY_WORDS[end] if dash else first
        for n in range(7):
            if (n - first) % 7 <= (last - first) % 7:
                mask |= 1 << n
    return mask or None


def describe_days(days: int) -> str:
    if days & EVERY_DAY == EVERY_DAY:
        return "every day"
    if days == WEEKDAYS:
        return "on weekdays (Mon–Fri)"
    if days == WEEKEND:
        return "on weekends"
    return "on " + ", ".join(name for n, name in enumerate(DAY_NAMES) if delivers_on_bit(days, n))


async def days_command(update: Update, context: Context) -> None:
    chat = await current_chat(update, context)
    if chat is None:
        return
    value = command_argument(update)
    if not value:
        text = days_text(chat, deps(context).clock())
        await reply(update, f"{text}\n\n{DAYS_HINT}", days_keyboard(chat.days))
        return
    days = parse_days(value)
    if days is None:
        await reply(update, f"I can't read “{escape(truncate(value, 60))}” as days. {DAYS_HINT}")
        return
    if not await may_change_schedule(update, context):
        return
    d = deps(context)
    now = d.clock()
    chat = await apply_schedule(d.store, chat.chat_id, now, days=days)
    await reply(update, f"Done: {days_text(chat, now)}", days_keyboard(chat.days))


def days_text(chat: Chat, now: datetime) -> str:
    text = f"📅 Takeaways come {describe_days(chat.days)} at {chat.delivery_time}."
    if chat.subscribed:
        return f"{text} {describe_next(chat, now)}"
    return f"{text} The daily takeaway is off: /subscribe turns it on."


async def count_command(update: Update, context: Context) -> None:
    chat = await current_chat(update, context)
    if chat is None:
        return
    value = command_argument(update)
    if not value:
        await reply(update, count_text(chat.per_delivery), count_keyboard(chat.per_delivery))
        return
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if not value.isdecimal() or not 1 <= int(value) <= MAX_PER_DELIVERY:
        await reply(update, "Use a number from 1 to 3, for example: /count 2")
        return
    if not await may_change_schedule(update, context):
        return
    count = await save_count(deps(context), chat.chat_id, int(value))
    await reply(update, "Done: " + count_text(count), count_keyboard(count))


def count_text(count: int) -> str:
    noun = "takeaway" if count == 1 else "takeaways"
    return f"🔢 Each delivery holds {count} {noun}, in one message. /count 1, 2 or 3 changes it."


async def save_count(d: Deps, chat_id: int, count: int) -> int:
    async with d.store.transaction():
        await chat_db.save_per_delivery(d.store.db, chat_id, count)
    return count


# --- admins: hidden takeaways ---------------------------------------------------------------


async def hidden_command(update: Update, context: Context) -> None:
    """Admins, in private: the takeaways hidden for everyone, each with an Unhide button."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        return
    text, markup = await hidden_view(deps(context), 0)
    await reply(update, text, markup)


async def hidden_view(d: Deps, offset: int) -> View:
    items, total = await personal.hidden_page(d.store.db, limit=HIDDEN_PAGE, offset=offset)
    if total == 0:
        return "Nothing is hidden. 🙈 Hide for everyone under a takeaway hides one.", None
    if not items:
        offset = max(0, (total - 1) // HIDDEN_PAGE * HIDDEN_PAGE)
        items, total = await personal.hidden_page(d.store.db, limit=HIDDEN_PAGE, offset=offset)
    header = f"🙈 <b>Hidden for everyone</b> ({offset + 1}–{offset + len(items)} of {total})"
    text = list_message(header, [(item.takeaway.text, item) for item in items], longest=300)
    rows = [
        [button(f"👁 Unhide {number}", HIDDEN_UNHIDE, item.id, offset)]
        for number, item in enumerate(items, start=1)
    ]
    pager = pager_row(offset, HIDDEN_PAGE, total, HIDDEN)
    if pager:
        rows.append(pager)
    return text, InlineKeyboardMarkup(rows)


# --- their buttons --------------------------------------------------------------------------


async def on_press(update: Update, context: Context, press: Press) -> None:
    """Paging, source toggles, days, count and unhide buttons."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    message = query.message
    if not isinstance(message, Message):
        await query.answer("This button has expired.")
        return
    d = deps(context)
    view: View | None = None
    toast: str | None = None
    if press.verb == FAVORITES:
        view = await favorites_view(d, chat.id, press.first, None, None)
    elif press.verb == FAVORITES_SEARCH:
        words = await stored_query(d, press.first, chat.id)
        if words is None:
            await query.answer("This search has expired. Send /favorites again.")
            return
        view = await favorites_view(d, chat.id, press.second, words, press.first)
    elif press.verb == SOURCES:
        view = await sources_view(d, chat.id, press.first)
    elif press.verb in (SOURCE_TOGGLE, DAYS, COUNT):
        if not await may_change_schedule(update, context, quiet=True):
            await query.answer(ONLY_ADMINS)
            return
        if press.verb == SOURCE_TOGGLE:
            toast, view = await _toggle_source(d, chat.id, press.first, press.second)
        elif press.verb == DAYS:
            toast, view = await _set_days(d, chat.id, press.first)
        else:
            toast, view = await _set_count(d, chat.id, press.first)
    elif press.verb in (HIDDEN, HIDDEN_UNHIDE):
        user = update.effective_user
        if user is None or user.id not in d.settings.admin_ids or chat.type != ChatType.PRIVATE:
            await query.answer("Only the bot's admins can do that.")
            return
        if press.verb == HIDDEN_UNHIDE:
            async with d.store.transaction():
                changed = await personal.set_hidden(
                    d.store.db, press.first, False, by=user.id, now=to_unix(d.clock())
                )
            toast = "👁 Visible to everyone again." if changed else "Not hidden any more."
        view = await hidden_view(d, press.first if press.verb == HIDDEN else press.second)
    await query.answer(toast)
    if view is not None:
        await _show(message, view)


async def _toggle_source(
    d: Deps, chat_id: int, source_id: int, offset: int
) -> tuple[str | None, View | None]:
    db = d.store.db
    async with d.store.transaction():
        if not await personal.source_exists(db, source_id):
            return "This source is no longer in the collection.", await sources_view(
                d, chat_id, offset
            )
        off = await db.execute_fetchall(
            "SELECT 1 FROM sources_off WHERE chat_id = ? AND source_id = ?", (chat_id, source_id)
        )
        turn_on = bool(list(off))
        await personal.set_source(db, chat_id, source_id, turn_on)
        left = await personal.sources_on(db, chat_id)
    if left == 0:
        toast = "Every source is off: nothing will be sent until you turn one on."
    else:
        toast = "Turned on." if turn_on else "Turned off: you won't get takeaways from it."
    return toast, await sources_view(d, chat_id, offset)


async def _set_days(d: Deps, chat_id: int, days: int) -> tuple[str | None, View | None]:
    if not 1 <= days <= EVERY_DAY:
        return "Pick at least one day (or /unsubscribe to stop).", None
    now = d.clock()
    chat = await apply_schedule(d.store, chat_id, now, days=days)
    return f"Takeaways come {describe_days(days)}.", (
        f"Done: {days_text(chat, now)}",
        days_keyboard(chat.days),
    )


async def _set_count(d: Deps, chat_id: int, count: int) -> tuple[str | None, View | None]:
    if not 1 <= count <= MAX_PER_DELIVERY:
        return "Use a number from 1 to 3.", None
    await save_count(d, chat_id, count)
    return f"{count} per delivery.", ("Done: " + count_text(count), count_keyboard(count))


async def _show(message: Message, view: View) -> None:
    text, markup = view
    with contextlib.suppress(BadRequest):  # "message is not modified": already showing it
        await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
