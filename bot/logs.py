"""Logging set-up: one line per event, secrets never printed.

httpx logs every request URL, and Bot API URLs contain the token; PTB may put it in
exception texts too. Redacting the finished line covers messages, arguments, extra
fields and tracebacks alike, whichever library produced them.

``LOG_FORMAT=json`` prints one JSON object per line for log shippers; fields passed as
``extra=`` (the delivery run's counts, for instance) become keys of that object.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
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


def configure_logging(level: str, secrets: Iterable[str] = (), *, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter(secrets) if fmt == "json" else RedactingFormatter(secrets)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Request-by-request chatter from the HTTP client is noise at INFO.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    # The delivery job skips a tick while a long run is still going, on purpose.
    logging.getLogger("apscheduler").setLevel(max(logging.ERROR, root.level))
