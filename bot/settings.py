"""Settings from the environment and an optional ``.env`` file.

Every setting has a safe default except ``BOT_TOKEN``, which only ``run`` needs:
the data commands (import, search, ...) work without a bot at all.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_PATTERN = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_path: Path = Path("data/takeaways.db")
    takeaways_path: Path | None = None

    bot_token: SecretStr | None = None
    bot_api_url: str = "https://api.telegram.org"
    delivery_time: str = "09:00"
    timezone: str = "UTC"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    channel_ids: Annotated[list[int | str], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # aiohttp costs a thirteenth of httpx's CPU per request (docs/performance.md); httpx is
    # python-telegram-bot's own, kept selectable.
    http_transport: Literal["aiohttp", "httpx"] = "aiohttp"

    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_secret: SecretStr | None = None

    @field_validator("takeaways_path", "webhook_url", "webhook_secret", "bot_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("webhook_url")
    @classmethod
    def _https_webhook(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must be a public https:// URL (Telegram only calls https)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _valid_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not SECRET_PATTERN.fullmatch(value.get_secret_value()):
            raise ValueError(
                "use 1-256 characters A-Z, a-z, 0-9, _ and - (e.g. `openssl rand -hex 32`)"
            )
        return value

    @field_validator("channel_ids", mode="before")
    @classmethod
    def _split_channels(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part for part in re.split(r"[,\s]+", value.strip()) if part]
            return [int(p) if re.fullmatch(r"-?\d+", p) else p for p in parts]
        return value

    @field_validator("channel_ids")
    @classmethod
    def _valid_channels(cls, value: list[int | str]) -> list[int | str]:
        for item in value:
            if isinstance(item, str) and not re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,31}", item):
                raise ValueError(f"{item!r} is neither a chat id nor a @channelname")
        return value

    @field_validator("delivery_time")
    @classmethod
    def _valid_time(cls, value: str) -> str:
        return f"{parse_hhmm(value):%H:%M}"

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
    def secrets(self) -> list[str]:
        """Values that must never appear in a log line."""
        values = [self.bot_token, self.webhook_secret]
        return [v.get_secret_value() for v in values if v is not None]

    @property
    def api_base_url(self) -> str:
        return self.bot_api_url.rstrip("/") + "/bot"

    @property
    def api_base_file_url(self) -> str:
        return self.bot_api_url.rstrip("/") + "/file/bot"


def parse_hhmm(value: str) -> time:
    """``"7:30"``, ``"07.30"``, ``"7"`` -> a time; ValueError with a hint otherwise."""
    match = re.fullmatch(r"\s*(\d{1,2})(?:[:.h](\d{2}))?\s*", value)
    if not match:
        raise ValueError(f"{value!r} is not a time; use HH:MM, for example 07:30")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"{value!r} is not a time of day; use HH:MM between 00:00 and 23:59")
    return time(hour, minute)
