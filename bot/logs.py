"""Logging set-up: one line per event, secrets never printed.

httpx logs every request URL, and Bot API URLs contain the token; PTB may put it in
exception texts too. Redacting the finished line covers messages, arguments, extra
fields and tracebacks alike, whichever library produced them.

``LOG_FORMAT=json`` prints one JSON object per line for log shippers; fields passed as
``extra=`` (the delivery run's counts, for instance) become keys of that object.

``LOG_LEVEL`` is the bot's own level. Libraries stay at INFO or quieter whatever it
says, because at DEBUG they print what people send (PTB logs each update and API call)
and SQL parameters (aiosqlite); ``LIBRARY_LOG_LEVEL`` asks for them explicitly.
Anyone on the internet can make the webhook server log (a refused request), so those
loggers are rate-limited: an attack costs a few lines a minute, not gigabytes.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _extra_fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class RedactingFormatter(logging.Formatter):
    """Text lines: ``time LEVEL logger: message``, with secrets replaced."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return text

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JsonFormatter(RedactingFormatter):
    """One JSON object per line: time, level, logger, message, extra fields, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_extra_fields(record),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(entry, ensure_ascii=False, default=str))


# Libraries that are noisy even at INFO, and the quietest level they get by default.
QUIETER = {
    # Request-by-request chatter from the HTTP client.
    "httpx": logging.WARNING,
    # The delivery job skips a tick while a long run is still going, on purpose.
    "apscheduler": logging.ERROR,
}


def configure_logging(
    level: str,
    secrets: Iterable[str] = (),
    *,
    fmt: str = "text",
    library_level: str | None = None,
) -> None:
    """The bot's loggers (``bot.*``) at ``level``; every other logger at INFO or
    quieter unless ``library_level`` (``LIBRARY_LOG_LEVEL``) says otherwise."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter(secrets) if fmt == "json" else RedactingFormatter(secrets)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    own = logging.getLevelName(level)
    libraries = logging.getLevelName(library_level) if library_level else max(logging.INFO, own)
    # The root's level is what every library logger inherits; the bot's own sets its own.
    root.setLevel(libraries)
    logging.getLogger("bot").setLevel(own)
    for name, quietest in QUIETER.items():
        logging.getLogger(name).setLevel(libraries if library_level else max(quietest, own))


@dataclass(slots=True)
class _Window:
    start: float
    count: int = 0
    dropped: int = 0


class RateLimitFilter(logging.Filter):
    """At most ``burst`` lines per ``period`` seconds for each message template of a
    logger; the first line after a quiet spell says how many were left out."""

    MAX_TEMPLATES = 1000

    def __init__(
        self, burst: int = 5, period: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.burst = burst
        self.period = period
        self.clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self.clock()
        window = self._windows.get(key)
        if window is None or now - window.start >= self.period:
            if len(self._windows) >= self.MAX_TEMPLATES:
                self._windows.clear()
            dropped = window.dropped if window is not None else 0
            window = self._windows[key] = _Window(start=now)
            if dropped:
                record.msg = (
                    f"{record.getMessage()} ({dropped} more like this were not logged "
                    f"in the {self.period:.0f} s before)"
                )
                record.args = ()
        if window.count >= self.burst:
            window.dropped += 1
            return False
        window.count += 1
        return True


def limit_rate(*names: str, burst: int = 5, period: float = 60.0) -> None:
    """Rate-limit these loggers (once each: calling again changes nothing)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RateLimitFilter) for f in logger.filters):
            logger.addFilter(RateLimitFilter(burst, period))
