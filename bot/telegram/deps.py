"""What the handlers need, kept in ``application.bot_data`` under one typed key."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from telegram.ext import ContextTypes

from bot.clock import Clock
from bot.settings import Settings
from bot.store import Store


class Pulse:
    """When the bot last heard from Telegram (a successful long poll), and what went
    wrong since; see heartbeat.py. ``sleep`` waits between retries (tests shorten it)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.last_ok: datetime | None = None
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.down_since: datetime | None = None
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def beat(self) -> timedelta | None:
        """A successful answer; returns how long Telegram was out of reach, if it was."""
        self.last_ok = now = self.clock()
        if self.down_since is None:
            return None
        outage, self.down_since = now - self.down_since, None
        return outage

    def failed(self, reason: str) -> None:
        self.last_error_at = now = self.clock()
        self.last_error = reason
        if self.down_since is None:
            self.down_since = now


@dataclass(slots=True)
class Deps:
    settings: Settings
    store: Store
    clock: Clock
    rng: random.Random = field(default_factory=random.Random)
    pulse: Pulse = field(init=False)

    def __post_init__(self) -> None:
        self.pulse = Pulse(self.clock)


_KEY = "deps"
Context = ContextTypes.DEFAULT_TYPE


def deps(context: Context) -> Deps:
    value: Any = context.bot_data[_KEY]
    assert isinstance(value, Deps)
    return value


def install(bot_data: dict[Any, Any], value: Deps) -> None:
    bot_data[_KEY] = value
