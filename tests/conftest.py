"""The real bot against the project's Bot API stand-in, a real SQLite file and a manual clock.

``bot`` gives a running python-telegram-bot application (long polling over HTTP on
127.0.0.1) whose "now" is ``clock``; tests play people through ``bot.send``/``bot.press``
and run the daily delivery with ``bot.deliver()`` as the periodic job would.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.clock import ManualClock
from bot.delivery.daily import RunReport, deliver_due
from bot.importer import import_paths
from bot.settings import Settings
from bot.standin import BotAPIStandin, SentMessage
from bot.store import Store
from bot.telegram.app import (
    UpdateTracker,
    build_application,
    daily_sender,
    start_bot,
    stop_bot,
)

SAMPLES = Path(__file__).resolve().parents[1] / "bot" / "samples"
# A Monday morning, well away from any DST change in Europe or America.
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


class BotHarness:
    """One running bot plus the helpers tests use to act as people and as time."""

    def __init__(
        self, standin: BotAPIStandin, store: Store, clock: ManualClock, settings: Settings
    ) -> None:
        self.standin = standin
        self.store = store
        self.clock = clock
        self.settings = settings
        self.rng = random.Random(7)
        self.app: Any = None
        self.tracker: UpdateTracker | None = None

    async def start(self, **options: Any) -> None:
        self.app = build_application(
            self.settings,
            self.store,
            clock=self.clock,
            rate_limit=options.get("rate_limit", False),
            jobs=False,
        )
        self.tracker = UpdateTracker(self.app)
        await start_bot(self.app)

    async def stop(self) -> None:
        if self.app is not None:
            await stop_bot(self.app)
            self.app = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def _new_since(self, chat_id: int, before: int) -> list[SentMessage]:
        return [m for m in self.standin.sent if m.chat_id == chat_id][before:]

    async def _settle(self, chat_id: int) -> list[SentMessage]:
        before = len([m for m in self.standin.sent if m.chat_id == chat_id])
        update_id = int(self.standin.pending_updates[-1]["update_id"])
        assert self.tracker is not None
        await self.tracker.wait(update_id)
        return self._new_since(chat_id, before)

    async def send(
        self, chat_id: int, text: str, *, user_id: int | None = None
    ) -> list[SentMessage]:
        """A person sends ``text``; the bot's new messages in that chat once it is done."""
        self.standin.user_sends(chat_id, text, user_id=user_id)
        return await self._settle(chat_id)

    async def press(
        self,
        chat_id: int,
        message: SentMessage,
        data: str,
        *,
        user_id: int | None = None,
        forged: bool = False,
    ) -> list[SentMessage]:
        self.standin.user_presses(chat_id, message.message_id, data, user_id=user_id, forged=forged)
        return await self._settle(chat_id)

    async def reply_text(self, chat_id: int, text: str, **kw: Any) -> str:
        """The text of the bot's (single) reply."""
        messages = await self.send(chat_id, text, **kw)
        assert messages, f"no reply to {text!r}"
        return "\n".join(m.text for m in messages)

    async def deliver(self, **kw: Any) -> RunReport:
        """One tick of the daily job at the clock's current time."""
        return await deliver_due(
            self.store,
            daily_sender(self.app.bot, self.store, self.settings.admin_ids),
            self.clock,
            rng=self.rng,
            **kw,
        )

    def received(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.standin.sent if m.chat_id == chat_id]

    def dailies(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.received(chat_id) if m.text.startswith("☀️ Today's takeaway")]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def standin() -> AsyncIterator[BotAPIStandin]:
    async with BotAPIStandin() as server:
        yield server


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "takeaways.db") as opened:
        summary = await import_paths(opened, [SAMPLES])
        assert summary.new == 16
        yield opened


@pytest.fixture
def settings(standin: BotAPIStandin, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=SecretStr(standin.token),
        bot_api_url=standin.url,
        database_path=tmp_path / "takeaways.db",
        delivery_time="09:00",
        timezone="UTC",
    )


@pytest.fixture
async def bot(
    standin: BotAPIStandin, store: Store, clock: ManualClock, settings: Settings
) -> AsyncIterator[BotHarness]:
    harness = BotHarness(standin, store, clock, settings)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
        assert not standin.internal_errors


@pytest.fixture
async def make_bot(
    standin: BotAPIStandin, store: Store, clock: ManualClock, settings: Settings
) -> AsyncIterator[Callable[..., Awaitable[BotHarness]]]:
    """A bot with some settings changed: ``await make_bot(admin_ids=[1])``."""
    started: list[BotHarness] = []

    async def make(**overrides: Any) -> BotHarness:
        harness = BotHarness(standin, store, clock, settings.model_copy(update=overrides))
        await harness.start()
        started.append(harness)
        return harness

    try:
        yield make
    finally:
        for harness in started:
            await harness.stop()
        assert not standin.internal_errors
