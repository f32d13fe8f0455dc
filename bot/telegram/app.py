"""Wiring: the PTB ``Application`` with our handlers, the delivery job and the start-up work."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
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

from bot import __version__
from bot.clock import Clock, system_clock
from bot.delivery.daily import Send, deliver_due
from bot.importer import import_paths
from bot.ops import describe_duration
from bot.settings import Settings
from bot.sources import iter_source_files
from bot.sources.model import ParseError
from bot.store import Store, StoredTakeaway
from bot.store.chats import from_unix
from bot.store.migrations import user_version
from bot.sync import ReadwiseSync
from bot.telegram import admin, choices, flood, readwise
from bot.telegram import handlers as h
from bot.telegram.channels import sync_channels
from bot.telegram.deps import Context, Deps, deps, install
from bot.telegram.fairness import FairUpdateProcessor
from bot.telegram.heartbeat import INTERVAL as HEARTBEAT_INTERVAL
from bot.telegram.heartbeat import (
    PollingRequest,
    heartbeat_job,
    install_webhook_watch,
    mark_state,
    polling_error,
)
from bot.telegram.marking import MarkingRateLimiter
from bot.telegram.review import send_takeaways
from bot.telegram.transport import build_request
from bot.telegram.webhook import TELEGRAM_CONNECTIONS, WebhookServer

log = logging.getLogger(__name__)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DELIVERY_INTERVAL = timedelta(seconds=20)
# Python's cycle collector runs after every 700 new objects by default, and now and then
# walks everything in memory. Each update and each send builds a few hundred PTB objects,
# so a burst of commands ran it every few updates: 5-10 % of the bot's CPU time.
GC_THRESHOLDS = (10_000, 20, 20)


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
        # Per-chat lines; a chat waiting on its own Telegram limit holds no shared place.
        .concurrent_updates(FairUpdateProcessor(exempt=settings.admin_ids))
        .request(build_request(settings.http_transport))
        .get_updates_request(
            PollingRequest(deps_.pulse, build_request(settings.http_transport, read_timeout=30.0))
        )
    )
    if rate_limit:
        # Retries 429s (AIORateLimiter's default of 0 would surface every one as an
        # error) and marks each delivery request in the ledger before it leaves. (PTB's
        # builder typing cannot express adding a limiter after the fact.)
        builder = builder.rate_limiter(MarkingRateLimiter(max_retries=3))  # type: ignore[arg-type]
    if not jobs:
        builder = builder.job_queue(None)  # type: ignore[arg-type]
    if settings.webhook_url is not None:
        # Our own webhook server feeds update_queue (bot/telegram/webhook.py).
        builder = builder.updater(None)
    app = builder.build()
    install(app.bot_data, deps_)
    if settings.readwise_token is not None:
        readwise.install(app.bot_data, ReadwiseSync(settings, store, clock))
    add_handlers(app, settings.admin_ids)
    if settings.webhook_url is not None:
        install_webhook_watch(app)
    if flood_guard:
        flood.install(app, exempt=settings.admin_ids, epilogue_group=UpdateTracker.GROUP)
    if jobs and app.job_queue is not None:
        app.job_queue.run_repeating(
            delivery_tick, interval=DELIVERY_INTERVAL, first=1, name="daily-delivery"
        )
        app.job_queue.run_repeating(
            heartbeat_job, interval=HEARTBEAT_INTERVAL, first=2, name="heartbeat"
        )
        if settings.readwise_token is not None:
            app.job_queue.run_repeating(
                readwise_tick,
                interval=timedelta(seconds=settings.readwise_sync_interval),
                first=3,
                name="readwise-sync",
            )
    return app


def add_handlers(app: Application, admin_ids: list[int]) -> None:  # type: ignore[type-arg]
    admins = filters.User(user_id=admin_ids)
    new_messages = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("stats", admin.stats, filters=admins & new_messages))
    app.add_handler(CommandHandler("reload", admin.reload, filters=admins & new_messages))
    app.add_handler(CommandHandler("hidden", choices.hidden_command, filters=admins & new_messages))
    app.add_handler(CommandHandler("sync", admin.sync, filters=admins & new_messages))
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
    settings = d.settings
    if settings.webhook_url is None:
        assert app.updater is not None
        await app.updater.start_polling(
            allowed_updates=Update.ALL_TYPES, poll_interval=0.0, error_callback=polling_error
        )
        return
    await start_webhook(app, settings)


async def start_webhook(app: Application, settings: Settings) -> None:  # type: ignore[type-arg]
    """Serve first, then tell Telegram where: no update is posted to a closed port."""
    if settings.webhook_url is None or settings.webhook_secret is None:
        raise ValueError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
    secret = settings.webhook_secret.get_secret_value()
    server = WebhookServer(
        app,
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        path=urlsplit(settings.webhook_url).path,
        secret=secret,
    ).attach()
    await server.start()
    await app.bot.set_webhook(
        settings.webhook_url,
        secret_token=secret,
        allowed_updates=Update.ALL_TYPES,
        max_connections=TELEGRAM_CONNECTIONS,
    )


def settle_memory() -> None:
    """Once started: collect start-up's garbage, then exempt what is left (modules,
    classes, the application: it lives as long as the process) from every later
    collection, and collect less often. Cyclic garbage waits for at most 10,000 new
    objects instead of 700; memory is otherwise unchanged."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def stop_bot(app: Application) -> None:  # type: ignore[type-arg]
    """Stop polling first, then let handlers and jobs in flight finish, then disconnect."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    server = WebhookServer.of(app)
    if server is not None:
        await server.stop()
    if isinstance(app.update_processor, FairUpdateProcessor):
        app.update_processor.drain()  # lines waiting on a group's minute limit
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


async def readwise_tick(context: Context) -> None:
    service = readwise.service_of(context.bot_data)
    if service is not None:
        await readwise.scheduled_sync(context.bot, service, deps(context).settings.admin_ids)


async def load_collection(settings: Settings, store: Store) -> None:
    """Import ``TAKEAWAYS_PATH`` (idempotent); a database still empty gets the bundled sample.

    "Still empty" covers a fresh container, whose exports folder starts out empty: a new
    bot should never answer /random with nothing.
    """
    if settings.takeaways_path is not None and not has_exports(settings.takeaways_path):
        # A new install's exports folder is empty: normal, the sample below is for that.
        log.info("TAKEAWAYS_PATH=%s has no export files yet", settings.takeaways_path)
    elif settings.takeaways_path is not None:
        summary = await import_paths(store, [settings.takeaways_path])
        log.info(
            "imported TAKEAWAYS_PATH=%s: %s files, %s parsed: %s new, %s updated, %s unchanged, "
            "%s merged, %s skipped; %s failed",
            settings.takeaways_path,
            summary.files,
            summary.parsed,
            summary.new,
            summary.updated,
            summary.unchanged,
            sum(summary.merged.values()),
            sum(summary.skipped.values()),
            summary.failed_files,
        )
        for failure in summary.failed:
            log.warning("not imported: %s%s", failure, unreadable_hint(failure))
    if (await store.stats()).takeaways == 0:
        summary = await import_paths(store, [SAMPLES])
        log.info(
            "empty database: loaded the bundled sample (%s new); add your exports to "
            "TAKEAWAYS_PATH and restart to import them",
            summary.new,
        )


def has_exports(path: Path) -> bool:
    """Whether ``path`` is a folder holding at least one export file (or anything else:
    a missing path or a single file is left to the importer, which reports problems)."""
    if not path.is_dir():
        return True
    try:
        return next(iter_source_files([path]), None) is not None
    except ParseError:
        return True


def unreadable_hint(failure: str) -> str:
    """What to do about an export the bot's user may not read (in the image, uid 10001
    reading files copied in as root with mode 0600)."""
    if "Permission denied" not in failure:
        return ""
    return (
        f" (the bot runs as uid {os.getuid()} and cannot read it: make the exports "
        "readable, e.g. `chmod -R a+rX` on the folder)"
    )


async def log_start(settings: Settings, store: Store) -> None:
    """One line each: what runs, on which database, with how much in it."""
    log.info(
        "takeaways-bot %s starting: database %s (schema %d), mode %s",
        __version__,
        settings.database_path,
        await user_version(store.db),
        "long polling" if settings.webhook_url is None else f"webhook {settings.webhook_url}",
    )


async def log_collection(store: Store) -> None:
    stats = await store.stats()
    log.info(
        "collection: %d takeaways from %d source%s",
        stats.takeaways,
        stats.sources,
        "" if stats.sources == 1 else "s",
    )


async def log_next_delivery(store: Store, clock: Clock) -> None:
    async with store.db.execute(
        "SELECT MIN(next_due), COUNT(*) FROM chats WHERE subscribed = 1 AND next_due IS NOT NULL"
    ) as cursor:
        row = await cursor.fetchone()
    if row is None or row[0] is None:
        log.info("next delivery: none scheduled yet (no chat has subscribed; /start does)")
        return
    due = max(from_unix(int(row[0])), clock())
    log.info(
        "next delivery: %s UTC (in %s; %d subscribed chats)",
        f"{due:%Y-%m-%d %H:%M}",
        describe_duration(due - clock()),
        int(row[1]),
    )


async def serve(settings: Settings) -> int:
    """``takeaways-bot run``: poll (or serve the webhook) until SIGTERM or SIGINT, then stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with await Store.open(settings.database_path) as store:
        await log_start(settings, store)
        await mark_state(store, system_clock(), "starting")
        await load_collection(settings, store)
        await log_collection(store)
        app = build_application(settings, store)
        try:
            await start_bot(app)
        except InvalidToken:
            log.error("Telegram refused BOT_TOKEN: check it with @BotFather (/mybots)")
            return 2
        except NetworkError as error:
            log.error("cannot reach the Bot API at %s: %s", settings.bot_api_url, error)
            await stop_bot(app)  # it may have started (and serve a webhook) before failing
            return 1
        mode = "long polling" if settings.webhook_url is None else "webhook"
        # In a container nobody can press Ctrl+C: say it only at a terminal.
        hint = "; stop with Ctrl+C" if sys.stdin.isatty() else ""
        log.info("@%s is running (%s)%s", app.bot.username, mode, hint)
        settle_memory()
        await log_next_delivery(store, system_clock)
        await stop.wait()
        log.info("stopping")
        await stop_bot(app)
        await mark_state(store, system_clock(), "stopped")
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
        if isinstance(app.update_processor, FairUpdateProcessor):
            app.update_processor.on_drop.append(self._dropped)

    async def _dropped(self, update: object) -> None:
        """An update dropped unrun (its chat's line was full) is done with too."""
        if isinstance(update, Update):
            async with self._changed:
                self.done.add(update.update_id)
                self._changed.notify_all()

    async def _mark(self, update: Update, context: Context) -> None:
        async with self._changed:
            self.done.add(update.update_id)
            self._changed.notify_all()

    async def wait(self, update_id: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: update_id in self.done)
