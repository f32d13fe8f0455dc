"""The stand-in's state: the world (people, chats, files), the update queue and what
the bot did, plus the few primitives every part uses (queue an update, tell listeners).

Every other part of :class:`~bot.standin.server.BotAPIStandin` is a mixin over this
class, so each reads and writes the same attributes without passing them around.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import mimetypes
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from bot.standin.records import (
    DEFAULT_TOKEN,
    BotEvent,
    CallbackAnswer,
    Failure,
    Fault,
    InlineAnswer,
    JSONDict,
    SentMessage,
    StoredFile,
)

_log = logging.getLogger(__name__)


FORBIDDEN_BY_TYPE: Final = {
    "private": "Forbidden: bot was blocked by the user",
    "group": "Forbidden: bot was kicked from the group chat",
    "supergroup": "Forbidden: bot was kicked from the supergroup chat",
    "channel": "Forbidden: bot is not a member of the channel chat",
}
_NOT_DEFAULT_UPDATES: Final = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)


@dataclass(eq=False, slots=True)
class Chat:
    """One chat as the stand-in knows it: Telegram's Chat object and what happened in it."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    next_message_id: int = 1
    bot_messages: dict[int, SentMessage] = field(default_factory=dict)
    user_messages: dict[int, JSONDict] = field(default_factory=dict)
    members: set[int] = field(default_factory=set)
    admins: list[int] = field(default_factory=list)
    owner: int | None = None
    bot_is_admin: bool = False
    blocked: bool = False
    migrated_to: int | None = None
    json: JSONDict = field(default_factory=dict)

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


class StandinState:
    """Everything the stand-in knows, set up empty; the behaviour lives in the mixins."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = "takeaways_bot",
        first_name: str = "Takeaways",
        clock: Callable[[], float] = time.time,
    ) -> None:
        bot_id, sep, _ = token.partition(":")
        if not sep or not bot_id.isdigit():
            raise ValueError("a bot token looks like 123456:ABC...")
        self.token = token
        self.username = username
        self.bot_user: JSONDict = {
            "id": int(bot_id),
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.clock = clock
        self.url = ""

        # Behaviour knobs (tests set these directly)
        self.latency = 0.0
        """Seconds added before every API answer (asyncio.sleep)."""
        self.max_sends_per_second: int | None = None
        """When set, send* calls beyond this many per second get 429 like a flood."""
        self.flood_retry_after = 1
        self.max_group_sends_per_minute: int | None = None
        """When set, send* calls into one group or channel beyond this many within 60 s
        get 429 (Telegram's limit is 20), with ``flood_retry_after``."""

        # What the bot did
        self.all_requests: list[tuple[str, JSONDict]] = []
        self.failures: list[Failure] = []
        self.sent: list[SentMessage] = []
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.inline_answers: dict[str, InlineAnswer] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.settings: JSONDict = {}
        """setMyDescription, setMyShortDescription, setChatMenuButton, ... by method name."""
        self.internal_errors: list[BaseException] = []
        self.webhook: JSONDict | None = None

        # The world
        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, Chat] = {}
        self._chat_usernames: dict[str, int] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self._updates: deque[JSONDict] = deque()
        self._next_update_id = 100_000_001
        self._delivered_up_to = 0  # highest update_id a getUpdates call has returned
        self._allowed_updates: frozenset[str] | None = None  # None: Telegram's default set
        self._open_callback_queries: dict[str, int] = {}  # query id -> chat id
        self._open_inline_queries: set[str] = set()
        self._query_numbers = itertools.count(4_000_000_001)
        self._faults: list[Fault] = []
        self._send_times: deque[float] = deque()
        self._group_send_times: dict[int, deque[float]] = {}
        self._listeners: list[Callable[[BotEvent], None]] = []

        # Plumbing
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._poller: asyncio.Future[str] | None = None
        self._change: asyncio.Future[None] | None = None

    @property
    def bot_id(self) -> int:
        return int(self.bot_user["id"])

    def _known_chat(self, chat_id: int) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise KeyError(f"chat {chat_id} is not known to the stand-in; add_chat() it first")
        return chat

    def push_update(self, update: JSONDict) -> int:
        """Queue a raw update (``update_id`` is assigned) and wake a waiting getUpdates.

        Like Telegram, updates of a type the bot excluded via ``allowed_updates`` (by
        default chat_member, message_reaction and message_reaction_count) are dropped;
        the id is returned either way.
        """
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, **{k: v for k, v in update.items() if k != "update_id"}}
        kind = next((key for key in update if key != "update_id"), "")
        allowed = self._allowed_updates
        if (kind in _NOT_DEFAULT_UPDATES) if allowed is None else (kind not in allowed):
            _log.debug("dropping %s update %d: not in allowed_updates", kind, update_id)
            return update_id
        self._updates.append(update)
        poller = self._poller
        if poller is not None and not poller.done():
            poller.set_result("update")
        return update_id

    def _emit(self, event: BotEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                _log.exception("stand-in listener failed")

    def _changed(self) -> None:
        change = self._change
        if change is not None:
            self._change = None
            if not change.done():
                change.set_result(None)

    def _find_message(self, chat: Chat, message_id: int) -> JSONDict | None:
        sent = chat.bot_messages.get(message_id)
        if sent is not None and not sent.deleted:
            return sent.raw
        return chat.user_messages.get(message_id)

    def _store_file(self, filename: str, content: bytes, mime_type: str | None) -> StoredFile:
        number = next(self._file_numbers)
        suffix = ""
        if "." in filename:
            suffix = "." + re.sub(r"[^A-Za-z0-9]", "", filename.rsplit(".", 1)[1])[:10]
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = StoredFile(
            file_id=f"BQACAgIAAxkBAAI{number:08d}Standin{len(content):x}",
            file_unique_id=f"AgAD{number:08d}",
            file_path=f"documents/file_{number}{suffix}",
            filename=filename,
            content=content,
            mime_type=mime,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored
