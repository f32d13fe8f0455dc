"""Settings from the environment and an optional ``.env`` file.

Every setting has a safe default except ``BOT_TOKEN``, which only ``run`` needs:
the data commands (import, search, ...) work without a bot at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.rules.schedule import parse_hhmm

TOKEN_PATTERN = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
MIN_SYNC_INTERVAL = 60
MAX_SYNC_INTERVAL = 7 * 86400
_INTERVAL_PART = re.compile(r"(\d+)\s*([smhd]?)")
_INTERVAL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Anyone who knows the webhook secret can act as any Telegram user: 32 characters at
# least (``openssl rand -hex 32`` gives 64), and never a value copied from an example.
MIN_SECRET_LENGTH = 32
PLACEHOLDER = re.compile(r"change-?me|replace-?me|your-?secret|placeholder|example", re.I)


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
    # Third-party loggers stay at INFO or quieter unless this asks (see bot/logs.py).
    library_log_level: str | None = None
    # aiohttp costs a thirteenth of httpx's CPU per request (docs/performance.md); httpx is
    # python-telegram-bot's own, kept selectable.
    http_transport: Literal["aiohttp", "httpx"] = "aiohttp"

    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_secret: SecretStr | None = None

    readwise_token: SecretStr | None = None
    readwise_api_url: str = "https://readwise.io"
    readwise_sync_interval: int = 3600

    @field_validator(
        "takeaways_path",
        "webhook_url",
        "webhook_secret",
        "bot_token",
        "readwise_token",
        "library_log_level",
        mode="before",
    )
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
        if value is None:
            return None
        secret = value.get_secret_value()
        if not SECRET_PATTERN.fullmatch(secret):
            raise ValueError(
                "use 32-256 characters A-Z, a-z, 0-9, _ and - (e.g. `openssl rand -hex 32`)"
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"too short ({len(secret)} characters): use at least {MIN_SECRET_LENGTH} "
                "random ones, e.g. the output of `openssl rand -hex 32`"
            )
        if PLACEHOLDER.search(secret):
            raise ValueError(
                "this is an example value, known to everyone: use the output of "
                "`openssl rand -hex 32`"
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

    @field_validator("readwise_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL, e.g. https://readwise.io")
        return value

    @field_validator("readwise_sync_interval", mode="before")
    @classmethod
    def _valid_interval(cls, value: object) -> object:
        return parse_interval(value) if isinstance(value, str) else value

    @field_validator("readwise_sync_interval")
    @classmethod
    def _interval_floor(cls, value: int) -> int:
        if value < MIN_SYNC_INTERVAL:
            raise ValueError(
                f"sync at most once a minute (Readwise limits its export API): "
                f"use {MIN_SYNC_INTERVAL} seconds (1m) or more"
            )
        if value > MAX_SYNC_INTERVAL:
            raise ValueError("sync at least once a week: use 7d (604800 seconds) or less")
        return value

    @field_validator("log_level", "library_log_level")
    @classmethod
    def _valid_level(cls, value: str | None) -> str | None:
        if value is None:
            return None
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in a log line."""
        values = [self.bot_token, self.webhook_secret, self.readwise_token]
        return [v.get_secret_value() for v in values if v is not None]

    @property
    def api_base_url(self) -> str:
        return self.bot_api_url.rstrip("/") + "/bot"

    @property
    def api_base_file_url(self) -> str:
        return self.bot_api_url.rstrip("/") + "/file/bot"


def parse_interval(value: str) -> int:
    """``"3600"``, ``"90s"``, ``"30m"``, ``"1h"``, ``"1h30m"`` -> seconds; ValueError otherwise.

    A bare number is seconds, as in every other setting that takes a duration.
    """
    text = value.strip().lower().replace(" ", "")
    parts = _INTERVAL_PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{value!r} is not a duration; use seconds (3600) or e.g. 30m, 1h, 1h30m")
    return sum(int(number) * _INTERVAL_UNITS[unit] for number, unit in parts)
