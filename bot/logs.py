"""Logging set-up: one line per event, secrets never printed.

httpx logs every request URL, and Bot API URLs contain the token; PTB may put it in
exception texts too. Redacting in the formatter covers messages, arguments and
tracebacks alike, whichever library produced them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return text


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Request-by-request chatter from the HTTP client is noise at INFO.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    # The delivery job skips a tick while a long run is still going, on purpose.
    logging.getLogger("apscheduler").setLevel(max(logging.ERROR, root.level))
