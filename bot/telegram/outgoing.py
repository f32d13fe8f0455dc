"""Sending a message whose answer nobody reads, without turning the answer into objects.

``Bot.send_message`` turns Telegram's answer into a ``telegram.Message`` (its chat, its
sender, its entities, its keyboard): about a seventh of the bot's CPU time per ``/random``
and per daily message in the profile, for objects the replies and the daily run never
look at. ``Bot.do_api_request`` (public since PTB 20.8) makes the same request and hands
back Telegram's answer as it came; everything else on the way is the same code as for
``send_message``: ``ExtBot``'s rate limiter (so ``limiter.py`` paces it and
``marking.py`` marks a daily delivery before it leaves), the same transport, and the
same errors (``Forbidden``, ``BadRequest``, ``RetryAfter``, ``TimedOut`` ...) for the
same answers. Two things ``send_message`` does are done here instead:

* **Defaults.** ``do_api_request`` inserts none, so the ones ``send_message`` would
  insert (the link preview setting, ``disable_notification``, ``protect_content``) are
  read from the bot's ``Defaults``. The request carries the same fields either way
  (``tests/telegram/test_outgoing.py`` compares them).
* **Arbitrary callback data.** ``do_api_request`` does not replace a keyboard's callback
  data with cache keys; a bot that uses such a cache (this one does not) is sent
  through ``send_message``.

PTB warns when ``do_api_request`` is used for a method that has its own function, to
point people to the typed one; here the raw answer is the point, so that one warning
is silenced (here, and in the tests' warning filters).
"""

from __future__ import annotations

import functools
import json
import warnings
from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import EndPointNotFound, InvalidToken
from telegram.ext import Defaults, ExtBot
from telegram.warnings import PTBUserWarning

SEND_MESSAGE = "sendMessage"

warnings.filterwarnings(
    "ignore",
    message=r"Please use 'Bot\.sendMessage' instead of 'Bot\.do_api_request",
    category=PTBUserWarning,
)


def _defaults(bot: Bot) -> dict[str, Any]:
    """The fields ``send_message`` would fill in from the bot's ``Defaults``."""
    defaults = bot.defaults if isinstance(bot, ExtBot) else None
    return {} if defaults is None else dict(_fields_of(defaults))


@functools.lru_cache(maxsize=8)
def _fields_of(defaults: Defaults) -> tuple[tuple[str, Any], ...]:
    """``defaults`` as request fields, the link preview setting already in JSON (as PTB
    would write it for every message otherwise)."""
    preview = defaults.link_preview_options
    fields = {
        "link_preview_options": None if preview is None else preview.to_json(),
        "disable_notification": defaults.disable_notification,
        "protect_content": defaults.protect_content,
    }
    return tuple((name, value) for name, value in fields.items() if value is not None)


async def send_html(
    bot: Bot,
    chat_id: int | str,
    text: str,
    reply_markup: InlineKeyboardMarkup | str | None = None,
) -> None:
    """``bot.send_message(chat_id, text, parse_mode=HTML, reply_markup=...)``, answer unread.

    ``reply_markup`` may also be the keyboard's JSON, as PTB would write it
    (``keyboards.review_keyboard_json``): PTB passes a string on as it is.
    """
    if isinstance(bot, ExtBot) and bot.callback_data_cache is not None:
        markup = (
            InlineKeyboardMarkup.de_json(json.loads(reply_markup), bot)
            if isinstance(reply_markup, str)
            else reply_markup
        )
        await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)
        return
    fields: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": ParseMode.HTML}
    if reply_markup is not None:
        fields["reply_markup"] = reply_markup
    fields.update(_defaults(bot))
    try:
        await bot.do_api_request(SEND_MESSAGE, api_kwargs=fields)
    except EndPointNotFound as error:
        # A 401/404 (a revoked token) is InvalidToken through send_message; keep it so.
        if isinstance(error.__cause__, InvalidToken):
            raise error.__cause__ from None
        raise
