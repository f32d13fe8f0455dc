"""Readwise sync in the bot: the periodic job, /sync for admins, and the line in /stats."""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from telegram import Bot
from telegram.error import TelegramError

from bot.store import Store
from bot.sync import ReadwiseSync, SyncSummary, last_summary

log = logging.getLogger(__name__)

_KEY = "readwise"


def install(bot_data: dict[Any, Any], service: ReadwiseSync) -> None:
    bot_data[_KEY] = service


def service_of(bot_data: dict[Any, Any]) -> ReadwiseSync | None:
    value = bot_data.get(_KEY)
    return value if isinstance(value, ReadwiseSync) else None


async def scheduled_sync(bot: Bot, service: ReadwiseSync, admin_ids: Sequence[int]) -> None:
    """What the job does at start and every interval: sync, or report a bad token once.

    Never raises for Readwise's sake. A token Readwise does not accept, or a Readwise
    that cannot be reached for the token check, is one log line and one message to each
    admin, then quiet retries at every interval; a sync that fails half-way is logged
    by the run and simply goes again next time.
    """
    summary, problem = await service.attempt()
    if summary is not None:
        if not summary.token_refused:
            # A sync that failed half-way was logged by the run and starts again from the
            # same point next time: nothing for the admins to do.
            if summary.ok:
                service.reported = None
            return
        problem = summary.error or "Readwise refused READWISE_TOKEN"
    if problem is None:
        log.info("Readwise sync still running; skipping this turn")
        return
    if not service.first_report(problem):
        log.debug("Readwise sync still failing: %s", problem)
        return
    log.error("Readwise sync is off until this is fixed: %s", problem)
    text = f"⚠️ {html.escape(problem)}\nThe bot keeps trying at every sync interval."
    for admin_id in admin_ids:
        try:
            await bot.send_message(admin_id, text)
        except TelegramError as error:
            log.warning("could not tell admin %s about Readwise: %s", admin_id, error)


async def sync_reply(service: ReadwiseSync | None) -> str:
    """/sync's answer (HTML): run one sync now and say what it did."""
    if service is None:
        return "Readwise sync is off: set READWISE_TOKEN to turn it on."
    if service.running:
        return "A Readwise sync is running right now; /stats shows what it brought."
    summary, problem = await service.attempt()
    if summary is None:
        if problem is None:
            return "A Readwise sync is running right now; /stats shows what it brought."
        return f"Readwise sync did not start: {html.escape(problem)}"
    return f"<pre>{html.escape(summary.describe())}</pre>"


async def stats_line(store: Store, service: ReadwiseSync | None) -> str:
    """One line for /stats: when the last sync ran and what it brought."""
    summary = await last_summary(store)
    if service is None and summary is None:
        return "Readwise sync: off (READWISE_TOKEN not set)"
    if summary is None:
        return "Readwise sync: not run yet"
    return "Readwise sync: " + html.escape(_describe_last(summary))


def _describe_last(summary: SyncSummary) -> str:
    when = summary.finished_at or summary.started_at
    with contextlib.suppress(ValueError):
        when = datetime.fromisoformat(when).strftime("%Y-%m-%d %H:%M UTC")
    if summary.ok:
        return f"last ran {when}: {summary.counts()}"
    return f"last ran {when} and failed ({summary.error}); before failing: {summary.counts()}"
