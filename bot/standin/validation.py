"""Validation of what the bot sends: texts and captions, keyboards, commands.

Each check refuses what Telegram refuses, with its wording, so the real bot meets the
same ``BadRequest`` here as in production.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from bot.standin.entities import check_link, finish, utf16_len
from bot.standin.html import HtmlError, parse_html
from bot.standin.records import CALLBACK_DATA_LIMIT, JSONDict, bad

_BUTTON_ACTIONS: Final = frozenset(
    {
        "url", "callback_data", "web_app", "login_url", "switch_inline_query",
        "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
        "callback_game", "pay",
    }
)  # fmt: skip
_MAX_BUTTONS: Final = 100
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


def format_text(
    text: str | None,
    parse_mode: str | None,
    entities: Any,
    *,
    limit: int,
    caption: bool = False,
    users: Mapping[int, Mapping[str, Any]] | None = None,
) -> tuple[str, list[JSONDict]]:
    """Validate a message text or caption the way sendMessage does; (plain, entities).

    An empty caption is allowed (no caption); an empty message text is not.
    """
    if text is None or text == "":
        if caption:
            return "", []
        raise bad("message text is empty")
    mode = (parse_mode or "").strip().lower()
    if entities is not None:
        plain, parsed = finish(text, _explicit_entities(entities, text))
    elif mode == "html":
        try:
            plain, parsed = parse_html(text, users=users)
        except HtmlError as exc:
            raise bad(f"can't parse entities: {exc}") from None
    elif mode == "":
        plain, parsed = finish(text, [])
    elif mode in ("markdown", "markdownv2"):
        raise bad(f"unsupported parse_mode {parse_mode!r} (the stand-in implements only HTML)")
    else:
        raise bad("unsupported parse_mode")
    if not plain:
        if caption:
            return "", []
        raise bad("message text is empty")
    if len(plain) > limit:
        raise bad("message caption is too long" if caption else "message is too long")
    return plain, parsed


def _explicit_entities(value: Any, text: str) -> list[JSONDict]:
    """Entities passed as ``entities``/``caption_entities``: checked, clipped to the text."""
    if not isinstance(value, list):
        raise bad("can't parse entities JSON object")
    total = utf16_len(text)
    out: list[JSONDict] = []
    for item in value:
        if not isinstance(item, dict):
            raise bad("can't parse MessageEntity: MessageEntity must be an Object")
        kind, offset, length = item.get("type"), item.get("offset"), item.get("length")
        if not isinstance(kind, str) or not isinstance(offset, int) or not isinstance(length, int):
            raise bad('can\'t parse MessageEntity: fields "type", "offset", "length" are required')
        if kind == "text_link" and check_link(str(item.get("url", ""))) is None:
            continue
        start, end = max(offset, 0), min(offset + length, total)
        if end > start:
            out.append({**item, "offset": start, "length": end - start})
    return out


def check_reply_markup(markup: Any) -> JSONDict | None:
    """Validate reply_markup like Telegram; returns it (a dict) or None."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
        for row in rows:
            for button in row:
                label = button if isinstance(button, str) else None
                if isinstance(button, dict):
                    label = button.get("text")
                if not isinstance(label, str) or not label:
                    raise bad("can't parse keyboard button: Can't find field \"text\"")
    elif markup.get("remove_keyboard") is not True and markup.get("force_reply") is not True:
        raise bad("can't parse reply keyboard markup JSON object")
    return markup


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    if sum(len(row) for row in rows) > _MAX_BUTTONS:
        raise bad("reply markup is too long")
    for row in rows:
        for button in row:
            if not isinstance(button, dict):
                raise bad(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            label = button.get("text")
            if not isinstance(label, str):
                raise bad("can't parse inline keyboard button: Can't find field \"text\"")
            if not label.strip():
                raise bad("BUTTON_TEXT_INVALID")
            actions = _BUTTON_ACTIONS.intersection(button)
            if not actions:
                raise bad(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            if len(actions) > 1:
                raise bad("BUTTON_TYPE_INVALID")
            if "callback_data" in button:
                data = button["callback_data"]
                if (
                    not isinstance(data, str)
                    or not data
                    or len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT
                ):
                    raise bad("BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                link = check_link(url) if isinstance(url, str) else None
                if link is None or link.split(":", 1)[0].lower() not in ("http", "https", "tg"):
                    raise bad("BUTTON_URL_INVALID")


def check_commands(commands: Any) -> list[JSONDict]:
    if not isinstance(commands, list):
        raise bad("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad("too many commands")
    out: list[JSONDict] = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad("can't parse BotCommand: BotCommand must be an Object")
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _COMMAND_NAME.match(name):
            raise bad("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not description.strip():
            raise bad("command description must be non-empty")
        if len(description) > 256:
            raise bad("command description is too long")
        out.append({"command": name, "description": description})
    return out


def scope_key(scope: Any) -> str:
    if scope is None:
        return '{"type":"default"}'
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise bad("can't parse BotCommandScope JSON object")
    normal = dict(scope)
    for key in ("chat_id", "user_id"):
        value = normal.get(key)
        if isinstance(value, str) and value.lstrip("-").isdigit():
            normal[key] = int(value)
    return json.dumps(normal, sort_keys=True, separators=(",", ":"))
