"""The bot itself: getMe, logOut, close, its commands, name, descriptions and menu button."""

from __future__ import annotations

from bot.standin.records import JSONDict, bad
from bot.standin.state import StandinState
from bot.standin.validation import check_commands, scope_key
from bot.standin.wire import Params


class BotMethods(StandinState):
    """The bot's own profile: what ``set*`` stores, ``get*`` answers."""

    def _api_getMe(self, p: Params) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _api_logOut(self, p: Params) -> bool:
        return True

    def _api_close(self, p: Params) -> bool:
        return True

    def _api_setMyCommands(self, p: Params) -> bool:
        commands = check_commands(p.obj("commands", "can't parse commands JSON object"))
        scope = scope_key(p.obj("scope", "can't parse BotCommandScope JSON object"))
        self.commands[(scope, p.text("language_code") or "")] = commands
        return True

    def _api_getMyCommands(self, p: Params) -> list[JSONDict]:
        scope = scope_key(p.obj("scope", "can't parse BotCommandScope JSON object"))
        return self.commands.get((scope, p.text("language_code") or ""), [])

    def _api_deleteMyCommands(self, p: Params) -> bool:
        scope = scope_key(p.obj("scope", "can't parse BotCommandScope JSON object"))
        self.commands.pop((scope, p.text("language_code") or ""), None)
        return True

    def _setting(self, method: str, p: Params, limit: int | None = None) -> bool:
        if limit is not None:
            for value in p.values.values():
                if isinstance(value, str) and len(value) > limit:
                    raise bad(f"{method} text is too long")
        self.settings[method] = dict(p.values)
        return True

    def _api_setMyDescription(self, p: Params) -> bool:
        return self._setting("setMyDescription", p, 512)

    def _api_setMyShortDescription(self, p: Params) -> bool:
        return self._setting("setMyShortDescription", p, 120)

    def _api_setMyName(self, p: Params) -> bool:
        return self._setting("setMyName", p, 64)

    def _api_setChatMenuButton(self, p: Params) -> bool:
        p.obj("menu_button", "can't parse menu button JSON object")
        return self._setting("setChatMenuButton", p)

    def _api_getMyDescription(self, p: Params) -> JSONDict:
        stored = self.settings.get("setMyDescription", {})
        return {"description": stored.get("description", "")}

    def _api_getMyShortDescription(self, p: Params) -> JSONDict:
        stored = self.settings.get("setMyShortDescription", {})
        return {"short_description": stored.get("short_description", "")}

    def _api_getMyName(self, p: Params) -> JSONDict:
        stored = self.settings.get("setMyName", {})
        return {"name": stored.get("name") or self.bot_user["first_name"]}

    def _api_getChatMenuButton(self, p: Params) -> JSONDict:
        button = self.settings.get("setChatMenuButton", {}).get("menu_button")
        return button if isinstance(button, dict) else {"type": "commands"}
