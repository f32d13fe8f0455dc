"""The simulated world: people, chats, members and admins, migrations, blocks.

Tests and the console set the world up through these; each change Telegram would
announce (a migration, a block) is queued as the update Telegram sends.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.standin.records import JSONDict
from bot.standin.state import FORBIDDEN_BY_TYPE, Chat, StandinState


class World(StandinState):
    """Who exists and which chats the bot is in."""

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str = "Ada",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> JSONDict:
        """A person (Telegram User object). Re-adding updates the name."""
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def add_chat(
        self,
        chat_id: int,
        *,
        type: str | None = None,
        title: str | None = None,
        first_name: str = "Ada",
        last_name: str | None = None,
        username: str | None = None,
    ) -> JSONDict:
        """A chat the bot is in (Telegram Chat object).

        ``type`` defaults from the id: positive is "private" (the user of the same id is
        created too), -100... is "supergroup", other negatives are "group". Channels and
        supergroups with a ``username`` can be addressed as "@username".
        """
        kind = type or ("private" if chat_id > 0 else _group_type(chat_id))
        if kind not in FORBIDDEN_BY_TYPE:
            raise ValueError(f"unknown chat type {kind!r}")
        if (kind == "private") != (chat_id > 0):
            raise ValueError("private chats have positive ids, groups and channels negative")
        chat = self._chats.get(chat_id) or Chat(chat_id, kind)
        chat.type = kind
        if kind == "private":
            self.add_user(chat_id, first_name=first_name, last_name=last_name, username=username)
            chat.members = {chat_id}
            chat.json = {"id": chat_id, "type": "private", "first_name": first_name}
            if last_name:
                chat.json["last_name"] = last_name
            if username:
                chat.json["username"] = username
        else:
            chat.title = title or f"{kind.capitalize()} {chat_id}"
            chat.username = username
            chat.json = {"id": chat_id, "type": kind, "title": chat.title}
            if username:
                chat.json["username"] = username
                self._chat_usernames[username.lower().lstrip("@")] = chat_id
        self._chats[chat_id] = chat
        return chat.json

    def add_member(self, chat_id: int, user_id: int) -> None:
        """Make a (known or new) user a member of a group."""
        if user_id not in self._users:
            self.add_user(user_id, first_name=f"User{user_id}")
        self._known_chat(chat_id).members.add(user_id)

    def set_admins(
        self,
        chat_id: int,
        user_ids: Iterable[int],
        *,
        owner: int | None = None,
        bot_is_admin: bool = False,
    ) -> None:
        """Who administers a group (getChatAdministrators, getChatMember)."""
        chat = self._known_chat(chat_id)
        chat.admins = [uid for uid in user_ids if uid != owner]
        chat.owner = owner
        chat.bot_is_admin = bot_is_admin
        for uid in [*chat.admins, *([owner] if owner is not None else [])]:
            self.add_member(chat_id, uid)

    def remove_chat(self, chat_id: int) -> None:
        """Forget a chat: from now on it is "chat not found"."""
        chat = self._chats.pop(chat_id, None)
        if chat is not None and chat.username:
            self._chat_usernames.pop(chat.username.lower().lstrip("@"), None)

    def migrate_chat(self, old_id: int, new_id: int, *, notify: bool = True) -> JSONDict:
        """Upgrade a group to a supergroup: the old id then fails with migrate_to_chat_id.

        With ``notify`` the service messages Telegram sends (migrate_to_chat_id in the old
        chat, migrate_from_chat_id in the new one) are queued as updates.
        """
        old = self._known_chat(old_id)
        if old.type != "group":
            raise ValueError("only basic groups are upgraded to supergroups")
        new_json = self.add_chat(new_id, type="supergroup", title=old.title)
        new = self._chats[new_id]
        new.members, new.admins, new.owner = set(old.members), list(old.admins), old.owner
        new.bot_is_admin = old.bot_is_admin
        old.migrated_to = new_id
        if notify:
            date = int(self.clock())
            actor = self._someone_in(old)
            base: JSONDict = {"from": actor} if actor else {}
            self.push_update(
                {
                    "message": {
                        "message_id": old.take_message_id(),
                        **base,
                        "chat": old.json,
                        "date": date,
                        "migrate_to_chat_id": new_id,
                    }
                }
            )
            self.push_update(
                {
                    "message": {
                        "message_id": new.take_message_id(),
                        **base,
                        "sender_chat": new_json,
                        "chat": new_json,
                        "date": date,
                        "migrate_from_chat_id": old_id,
                    }
                }
            )
        return new_json

    def block(self, chat_id: int, *, notify: bool = True) -> None:
        """The user blocks the bot (or the bot is kicked from a group): sends get 403.

        With ``notify`` the my_chat_member update Telegram sends is queued.
        """
        chat = self._known_chat(chat_id)
        chat.blocked = True
        if notify:
            self._push_my_chat_member(
                chat, "member", "kicked" if chat.type == "private" else "left"
            )

    def unblock(self, chat_id: int, *, notify: bool = True) -> None:
        chat = self._known_chat(chat_id)
        chat.blocked = False
        if notify:
            self._push_my_chat_member(
                chat, "kicked" if chat.type == "private" else "left", "member"
            )

    def _push_my_chat_member(self, chat: Chat, old: str, new: str) -> None:
        actor = self._someone_in(chat) or self.add_user(1, first_name="Admin")

        def member(status: str) -> JSONDict:
            out: JSONDict = {"user": self.bot_user, "status": status}
            if status == "kicked":
                out["until_date"] = 0
            return out

        self.push_update(
            {
                "my_chat_member": {
                    "chat": chat.json,
                    "from": actor,
                    "date": int(self.clock()),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def _someone_in(self, chat: Chat) -> JSONDict | None:
        if chat.type == "private":
            return self._users.get(chat.id)
        for uid in [chat.owner, *chat.admins, *sorted(chat.members)]:
            if uid is not None and uid in self._users:
                return self._users[uid]
        return None

    def _chat_for_person(self, chat_id: int, user_id: int | None) -> tuple[Chat, JSONDict]:
        """The chat and user of a person's action, creating them on first contact."""
        chat = self._chats.get(chat_id)
        if chat is None:
            self.add_chat(chat_id)
            chat = self._chats[chat_id]
        if chat.type == "private":
            uid = chat_id if user_id is None else user_id
            if uid != chat_id:
                raise ValueError("in a private chat only its own user acts")
        elif user_id is None:
            raise ValueError(f"say which user acts in {chat.type} {chat_id} (user_id=...)")
        else:
            uid = user_id
        if uid not in self._users:
            self.add_user(uid, first_name=f"User{uid}")
        chat.members.add(uid)
        return chat, self._users[uid]


def _group_type(chat_id: int) -> str:
    return "supergroup" if str(chat_id).startswith("-100") else "group"
