"""What the handlers need, kept in ``application.bot_data`` under one typed key."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram.ext import ContextTypes

from bot.clock import Clock
from bot.settings import Settings
from bot.store import Store


class Pulse:
    """When the bot last heard from Telegram (a successful long poll); see heartbeat.py."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.last_ok: datetime | None = None

    def beat(self) -> None:
        self.last_ok = self.clock()


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
