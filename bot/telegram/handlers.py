"""What the bot does when a person sends a command, presses a button or types inline.

Every reply that carries collection or user text is built by ``bot.telegram.format``
(escaped HTML). Arguments are validated here and answered with a one-line hint, so no
input reaches the store unchecked and nothing a person types ends in silence.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from datetime import datetime
from zoneinfo import ZoneInfo, available_timezones

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError

from bot.delivery.picker import pick_next
from bot.delivery.schedule import local_date
from bot.delivery.subscriptions import apply_schedule
from bot.settings import parse_hhmm
from bot.store import SearchHit, StoredTakeaway
from bot.store import chats as chat_db
from bot.store.chats import Chat
from bot.telegram.deps import Context, Deps, deps
from bot.telegram.format import (
    attribution_html,
    escape,
    marked_to_html,
    split_text,
    takeaway_messages,
    truncate,
)
from bot.telegram.keyboards import (
    ANOTHER,
    MoreResults,
    more_results_keyboard,
    parse_callback,
    takeaway_keyboard,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 5
KEPT_SEARCHES = 10_000
MAX_QUERY = 300
TODAY_HEADER = "☀️ <b>Today's takeaway</b>"
EMPTY_COLLECTION = "The collection is empty for now. The bot's operator can import highlights."

COMMANDS: list[tuple[str, str]] = [
    ("today", "Today's takeaway"),
    ("random", "A random takeaway"),
    ("search", "Search takeaways: /search words"),
    ("settings", "Your delivery time and time zone"),
    ("time", "Set the daily time: /time 07:30"),
    ("timezone", "Set your time zone: /timezone Europe/Berlin"),
    ("subscribe", "Get one takeaway every day"),
    ("unsubscribe", "Stop the daily takeaway"),
    ("help", "What this bot can do"),
    ("start", "Start and subscribe"),
]

HELP = (
    "<b>One takeaway a day</b> from the highlights in this bot's collection.\n\n"
    "/today — today's takeaway (the same all day)\n"
    "/random — a random one, any time\n"
    "/search <i>words</i> — find takeaways (also inline: type @{username} <i>words</i>"
    " in any chat)\n"
    "/settings — your delivery time and time zone\n"
    "/time <i>HH:MM</i> — when the daily takeaway arrives\n"
    "/timezone <i>Area/City</i> — your time zone, e.g. Europe/Berlin\n"
    "/subscribe, /unsubscribe — start or stop the daily takeaway\n\n"
    "You get every takeaway once before any repeats."
)


# --- helpers ---------------------------------------------------------------------------


def command_argument(update: Update) -> str:
    """Everything after the command word, whitespace intact (``context.args`` splits it)."""
    text = update.effective_message.text if update.effective_message else None
    if not text:
        return ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def reply(update: Update, html_text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    await update.get_bot().send_message(
        chat.id, html_text, parse_mode=ParseMode.HTML, reply_markup=markup
    )


async def current_chat(update: Update, context: Context) -> Chat | None:
    """This chat's row, created with the bot's defaults on first contact."""
    tg_chat = update.effective_chat
    if tg_chat is None:
        return None
    d = deps(context)
    title = tg_chat.title or tg_chat.username or tg_chat.first_name
    async with d.store.transaction():
        return await chat_db.ensure_chat(
            d.store.db,
            tg_chat.id,
            kind=tg_chat.type,
            title=title,
            delivery_time=d.settings.delivery_time,
            timezone=d.settings.timezone,
        )


async def may_change_schedule(update: Update, context: Context) -> bool:
    """In groups only the chat's admins change its schedule; say so to everyone else."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or chat.type in (ChatType.PRIVATE, ChatType.SENDER):
        return True
    message = update.effective_message
    sender = message.sender_chat if message is not None else None
    if sender is not None and sender.id == chat.id:
        return True  # an admin posting anonymously speaks as the group itself
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        member = None
    if member is not None and member.status in (
        ChatMemberStatus.OWNER,
        ChatMemberStatus.ADMINISTRATOR,
    ):
        return True
    await reply(update, "Only this group's admins can change its daily takeaway.")
    return False


async def send_takeaway(
    bot: Bot, chat_id: int, item: StoredTakeaway, *, header: str | None = None
) -> None:
    """Send one takeaway (several messages if it is long; buttons on the last)."""
    messages = takeaway_messages(item, header=header)
    for index, text in enumerate(messages):
        last = index == len(messages) - 1
        await bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=takeaway_keyboard(item) if last else None,
        )


def describe_next(chat: Chat, now: datetime) -> str:
    if not chat.subscribed or chat.next_due is None:
        return "The daily takeaway is off. /subscribe turns it on."
    zone = ZoneInfo(chat.timezone)
    due = chat.next_due.astimezone(zone)
    today = local_date(now, chat.timezone)
    if due.date() == today:
        when = "today"
    elif (due.date() - today).days == 1:
        when = "tomorrow"
    else:
        when = due.strftime("%a %d %b")
    return f"Next takeaway: {when} at {due:%H:%M} ({escape(chat.timezone)})."


def find_zone(name: str) -> str | None:
    """A canonical IANA zone for what a person typed, or None.

    Accepts ``Europe/Berlin`` in any letter case, spaces for underscores, and a city
    alone (``berlin``, ``new york``). Only Area/City names and UTC count: ``localtime``,
    ``EST`` or ``posixrules`` exist on some machines but are not places, and may vanish
    when the bot moves to another host.
    """
    wanted = "_".join(name.strip().split()).lower()
    if not wanted or len(wanted) > 64:
        return None
    zones = _place_zones()
    if wanted in zones:
        return zones[wanted]
    cities = [zone for key, zone in zones.items() if key.rsplit("/", 1)[-1] == wanted]
    return cities[0] if len(cities) == 1 else None


@functools.cache
def _place_zones() -> dict[str, str]:
    places = {"utc": "UTC"}
    for zone in available_timezones():
        area = zone.split("/", 1)[0]
        if "/" in zone and area not in (
            "Etc",
            "posix",
            "right",
            "SystemV",
            "US",
            "Brazil",
            "Canada",
            "Chile",
            "Mexico",
        ):
            places[zone.lower()] = zone
    return places


async def todays_takeaway(d: Deps, chat: Chat) -> StoredTakeaway | None:
    """The chat's takeaway for its local today: the daily one, picked now if not yet."""
    today = local_date(d.clock(), chat.timezone)
    async with d.store.transaction():
        entry = await chat_db.get_daily(d.store.db, chat.chat_id, today)
        if entry is None:
            takeaway_id, state = await pick_next(d.store.db, chat.round, d.rng)
            if takeaway_id is None:
                return None
            await chat_db.save_round(d.store.db, chat.chat_id, state)
            await chat_db.put_daily(d.store.db, chat.chat_id, today, takeaway_id, "picked")
        else:
            takeaway_id = entry.takeaway_id
    return await d.store.get_takeaway(takeaway_id)


# --- commands --------------------------------------------------------------------------


async def start(update: Update, context: Context) -> None:
    """Subscribe and welcome; a deep-link payload (``/start xyz``) changes nothing."""
    chat = await current_chat(update, context)
    if chat is None or not await may_change_schedule(update, context):
        return
    d = deps(context)
    now = d.clock()
    chat = await apply_schedule(d.store, chat.chat_id, now, subscribed=True)
    user = update.effective_user
    name = f", {escape(user.first_name)}" if user and user.first_name else ""
    await reply(
        update,
        f"Welcome{name}! 👋\n\n"
        f"Every day at {chat.delivery_time} I'll send one takeaway from the collection. "
        f"{describe_next(chat, now)}\n\n"
        "/random gives you one right now, /search <i>words</i> finds them, "
        "/time and /timezone set your hour. /help lists everything.",
    )


async def help_command(update: Update, context: Context) -> None:
    await reply(update, HELP.format(username=escape(context.bot.username or "this_bot")))


async def random_command(update: Update, context: Context) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    d = deps(context)
    item = await d.store.random_takeaway(d.rng)
    if item is None:
        await reply(update, EMPTY_COLLECTION)
        return
    await send_takeaway(context.bot, chat.id, item)


async def today_command(update: Update, context: Context) -> None:
    chat = await current_chat(update, context)
    if chat is None:
        return
    item = await todays_takeaway(deps(context), chat)
    if item is None:
        await reply(update, EMPTY_COLLECTION)
        return
    await send_takeaway(context.bot, chat.chat_id, item, header=TODAY_HEADER)


async def search_command(update: Update, context: Context) -> None:
    chat = update.effective_chat
    query = command_argument(update)
    if chat is None:
        return
    if not query:
        await reply(update, "Send /search and some words, for example: /search habits")
        return
    query = query[:MAX_QUERY]
    d = deps(context)
    async with d.store.transaction():
        cursor = await d.store.db.execute(
            "INSERT INTO search_queries (chat_id, query) VALUES (?, ?)", (chat.id, query)
        )
        query_id = cursor.lastrowid or 0
        # Only recent searches keep a working "More results" button.
        await d.store.db.execute(
            "DELETE FROM search_queries WHERE id <= ?", (query_id - KEPT_SEARCHES,)
        )
    await send_results(update, d, query, query_id, offset=0)


async def send_results(update: Update, d: Deps, query: str, query_id: int, offset: int) -> None:
    hits = await d.store.search(query, limit=PAGE_SIZE + 1, offset=offset)
    if not hits:
        if offset:
            await reply(update, "No more results.")
        else:
            await reply(update, f"Nothing found for “{escape(truncate(query, 100))}”.")
        return
    page, more = hits[:PAGE_SIZE], len(hits) > PAGE_SIZE
    text = results_html(page, query, offset)
    markup = more_results_keyboard(query_id, offset + PAGE_SIZE) if more else None
    await reply(update, text, markup)


def results_html(hits: list[SearchHit], query: str, offset: int) -> str:
    """Up to five results in one message; every part is capped so the whole fits."""
    header = f"🔎 Results for “{escape(truncate(query, 100))}”"
    if offset:
        header += f" ({offset + 1}–{offset + len(hits)})"
    blocks = [f"<b>{header}</b>"]
    for number, hit in enumerate(hits, start=offset + 1):
        text = marked_to_html(shorten_marked(hit.marked_text, 500))
        blocks.append(f"{number}. {text}\n{attribution_html(hit.item, limit=120)}")
    return "\n\n".join(blocks)


def shorten_marked(marked: str, limit: int) -> str:
    """Cut marked text to about ``limit`` characters without leaving a mark open."""
    if len(marked) <= limit:
        return marked
    return split_text(marked, limit)[0].rstrip() + " …"


async def settings_command(update: Update, context: Context) -> None:
    chat = await current_chat(update, context)
    if chat is None:
        return
    d = deps(context)
    status = "on" if chat.subscribed else "off"
    await reply(
        update,
        "<b>Your settings</b>\n"
        f"Daily takeaway: {status}\n"
        f"Time: {chat.delivery_time}\n"
        f"Time zone: {escape(chat.timezone)}\n\n"
        f"{describe_next(chat, d.clock())}\n\n"
        "Change them with /time <i>HH:MM</i> and /timezone <i>Area/City</i>.",
    )


async def time_command(update: Update, context: Context) -> None:
    chat = await current_chat(update, context)
    if chat is None:
        return
    value = command_argument(update)
    if not value:
        await reply(
            update,
            f"Your daily takeaway comes at {chat.delivery_time}. "
            "To change it, send for example: /time 07:30",
        )
        return
    try:
        at = parse_hhmm(value)
    except ValueError:
        await reply(update, "That's not a time I understand. Use HH:MM, for example: /time 07:30")
        return
    if not await may_change_schedule(update, context):
        return
    d = deps(context)
    now = d.clock()
    text_time = f"{at:%H:%M}"
    chat = await apply_schedule(d.store, chat.chat_id, now, delivery_time=text_time)
    await reply(
        update, f"Done: your daily takeaway comes at {text_time}. {describe_next(chat, now)}"
    )


async def timezone_command(update: Update, context: Context) -> None:
    chat = await current_chat(update, context)
    if chat is None:
        return
    value = command_argument(update)
    if not value:
        await reply(
            update,
            f"Your time zone is {escape(chat.timezone)}. "
            "To change it, send for example: /timezone Europe/Berlin",
        )
        return
    zone = find_zone(value)
    if zone is None:
        await reply(
            update,
            f"I don't know the time zone “{escape(truncate(value, 64))}”. "
            "Use an Area/City name, for example: /timezone America/New_York",
        )
        return
    if not await may_change_schedule(update, context):
        return
    d = deps(context)
    now = d.clock()
    chat = await apply_schedule(d.store, chat.chat_id, now, timezone=zone)
    await reply(update, f"Done: time zone set to {escape(zone)}. {describe_next(chat, now)}")


async def subscribe_command(update: Update, context: Context) -> None:
    chat = await current_chat(update, context)
    if chat is None or not await may_change_schedule(update, context):
        return
    d = deps(context)
    now = d.clock()
    was = chat.subscribed
    chat = await apply_schedule(d.store, chat.chat_id, now, subscribed=True)
    first = "You're already subscribed." if was else "Subscribed! ✅"
    await reply(update, f"{first} {describe_next(chat, now)}")


async def unsubscribe_command(update: Update, context: Context) -> None:
    chat = await current_chat(update, context)
    if chat is None or not await may_change_schedule(update, context):
        return
    d = deps(context)
    if not chat.subscribed:
        await reply(update, "The daily takeaway is already off. /subscribe turns it back on.")
        return
    await apply_schedule(d.store, chat.chat_id, d.clock(), subscribed=False)
    await reply(
        update,
        "Unsubscribed: no more daily takeaways. /random still works, "
        "and /subscribe brings the daily one back.",
    )


async def unknown_command(update: Update, context: Context) -> None:
    """A hint in private; in groups only for commands addressed to this bot by name,
    since a bare ``/cmd`` there may well be meant for another bot."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None or not message.text:
        return
    if chat.type != ChatType.PRIVATE:
        command = message.text.split(maxsplit=1)[0]
        mention = f"@{context.bot.username}".lower()
        if not command.lower().endswith(mention):
            return
    await reply(update, "I don't know that command. /help lists what I can do.")


async def plain_text(update: Update, context: Context) -> None:
    """Private messages that are no command (text, or a file from a non-admin)."""
    await reply(
        update,
        "Send /random for a takeaway, or /search followed by words to find one. /help lists more.",
    )


# --- buttons and inline mode -------------------------------------------------------------


async def button(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    action = parse_callback(query.data)
    chat = update.effective_chat
    if action is None or chat is None:
        await query.answer("This button has expired.")
        return
    d = deps(context)
    if action == ANOTHER:
        await query.answer()
        item = await d.store.random_takeaway(d.rng)
        if item is None:
            await reply(update, EMPTY_COLLECTION)
            return
        await send_takeaway(context.bot, chat.id, item)
    elif isinstance(action, MoreResults):
        async with d.store.db.execute(
            "SELECT query FROM search_queries WHERE id = ? AND chat_id = ?",
            (action.query_id, chat.id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            await query.answer("This search has expired. Send /search again.")
            return
        await query.answer()
        await send_results(update, d, str(row[0]), action.query_id, action.offset)


async def inline_query(update: Update, context: Context) -> None:
    """``@bot words`` in any chat: matching takeaways to share (random ones with no words)."""
    inline = update.inline_query
    if inline is None:
        return
    d = deps(context)
    words = inline.query.strip()[:MAX_QUERY]
    if words:
        items = [hit.item for hit in await d.store.search(words, limit=10)]
    else:
        picked = [await d.store.random_takeaway(d.rng) for _ in range(5)]
        unique = {item.id: item for item in picked if item is not None}
        items = list(unique.values())
    results = [
        InlineQueryResultArticle(
            id=str(item.id),
            title=truncate(item.takeaway.text, 80),
            description=truncate(
                ", ".join(filter(None, [item.takeaway.author, item.takeaway.title])), 100
            ),
            input_message_content=InputTextMessageContent(
                takeaway_messages(item)[0], parse_mode=ParseMode.HTML
            ),
        )
        for item in items
    ]
    await inline.answer(results, cache_time=10, is_personal=False)


# --- chat life cycle ---------------------------------------------------------------------


async def chat_migrated(update: Update, context: Context) -> None:
    """A group became a supergroup: keep its schedule and history under the new id."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    d = deps(context)
    async with d.store.transaction():
        await chat_db.migrate_chat(d.store.db, message.chat.id, message.migrate_to_chat_id)


async def membership_changed(update: Update, context: Context) -> None:
    """Removed from a group or blocked in private: stop sending there."""
    change = update.my_chat_member
    if change is None:
        return
    if change.new_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        d = deps(context)
        async with d.store.transaction():
            await chat_db.mark_blocked(d.store.db, change.chat.id)


async def on_error(update: object, context: Context) -> None:
    """Log the failure with its traceback, and tell the person something went wrong."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error handling update %s: %r", update_id, context.error, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat and update.effective_message:
        with contextlib.suppress(TelegramError):
            await reply(update, "Sorry, something went wrong there. Please try again.")
