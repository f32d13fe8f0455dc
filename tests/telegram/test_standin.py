"""The Bot API stand-in, driven by the real python-telegram-bot stack over HTTP.

The stand-in is only worth something if it refuses what Telegram refuses and answers in
a way python-telegram-bot understands, so these tests talk to it exactly as the bot does:
through ``telegram.Bot`` (httpx, form and multipart encoding, error mapping) and through a
whole ``Application`` with ``AIORateLimiter`` and long polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from bot.standin import BotAPIStandin, Entity, parse_html, utf16_len

ADA = 42
GROUP = -1001234567890


@pytest.fixture
async def tg() -> AsyncIterator[BotAPIStandin]:
    async with BotAPIStandin() as standin:
        standin.add_chat(ADA, first_name="Ada", username="ada")
        yield standin
    assert not standin.internal_errors


@pytest.fixture
async def bot(tg: BotAPIStandin) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as client:
        yield client


def ci(text: str) -> str:
    """A case-insensitive match: python-telegram-bot capitalises Telegram's descriptions."""
    return "(?i)" + re.escape(text)


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


# -- sending -----------------------------------------------------------------------------------


async def test_get_me_answers_as_the_configured_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456789, "takeaways_bot", True)


async def test_send_message_is_recorded_with_parsed_entities(tg: BotAPIStandin, bot: Bot) -> None:
    html = '<b>Bold</b> 🎉 <i>it</i> &lt;3 <a href="https://example.com/x">link</a>'
    message = await bot.send_message(ADA, html, parse_mode=ParseMode.HTML)

    [sent] = tg.messages(ADA)
    assert sent.text == "Bold 🎉 it <3 link"
    assert sent.source == html
    assert sent.entities == [
        Entity("bold", 0, 4),
        Entity("italic", 8, 2),  # the emoji is two UTF-16 units
        Entity("text_link", 14, 4, "https://example.com/x"),
    ]
    assert [sent.entity_text(e) for e in sent.entities] == ["Bold", "it", "link"]
    assert message.message_id == sent.message_id
    assert message.text == sent.text
    assert [e.type for e in message.entities] == ["bold", "italic", "text_link"]
    assert tg.calls("sendMessage")[0]["chat_id"] == ADA
    assert tg.failures == []


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("fine <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 5'),
        ("é <foo>", 'Unsupported start tag "foo" at byte offset 3'),  # bytes, not characters
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("AT&T", 'Character "&" at byte offset 2 must be escaped as "&amp;"'),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a href=https://x.y>z</a>", "Unexpected end of name token at byte offset 8"),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
async def test_malformed_html_is_refused_like_telegram(bot: Bot, html: str, error: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(ADA, html, parse_mode=ParseMode.HTML)
    assert error.lower() in caught.value.message.lower()
    assert "parse entities" in caught.value.message.lower()


async def test_text_limits_count_characters_after_parsing(tg: BotAPIStandin, bot: Bot) -> None:
    await bot.send_message(ADA, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=ci("message is too long")):
        await bot.send_message(ADA, "x" * 4097)
    with pytest.raises(BadRequest, match=ci("message text is empty")):
        await bot.send_message(ADA, "<b> </b>\n", parse_mode=ParseMode.HTML)
    assert [f.description for f in tg.failures] == [
        "Bad Request: message is too long",
        "Bad Request: message text is empty",
    ]


async def test_inline_keyboards_are_validated(tg: BotAPIStandin, bot: Bot) -> None:
    await bot.send_message(ADA, "ok", reply_markup=keyboard("x" * 64))
    for data in ("x" * 65, "é" * 33):  # 65 and 66 bytes
        with pytest.raises(BadRequest, match=ci("BUTTON_DATA_INVALID")):
            await bot.send_message(ADA, "no", reply_markup=keyboard(data))
    bad_url = InlineKeyboardMarkup([[InlineKeyboardButton("site", url="javascript:alert(1)")]])
    with pytest.raises(BadRequest, match=ci("BUTTON_URL_INVALID")):
        await bot.send_message(ADA, "no", reply_markup=bad_url)
    text_only = InlineKeyboardMarkup([[InlineKeyboardButton("just text")]])
    with pytest.raises(BadRequest, match=ci("Text buttons are unallowed")):
        await bot.send_message(ADA, "no", reply_markup=text_only)
    [kept] = tg.messages(ADA)
    assert kept.callback_data == ["x" * 64]


async def test_unknown_chats_are_not_found_but_public_usernames_resolve(
    tg: BotAPIStandin, bot: Bot
) -> None:
    with pytest.raises(BadRequest, match=ci("chat not found")):
        await bot.send_message(777, "hello?")
    with pytest.raises(BadRequest, match=ci("chat not found")):
        await bot.send_message("@nobody", "hello?")
    tg.add_chat(-1009, type="channel", title="News", username="takeaways_news")
    message = await bot.send_message("@takeaways_news", "hello channel")
    assert message.chat.id == -1009
    assert tg.messages(-1009)[0].text == "hello channel"


async def test_edit_and_delete_follow_telegram_rules(tg: BotAPIStandin, bot: Bot) -> None:
    sent = await bot.send_message(ADA, "<b>one</b>", parse_mode="HTML", reply_markup=keyboard("a"))
    with pytest.raises(BadRequest, match=ci("message is not modified")):
        await bot.edit_message_text(
            "<b>one</b>", ADA, sent.message_id, parse_mode="HTML", reply_markup=keyboard("a")
        )
    edited = await bot.edit_message_text("<i>two</i>", ADA, sent.message_id, parse_mode="HTML")
    assert not isinstance(edited, bool) and edited.text == "two"
    [message] = tg.messages(ADA)
    assert (message.text, message.edited, message.reply_markup) == ("two", True, None)
    assert message.entities == [Entity("italic", 0, 3)]
    with pytest.raises(BadRequest, match=ci("message to edit not found")):
        await bot.edit_message_text("x", ADA, 999)
    await bot.edit_message_reply_markup(ADA, sent.message_id, reply_markup=keyboard("b"))
    assert tg.messages(ADA)[0].callback_data == ["b"]
    assert await bot.delete_message(ADA, sent.message_id)
    assert tg.messages(ADA) == []
    with pytest.raises(BadRequest, match=ci("message to delete not found")):
        await bot.delete_message(ADA, sent.message_id)


# -- faults ------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_injected_faults_map_to_ptb_exceptions(tg: BotAPIStandin, bot: Bot) -> None:
    tg.fail("sendMessage", status=403)
    with pytest.raises(Forbidden, match=ci("bot was blocked by the user")):
        await bot.send_message(ADA, "x")

    tg.fail("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(ADA, "x")
    assert flood.value.retry_after in (7, dtm.timedelta(seconds=7))

    for status, text in ((500, "Internal Server Error"), (502, "Bad Gateway")):
        tg.fail("sendMessage", status=status)
        with pytest.raises(NetworkError, match=ci(text)):
            await bot.send_message(ADA, "x")

    tg.fail(None, chat_id=ADA, status=500, times=2)
    with pytest.raises(NetworkError):
        await bot.send_chat_action(ADA, "typing")
    with pytest.raises(NetworkError):
        await bot.send_message(ADA, "x")
    await bot.send_message(ADA, "through at last")  # faults are used up
    assert [m.text for m in tg.messages(ADA)] == ["through at last"]

    tg.fail("sendMessage", drop_connection=True)
    with pytest.raises(NetworkError):
        await bot.send_message(ADA, "x")


async def test_blocked_user_and_migrated_group(tg: BotAPIStandin, bot: Bot) -> None:
    tg.block(ADA)
    with pytest.raises(Forbidden, match=ci("bot was blocked by the user")):
        await bot.send_message(ADA, "x")
    [update] = await bot.get_updates()
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"

    tg.add_chat(-55, title="Readers")
    tg.migrate_chat(-55, GROUP)
    with pytest.raises(ChatMigrated) as moved:
        await bot.send_message(-55, "x")
    assert moved.value.new_chat_id == GROUP
    await bot.send_message(GROUP, "in the supergroup")


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_limit_answers_429_with_retry_after(tg: BotAPIStandin, bot: Bot) -> None:
    tg.max_sends_per_second = 3
    tg.flood_retry_after = 2
    for n in range(3):
        await bot.send_message(ADA, f"m{n}")
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(ADA, "one too many")
    assert flood.value.retry_after in (2, dtm.timedelta(seconds=2))


async def test_wrong_token_and_unknown_method(tg: BotAPIStandin) -> None:
    wrong = "123456789:AAWrongWrongWrongWrongWrongWrong_1234"
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot(wrong, base_url=tg.base_url):
            pass
    async with Bot(tg.token, base_url=tg.base_url) as real:
        with pytest.raises(EndPointNotFound):
            await real.do_api_request("sendTelepathy", api_kwargs={"chat_id": ADA})
    assert [(f.method, f.status) for f in tg.failures] == [("getMe", 401), ("sendTelepathy", 404)]


# -- people and updates ------------------------------------------------------------------------


async def test_long_poll_wakes_on_a_user_message(tg: BotAPIStandin, bot: Bot) -> None:
    tg.add_chat(GROUP, title="Readers")
    started = time.perf_counter()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    tg.user_sends(GROUP, "/start@takeaways_bot now", user_id=7)
    [update] = await poll
    assert time.perf_counter() - started < 2

    message = update.message
    assert message is not None and message.from_user is not None
    assert (message.chat.id, message.from_user.id, message.text) == (
        GROUP,
        7,
        "/start@takeaways_bot now",
    )
    [command] = message.entities
    assert (command.type, command.offset, command.length) == ("bot_command", 0, 20)

    # Confirming with offset drops it; an empty poll times out with [].
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert tg.pending_updates == []


async def test_button_press_arrives_as_callback_query(tg: BotAPIStandin, bot: Bot) -> None:
    sent = await bot.send_message(ADA, "pick", reply_markup=keyboard("yes", "no"))
    with pytest.raises(ValueError, match=ci("no button")):
        tg.user_presses(ADA, sent.message_id, "maybe")
    query_id = tg.user_presses(ADA, sent.message_id, "no")
    [update] = await bot.get_updates(timeout=1)
    query = update.callback_query
    assert query is not None and query.message is not None
    assert (query.id, query.data, query.message.message_id) == (query_id, "no", sent.message_id)

    assert await query.answer("Noted", show_alert=True)
    assert tg.callback_answers[query_id].text == "Noted"
    assert tg.callback_answers[query_id].show_alert
    with pytest.raises(BadRequest, match=ci("query is too old")):
        await bot.answer_callback_query(query_id)

    forged = tg.user_presses(ADA, sent.message_id, "tampered", forged=True)
    assert forged != query_id


async def test_document_upload_round_trip(tg: BotAPIStandin, bot: Bot) -> None:
    content = b"title,text\nDeep Work,Focus\n" * 100
    tg.user_sends_document(ADA, "my highlights.csv", content, caption="import please")
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.document is not None
    document = update.message.document
    assert (document.file_name, document.file_size) == ("my highlights.csv", len(content))
    file = await document.get_file()
    assert bytes(await file.download_as_bytearray()) == content


async def test_send_document_is_recorded(tg: BotAPIStandin, bot: Bot) -> None:
    payload = json.dumps({"takeaways": ["a", "b"]}).encode()
    message = await bot.send_document(
        ADA,
        payload,
        filename="export.json",
        caption="<b>Your</b> export",
        parse_mode=ParseMode.HTML,
    )
    assert message.document is not None and message.caption == "Your export"
    [sent] = tg.messages(ADA)
    assert (sent.method, sent.document_name, sent.document_bytes) == (
        "sendDocument",
        "export.json",
        payload,
    )
    assert sent.entities == [Entity("bold", 0, 4)]
    # The bot's own upload can be fetched again like any file.
    file = await bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == payload
    with pytest.raises(BadRequest, match=ci("caption is too long")):
        await bot.send_document(ADA, b"x", filename="x.txt", caption="c" * 1025)


async def test_webhook_makes_get_updates_conflict(tg: BotAPIStandin, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=ci("HTTPS URL")):
        await bot.set_webhook("http://example.com/hook")
    assert await bot.set_webhook("https://example.com/hook", secret_token="s3cret")
    with pytest.raises(Conflict, match=ci("webhook is active")):
        await bot.get_updates()
    tg.user_sends(ADA, "hi")
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("https://example.com/hook", 1)
    [update] = tg.take_updates()
    assert Update.de_json(update, bot).message is not None
    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_commands_are_validated_and_stored(tg: BotAPIStandin, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("today", "A takeaway")])
    assert tg.my_commands() == [("start", "Begin"), ("today", "A takeaway")]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "today"]
    with pytest.raises(BadRequest, match=ci("BOT_COMMAND_INVALID")):
        await bot.set_my_commands([BotCommand("Start", "Capital letters are refused")])
    with pytest.raises(BadRequest, match=ci("description")):
        await bot.set_my_commands([BotCommand("start", "")])
    assert await bot.delete_my_commands()
    assert tg.my_commands() == []


async def test_inline_query_answers_are_validated(tg: BotAPIStandin, bot: Bot) -> None:
    query_id = tg.user_inline_query(ADA, "focus")
    [update] = await bot.get_updates()
    assert update.inline_query is not None and update.inline_query.query == "focus"

    def article(result_id: str, text: str) -> InlineQueryResultArticle:
        content = InputTextMessageContent(text, parse_mode=ParseMode.HTML)
        return InlineQueryResultArticle(result_id, "A takeaway", content)

    with pytest.raises(BadRequest, match=ci("parse entities")):
        await bot.answer_inline_query(query_id, [article("1", "<b>oops")])
    with pytest.raises(BadRequest, match=ci("RESULT_ID_DUPLICATE")):
        await bot.answer_inline_query(query_id, [article("1", "a"), article("1", "b")])
    assert await bot.answer_inline_query(query_id, [article("1", "<b>Focus</b> wins")])
    assert [r["id"] for r in tg.inline_answers[query_id].results] == ["1"]
    with pytest.raises(BadRequest, match=ci("query is too old")):
        await bot.answer_inline_query(query_id, [])


async def test_chat_lookups(tg: BotAPIStandin, bot: Bot) -> None:
    tg.add_chat(GROUP, title="Readers")
    tg.set_admins(GROUP, [7], owner=1)
    tg.add_member(GROUP, 8)
    chat = await bot.get_chat(GROUP)
    assert (chat.title, chat.type) == ("Readers", "supergroup")
    statuses = {m.user.id: m.status for m in await bot.get_chat_administrators(GROUP)}
    assert statuses == {1: "creator", 7: "administrator"}
    assert (await bot.get_chat_member(GROUP, 8)).status == "member"
    assert (await bot.get_chat_member(GROUP, 7)).status == "administrator"
    with pytest.raises(BadRequest, match=ci("no administrators in the private chat")):
        await bot.get_chat_administrators(ADA)


# -- the whole application ---------------------------------------------------------------------


async def test_a_real_application_polls_replies_and_handles_presses(tg: BotAPIStandin) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id,
            "<b>Welcome</b>, pick one:",
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard("more"),
        )

    async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("coming up")
        await update.callback_query.edit_message_text("Here is more")

    app = (
        Application.builder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .rate_limiter(AIORateLimiter())
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(more))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        try:
            tg.user_sends(ADA, "/start")
            [welcome] = await tg.wait_for_messages(ADA)
            assert welcome.text == "Welcome, pick one:"
            query_id = tg.user_presses(ADA, welcome.message_id, "more")
            await tg.wait_for(lambda: tg.messages(ADA)[0].edited)
            assert tg.messages(ADA)[0].text == "Here is more"
            assert tg.callback_answers[query_id].text == "coming up"
        finally:
            await app.updater.stop()
            await app.stop()
    assert tg.failures == []
    # Stopping left nothing behind that a new poller would collide with.
    async with Bot(tg.token, base_url=tg.base_url) as again:
        assert await again.get_updates(timeout=0) == ()


async def test_wait_for_times_out_with_a_useful_message(tg: BotAPIStandin) -> None:
    with pytest.raises(TimeoutError, match=ci("last requests")):
        await tg.wait_for_messages(ADA, timeout=0.05)


# -- the HTML parser on its own ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("plain", "plain", []),
        ("  <b>x</b>  ", "x", [{"type": "bold", "offset": 0, "length": 1}]),
        ("<b></b>y", "y", []),  # empty entities vanish
        (
            "<b>a<i>b</i></b>",
            "ab",
            [
                {"type": "bold", "offset": 0, "length": 2},
                {"type": "italic", "offset": 1, "length": 1},
            ],
        ),
        (
            '<pre><code class="language-python">x = 1</code></pre>',
            "x = 1",
            [{"type": "pre", "offset": 0, "length": 5, "language": "python"}],
        ),
        ("<code><b>x</b></code>", "x", [{"type": "code", "offset": 0, "length": 1}]),
        (
            '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
            "st",
            [
                {"type": "spoiler", "offset": 0, "length": 1},
                {"type": "spoiler", "offset": 1, "length": 1},
            ],
        ),
        (
            "<blockquote expandable>q</blockquote>",
            "q",
            [{"type": "expandable_blockquote", "offset": 0, "length": 1}],
        ),
        (
            "<a>https://example.com</a>",
            "https://example.com",
            [{"type": "text_link", "offset": 0, "length": 19, "url": "https://example.com/"}],
        ),
        ('<a href="javascript:x">no link</a>', "no link", []),
        ("&#128512;&#x41;&quot;&amp;&gt;", '😀A"&>', []),
        (
            '<A HREF="https://e.org/?a=1&amp;b=2">e</A>',
            "e",
            [{"type": "text_link", "offset": 0, "length": 1, "url": "https://e.org/?a=1&b=2"}],
        ),
        (
            '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
            "👍",
            [
                {
                    "type": "custom_emoji",
                    "offset": 0,
                    "length": 2,
                    "custom_emoji_id": "5368324170671202286",
                }
            ],
        ),
    ],
)
def test_parse_html(html: str, text: str, entities: list[dict[str, Any]]) -> None:
    assert parse_html(html) == (text, entities)


def test_utf16_len_counts_surrogate_pairs() -> None:
    assert utf16_len("a😀é") == 4


# -- speed -------------------------------------------------------------------------------------


async def test_throughput_with_a_raw_httpx_client(tg: BotAPIStandin) -> None:
    """Enough headroom for the bot's benchmark; the figure is printed for the record."""
    url = f"{tg.base_url}{tg.token}/sendMessage"
    data = {
        "chat_id": str(ADA),
        "text": "<b>Takeaway</b> of the day &amp; more",
        "parse_mode": "HTML",
    }
    async with httpx.AsyncClient() as client:

        async def sender(count: int) -> None:
            for _ in range(count):
                response = await client.post(url, data=data)
                assert response.status_code == 200

        await sender(20)
        started = time.perf_counter()
        await asyncio.gather(*(sender(100) for _ in range(8)))
        rate = 800 / (time.perf_counter() - started)
    print(f"stand-in: {rate:.0f} sendMessage/s through a raw httpx client")
    assert len(tg.messages(ADA)) == 820
    assert rate > 150  # a floor that only catches accidental sleeps or per-request threads


# -- plumbing ----------------------------------------------------------------------------------


async def test_an_abandoned_long_poll_does_not_conflict(tg: BotAPIStandin, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.wait_for(lambda: tg.is_polling)
    poll.cancel()  # httpx drops the connection, as on application shutdown
    with contextlib.suppress(asyncio.CancelledError):
        await poll
    await tg.wait_for(lambda: not tg.is_polling)
    tg.user_sends(ADA, "still there?")
    [update] = await bot.get_updates(timeout=1)
    assert update.message is not None and update.message.text == "still there?"
    assert tg.failures == []


async def test_json_bodies_query_strings_and_chunked_uploads(tg: BotAPIStandin) -> None:
    base = f"{tg.base_url}{tg.token}"
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{base}/sendMessage", json={"chat_id": ADA, "text": "json"})
        assert response.json()["result"]["text"] == "json"
        response = await client.get(f"{base}/sendmessage", params={"chat_id": ADA, "text": "q"})
        assert response.json()["result"]["text"] == "q"

        async def chunks() -> AsyncIterator[bytes]:
            yield b"chat_id=42&te"
            yield b"xt=chunked+body"

        response = await client.post(
            f"{base}/sendMessage",
            content=chunks(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.json()["result"]["text"] == "chunked body"
        response = await client.post(
            f"{base}/getMe", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert (response.status_code, response.json()["ok"]) == (400, False)
    assert [m.text for m in tg.messages(ADA)] == ["json", "q", "chunked body"]


async def test_latency_delays_every_answer(tg: BotAPIStandin, bot: Bot) -> None:
    tg.latency = 0.2
    started = time.perf_counter()
    await bot.send_message(ADA, "slow network")
    assert time.perf_counter() - started >= 0.2


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_the_rate_limiter_recovers_from_a_flood(tg: BotAPIStandin) -> None:
    tg.max_sends_per_second = 2
    tg.flood_retry_after = 1
    app = (
        Application.builder()
        .token(tg.token)
        .base_url(tg.base_url)
        .rate_limiter(AIORateLimiter(max_retries=2))
        .build()
    )
    async with app:
        for n in range(3):
            await app.bot.send_message(ADA, f"m{n}")
    assert [m.text for m in tg.messages(ADA)] == ["m0", "m1", "m2"]
    assert [f.status for f in tg.failures] == [429]


def test_people_in_groups_must_be_named(tg: BotAPIStandin) -> None:
    tg.add_chat(GROUP, title="Readers")
    with pytest.raises(ValueError, match="user_id"):
        tg.user_sends(GROUP, "hello")
    update_id = tg.user_sends(GROUP, "hello @takeaways_bot #focus https://e.org", user_id=9)
    [update] = tg.pending_updates
    assert update["update_id"] == update_id
    kinds = [e["type"] for e in update["message"]["entities"]]
    assert kinds == ["mention", "hashtag", "url"]
