"""The running bot's sign of life, for ``takeaways-bot health``, and its link to Telegram.

A bot is healthy when it is actually talking to Telegram, not merely when its process
exists: the long-poll request records each successful answer, and a job copies the
latest one into the database every 10 seconds.

In webhook mode Telegram calls us, so silence proves nothing: a quiet bot gets no
updates. The sign there is that nothing is stuck (``WebhookWatch``): Telegram's
``getWebhookInfo`` shows no updates waiting, or they keep arriving; and the updates that
arrived keep being handled. When either stops, the heartbeat stops and the reason is
recorded, which ``takeaways-bot health`` prints at once.

When Telegram cannot be reached, the long poll retries by itself with growing pauses
and logs one line per failed try (the reason and when it tries next), then one line
when Telegram answers again. PTB's own retry loop would log a full traceback for each
try instead, so the request answers it only once Telegram has answered. The same job
writes what the bot knows (last successful call, last error, since when it fails) next
to the heartbeat, so ``health`` can tell "Telegram is out of reach" from "the bot is
stuck or down".
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

import aiosqlite
from telegram import Update
from telegram.error import Conflict, NetworkError, TelegramError
from telegram.ext import Application, TypeHandler
from telegram.request import BaseRequest, RequestData

from bot.ops import TELEGRAM_KEY, describe_duration, write_heartbeat, write_problem
from bot.store import Store
from bot.telegram.deps import Context, Pulse, deps
from bot.telegram.fairness import FairUpdateProcessor
from bot.telegram.webhook import WebhookServer

log = logging.getLogger(__name__)

INTERVAL = timedelta(seconds=10)
# A long poll answers within its 10 s timeout; three intervals of silence mean trouble.
SILENCE = timedelta(seconds=30)
# Pauses between failed long polls: 1, 2, 4 ... seconds, then every 30 s while it lasts.
FIRST_RETRY = 1.0
LONGEST_RETRY = 30.0
# What PTB's final getUpdates at shutdown gets when Telegram is out of reach: "no updates".
_NO_UPDATES = b'{"ok":true,"result":[]}'


class PollingRequest(BaseRequest):
    """The getUpdates request (either transport), noting every answer and retrying failures."""

    def __init__(self, pulse: Pulse, request: BaseRequest) -> None:
        self.pulse = pulse
        self.request = request

    @property
    def read_timeout(self) -> float | None:
        return self.request.read_timeout

    async def initialize(self) -> None:
        await self.request.initialize()

    async def shutdown(self) -> None:
        await self.request.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        delay = FIRST_RETRY
        while True:
            try:
                code, payload = await self.request.do_request(
                    url, method, request_data, *args, **kwargs
                )
            except NetworkError as error:  # TimedOut included
                reason = str(error) or type(error).__name__
            else:
                if code < 500:
                    if 200 <= code < 300:
                        self._answered()
                    return code, payload
                reason = _http_reason(code, payload)
            self.pulse.failed(reason)
            if not _is_long_poll(request_data):
                # PTB's last getUpdates at shutdown (timeout 0), which it does not retry.
                log.warning(
                    "could not confirm the last updates to Telegram (%s); they may come "
                    "again at the next start",
                    reason,
                )
                return 200, _NO_UPDATES
            log.warning(
                "Telegram unreachable (%s); next try in %s",
                reason,
                describe_duration(timedelta(seconds=delay)),
            )
            await self.pulse.sleep(delay)
            delay = min(delay * 2, LONGEST_RETRY)

    def _answered(self) -> None:
        outage = self.pulse.beat()
        if outage is not None:
            log.info("Telegram reachable again after %s", describe_duration(outage))


def _is_long_poll(request_data: RequestData | None) -> bool:
    params = request_data.parameters if request_data is not None else {}
    return bool(params.get("timeout"))


def _http_reason(code: int, payload: bytes) -> str:
    """``HTTP 502 Bad Gateway``, with Telegram's own description when it gave one."""
    try:
        description = json.loads(payload).get("description")
    except (ValueError, AttributeError):
        description = None
    if not isinstance(description, str) or not description:
        try:
            description = HTTPStatus(code).phrase
        except ValueError:
            description = ""
    return f"HTTP {code} {description}".strip()


def polling_error(error: TelegramError) -> None:
    """What PTB's polling loop still sees (Telegram answered, but with an error): one
    line each, no traceback; PTB retries after a pause."""
    if isinstance(error, Conflict):
        log.error(
            "Telegram refused getUpdates: %s (is a second copy of this bot running with "
            "the same BOT_TOKEN, or a webhook set?)",
            error,
        )
    else:
        log.error("getUpdates failed: %s", error)


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
    async with d.store.transaction():
        if alive:
            await write_heartbeat(d.store.db, now)
        await write_status(d.store.db, now, "running", d.pulse)


async def write_status(
    db: aiosqlite.Connection, now: datetime, state: str, pulse: Pulse | None = None
) -> None:
    """Record the link to Telegram as the bot sees it, for ``health`` and ``restore``."""
    status: dict[str, object] = {"state": state, "written_at": now.isoformat()}
    if pulse is not None:
        status |= {
            "last_ok": _iso(pulse.last_ok),
            "last_error": pulse.last_error,
            "last_error_at": _iso(pulse.last_error_at),
            "down_since": _iso(pulse.down_since),
        }
    await db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (TELEGRAM_KEY, json.dumps(status)),
    )


async def mark_state(store: Store, now: datetime, state: str) -> None:
    """``starting`` when ``run`` begins, ``stopped`` after a clean stop."""
    async with store.transaction():
        await write_status(store.db, now, state)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


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

    async def dropped(update: object) -> None:  # its chat's line was full: done with too
        watch.note_handled()

    app.add_handler(TypeHandler(Update, handled), group=HANDLED_GROUP)
    if isinstance(app.update_processor, FairUpdateProcessor):
        app.update_processor.on_drop.append(dropped)
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
