"""What the bot did, and waiting for it: the assertions tests and benchmarks make.

Waiting is event-driven: every API request wakes :meth:`Watching.wait_for`, so tests
never sleep or poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

from bot.standin.records import BotEvent, JSONDict, SentMessage, StoredFile
from bot.standin.state import StandinState
from bot.standin.validation import scope_key

_T = TypeVar("_T")


class Watching(StandinState):
    """The bot's messages and requests, listeners, and waiting for a condition."""

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """The bot's messages in a chat, oldest first, as they are now (edits applied)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.bot_messages.values() if include_deleted or not m.deleted]

    def calls(self, method: str) -> list[JSONDict]:
        """Parameters of every request to ``method`` (any letter case), oldest first."""
        wanted = method.lower()
        return [params for name, params in self.all_requests if name.lower() == wanted]

    def my_commands(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """The command list set via setMyCommands for a scope, as (command, description)."""
        commands = self.commands.get((scope_key(scope), language_code), [])
        return [(c["command"], c["description"]) for c in commands]

    def file(self, file_id: str) -> StoredFile:
        return self._files[file_id]

    def add_listener(self, listener: Callable[[BotEvent], None]) -> None:
        """Call ``listener`` for everything a person would see the bot do."""
        self._listeners.append(listener)

    async def wait_for(self, predicate: Callable[[], _T | None], *, timeout: float = 5.0) -> _T:
        """Wait until ``predicate()`` is truthy and return its value.

        Re-evaluated after every API request the bot makes (event-driven, no polling).
        Raises TimeoutError naming the bot's last requests.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = [method for method, _ in self.all_requests[-8:]]
                failures = [f"{f.method}: {f.description}" for f in self.failures[-3:]]
                raise TimeoutError(
                    f"condition not met within {timeout}s; the bot's last requests: {recent}; "
                    f"last refusals: {failures}"
                )
            change = self._change
            if change is None or change.done():
                change = self._change = loop.create_future()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(change), remaining)

    async def wait_for_messages(
        self, chat_id: int, count: int = 1, *, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Wait until the bot has ``count`` (not deleted) messages in the chat; all of them."""

        def enough() -> list[SentMessage] | None:
            current = self.messages(chat_id)
            return current if len(current) >= count else None

        return await self.wait_for(enough, timeout=timeout)

    async def wait_for_request(
        self, method: str, count: int = 1, *, timeout: float = 5.0
    ) -> list[JSONDict]:
        """Wait until the bot made ``count`` requests to ``method``; their parameters."""

        def enough() -> list[JSONDict] | None:
            current = self.calls(method)
            return current if len(current) >= count else None

        return await self.wait_for(enough, timeout=timeout)

    async def wait_until_delivered(self, *, timeout: float = 5.0) -> None:
        """Wait until getUpdates has handed out every update queued so far."""
        last = self._next_update_id - 1
        await self.wait_for(lambda: self._delivered_up_to >= last, timeout=timeout)
