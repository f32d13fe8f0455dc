"""What the bot does when a person sends a command, presses a button or types inline.

Every reply that carries collection or user text is built by ``bot.telegram.format``
(escaped HTML). Arguments are validated here and answered with a one-line hint, so no
input reaches the store unchecked and nothing a person types ends in silence.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from typing import Any
from zoneinfo import available_timezones

from telegram import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError

from bot.delivery.picker import FAVORITE_EVERY, pick_delivery, pick_random_for
from bot.delivery.subscriptions import apply_schedule
from bot.rules.schedule import local_date, parse_hhmm
from bot.store import SearchHit, StoredTakeaway, personal
from bot.store import chats as chat_db
from bot.store.chats import Chat, to_unix
from bot.store.personal import Pick
from bot.telegram import choices
from bot.telegram.common import (
    command_argument,
    current_chat,
    describe_next,
    may_change_schedule,
    remember_query,
    reply,
    stored_query,
)
from bot.telegram.deps import Context, Deps, deps
from bot.telegram.fairness import Stopping
from bot.telegram.format import (
    TODAY_HEADER,
    TODAY_HEADER_MANY,
    escape,
    list_message,
    takeaway_messages,
    truncate,
)
from bot.telegram.keyboards import (
    ANOTHER,
    REVIEW_VERBS,
    Callback,
    MoreResults,
    Press,
    more_results_keyboard,
    parse_callback,
    review_keyboard,
)
from bot.telegram.review import is_admin_chat, on_review, send_takeaways

log = logging.getLogger(__name__)

PAGE_SIZE = 5
MAX_QUERY = 300
EMPTY_COLLECTION = "The collection is empty for now. The bot's operator can import highlights."
SOURCES_OFF = "Nothing to send: every source is off for this chat. /sources turns one back on."
ALL_TURNED_DOWN = (
    "Nothing to send: everything from this chat's sources is marked “not for me”."
    " /sources can turn more sources on."
)
SET_ASIDE = "Nothing to send: you set today's takeaway aside. /random gives you another one."

COMMANDS: list[tuple[str, str]] = [
    ("today", "Today's takeaway"),
    ("random", "A random takeaway"),
    ("search", "Search takeaways: /search words"),
    ("favorites", "Your kept takeaways: /favorites [words]"),
    ("export", "Your favorites as a Markdown file"),
    ("sources", "Choose which sources you get"),
    ("days", "Choose the delivery days: /days weekdays"),
    ("count", "Takeaways per delivery: /count 1..3"),
    ("settings", "Your delivery time, days and time zone"),
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
    "/favorites — the ones you kept, newest first; /favorites <i>words</i> searches them\n"
    "/export — your favorites as a Markdown file\n"
    "/sources — turn sources on or off for this chat\n"
    "/days — every day, weekdays, or days you pick (/days mon wed fri)\n"
    "/count <i>1–3</i> — how many takeaways each delivery holds\n"
    "/settings — your delivery time, days and time zone\n"
    "/time <i>HH:MM</i> — when the daily takeaway arrives\n"
    "/timezone <i>Area/City</i> — your time zone, e.g. Europe/Berlin\n"
    "/subscribe, /unsubscribe — start or stop the daily takeaway\n\n"
    "<b>Buttons under each takeaway:</b> ❤️ Keep saves it to /favorites (press again to"
    " let go); 🚫 Not for me means you never get it again (with an Undo); 🎲 Another one;"
    " 🔗 the source.\n\n"
    "<b>How takeaways are chosen:</b> you get every takeaway once (from your sources, minus"
    " the ones that are not for you) before any repeats, and every {favorite_every}th"
    " delivery begins with one of your favorites, the one you have not seen for longest,"
    " so the ones you keep come back more often.{admin}"
)
ADMIN_HELP = (
    "\n\n<b>Admin:</b> 🙈 Hide for everyone (under takeaways in this chat) takes a"
    " takeaway out of every round and search, even after a re-import; /hidden lists"
    " them to unhide. /stats, /reload, /sync (Readwise), or send an export file to import it."
)


# --- helpers ---------------------------------------------------------------------------


async def send_items(
    update: Update, context: Context, chat_id: int, items: list[StoredTakeaway], **kw: Any
) -> None:
    """Send takeaways with their review buttons (marks and admin buttons for this chat)."""
    d = deps(context)
    await send_takeaways(
        context.bot, chat_id, items, store=d.store, admin=is_admin_chat(d, chat_id), **kw
    )


def what_and_when(chat: Chat) -> str:
    """ "Every day at 09:00 I'll send one takeaway ...", as this chat has chosen."""
    days = choices.describe_days(chat.days)
    count = "one takeaway" if chat.per_delivery == 1 else f"{chat.per_delivery} takeaways"
    when = f"{days[0].upper()}{days[1:]} at {chat.delivery_time}"
    return f"{when} I'll send {count} from the collection."


def today_header(count: int) -> str:
    return TODAY_HEADER if count == 1 else TODAY_HEADER_MANY


async def nothing_to_send(d: Deps, chat_id: int) -> str:
    """Why a pick found nothing: an empty collection, or this chat's own choices (its
    sources off, everything turned down, or only today's delivery set aside)."""
    db = d.store.db
    if (await d.store.stats()).takeaways == 0:
        return EMPTY_COLLECTION
    if await personal.sources_on(db, chat_id) == 0:
        return SOURCES_OFF
    if not await personal.eligible_ids(db, chat_id, limit=1):
        return ALL_TURNED_DOWN
    return SET_ASIDE


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


async def todays_takeaways(d: Deps, chat_id: int) -> list[StoredTakeaway]:
    """The chat's delivery for its local today: the daily one, picked now if not yet.

    Read and picked in one transaction, so a daily run claiming the chat at the same
    moment cannot pick for the same day twice. What the chat turned down or an admin
    hid since it was picked is left out; if nothing of a delivery not yet sent is left,
    it is picked again.
    """
    db = d.store.db
    async with d.store.transaction():
        chat = await chat_db.get_chat(db, chat_id)
        if chat is None:
            return []
        today = local_date(d.clock(), chat.timezone)
        entry = await chat_db.get_daily(db, chat_id, today)
        ids = [] if entry is None else entry.takeaway_ids
        if entry is not None:
            allowed = await personal.eligible(db, chat_id, ids)
            ids = [i for i in ids if i in allowed]
        if not ids and (entry is None or entry.status == "picked"):
            ids, state = await pick_delivery(
                db,
                chat_id,
                chat.round,
                d.rng,
                count=chat.per_delivery,
                deliveries=chat.deliveries,
                now=to_unix(d.clock()),
            )
            if not ids:
                return []
            await chat_db.save_round(db, chat_id, state, delivery=True)
            await chat_db.put_daily(db, chat_id, today, ids, "picked")
    found = await d.store.get_takeaways(ids)
    return [found[i] for i in ids if i in found]


async def random_for(d: Deps, chat_id: int | None) -> Pick | None:
    """A random takeaway for the chat, with its marks: usually one trip to the database."""
    return await pick_random_for(d.store.db, chat_id, d.rng)


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
        f"{what_and_when(chat)} "
        f"{describe_next(chat, now)}\n\n"
        "/random gives you one right now, /search <i>words</i> finds them, "
        "/time and /timezone set your hour. /help lists everything.",
    )


async def help_command(update: Update, context: Context) -> None:
    chat = update.effective_chat
    admin = chat is not None and is_admin_chat(deps(context), chat.id)
    await reply(
        update,
        HELP.format(
            username=escape(context.bot.username or "this_bot"),
            favorite_every=FAVORITE_EVERY,
            admin=ADMIN_HELP if admin else "",
        ),
    )


async def random_command(update: Update, context: Context) -> None:
    """A random takeaway this chat may get (its sources, nothing it turned down).

    Reads only (no chat row is needed for that), so it answers even when the database
    cannot be written.
    """
    chat = update.effective_chat
    if chat is None:
        return
    d = deps(context)
    picked = await random_for(d, chat.id)
    if picked is None:
        await reply(update, await nothing_to_send(d, chat.id))
        return
    await send_items(update, context, chat.id, [picked.item], marks=picked.marks)


async def today_command(update: Update, context: Context) -> None:
    chat = await current_chat(update, context)
    if chat is None:
        return
    d = deps(context)
    items = await todays_takeaways(d, chat.chat_id)
    if not items:
        await reply(update, await nothing_to_send(d, chat.chat_id))
        return
    await send_items(update, context, chat.chat_id, items, header=today_header(len(items)))


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
    query_id = await remember_query(d, chat.id, query)
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
    chat = update.effective_chat
    if chat is None:
        return
    extra = [more_results_keyboard(query_id, offset + PAGE_SIZE)] if more else []
    marks = await personal.marks(d.store.db, chat.id, [hit.item.id for hit in page])
    markup = review_keyboard(
        [hit.item for hit in page], marks, admin=is_admin_chat(d, chat.id), extra_rows=extra
    )
    await reply(update, results_html(page, query, offset), markup)


def results_html(hits: list[SearchHit], query: str, offset: int) -> str:
    """Up to five results in one message, numbered from 1 on every page like the
    buttons under it; every part is capped so the whole fits."""
    header = f"🔎 Results for “{escape(truncate(query, 100))}”"
    if offset:
        header += f" ({offset + 1}–{offset + len(hits)})"
    return list_message(f"<b>{header}</b>", [(hit.marked_text, hit.item) for hit in hits])


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
        f"Days: {choices.describe_days(chat.days)}\n"
        f"Takeaways per delivery: {chat.per_delivery}\n"
        f"Time zone: {escape(chat.timezone)}\n\n"
        f"{describe_next(chat, d.clock())}\n\n"
        "Change them with /time <i>HH:MM</i>, /days, /count and /timezone <i>Area/City</i>;"
        " /sources chooses what you get.",
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
    """Every button press is answered exactly once, even when handling it fails."""
    query = update.callback_query
    if query is None:
        return
    action = parse_callback(query.data)
    chat = update.effective_chat
    if action is None or chat is None:
        await query.answer("This button has expired.")
        return
    try:
        await _pressed(update, context, action, chat.id)
    except Exception:
        with contextlib.suppress(TelegramError):  # already answered: nothing to add
            await query.answer("Sorry, that didn't work. Please try again.")
        raise


async def _pressed(update: Update, context: Context, action: Callback, chat_id: int) -> None:
    query = update.callback_query
    assert query is not None
    d = deps(context)
    if isinstance(action, Press):
        await current_chat(update, context)  # what a chat marks is stored with its row
    if action == ANOTHER:
        await query.answer()
        picked = await random_for(d, chat_id)
        if picked is None:
            await reply(update, await nothing_to_send(d, chat_id))
            return
        await send_items(update, context, chat_id, [picked.item], marks=picked.marks)
    elif isinstance(action, MoreResults):
        words = await stored_query(d, action.query_id, chat_id)
        if words is None:
            await query.answer("This search has expired. Send /search again.")
            return
        await query.answer()
        await send_results(update, d, words, action.query_id, action.offset)
    elif isinstance(action, Press) and action.verb in REVIEW_VERBS:
        await on_review(update, context, action)
    elif isinstance(action, Press):
        await choices.on_press(update, context, action)


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
        picked = [await random_for(d, None) for _ in range(5)]
        unique = {p.item.id: p.item for p in picked if p is not None}
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
    """Log the failure, and tell the person something went wrong.

    A Telegram that cannot be reached (or times out) is not our bug: one line, and no
    reply, which could not be sent either. Anything else gets its traceback.
    """
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, Stopping):  # abandoned at shutdown, not a failure
        log.info("update %s left unanswered: the bot is stopping", update_id)
        return
    if isinstance(context.error, NetworkError) and not isinstance(context.error, BadRequest):
        log.warning(
            "could not answer update %s: Telegram unreachable (%s)",
            update_id,
            str(context.error) or type(context.error).__name__,
        )
        return
    log.error("error handling update %s: %r", update_id, context.error, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat and update.effective_message:
        with contextlib.suppress(TelegramError):
            await reply(update, "Sorry, something went wrong there. Please try again.")
