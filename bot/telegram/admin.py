"""Admin tools in Telegram, for ``ADMIN_IDS`` only: upload an export, /stats, /reload,
/sync (Readwise, in ``readwise``), /hidden (in ``choices``).

Everybody else is ignored without a word: the handlers are registered behind a user
filter, followed in the same handler group by ``ignore`` for the same commands, so
they are swallowed before the "unknown command" hint could reveal that they exist.
They work in the admin's private chat with the bot only: in a group, /stats would
show the bot's numbers to everyone there, and a file an admin shares with a group is
meant for the group, not for the collection.

An upload is fetched only when Telegram's size for it (from the message, or failing
that from getFile) is known and within what bots may download, so memory stays bounded
by ``MAX_UPLOAD`` whatever is sent; one with more lines than an upload may have is
refused before it is parsed, and the reply says what the limits are
(``bot/sources/limits.py``).
"""

from __future__ import annotations

import html

from telegram import Update
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot.importer import ImportSummary, import_paths, import_upload
from bot.rules.schedule import local_date
from bot.sources import ParseError, limits
from bot.store import chats as chat_db
from bot.telegram import readwise
from bot.telegram.common import reply
from bot.telegram.deps import Context, deps

# Telegram lets a bot download files up to 20 MB.
MAX_UPLOAD = 20 * 1024 * 1024
ADMIN_COMMANDS = ("stats", "reload", "hidden", "sync")


def summary_html(summary: ImportSummary) -> str:
    return f"<pre>{html.escape(summary.describe())}</pre>"


def in_private(update: Update) -> bool:
    """Admin tools answer only in the admin's private chat with the bot."""
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


async def upload(update: Update, context: Context) -> None:
    """An admin sent a file: parse and import it, then reply with the summary."""
    message = update.effective_message
    if message is None or message.document is None or not in_private(update):
        return
    document = message.document
    name = document.file_name or "upload.txt"
    too_large = f"{html.escape(name)} is too large (Telegram lets bots fetch 20 MB)."
    if document.file_size is not None and document.file_size > MAX_UPLOAD:
        await reply(update, too_large)
        return
    try:
        file = await document.get_file()
    except BadRequest as error:
        if "too big" not in error.message.lower():
            raise
        await reply(update, too_large)
        return
    if file.file_size is None:  # rare; an unknown size could be anything
        await reply(update, f"Telegram did not say how large {html.escape(name)} is: not fetched.")
        return
    if file.file_size > MAX_UPLOAD:
        await reply(update, too_large)
        return
    # One copy of the bytes while it is parsed (the download buffer is gone by then); its
    # lines are counted before any parsing, so what an upload can cost is bounded.
    data = bytes(await file.download_as_bytearray())
    try:
        limits.check_upload(data, name)
    except ParseError as error:
        await reply(update, f"Not imported: {html.escape(str(error))}")
        return
    summary = await import_upload(deps(context).store, data, name)
    del data
    await reply(update, f"{summary_html(summary)}\n<i>{html.escape(limits.DESCRIPTION)}</i>")


async def stats(update: Update, context: Context) -> None:
    if not in_private(update):
        return
    d = deps(context)
    collection = await d.store.stats()
    people = await chat_db.count_chats(d.store.db)
    today = local_date(d.clock(), d.settings.timezone)
    deliveries = await chat_db.count_daily(d.store.db, today)
    sync_line = await readwise.stats_line(d.store, readwise.service_of(context.bot_data))
    await reply(
        update,
        "<b>Bot statistics</b>\n"
        f"Subscribers: {people['subscribed']} active, {people['blocked']} blocked\n"
        f"Takeaways: {collection.takeaways} from {collection.sources} sources\n"
        f"Deliveries today ({today.isoformat()}): {deliveries.get('sent', 0)} sent, "
        f"{deliveries.get('failed', 0)} failed, {deliveries.get('retry', 0)} waiting to retry\n"
        f"{sync_line}",
    )


async def reload(update: Update, context: Context) -> None:
    if not in_private(update):
        return
    d = deps(context)
    path = d.settings.takeaways_path
    if path is None:
        await reply(update, "TAKEAWAYS_PATH is not set, so there is nothing to reload.")
        return
    summary = await import_paths(d.store, [path])
    await reply(update, summary_html(summary))


async def sync(update: Update, context: Context) -> None:
    """/sync: one Readwise sync now, answered with its summary."""
    if not in_private(update):
        return
    await reply(update, await readwise.sync_reply(readwise.service_of(context.bot_data)))


async def ignore(update: Update, context: Context) -> None:
    """Admin commands and uploads from anyone else: deliberately nothing."""
