"""The buttons under every takeaway: keep, not for me (and undo), hide for everyone.

A press is checked against the message it came from: the takeaway must be one the
message's own keyboard is about (Telegram hands us the message as it is, so forged
data naming another takeaway is refused), and hiding needs an admin. Every press is
answered with a toast at once, then the keyboard is redrawn from the database, so it
always shows the real state, whatever was pressed before.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

import aiosqlite
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest

from bot.delivery.daily import PartlySent
from bot.store import StoredTakeaway, personal
from bot.store import takeaways as takeaway_db
from bot.store.chats import to_unix
from bot.store.personal import NO_MARKS, Marks
from bot.store.store import Store
from bot.telegram.common import may_change_schedule
from bot.telegram.deps import Context, Deps, deps
from bot.telegram.format import (
    MESSAGE_LIMIT,
    TODAY_HEADER,
    delivery_messages,
    plain_text,
    source_link,
    visible_length,
)
from bot.telegram.keyboards import (
    DISCARD,
    HIDE,
    KEEP,
    UNDO,
    UNHIDE,
    UNKEEP,
    Press,
    other_rows,
    review_ids,
    review_keyboard,
    review_keyboard_json,
)
from bot.telegram.outgoing import send_html

log = logging.getLogger(__name__)

NOT_FOR_ME = "🚫 <i>Not for me: you won't get this one again.</i>"
NOT_FOR_ME_TEXT = "🚫 Not for me: you won't get this one again."
EXPIRED = "This button has expired."


def is_admin_chat(d: Deps, chat_id: int) -> bool:
    """An admin's private chat (whose id is the admin's user id): where hide buttons show."""
    return chat_id > 0 and chat_id in d.settings.admin_ids


async def send_takeaways(
    bot: Bot,
    chat_id: int,
    items: Sequence[StoredTakeaway],
    *,
    store: Store | None = None,
    admin: bool = False,
    header: str | None = None,
    extra_rows: Sequence[Sequence[InlineKeyboardButton]] = (),
    skip_parts: int = 0,
    marks: Marks | None = None,
) -> None:
    """Send takeaways as one delivery (more messages only if long); buttons on the last.

    ``skip_parts`` messages went out on an earlier try; if a later one fails after
    some went out, ``PartlySent`` says how many are out now.

    With ``store`` the buttons show the chat's marks (a favorite says "Kept"), and a
    channel gets only the source link; ``marks`` are those marks when the caller read
    them already (``/random`` reads them with its pick).
    """
    if marks is None:
        marks = NO_MARKS
        if store is not None:
            marks = await personal.marks(store.db, chat_id, [item.id for item in items])
    markup: InlineKeyboardMarkup | str | None = None
    if marks.channel:
        # A channel's readers share its stream: nobody there may change it for all.
        link = source_link(items[0]) if len(items) == 1 else None
        if link:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("🔗 Source", url=link)]])
    elif extra_rows:
        markup = review_keyboard(items, marks, admin=admin, extra_rows=extra_rows)
    else:
        markup = review_keyboard_json(items, marks, admin=admin)
    messages = delivery_messages(list(items), header=header)
    for index, text in enumerate(messages):
        if index < skip_parts:
            continue  # out already, on an earlier try
        last = index == len(messages) - 1
        try:
            await send_html(bot, chat_id, text, markup if last else None)
        except Exception as error:
            if index > skip_parts:
                raise PartlySent(index, error) from error
            raise


_TOASTS = {
    (KEEP, True): "❤️ Kept. /favorites lists them.",
    (KEEP, False): "Already in your favorites.",
    (UNKEEP, True): "Removed from your favorites.",
    (UNKEEP, False): "Not in your favorites any more.",
    (DISCARD, True): "🚫 You won't get this one again.",
    (DISCARD, False): "Already marked: not for you.",
    (UNDO, True): "↩️ Undone: it's back in your rounds.",
    (UNDO, False): "Already undone.",
    (HIDE, True): "🙈 Hidden for everyone. /hidden lists them.",
    (HIDE, False): "Already hidden.",
    (UNHIDE, True): "👁 Visible to everyone again.",
    (UNHIDE, False): "Not hidden.",
}


async def on_review(update: Update, context: Context, press: Press) -> None:
    """Keep, let go, not for me, undo, hide or unhide the takeaway a button names."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    message = query.message
    if not isinstance(message, Message):  # too old for Telegram to show us
        await query.answer(EXPIRED)
        return
    if chat.type == ChatType.CHANNEL:
        await query.answer("These buttons work in private chats and groups.")
        return
    d = deps(context)
    ids = review_ids(message.reply_markup)
    takeaway_id = press.first
    if takeaway_id not in ids:
        await query.answer(EXPIRED)
        return
    user = update.effective_user
    # In a group, keeping and turning down change what the whole group gets, like its
    # schedule: only its admins may.
    in_group = chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
    if (
        in_group
        and press.verb not in (HIDE, UNHIDE)
        and not await may_change_schedule(update, context, quiet=True)
    ):
        await query.answer("Only this group's admins can change what it gets.")
        return
    if press.verb in (HIDE, UNHIDE) and (
        user is None or user.id not in d.settings.admin_ids or chat.type != ChatType.PRIVATE
    ):
        await query.answer("Only the bot's admins can do that.")
        return
    now = to_unix(d.clock())
    db = d.store.db
    async with d.store.transaction():
        before = await personal.marks(db, chat.id, [takeaway_id])
        found = await takeaway_db.get_many(db, ids)
        if takeaway_id not in found:
            toast = "This takeaway is no longer in the collection."
        elif takeaway_id in before.hidden and press.verb not in (HIDE, UNHIDE):
            toast = "This takeaway was removed from the collection."
        else:
            by = user.id if user is not None else None
            changed = await _apply(db, chat.id, takeaway_id, press.verb, by, now, before)
            toast = _TOASTS[(press.verb, changed)]
        marks = await personal.marks(db, chat.id, ids)
    await query.answer(toast)
    items = [found[i] for i in ids if i in found]
    if not items:
        return
    markup = review_keyboard(
        items, marks, admin=is_admin_chat(d, chat.id), extra_rows=other_rows(message.reply_markup)
    )
    lone = len(ids) == 1
    await _redraw(
        message,
        markup,
        found.get(takeaway_id) if lone else None,
        takeaway_id in marks.discarded if lone else None,
    )


async def _apply(
    db: aiosqlite.Connection,
    chat_id: int,
    takeaway_id: int,
    verb: str,
    by: int | None,
    now: int,
    before: personal.Marks,
) -> bool:
    """Make the change a press asks for; False when it was already so."""
    if verb in (KEEP, UNKEEP):
        on = verb == KEEP
        if (takeaway_id in before.favorites) == on:
            return False
        await personal.set_favorite(db, chat_id, takeaway_id, on, now)
        return True
    if verb in (DISCARD, UNDO):
        on = verb == DISCARD
        if (takeaway_id in before.discarded) == on:
            return False
        await personal.set_discarded(db, chat_id, takeaway_id, on, now)
        return True
    changed = await personal.set_hidden(db, takeaway_id, verb == HIDE, by=by, now=now)
    if changed:
        log.info(
            "takeaway %s %s by admin %s", takeaway_id, "hidden" if verb == HIDE else "unhidden", by
        )
    return changed


async def _redraw(
    message: Message,
    markup: InlineKeyboardMarkup,
    item: StoredTakeaway | None,
    discarded: bool | None,
) -> None:
    """New buttons; a lone takeaway's text also says whether it is "not for me" now
    (``discarded``; None for a list, whose rows say it).

    The text is rebuilt from the database (``item``), exactly as it was first sent,
    never from Telegram's copy of the message: ``Message.text_html`` does not escape a
    link's URL, so a hostile link would turn into markup (or break the edit). Telegram's
    plain text only tells which of the ways it was sent this message is; a message that
    is none of them (a search result, or a takeaway changed since) keeps its text.
    """
    plain = message.text or ""
    noted = plain.endswith(NOT_FOR_ME_TEXT)
    shown = plain[: -len(NOT_FOR_ME_TEXT)] if noted else plain
    base = as_sent(item, shown) if item is not None and discarded is not None else None
    text: str | None = None
    if base is not None and discarded and not noted:
        if (
            visible_length(f"{base}\n\n{NOT_FOR_ME}") <= MESSAGE_LIMIT
        ):  # in UTF-16, as Telegram counts
            text = f"{base}\n\n{NOT_FOR_ME}"
    elif base is not None and discarded is False and noted:
        text = base
    with contextlib.suppress(BadRequest):  # "message is not modified": nothing to redraw
        if text is not None:
            await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        else:
            await message.edit_reply_markup(markup)


# The headers a lone takeaway is sent with: none for /random, TODAY_HEADER for /today and
# the daily delivery.
LONE_HEADERS: tuple[str | None, ...] = (None, TODAY_HEADER)


def as_sent(item: StoredTakeaway, shown: str) -> str | None:
    """The HTML of the message (the last, if the takeaway took several) that showed
    ``shown`` (Telegram's plain text of it), rebuilt from the database; None if no way
    this takeaway is sent alone shows that text."""
    for header in LONE_HEADERS:
        last = delivery_messages([item], header=header)[-1]
        if plain_text(last) == shown.strip():
            return last
    return None
