"""Small helpers every handler module shares: replying, the chat's row, group rights."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.rules.schedule import local_date
from bot.store import chats as chat_db
from bot.store.chats import Chat
from bot.telegram.deps import Context, Deps, deps
from bot.telegram.format import escape
from bot.telegram.outgoing import send_html


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
    await send_html(update.get_bot(), chat.id, html_text, markup)


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


async def may_change_schedule(update: Update, context: Context, *, quiet: bool = False) -> bool:
    """In groups only the chat's admins change its schedule; say so to everyone else
    (unless ``quiet``: a button press answers with a toast instead)."""
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
    if not quiet:
        await reply(update, ONLY_ADMINS)
    return False


ONLY_ADMINS = "Only this group's admins can change its daily takeaway."


KEPT_SEARCHES = 10_000


async def remember_query(d: Deps, chat_id: int, query: str) -> int:
    """Store a search for its paging buttons (callback data is too small to hold it)."""
    async with d.store.transaction():
        cursor = await d.store.db.execute(
            "INSERT INTO search_queries (chat_id, query) VALUES (?, ?)", (chat_id, query)
        )
        query_id = cursor.lastrowid or 0
        # Only recent searches keep working buttons.
        await d.store.db.execute(
            "DELETE FROM search_queries WHERE id <= ?", (query_id - KEPT_SEARCHES,)
        )
    return query_id


async def stored_query(d: Deps, query_id: int, chat_id: int) -> str | None:
    """The words of a search this chat made (None: too old, or not this chat's)."""
    async with d.store.db.execute(
        "SELECT query FROM search_queries WHERE id = ? AND chat_id = ?", (query_id, chat_id)
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else str(row[0])


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
