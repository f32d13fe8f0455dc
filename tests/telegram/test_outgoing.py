"""Sending without building a Message: the same request, byte for byte, as send_message.

``bot/telegram/outgoing.py`` sends through ``Bot.do_api_request`` and the review
keyboards go out as JSON built without PTB objects; the stand-in records every request's
parameters, so each case is sent both ways and the two requests compared field by field.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken
from telegram.ext import ExtBot

from bot.standin import BotAPIStandin
from bot.store import Store
from bot.store.personal import NO_MARKS, Marks
from bot.telegram import formdata
from bot.telegram.keyboards import review_keyboard, review_keyboard_json
from bot.telegram.outgoing import send_html
from bot.telegram.transport import build_request
from tests.conftest import BotHarness

ADA = 501
TEXT = '<b>Bold</b> &amp; <a href="https://example.com/?a=1&amp;b=2">a link</a> ☀️ 🎲 ünïcode'


async def request_made(standin: BotAPIStandin, send: Callable[[], Awaitable[Any]]) -> Any:
    """The parameters of the one request ``send`` made (polling aside)."""
    before = len(standin.all_requests)
    await send()
    made = [(m, p) for m, p in standin.all_requests[before:] if m != "getUpdates"]
    assert [m for m, _ in made] == ["sendMessage"]
    return made[0][1]


async def keyboards(store: Store) -> list[InlineKeyboardMarkup]:
    linked, plain = await store.get_takeaway(1), await store.get_takeaway(16)
    assert linked is not None and plain is not None
    marked = Marks(frozenset({1}), frozenset({16}), frozenset({1}))
    return [
        review_keyboard([linked], NO_MARKS),
        review_keyboard([plain], marked, admin=True),
        review_keyboard([linked, plain], marked, admin=True),
    ]


async def test_a_send_makes_the_request_send_message_makes(bot: BotHarness) -> None:
    ptb = bot.app.bot
    bot.standin.add_chat(ADA)
    markups: list[InlineKeyboardMarkup | None] = [None, *await keyboards(bot.store)]
    for markup in markups:
        expected = await request_made(
            bot.standin,
            lambda m=markup: ptb.send_message(ADA, TEXT, parse_mode=ParseMode.HTML, reply_markup=m),
        )
        assert expected["link_preview_options"] == '{"is_disabled": true}'  # from Defaults
        forms: list[InlineKeyboardMarkup | str | None] = [markup]
        if markup is not None:
            forms.append(json.dumps(markup.to_dict()))
        for form in forms:
            made = await request_made(bot.standin, lambda f=form: send_html(ptb, ADA, TEXT, f))
            assert made == expected
    assert len({m.text for m in bot.received(ADA)}) == 1


async def test_a_bot_without_defaults_sends_what_it_would(
    standin: BotAPIStandin, store: Store
) -> None:
    standin.add_chat(ADA)
    [markup, *_] = await keyboards(store)
    async with Bot(
        standin.token, base_url=f"{standin.url}/bot", request=build_request("aiohttp")
    ) as bot:
        expected = await request_made(
            standin, lambda: bot.send_message(ADA, TEXT, parse_mode="HTML", reply_markup=markup)
        )
        assert "link_preview_options" not in expected
        assert await request_made(standin, lambda: send_html(bot, ADA, TEXT, markup)) == expected


async def test_arbitrary_callback_data_goes_through_send_message(
    standin: BotAPIStandin, store: Store
) -> None:
    """do_api_request would skip the callback data cache; such a bot is sent the PTB way.
    (The cache needs PTB's optional ``callback-data`` extra, which the bot does not use.)"""
    standin.add_chat(ADA)
    [markup, *_] = await keyboards(store)
    async with ExtBot(
        standin.token,
        base_url=f"{standin.url}/bot",
        request=build_request("aiohttp"),
        arbitrary_callback_data=True,
    ) as bot:
        made = await request_made(
            standin, lambda: send_html(bot, ADA, TEXT, json.dumps(markup.to_dict()))
        )
    sent = made["reply_markup"]
    sent = (json.loads(sent) if isinstance(sent, str) else sent)["inline_keyboard"]
    assert [b["text"] for b in sent[0]] == ["❤️ Keep", "🚫 Not for me"]
    # The cache put its own keys in place of the data (and keeps the data for the press).
    assert sent[0][0]["callback_data"] != markup.inline_keyboard[0][0].callback_data


async def test_errors_are_the_ones_send_message_raises(bot: BotHarness) -> None:
    ptb = bot.app.bot
    bot.standin.add_chat(ADA)
    bot.standin.block(ADA, notify=False)
    for send in (lambda: ptb.send_message(ADA, TEXT), lambda: send_html(ptb, ADA, TEXT)):
        with pytest.raises(Forbidden):
            await send()
    bot.standin.unblock(ADA, notify=False)
    for send in (
        lambda: ptb.send_message(ADA, "<b>unclosed", parse_mode=ParseMode.HTML),
        lambda: send_html(ptb, ADA, "<b>unclosed"),
    ):
        with pytest.raises(BadRequest):
            await send()
    token = bot.standin.token
    bot.standin.token = "1:revoked"  # a token revoked while the bot runs
    try:
        for send in (lambda: ptb.send_message(ADA, TEXT), lambda: send_html(ptb, ADA, TEXT)):
            with pytest.raises(InvalidToken):
                await send()
    finally:
        bot.standin.token = token


async def test_review_keyboard_json_is_what_ptb_sends_for_the_keyboard(store: Store) -> None:
    linked, plain = await store.get_takeaway(1), await store.get_takeaway(16)
    assert linked is not None and plain is not None
    for items in ([linked], [plain], [linked, plain], [plain, linked, plain]):
        for marks in (
            NO_MARKS,
            Marks(frozenset({1, 16}), frozenset({16}), frozenset({1})),
            Marks(frozenset(), frozenset({1}), frozenset({16}), channel=True),
        ):
            for admin in (False, True):
                markup = review_keyboard(items, marks, admin=admin)
                assert review_keyboard_json(items, marks, admin=admin) == json.dumps(
                    markup.to_dict()
                )
    extra = [[InlineKeyboardButton("More", callback_data="more:1:5")]]
    assert review_keyboard([plain], NO_MARKS, extra_rows=extra).inline_keyboard[-1] == tuple(
        extra[0]
    )


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=200), max_size=6))
def test_form_encoding_is_urlencode(fields: dict[str, str]) -> None:
    assert formdata.urlencode(fields) == urllib.parse.urlencode(fields).encode()


def test_form_encoding_of_every_byte_and_a_lone_surrogate() -> None:
    every = "".join(chr(c) for c in range(0x800)) + "😀\U0010ffff"
    assert formdata.quote_plus(every) == urllib.parse.quote_plus(every)
    with pytest.raises(UnicodeEncodeError):
        urllib.parse.quote_plus("\ud800")
    with pytest.raises(UnicodeEncodeError):
        formdata.quote_plus("\ud800")
