"""The Bot API stand-in's former home: it is the :mod:`bot.standin` package now.

Kept so the documented ``python -m bot.telegram.standin --port 8081`` and imports from
here keep working; new code imports :mod:`bot.standin`.
"""

from bot.standin import (
    CAPTION_LIMIT,
    DEFAULT_TOKEN,
    MESSAGE_LIMIT,
    ApiError,
    BotAPIStandin,
    BotEvent,
    CallbackAnswer,
    Entity,
    Failure,
    Fault,
    HtmlError,
    InlineAnswer,
    SentMessage,
    StoredFile,
    UploadedFile,
    check_reply_markup,
    detect_entities,
    format_text,
    parse_html,
    utf16_len,
)
from bot.standin.cli import main

__all__ = [
    "CAPTION_LIMIT",
    "DEFAULT_TOKEN",
    "MESSAGE_LIMIT",
    "ApiError",
    "BotAPIStandin",
    "BotEvent",
    "CallbackAnswer",
    "Entity",
    "Failure",
    "Fault",
    "HtmlError",
    "InlineAnswer",
    "SentMessage",
    "StoredFile",
    "UploadedFile",
    "check_reply_markup",
    "detect_entities",
    "format_text",
    "main",
    "parse_html",
    "utf16_len",
]

if __name__ == "__main__":
    raise SystemExit(main())
