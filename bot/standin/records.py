"""What the bot did, as tests and the console look at it, and the Bot API's limits.

These are the stand-in's plain records: every other part of the package fills or
raises them, so they import nothing of the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

JSONDict = dict[str, Any]

DEFAULT_TOKEN: Final = "123456789:AAStandinStandinStandinStandin_12345"

MESSAGE_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024
CALLBACK_DATA_LIMIT: Final = 64  # bytes, UTF-8
INLINE_RESULTS_LIMIT: Final = 50
UPLOAD_LIMIT: Final = 50 * 1024 * 1024  # sendDocument from the bot
DOWNLOAD_LIMIT: Final = 20 * 1024 * 1024  # getFile
MAX_BODY: Final = UPLOAD_LIMIT + 1024 * 1024  # multipart overhead on top of the file


class Entity(NamedTuple):
    """One message entity, offsets and length in UTF-16 code units as in the Bot API.

    ``url`` is set for ``text_link``; everything else Telegram sends about an entity
    (``language`` of a ``pre``, the ``user`` of a ``text_mention``) is in
    ``SentMessage.raw["entities"]``.
    """

    type: str
    offset: int
    length: int
    url: str | None = None


@dataclass(slots=True)
class StoredFile:
    """A file known to the stand-in: uploaded by a person or sent by the bot."""

    file_id: str
    file_unique_id: str
    file_path: str
    filename: str
    content: bytes
    mime_type: str

    def as_document(self) -> JSONDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.filename,
            "mime_type": self.mime_type,
            "file_size": len(self.content),
        }


@dataclass(slots=True)
class UploadedFile:
    """One file part of a multipart request, as received."""

    filename: str
    content: bytes
    content_type: str


@dataclass(eq=False, slots=True)
class SentMessage:
    """A message the bot sent, kept up to date by edits and deletions.

    ``text`` is the plain text after entity parsing (the caption for documents, "" if
    none); ``source`` is the text exactly as the bot sent it; ``raw`` is the Message
    object as last returned to the bot; ``params`` are the request parameters.
    """

    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    entities: list[Entity]
    reply_markup: JSONDict | None
    method: str
    date: int
    source: str = ""
    edited: bool = False
    deleted: bool = False
    document_name: str | None = None
    document_bytes: bytes | None = None
    file_id: str | None = None
    params: JSONDict = field(default_factory=dict)
    raw: JSONDict = field(default_factory=dict)

    @property
    def buttons(self) -> list[list[JSONDict]]:
        """The inline keyboard rows (empty if the message has none)."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard")
        return rows if isinstance(rows, list) else []

    @property
    def callback_data(self) -> list[str]:
        """Every ``callback_data`` on the inline keyboard, row by row."""
        return [
            str(button["callback_data"])
            for row in self.buttons
            for button in row
            if "callback_data" in button
        ]

    def button_data(self, text: str) -> str:
        """The ``callback_data`` of the button labelled ``text`` (KeyError if none)."""
        for row in self.buttons:
            for button in row:
                if button.get("text") == text and "callback_data" in button:
                    return str(button["callback_data"])
        raise KeyError(f"no callback button {text!r} on message {self.message_id}")

    def entity_text(self, entity: Entity) -> str:
        """The part of ``text`` an entity covers (offsets are UTF-16)."""
        encoded = self.text.encode("utf-16-le")
        return encoded[2 * entity.offset : 2 * (entity.offset + entity.length)].decode("utf-16-le")


@dataclass(slots=True)
class CallbackAnswer:
    """How the bot answered a button press."""

    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass(slots=True)
class InlineAnswer:
    """How the bot answered an inline query."""

    query_id: str
    results: list[JSONDict]
    cache_time: int | None
    is_personal: bool
    next_offset: str | None
    params: JSONDict


@dataclass(slots=True)
class Failure:
    """A request the stand-in refused: tests can assert the bot made none."""

    method: str
    params: JSONDict
    status: int
    description: str


@dataclass(slots=True)
class Fault:
    """An injected failure (see :meth:`BotAPIStandin.fail`)."""

    method: str | None
    chat_id: int | str | None
    status: int
    description: str
    parameters: JSONDict | None
    remaining: int | None  # None: until cleared
    drop_connection: bool = False


@dataclass(slots=True)
class BotEvent:
    """Something the bot did that a person would notice, for listeners (the console).

    ``kind`` is one of "sent", "edited", "deleted", "callback_answer", "chat_action".
    """

    kind: str
    chat_id: int | None
    message: SentMessage | None = None
    callback_answer: CallbackAnswer | None = None
    action: str | None = None


class ApiError(Exception):
    """A Bot API error response: HTTP status, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class ClientGone(Exception):
    """The client closed the connection while its long poll was waiting."""


def bad(description: str, parameters: JSONDict | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters)
