"""The running bot's sign of life, for ``takeaways-bot health``.

A bot is healthy when it is actually talking to Telegram, not merely when its process
exists: the long-poll request records each successful answer, and a job copies the
latest one into the database every 10 seconds.

In webhook mode Telegram calls us, so silence proves nothing: a quiet bot gets no
updates. The sign there is that nothing is stuck (``WebhookWatch``): Telegram's
``getWebhookInfo`` shows no updates waiting, or they keep arriving; and the updates that
arrived keep being handled. When either stops, the heartbeat stops and the reason is
recorded, which ``takeaways-bot health`` prints at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, TypeHandler
from telegram.request import HTTPXRequest

from bot.ops import write_heartbeat, write_problem
from bot.telegram.deps import Context, Pulse, deps
from bot.telegram.webhook import WebhookServer

log = logging.getLogger(__name__)

INTERVAL = timedelta(seconds=10)
# A long poll answers within its 10 s timeout; three intervals of silence mean trouble.
SILENCE = timedelta(seconds=30)


class PollingRequest(HTTPXRequest):
    """PTB's own HTTP request for getUpdates, noting every successful answer."""

    def __init__(self, pulse: Pulse, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pulse = pulse

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await super().do_request(*args, **kwargs)
        if 200 <= code < 300:
            self.pulse.beat()
        return code, payload


async def heartbeat_job(context: Context) -> None:
    """Write the heartbeat if the bot heard from Telegram since the last beat."""
    d = deps(context)
    if d.settings.webhook_url is not None:
        await webhook_heartbeat(context)
        return
    updater = context.application.updater
    if updater is None or not updater.running:
        return
    now = d.clock()
    alive = d.pulse.last_ok is not None and now - d.pulse.last_ok <= SILENCE
    if alive:
        async with d.store.transaction():
            await write_heartbeat(d.store.db, now)


# --- webhook mode -----------------------------------------------------------------------

# Updates waiting at Telegram with none arriving, or arrived with none handled, this long.
STUCK = timedelta(seconds=60)
HANDLED_GROUP = 1001  # after every other group (flood.py's epilogue included)
_WATCH = "webhook-watch"


@dataclass(slots=True)
class WebhookWatch:
    """Whether webhook updates still flow: Telegram -> our server -> a handler."""

    handled: int = 0
    _received: int = 0
    _handled: int = 0
    _arriving: datetime | None = None  # last time nothing waited at Telegram, or one came
    _finishing: datetime | None = None  # last time nothing was left unhandled, or one was

    def note_handled(self) -> None:
        self.handled += 1

    def check(
        self, now: datetime, received: int, pending: int, last_error: str | None
    ) -> str | None:
        """None while updates flow; otherwise why not, in one line."""
        if self._arriving is None or pending == 0 or received > self._received:
            self._arriving = now
        if self._finishing is None or self.handled >= received or self.handled > self._handled:
            self._finishing = now
        self._received, self._handled = received, self.handled
        waiting = now - self._arriving
        if waiting > STUCK:
            because = f" (Telegram's last error: {last_error})" if last_error else ""
            return (
                f"unhealthy webhook: Telegram holds {pending} updates for the bot and none "
                f"reached it for {waiting.total_seconds():.0f} s{because}; check the proxy "
                "and WEBHOOK_URL"
            )
        stalled = now - self._finishing
        if stalled > STUCK:
            return (
                f"unhealthy webhook: {received - self.handled} updates arrived but none was "
                f"handled for {stalled.total_seconds():.0f} s: the bot is stuck"
            )
        return None


def install_webhook_watch(app: Application) -> WebhookWatch:  # type: ignore[type-arg]
    """Count every update the handlers are done with (the last handler group)."""
    watch = WebhookWatch()

    async def handled(update: object, context: Context) -> None:
        watch.note_handled()

    app.add_handler(TypeHandler(Update, handled), group=HANDLED_GROUP)
    app.bot_data[_WATCH] = watch
    return watch


async def webhook_heartbeat(context: Context) -> None:
    """The heartbeat while the webhook server runs and updates flow; else the reason."""
    d = deps(context)
    server = WebhookServer.of(context.application)
    watch = context.application.bot_data.get(_WATCH)
    if server is None or not server.running or not isinstance(watch, WebhookWatch):
        return
    try:
        info = await context.bot.get_webhook_info()
    except TelegramError as error:
        log.warning("cannot ask Telegram about the webhook: %s", error)
        return  # no beat: a Telegram we cannot reach makes the heartbeat go stale
    problem = watch.check(
        d.clock(), server.stats.received, info.pending_update_count, info.last_error_message
    )
    async with d.store.transaction():
        if problem is None:
            await write_heartbeat(d.store.db, d.clock())
        else:
            await write_problem(d.store.db, problem)
    if problem is not None:
        log.warning("%s", problem)
