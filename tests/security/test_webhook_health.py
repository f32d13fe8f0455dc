"""``takeaways-bot health`` in webhook mode: unhealthy when updates stop flowing.

A webhook bot hears from Telegram only when someone writes, so "the server is up" was
taken as healthy, even while Telegram could not reach it and updates piled up. The
heartbeat now asks getWebhookInfo and counts the updates handled.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from telegram import Update

from bot.clock import ManualClock
from bot.ops import check_health
from bot.settings import Settings
from bot.standin import BotAPIStandin
from bot.store import Store
from bot.telegram.app import build_application, start_bot, stop_bot
from bot.telegram.fairness import FairUpdateProcessor
from bot.telegram.heartbeat import STUCK, WebhookWatch, heartbeat_job

SECRET = secrets.token_hex(32)
PERSON = 63_001
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


class _Context:
    def __init__(self, app: Any) -> None:
        self.application = app
        self.bot = app.bot
        self.bot_data = app.bot_data


@pytest.fixture
async def webhook_bot(
    standin: BotAPIStandin,
    store: Store,
    clock: ManualClock,
    settings: Settings,
    unused_tcp_port: int,
) -> AsyncIterator[tuple[Any, Settings, int]]:
    webhook = settings.model_copy(
        update={
            "webhook_url": "https://bot.example.com/hook",
            "webhook_listen": "127.0.0.1",
            "webhook_port": unused_tcp_port,
            "webhook_secret": SecretStr(SECRET),
        }
    )
    app = build_application(webhook, store, clock=clock, rate_limit=False, jobs=False)
    await start_bot(app)
    try:
        yield app, webhook, unused_tcp_port
    finally:
        await stop_bot(app)


async def test_health_fails_while_updates_wait_at_telegram_and_recovers(
    webhook_bot: tuple[Any, Settings, int], standin: BotAPIStandin, clock: ManualClock
) -> None:
    app, settings, port = webhook_bot
    context = _Context(app)
    database = settings.database_path
    clock.set(T0)
    await heartbeat_job(context)  # type: ignore[arg-type]
    assert check_health(database, clock()) is None
    # People write; Telegram cannot deliver (proxy down, say): its queue grows.
    for text in ("/start", "/random", "/help"):
        standin.user_sends(PERSON, text)
    clock.advance(seconds=30)
    await heartbeat_job(context)  # type: ignore[arg-type]
    assert check_health(database, clock()) is None  # not yet: deliveries may be retried
    clock.advance(seconds=STUCK.total_seconds())
    await heartbeat_job(context)  # type: ignore[arg-type]
    problem = check_health(database, clock())
    assert problem is not None and "Telegram holds 3 updates" in problem, problem
    # Delivery resumes: the updates arrive and are handled; healthy at the next beat.
    async with httpx.AsyncClient() as client:
        for update in standin.take_updates():
            answer = await client.post(
                f"http://127.0.0.1:{port}/hook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
            assert answer.status_code == 200
    await standin.wait_for_messages(PERSON, 3)
    clock.advance(seconds=10)
    await heartbeat_job(context)  # type: ignore[arg-type]
    assert check_health(database, clock()) is None


def test_updates_that_arrive_but_are_never_handled_are_unhealthy() -> None:
    watch = WebhookWatch()
    assert watch.check(T0, received=0, pending=0, last_error=None) is None
    # Five arrived, none handled (every handler slot stuck), for longer than STUCK.
    assert watch.check(T0 + timedelta(seconds=10), received=5, pending=0, last_error=None) is None
    later = T0 + timedelta(seconds=10) + STUCK + timedelta(seconds=1)
    problem = watch.check(later, received=5, pending=0, last_error=None)
    assert problem is not None and "5 updates arrived but none was handled" in problem
    for _ in range(5):
        watch.note_handled()
    assert (
        watch.check(later + timedelta(seconds=10), received=5, pending=0, last_error=None) is None
    )


def test_telegrams_last_error_is_part_of_the_reason() -> None:
    watch = WebhookWatch()
    watch.check(T0, received=0, pending=4, last_error=None)
    problem = watch.check(T0 + STUCK * 2, received=0, pending=9, last_error="Connection refused")
    assert problem is not None
    assert "Telegram holds 9 updates" in problem and "Connection refused" in problem


async def test_an_update_dropped_from_a_full_line_counts_as_done(
    webhook_bot: tuple[Any, Settings, int],
) -> None:
    """A drop is the processor finishing with an update: without counting it, one full
    line would leave "arrived" above "handled" for good, and health would cry "stuck"
    at the next quiet minute."""
    app, _, _ = webhook_bot
    watch = app.bot_data["webhook-watch"]
    assert isinstance(watch, WebhookWatch)
    assert isinstance(app.update_processor, FairUpdateProcessor)
    before = watch.handled
    for listener in app.update_processor.on_drop:
        await listener(Update(update_id=1))
    assert watch.handled == before + 1
