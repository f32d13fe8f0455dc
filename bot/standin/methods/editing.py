"""Updating messages: editMessageText, editMessageReplyMarkup, deleteMessage."""

from __future__ import annotations

from typing import Any

from bot.standin.entities import entity_tuples
from bot.standin.methods.messages import MessageMethods
from bot.standin.records import MESSAGE_LIMIT, BotEvent, JSONDict, SentMessage, bad
from bot.standin.state import Chat
from bot.standin.validation import check_reply_markup
from bot.standin.wire import Params


class EditingMethods(MessageMethods):
    """Edits and deletions of the bot's messages, refused where Telegram refuses them."""

    def _editable(self, chat: Chat, p: Params) -> SentMessage:
        if p.get("inline_message_id"):
            raise bad("MESSAGE_ID_INVALID")
        message_id = p.integer("message_id", "message to edit not found")
        if message_id is None:
            raise bad("message identifier is not specified")
        message = chat.bot_messages.get(message_id)
        if message is None or message.deleted:
            if message_id in chat.user_messages:
                raise bad("message can't be edited")
            raise bad("message to edit not found")
        return message

    def _apply_edit(self, message: SentMessage) -> JSONDict:
        message.edited = True
        message.raw["edit_date"] = int(self.clock())
        self._emit(BotEvent("edited", message.chat_id, message=message))
        return message.raw

    def _api_editMessageText(self, p: Params) -> JSONDict:
        chat = self._chat(p, sending=True)
        message = self._editable(chat, p)
        if message.method != "sendMessage":
            raise bad("there is no text in the message to edit")
        content = self._content(p, limit=MESSAGE_LIMIT)
        source, parse_mode, text, entities = (
            content.source,
            content.parse_mode,
            content.text,
            content.entities,
        )
        inline = content.inline
        if (
            text == message.text
            and entities == message.raw.get("entities", [])
            and inline == message.raw.get("reply_markup")
        ):
            raise bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message.text, message.source, message.parse_mode = text, source or "", parse_mode
        message.entities = entity_tuples(entities)
        message.reply_markup = inline
        message.raw["text"] = text
        _set_or_drop(message.raw, "entities", entities or None)
        _set_or_drop(message.raw, "reply_markup", inline)
        return self._apply_edit(message)

    def _api_editMessageReplyMarkup(self, p: Params) -> JSONDict:
        chat = self._chat(p, sending=True)
        message = self._editable(chat, p)
        markup = check_reply_markup(
            p.obj("reply_markup", "can't parse reply keyboard markup JSON object")
        )
        if markup is not None and "inline_keyboard" not in markup:
            raise bad("inline keyboard expected")
        if markup == message.raw.get("reply_markup"):
            raise bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message.reply_markup = markup
        _set_or_drop(message.raw, "reply_markup", markup)
        return self._apply_edit(message)

    def _api_deleteMessage(self, p: Params) -> bool:
        chat = self._chat(p)
        message_id = p.integer("message_id", "message to delete not found")
        if message_id is None:
            raise bad("message identifier is not specified")
        message = chat.bot_messages.get(message_id)
        if message is not None and not message.deleted:
            message.deleted = True
            self._emit(BotEvent("deleted", chat.id, message=message))
            return True
        if chat.user_messages.pop(message_id, None) is not None:
            return True
        raise bad("message to delete not found")


def _set_or_drop(target: JSONDict, key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value
