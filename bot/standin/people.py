"""Simulated people acting: each action queues the Update Telegram would send."""

from __future__ import annotations

from bot.standin.entities import detect_entities
from bot.standin.records import JSONDict
from bot.standin.state import Chat
from bot.standin.world import World


class People(World):
    """People send texts and files, press buttons and type inline queries."""

    def user_sends(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """A person sends ``text`` (entities as a Telegram client makes them); the update_id.

        In a private chat the person is the chat's user; in groups pass ``user_id``. In a
        channel it arrives as a channel_post.
        """
        chat, user = self._chat_for_person(chat_id, user_id)
        message = self._user_message(chat, user)
        message["text"] = text
        entities = detect_entities(text)
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            replied = self._find_message(chat, reply_to)
            if replied is None:
                raise KeyError(f"no message {reply_to} in chat {chat_id}")
            message["reply_to_message"] = replied
        chat.user_messages[message["message_id"]] = message
        key = "channel_post" if chat.type == "channel" else "message"
        return self.push_update({key: message})

    def user_sends_document(
        self,
        chat_id: int,
        filename: str,
        content: bytes,
        *,
        user_id: int | None = None,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> int:
        """A person sends a file; getFile and the file URL then serve its bytes."""
        chat, user = self._chat_for_person(chat_id, user_id)
        stored = self._store_file(filename, content, mime_type)
        message = self._user_message(chat, user)
        message["document"] = stored.as_document()
        if caption:
            message["caption"] = caption
            entities = detect_entities(caption)
            if entities:
                message["caption_entities"] = entities
        chat.user_messages[message["message_id"]] = message
        return self.push_update({"message": message})

    def user_presses(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        forged: bool = False,
    ) -> str:
        """A person presses the button with ``data`` on a message the bot sent.

        The button must be on the message as it is now, unless ``forged`` (an old client
        or a tampering one); returns the callback query id for answerCallbackQuery.
        """
        chat, user = self._chat_for_person(chat_id, user_id)
        message = chat.bot_messages.get(message_id)
        if message is None or message.deleted:
            raise KeyError(f"the bot has no message {message_id} in chat {chat_id}")
        if not forged and data not in message.callback_data:
            raise ValueError(
                f"message {message_id} has no button with callback_data {data!r} "
                f"(it has {message.callback_data}); pass forged=True to send it anyway"
            )
        query_id = str(next(self._query_numbers))
        self._open_callback_queries[query_id] = chat_id
        self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": message.raw,
                    "chat_instance": str(abs(chat_id) * 7919 % 10**18),
                    "data": data,
                }
            }
        )
        return query_id

    def user_inline_query(self, user_id: int, query: str, *, offset: str = "") -> str:
        """A person types ``@bot query`` in some chat; returns the inline query id."""
        user = self._users.get(user_id) or self.add_user(user_id, first_name=f"User{user_id}")
        query_id = str(next(self._query_numbers))
        self._open_inline_queries.add(query_id)
        self.push_update(
            {
                "inline_query": {
                    "id": query_id,
                    "from": user,
                    "query": query,
                    "offset": offset,
                    "chat_type": "sender",
                }
            }
        )
        return query_id

    def _user_message(self, chat: Chat, user: JSONDict) -> JSONDict:
        message: JSONDict = {"message_id": chat.take_message_id()}
        if chat.type == "channel":
            message["sender_chat"] = chat.json
        else:
            message["from"] = user
        message["chat"] = chat.json
        message["date"] = int(self.clock())
        return message

    @property
    def is_polling(self) -> bool:
        """Whether a getUpdates call is waiting right now (the bot is listening)."""
        return self._poller is not None and not self._poller.done()

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Queued updates the bot has not confirmed yet."""
        return list(self._updates)

    def take_updates(self) -> list[JSONDict]:
        """Remove and return the queued updates (to post them to a webhook yourself)."""
        updates = list(self._updates)
        self._updates.clear()
        return updates
