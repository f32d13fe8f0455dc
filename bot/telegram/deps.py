"""What the handlers need, kept in ``application.bot_data`` under one typed key."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import ContextTypes

from bot.clock import Clock
from bot.settings import Settings
from bot.store import Store


@dataclass(slots=True)
class Deps:
    settings: Settings
    store: Store
    clock: Clock
    rng: random.Random = field(default_factory=random.Random)


_KEY = "deps"
Context = ContextTypes.DEFAULT_TYPE


def deps(context: Context) -> Deps:
    value: Any = context.bot_data[_KEY]
    assert isinstance(value, Deps)
    return value


def install(bot_data: dict[Any, Any], value: Deps) -> None:
    bot_data[_KEY] = value
