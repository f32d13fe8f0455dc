"""Chats and members: resolving ``chat_id``, getChat, getChatMember,
getChatAdministrators, getChatMemberCount, sendChatAction.
"""

from __future__ import annotations

import contextlib
from typing import Final

from bot.standin.records import ApiError, BotEvent, JSONDict, bad
from bot.standin.state import FORBIDDEN_BY_TYPE, Chat, StandinState
from bot.standin.wire import Params

_CHAT_ACTIONS: Final = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip


class ChatMethods(StandinState):
    """Which chat a request means, with Telegram's refusals, and what it knows of members."""

    def _chat(self, p: Params, *, sending: bool = False) -> Chat:
        """Resolve ``chat_id`` (an id or "@username") like Telegram, with its refusals."""
        raw = p.get("chat_id")
        if raw is None or raw == "":
            raise bad("chat_id is empty")
        chat_id: int | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            chat_id = raw
        elif isinstance(raw, str):
            text = raw.strip()
            if text.startswith("@"):
                chat_id = self._chat_usernames.get(text[1:].lower())
            else:
                with contextlib.suppress(ValueError):
                    chat_id = int(text)
        chat = self._chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad("chat not found")
        p.values["chat_id"] = chat.id
        if chat.migrated_to is not None:
            raise bad(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if sending and chat.blocked:
            raise ApiError(403, FORBIDDEN_BY_TYPE[chat.type])
        return chat

    def _api_getChat(self, p: Params) -> JSONDict:
        chat = self._chat(p)
        return {
            **chat.json,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member(self, chat: Chat, user_id: int) -> JSONDict:
        if user_id == self.bot_id:
            user = self.bot_user
            if chat.type != "private" and chat.bot_is_admin:
                return _administrator(user)
            return {"user": user, "status": "member"}
        user = self._users.get(user_id) or {}
        if not user:
            raise bad("user not found")
        if chat.type == "private":
            return {"user": user, "status": "member" if user_id == chat.id else "left"}
        if user_id == chat.owner:
            return {"user": user, "status": "creator", "is_anonymous": False}
        if user_id in chat.admins:
            return _administrator(user)
        return {"user": user, "status": "member" if user_id in chat.members else "left"}

    def _api_getChatMember(self, p: Params) -> JSONDict:
        chat = self._chat(p)
        user_id = p.integer("user_id", "invalid user_id specified")
        if user_id is None:
            raise bad("user_id is empty")
        return self._member(chat, user_id)

    def _api_getChatAdministrators(self, p: Params) -> list[JSONDict]:
        chat = self._chat(p)
        if chat.type == "private":
            raise bad("there are no administrators in the private chat")
        ids = ([chat.owner] if chat.owner is not None else []) + chat.admins
        members = [self._member(chat, uid) for uid in ids]
        if chat.bot_is_admin:
            members.append(self._member(chat, self.bot_id))
        return members

    def _api_getChatMemberCount(self, p: Params) -> int:
        chat = self._chat(p)
        return len(chat.members) + 1  # and the bot

    def _api_sendChatAction(self, p: Params) -> bool:
        chat = self._chat(p, sending=True)
        action = p.text("action")
        if action not in _CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        self.chat_actions.append((chat.id, action))
        self._emit(BotEvent("chat_action", chat.id, action=action))
        return True


def _administrator(user: JSONDict) -> JSONDict:
    rights = (
        "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
        "can_restrict_members", "can_change_info", "can_invite_users", "can_post_stories",
        "can_edit_stories", "can_delete_stories", "can_pin_messages",
    )  # fmt: skip
    member: JSONDict = {
        "user": user,
        "status": "administrator",
        "can_be_edited": False,
        "is_anonymous": False,
        "can_promote_members": False,
    }
    member.update(dict.fromkeys(rights, True))
    return member
