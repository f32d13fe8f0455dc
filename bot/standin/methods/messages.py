"""Sending messages: sendMessage, and what every sent message shares (flood limits,
the reply target, the record kept for tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.standin.entities import entity_tuples
from bot.standin.faults import Faults
from bot.standin.methods.chats import ChatMethods
from bot.standin.records import MESSAGE_LIMIT, BotEvent, JSONDict, SentMessage, bad
from bot.standin.state import Chat
from bot.standin.validation import check_reply_markup, format_text
from bot.standin.wire import Params


@dataclass(frozen=True, slots=True)
class Content:
    """A message's text (or caption) and buttons, as the bot sent them and as parsed."""

    source: str | None
    parse_mode: str | None
    text: str
    entities: list[JSONDict]
    markup: JSONDict | None

    @property
    def inline(self) -> JSONDict | None:
        """The inline keyboard, the only markup a message keeps."""
        return self.markup if self.markup is not None and "inline_keyboard" in self.markup else None


class MessageMethods(ChatMethods, Faults):
    """sendMessage and the common part of every message the bot sends."""

    def _reply_target(self, chat: Chat, p: Params) -> JSONDict | None:
        message_id = p.integer("reply_to_message_id")
        allow = p.flag("allow_sending_without_reply")
        parameters = p.obj("reply_parameters", "can't parse reply parameters JSON object")
        if isinstance(parameters, dict):
            message_id = parameters.get("message_id", message_id)
            allow = bool(parameters.get("allow_sending_without_reply", allow))
        if message_id is None:
            return None
        target = self._find_message(chat, int(message_id))
        if target is None and not allow:
            raise bad("message to be replied not found")
        if target is not None:
            target = {k: v for k, v in target.items() if k != "reply_to_message"}
        return target

    def _new_message(self, chat: Chat, p: Params) -> tuple[JSONDict, int]:
        """The common part of a sent message; checks the flood limits and the reply."""
        self._check_flood()
        self._check_group_flood(chat)
        reply_to = self._reply_target(chat, p)
        date = int(self.clock())
        raw: JSONDict = {"message_id": chat.take_message_id()}
        if chat.type == "channel":
            raw["sender_chat"] = chat.json
        else:
            raw["from"] = self.bot_user
        raw["chat"] = chat.json
        raw["date"] = date
        if reply_to is not None:
            raw["reply_to_message"] = reply_to
        return raw, date

    def _record(self, chat: Chat, message: SentMessage) -> None:
        chat.bot_messages[message.message_id] = message
        self.sent.append(message)
        self._emit(BotEvent("sent", chat.id, message=message))

    def _content(self, p: Params, *, limit: int, caption: bool = False) -> Content:
        """The text (or caption) and buttons of a request, checked as Telegram checks them."""
        source = p.text("caption" if caption else "text")
        parse_mode = p.text("parse_mode")
        entities_param = p.obj(
            "caption_entities" if caption else "entities", "can't parse entities JSON object"
        )
        text, entities = format_text(
            source, parse_mode, entities_param, limit=limit, caption=caption, users=self._users
        )
        markup = check_reply_markup(
            p.obj("reply_markup", "can't parse reply keyboard markup JSON object")
        )
        return Content(source, parse_mode, text, entities, markup)

    def _send(
        self,
        chat: Chat,
        p: Params,
        content: Content,
        method: str,
        *,
        fields: JSONDict | None = None,
        **record: Any,
    ) -> JSONDict:
        """Send ``content`` with the method's own ``fields`` (a document) before its text,
        and keep its record (``record``: the record's method-specific fields)."""
        raw, date = self._new_message(chat, p)
        raw.update(fields or {})
        if method == "sendMessage":
            raw["text"] = content.text
            if content.entities:
                raw["entities"] = content.entities
        else:
            if content.text:
                raw["caption"] = content.text
            if content.entities:
                raw["caption_entities"] = content.entities
        if content.inline is not None:
            raw["reply_markup"] = content.inline
        self._record(
            chat,
            SentMessage(
                chat_id=chat.id,
                message_id=raw["message_id"],
                text=content.text,
                parse_mode=content.parse_mode,
                entities=entity_tuples(content.entities),
                reply_markup=content.markup,
                method=method,
                date=date,
                source=content.source or "",
                params=p.values,
                raw=raw,
                **record,
            ),
        )
        return raw

    def _api_sendMessage(self, p: Params) -> JSONDict:
        chat = self._chat(p, sending=True)
        content = self._content(p, limit=MESSAGE_LIMIT)
        return self._send(chat, p, content, "sendMessage")
