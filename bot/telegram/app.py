"""Wiring: the PTB ``Application`` with our handlers, the delivery job and the start-up work."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from telegram import Bot, BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.clock import Clock, system_clock
from bot.delivery.daily import Send, deliver_due
from bot.importer import import_paths
from bot.settings import Settings
from bot.store import Store, StoredTakeaway
from bot.telegram import admin, choices, flood
from bot.telegram import handlers as h
from bot.telegram.channels import sync_channels
from bot.telegram.deps import Context, Deps, deps, install
from bot.telegram.heartbeat import INTERVAL as HEARTBEAT_INTERVAL
from bot.telegram.heartbeat import PollingRequest, heartbeat_job
from bot.telegram.marking import MarkingRateLimiter
from bot.telegram.review import send_takeaways

log = logging.getLogger(__name__)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DELIVERY_INTERVAL = timedelta(seconds=20)


def build_application(
    settings: Settings,
    store: Store,
    *,
    clock: Clock = system_clock,
    rate_limit: bool = True,
    jobs: bool = True,
    flood_guard: bool = True,
) -> Application:  # type: ignore[type-arg]
    """The bot with its handlers and (unless ``jobs`` is off, as in tests that drive
    the daily run by hand) its delivery and heartbeat jobs; ``start_bot`` runs it.
    ``flood_guard`` off is for the console, where one person pipes a whole script."""
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    deps_ = Deps(settings=settings, store=store, clock=clock)
    builder = (
        Application.builder()
        .token(settings.bot_token.get_secret_value())
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_base_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .concurrent_updates(64)
        .get_updates_request(PollingRequest(deps_.pulse, read_timeout=30.0))
    )
    if rate_limit:
        # Retries 429s (AIORateLimiter's default of 0 would surface every one as an
        # error) and marks each delivery request in the ledger before it leaves. (PTB's
        # builder typing cannot express adding a limiter after the fact.)
        builder = builder.rate_limiter(MarkingRateLimiter(max_retries=3))  # type: ignore[arg-type]
    if not jobs:
        builder = builder.job_queue(None)  # type: ignore[arg-type]
    app = builder.build()
    install(app.bot_data, deps_)
    add_handlers(app, settings.admin_ids)
    if flood_guard:
        flood.install(app, exempt=settings.admin_ids, epilogue_group=UpdateTracker.GROUP)
    if jobs and app.job_queue is not None:
        app.job_queue.run_repeating(
            delivery_tick, interval=DELIVERY_INTERVAL, first=1, name="daily-delivery"
        )
        app.job_queue.run_repeating(
            heartbeat_job, interval=HEARTBEAT_INTERVAL, first=2, name="heartbeat"
        )
    return app


def add_handlers(app: Application, admin_ids: list[int]) -> None:  # type: ignore[type-arg]
    admins = filters.User(user_id=admin_ids)
    new_messages = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("stats", admin.stats, filters=admins & new_messages))
    app.add_handler(CommandHandler("reload", admin.reload, filters=admins & new_messages))
    app.add_handler(CommandHandler("hidden", choices.hidden_command, filters=admins & new_messages))
    app.add_handler(MessageHandler(filters.Document.ALL & admins & new_messages, admin.upload))
    # Same group, after the admin ones: everyone else's tries end here, unanswered.
    app.add_handler(CommandHandler(list(admin.ADMIN_COMMANDS), admin.ignore))
    commands = [
        ("start", h.start),
        ("help", h.help_command),
        ("random", h.random_command),
        ("today", h.today_command),
        ("search", h.search_command),
        ("settings", h.settings_command),
        ("time", h.time_command),
        ("timezone", h.timezone_command),
        ("subscribe", h.subscribe_command),
        ("unsubscribe", h.unsubscribe_command),
        ("stop", h.unsubscribe_command),
        ("favorites", choices.favorites_command),
        ("favourites", choices.favorites_command),
        ("export", choices.export_command),
        ("sources", choices.sources_command),
        ("days", choices.days_command),
        ("count", choices.count_command),
    ]
    # New messages only: an edited "/unsubscribe" must not run again as something else.
    for name, callback in commands:
        app.add_handler(CommandHandler(name, callback, filters=new_messages))
    app.add_handler(CallbackQueryHandler(h.button))
    app.add_handler(InlineQueryHandler(h.inline_query))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, h.chat_migrated))
    app.add_handler(ChatMemberHandler(h.membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.COMMAND & new_messages, h.unknown_command))
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & new_messages & (filters.TEXT | filters.Document.ALL),
            h.plain_text,
        )
    )
    app.add_error_handler(h.on_error)


async def start_bot(app: Application) -> None:  # type: ignore[type-arg]
    """Connect, register the command menu and channels, then poll or serve the webhook."""
    d = app.bot_data["deps"]
    assert isinstance(d, Deps)
    await app.initialize()
    # The menu Telegram shows when a person types "/".
    await app.bot.set_my_commands([BotCommand(name, text) for name, text in h.COMMANDS])
    await sync_channels(app.bot, d.store, d.settings, d.clock)
    await app.start()
    assert app.updater is not None
    settings = d.settings
    if settings.webhook_url is None:
        await app.updater.start_polling(allowed_updates=Update.ALL_TYPES, poll_interval=0.0)
        return
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    await app.updater.start_webhook(
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
        webhook_url=settings.webhook_url,
        secret_token=secret,
        allowed_updates=Update.ALL_TYPES,
    )


async def stop_bot(app: Application) -> None:  # type: ignore[type-arg]
    """Stop polling first, then let handlers and jobs in flight finish, then disconnect."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()


def daily_sender(bot: Bot, store: Store | None = None, admin_ids: Sequence[int] = ()) -> Send:
    """How the daily run sends: the same message as /today.

    With ``store``, the buttons show the chat's marks (a favorite coming back says
    "Kept"); ``admin_ids`` get "Hide for everyone" in their private chats.
    """

    async def send(chat_id: int, items: Sequence[StoredTakeaway], done: int = 0, /) -> None:
        await send_takeaways(
            bot,
            chat_id,
            items,
            store=store,
            admin=chat_id > 0 and chat_id in admin_ids,
            header=h.today_header(len(items)),
            skip_parts=done,
        )

    return send


async def delivery_tick(context: Context) -> None:
    d = deps(context)
    send = daily_sender(context.bot, d.store, d.settings.admin_ids)
    await deliver_due(d.store, send, d.clock, rng=d.rng)


async def load_collection(settings: Settings, store: Store) -> None:
    """Import ``TAKEAWAYS_PATH`` (idempotent); a database still empty gets the bundled sample.

    "Still empty" covers a fresh container, whose exports folder starts out empty: a new
    bot should never answer /random with nothing.
    """
    if settings.takeaways_path is not None:
        summary = await import_paths(store, [settings.takeaways_path])
        log.info(
            "imported TAKEAWAYS_PATH=%s: %s new, %s updated, %s unchanged, %s failed",
            settings.takeaways_path,
            summary.new,
            summary.updated,
            summary.unchanged,
            len(summary.failed),
        )
        for failure in summary.failed:
            log.warning("not imported: %s", failure)
    if (await store.stats()).takeaways == 0:
        summary = await import_paths(store, [SAMPLES])
        log.info("empty database: loaded the bundled sample: %s", summary.describe())


async def serve(settings: Settings) -> int:
    """``takeaways-bot run``: poll (or serve the webhook) until SIGTERM or SIGINT, then stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with await Store.open(settings.database_path) as store:
        await load_collection(settings, store)
        app = build_application(settings, store)
        try:
            await start_bot(app)
        except InvalidToken:
            log.error("Telegram refused BOT_TOKEN: check it with @BotFather (/mybots)")
            return 2
        except NetworkError as error:
            log.error("cannot reach the Bot API at %s: %s", settings.bot_api_url, error)
            await app.shutdown()
            return 1
        mode = "long polling" if settings.webhook_url is None else "webhook"
        log.info("@%s is running (%s); stop with Ctrl+C", app.bot.username, mode)
        await stop.wait()
        log.info("stopping")
        await stop_bot(app)
    log.info("stopped")
    return 0


class UpdateTracker:
    """Knows when the bot has finished with an update (console and tests wait on it).

    It is a handler in the last group: PTB runs groups in order and awaits each
    handler, so this one runs only after every reply to the update was sent.
    """

    GROUP = 1000

    def __init__(self, app: Application) -> None:  # type: ignore[type-arg]
        self.done: set[int] = set()
        self._changed = asyncio.Condition()
        app.add_handler(TypeHandler(Update, self._mark), group=self.GROUP)

    async def _mark(self, update: Update, context: Context) -> None:
        async with self._changed:
            self.done.add(update.update_id)
            self._changed.notify_all()

    async def wait(self, update_id: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: update_id in self.done)
