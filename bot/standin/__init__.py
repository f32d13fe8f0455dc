"""A strict, fast, in-process stand-in for the Telegram Bot API.

Why it exists
-------------
Two users need a Telegram that is not Telegram:

* the test suite, which drives the *real* python-telegram-bot stack (httpx request,
  ``AIORateLimiter``, long polling) against it over HTTP on 127.0.0.1, so that what is
  tested is what runs in production, down to the bytes on the wire;
* ``takeaways-bot console``, which lets a person chat with the real bot in a terminal
  with no network: typed lines become updates, what the bot sends is printed.

So it is product code: stdlib only (a small HTTP/1.1 server on ``asyncio.start_server``),
no threads, no sleeps, O(1) bookkeeping per request.

Strict like Telegram
--------------------
A stand-in that accepts anything hides exactly the bugs that bite in production, so this
one rejects what Telegram rejects, with Telegram's HTTP status and wording (python-telegram-bot
turns those into ``BadRequest``, ``Forbidden``, ``RetryAfter``, ... from the status and the
``parameters``): HTML that Telegram's parser refuses, empty or over-long texts, invalid
inline keyboards, unknown chats, unknown or already-answered callback queries, edits that
change nothing. Where Telegram's wording is not known, the description is a plausible one
in the same style; tests should match on the distinctive part.

Deliberate differences from Telegram (documented, so nobody relies on them):

* An ``&`` in HTML that does not start ``&lt;`` ``&gt;`` ``&amp;`` ``&quot;`` or a numeric
  reference terminated by ``;`` is a 400 here. Telegram passes such an ``&`` through, but
  its docs say it must be escaped, and an unescaped ``&`` in user content is how
  ``&lt;b&gt;`` turns into a real tag: the stand-in makes the escaping bug visible.
* Text lengths (4096 for messages, 1024 for captions) are counted in characters (Python
  ``len``, i.e. code points) after entity parsing, which is how Telegram counts them.
  Entity offsets and lengths are in UTF-16 code units, as in the Bot API.
* Only ``parse_mode="HTML"`` is implemented; Markdown and MarkdownV2 are refused with a
  400 rather than accepted unchecked.
* Telegram adds auto-detected entities (URLs, @mentions) to the bot's own messages; the
  stand-in does not. Messages *from people* do carry ``bot_command``, ``mention``, ``url``
  and ``hashtag`` entities, like a Telegram client produces.
* Privacy mode is off: in groups the bot gets every message.
* No webhook delivery: ``setWebhook`` is validated and recorded (so ``getUpdates``
  answers 409 like Telegram); webhook tests take the queued updates with
  :meth:`BotAPIStandin.take_updates` and post them themselves.

Use it from the event loop thread only (``user_sends`` and friends are plain methods
that touch asyncio objects); a console reading stdin in a thread should hand lines over
with ``loop.call_soon_threadsafe``.

Methods: getMe, getUpdates (long polling), setWebhook, deleteWebhook, getWebhookInfo,
sendMessage, editMessageText, editMessageReplyMarkup, deleteMessage, sendDocument, getFile
(and file downloads), answerCallbackQuery, answerInlineQuery, getChat, getChatMember,
getChatAdministrators, getChatMemberCount, sendChatAction, set/get/deleteMyCommands,
set/getMyDescription, set/getMyShortDescription, set/getMyName, set/getChatMenuButton,
close, logOut. Any other method is 404 "Not Found", as Telegram answers unknown methods
(and is logged and recorded in ``failures``). Method names are case-insensitive.

Layout of this package, from the bottom up (each module imports only those above it):

* ``records``: what tests look at (SentMessage, Failure, ...), ApiError and the limits;
* ``entities``, ``html``, ``validation``: entities, the HTML parser, checks of texts,
  keyboards and commands;
* ``wire``: request parameters and the bytes of an answer;
* ``state``: the stand-in's attributes and the primitives every part uses;
* ``world``, ``people``, ``watch``, ``faults``: the simulated world, people acting, what
  the bot did (and waiting for it), injected failures;
* ``methods``: the Bot API methods, grouped as Telegram's docs group them (updates, the
  bot itself, chats, messages, editing, files, callback and inline queries);
* ``server``: :class:`BotAPIStandin`, the HTTP server and the routing of calls;
* ``__main__``: ``python -m bot.standin --port 8081``.
"""

from bot.standin.entities import detect_entities, utf16_len
from bot.standin.html import HtmlError, parse_html
from bot.standin.records import (
    CAPTION_LIMIT,
    DEFAULT_TOKEN,
    MESSAGE_LIMIT,
    ApiError,
    BotEvent,
    CallbackAnswer,
    Entity,
    Failure,
    Fault,
    InlineAnswer,
    SentMessage,
    StoredFile,
    UploadedFile,
)
from bot.standin.server import BotAPIStandin
from bot.standin.validation import check_reply_markup, format_text

__all__ = [
    "CAPTION_LIMIT",
    "DEFAULT_TOKEN",
    "MESSAGE_LIMIT",
    "ApiError",
    "BotAPIStandin",
    "BotEvent",
    "CallbackAnswer",
    "Entity",
    "Failure",
    "Fault",
    "HtmlError",
    "InlineAnswer",
    "SentMessage",
    "StoredFile",
    "UploadedFile",
    "check_reply_markup",
    "detect_entities",
    "format_text",
    "parse_html",
    "utf16_len",
]
