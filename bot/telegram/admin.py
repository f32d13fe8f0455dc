"""Admin tools in Telegram, for ``ADMIN_IDS`` only: upload an export, /stats, /reload.

Everybody else is ignored without a word: the handlers are registered behind a user
filter, followed in the same handler group by ``ignore`` for the same commands, so
they are swallowed before the "unknown command" hint could reveal that they exist.
"""

from __future__ import annotations

import html
import io

from telegram import Update

from bot.delivery.schedule import local_date
from bot.importer import ImportSummary, import_paths, import_upload
from bot.store import chats as chat_db
from bot.telegram.deps import Context, deps
from bot.telegram.handlers import reply

# Telegram lets a bot download files up to 20 MB.
MAX_UPLOAD = 20 * 1024 * 1024
ADMIN_COMMANDS = ("stats", "reload")


def summary_html(summary: ImportSummary) -> str:
    return f"<pre>{html.escape(summary.describe())}</pre>"


async def upload(update: Update, context: Context) -> None:
    """An admin sent a file: parse and import it, then reply with the summary."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    document = message.document
    name = document.file_name or "upload.txt"
    if document.file_size is not None and document.file_size > MAX_UPLOAD:
        await reply(update, f"{html.escape(name)} is too large (Telegram lets bots fetch 20 MB).")
        return
    file = await document.get_file()
    buffer = io.BytesIO()
    await file.download_to_memory(buffer)
    summary = await import_upload(deps(context).store, buffer.getvalue(), name)
    await reply(update, summary_html(summary))


async def stats(update: Update, context: Context) -> None:
    d = deps(context)
    collection = await d.store.stats()
    people = await chat_db.count_chats(d.store.db)
    today = local_date(d.clock(), d.settings.timezone)
    deliveries = await chat_db.count_daily(d.store.db, today)
    await reply(
        update,
        "<b>Bot statistics</b>\n"
        f"Subscribers: {people['subscribed']} active, {people['blocked']} blocked\n"
        f"Takeaways: {collection.takeaways} from {collection.sources} sources\n"
        f"Deliveries today ({today.isoformat()}): {deliveries.get('sent', 0)} sent, "
        f"{deliveries.get('failed', 0)} failed, {deliveries.get('retry', 0)} waiting to retry",
    )


async def reload(update: Update, context: Context) -> None:
    d = deps(context)
    path = d.settings.takeaways_path
    if path is None:
        await reply(update, "TAKEAWAYS_PATH is not set, so there is nothing to reload.")
        return
    summary = await import_paths(d.store, [path])
    await reply(update, summary_html(summary))


async def ignore(update: Update, context: Context) -> None:
    """Admin commands and uploads from anyone else: deliberately nothing."""
