"""Settings from the environment and an optional ``.env`` file.

Every setting has a safe default except ``BOT_TOKEN``, which only ``run`` needs:
the data commands (import, search, ...) work without a bot at all.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_PATTERN = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_path: Path = Path("data/takeaways.db")
    takeaways_path: Path | None = None

    bot_token: SecretStr | None = None
    bot_api_url: str = "https://api.telegram.org"
    delivery_time: str = "09:00"
    timezone: str = "UTC"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"

    @field_validator("takeaways_path", mode="before")
    @classmethod
    def _empty_path_is_unset(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("delivery_time")
    @classmethod
    def _valid_time(cls, value: str) -> str:
        parse_hhmm(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin"
            ) from exc
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in re.split(r"[,\s]+", value.strip()) if part]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("log_level")
    @classmethod
    def _valid_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @property
    def api_base_url(self) -> str:
        return self.bot_api_url.rstrip("/") + "/bot"

    @property
    def api_base_file_url(self) -> str:
        return self.bot_api_url.rstrip("/") + "/file/bot"


def parse_hhmm(value: str) -> time:
    """``"7:30"``/``"07:30"`` -> ``time(7, 30)``; ValueError with a hint otherwise."""
    match = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})\s*", value)
    if not match:
        raise ValueError(f"{value!r} is not a time; use HH:MM, for example 07:30")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(f"{value!r} is not a time of day; use HH:MM between 00:00 and 23:59")
    return time(hour, minute)
