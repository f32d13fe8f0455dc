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

Layout of this module: records (what tests look at) · HTML entity parser · validation
of texts, keyboards, commands and inline results · HTTP plumbing · ``BotAPIStandin``
(the world, the simulated people, what the bot did, faults, then the API methods).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import mimetypes
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final, NamedTuple, TypeVar
from urllib.parse import unquote

__all__ = [
    "DEFAULT_TOKEN",
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

_log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
_T = TypeVar("_T")

DEFAULT_TOKEN: Final = "123456789:AAStandinStandinStandinStandin_12345"

MESSAGE_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024
CALLBACK_DATA_LIMIT: Final = 64  # bytes, UTF-8
INLINE_RESULTS_LIMIT: Final = 50
UPLOAD_LIMIT: Final = 50 * 1024 * 1024  # sendDocument from the bot
DOWNLOAD_LIMIT: Final = 20 * 1024 * 1024  # getFile
_MAX_BODY: Final = UPLOAD_LIMIT + 1024 * 1024  # multipart overhead on top of the file

# ---------------------------------------------------------------------------------------------
# Records: what the bot did, as tests and the console look at it
# ---------------------------------------------------------------------------------------------


class Entity(NamedTuple):
    """One message entity, offsets and length in UTF-16 code units as in the Bot API.

    ``url`` is set for ``text_link``; everything else Telegram sends about an entity
    (``language`` of a ``pre``, the ``user`` of a ``text_mention``) is in
    ``SentMessage.raw["entities"]``.
    """

    type: str
    offset: int
    length: int
    url: str | None = None


@dataclass(slots=True)
class StoredFile:
    """A file known to the stand-in: uploaded by a person or sent by the bot."""

    file_id: str
    file_unique_id: str
    file_path: str
    filename: str
    content: bytes
    mime_type: str

    def as_document(self) -> JSONDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.filename,
            "mime_type": self.mime_type,
            "file_size": len(self.content),
        }


@dataclass(slots=True)
class UploadedFile:
    """One file part of a multipart request, as received."""

    filename: str
    content: bytes
    content_type: str


@dataclass(eq=False, slots=True)
class SentMessage:
    """A message the bot sent, kept up to date by edits and deletions.

    ``text`` is the plain text after entity parsing (the caption for documents, "" if
    none); ``source`` is the text exactly as the bot sent it; ``raw`` is the Message
    object as last returned to the bot; ``params`` are the request parameters.
    """

    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    entities: list[Entity]
    reply_markup: JSONDict | None
    method: str
    date: int
    source: str = ""
    edited: bool = False
    deleted: bool = False
    document_name: str | None = None
    document_bytes: bytes | None = None
    file_id: str | None = None
    params: JSONDict = field(default_factory=dict)
    raw: JSONDict = field(default_factory=dict)

    @property
    def buttons(self) -> list[list[JSONDict]]:
        """The inline keyboard rows (empty if the message has none)."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard")
        return rows if isinstance(rows, list) else []

    @property
    def callback_data(self) -> list[str]:
        """Every ``callback_data`` on the inline keyboard, row by row."""
        return [
            str(button["callback_data"])
            for row in self.buttons
            for button in row
            if "callback_data" in button
        ]

    def button_data(self, text: str) -> str:
        """The ``callback_data`` of the button labelled ``text`` (KeyError if none)."""
        for row in self.buttons:
            for button in row:
                if button.get("text") == text and "callback_data" in button:
                    return str(button["callback_data"])
        raise KeyError(f"no callback button {text!r} on message {self.message_id}")

    def entity_text(self, entity: Entity) -> str:
        """The part of ``text`` an entity covers (offsets are UTF-16)."""
        encoded = self.text.encode("utf-16-le")
        return encoded[2 * entity.offset : 2 * (entity.offset + entity.length)].decode("utf-16-le")


@dataclass(slots=True)
class CallbackAnswer:
    """How the bot answered a button press."""

    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass(slots=True)
class InlineAnswer:
    """How the bot answered an inline query."""

    query_id: str
    results: list[JSONDict]
    cache_time: int | None
    is_personal: bool
    next_offset: str | None
    params: JSONDict


@dataclass(slots=True)
class Failure:
    """A request the stand-in refused: tests can assert the bot made none."""

    method: str
    params: JSONDict
    status: int
    description: str


@dataclass(slots=True)
class Fault:
    """An injected failure (see :meth:`BotAPIStandin.fail`)."""

    method: str | None
    chat_id: int | str | None
    status: int
    description: str
    parameters: JSONDict | None
    remaining: int | None  # None: until cleared
    drop_connection: bool = False


@dataclass(slots=True)
class BotEvent:
    """Something the bot did that a person would notice, for listeners (the console).

    ``kind`` is one of "sent", "edited", "deleted", "callback_answer", "chat_action".
    """

    kind: str
    chat_id: int | None
    message: SentMessage | None = None
    callback_answer: CallbackAnswer | None = None
    action: str | None = None


class ApiError(Exception):
    """A Bot API error response: HTTP status, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class _ClientGone(Exception):
    """The client closed the connection while its long poll was waiting."""


def _bad(description: str, parameters: JSONDict | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters)


# ---------------------------------------------------------------------------------------------
# HTML entity parser (a port of the behaviour of Telegram's parser, tdlib's parse_html)
# ---------------------------------------------------------------------------------------------

_HTML_TAGS: Final = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
# tdlib's is_space; "\0" doubles as the end-of-text sentinel, as in the C string it parses.
_SPACE: Final = frozenset(" \t\r\n\0\v\f")
_SPECIAL = re.compile(r"[<&]")
_SIMPLE_TAG = re.compile(
    r"<(/?)(a|b|strong|i|em|u|ins|s|strike|del|tg-spoiler|tg-emoji|code|pre|blockquote)>",
    re.IGNORECASE,
)
_NAMED_REFERENCES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_REFERENCE = re.compile(r"&(?:#[xX]([0-9a-fA-F]+)|#([0-9]+)|([a-zA-Z]+))(;?)")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")
_SIMPLE_FORMATTING: Final = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "tg-spoiler": "spoiler",
}  # fmt: skip
# tdlib sorts entities by offset, then longer first, then by this priority.
_PRIORITY: Final = {
    "blockquote": 0, "expandable_blockquote": 0, "pre": 11, "code": 20, "text_link": 49,
    "text_mention": 49, "bold": 90, "italic": 91, "underline": 92, "strikethrough": 93,
    "spoiler": 94, "custom_emoji": 99,
}  # fmt: skip
# Entities that may nest with anything (except inside code/pre).
_SPLITTABLE: Final = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_BLOCKQUOTES: Final = frozenset({"blockquote", "expandable_blockquote"})
# What Telegram strips from both ends of a text (tdlib's "empty characters").
_EMPTY_CHARS: Final = "".join(chr(c) for c in range(33)) + (
    "\u00a0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202f\u205f\u3000\ufeff\ufffc"
)
_TG_USER = re.compile(r"tg://user\?id=(\d{1,19})$", re.IGNORECASE)
_LINK_SCHEMES: Final = frozenset({"http", "https", "ftp", "tg", "ton"})
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")


class HtmlError(ValueError):
    """Telegram's "can't parse entities" (the message is Telegram's, without the prefix)."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Bot API entity offsets."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) >> 1


def _byte_offset(text: str, index: int) -> int:
    """Telegram reports parse errors at UTF-8 byte offsets."""
    return len(text[:index].encode("utf-8"))


def _decode_reference(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference at ``text[pos] == "&"``: (character, end) or None.

    Telegram accepts ``&lt;`` ``&gt;`` ``&amp;`` ``&quot;`` and numeric references below
    U+10FFFF; it tolerates a missing ``;``, the stand-in does not (see the module doc).
    """
    match = _REFERENCE.match(text, pos)
    if match is None or not match.group(4):
        return None
    hexa, decimal, name = match.group(1), match.group(2), match.group(3)
    if name is not None:
        char = _NAMED_REFERENCES.get(name)
        return None if char is None else (char, match.end())
    digits = hexa if hexa is not None else decimal
    if len(digits) > 7:
        return None
    code = int(digits, 16 if hexa is not None else 10)
    if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def _check_link(url: str) -> str | None:
    """Normalise a link like Telegram does for text_link entities and URL buttons.

    Links without a scheme get ``http://``; only http(s), ftp, tg and ton are links;
    an http(s) link to a bare host gets a trailing ``/``. None if it is not a link.
    """
    url = url.strip()
    if not url or any(c in _SPACE for c in url):
        return None
    match = _SCHEME.match(url)
    if match is None or (match.group(1).lower() not in _LINK_SCHEMES and "://" not in url):
        # "example.com" or "localhost:8080/x": no scheme, Telegram assumes http.
        url = "http://" + url
        match = _SCHEME.match(url)
        assert match is not None
    scheme = match.group(1).lower()
    if scheme not in _LINK_SCHEMES:
        return None
    if scheme in ("http", "https", "ftp"):
        rest = url[match.end() :]
        if not rest.startswith("//"):
            return None
        host, sep, _tail = rest[2:].partition("/")
        host = host.split("?", 1)[0].split("#", 1)[0]
        if not host or host.startswith(":"):
            return None
        if "." not in host and host.lower().split(":", 1)[0] != "localhost":
            return None
        if not sep and "?" not in rest and "#" not in rest:
            url += "/"
    return url


@dataclass(slots=True)
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the output where the tag's content starts
    piece: int  # index into the list of output pieces, for <a> without href


def parse_html(
    source: str, *, users: Mapping[int, Mapping[str, Any]] | None = None
) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-HTML: return the plain text and its entities (Bot API dicts).

    Mirrors Telegram's parser: its tags and attributes, its error messages and byte
    offsets, ``<pre><code class="language-x">`` becoming one ``pre`` entity,
    ``<a href="tg://user?id=N">`` becoming a ``text_mention`` when ``users`` knows N,
    unusable links being dropped. Then it applies what Telegram does afterwards: strip
    whitespace from both ends, drop entities that may not nest, sort.

    Raises HtmlError with Telegram's message (without "can't parse entities: ").
    """
    pieces: list[str] = []
    u16 = 0
    stack: list[_OpenTag] = []
    entities: list[JSONDict] = []
    n = len(source)
    i = 0

    def at(k: int) -> str:
        return source[k] if k < n else "\0"

    def byte(k: int) -> int:
        return _byte_offset(source, k)

    while i < n:
        found = _SPECIAL.search(source, i)
        stop = n if found is None else found.start()
        if stop > i:
            chunk = source[i:stop]
            pieces.append(chunk)
            u16 += utf16_len(chunk)
            i = stop
            if found is None:
                break
        if source[i] == "&":
            decoded = _decode_reference(source, i)
            if decoded is None:
                raise HtmlError(
                    f'Character "&" at byte offset {_byte_offset(source, i)} must be '
                    'escaped as "&amp;"'
                )
            pieces.append(decoded[0])
            u16 += 1 if decoded[0] <= "\uffff" else 2
            i = decoded[1]
            continue

        begin = i
        simple = _SIMPLE_TAG.match(source, i)
        if simple is not None:
            # The common case, <b> or </b>, without the general tag scanner below.
            i = simple.end()
            name = simple.group(2).lower()
            if not simple.group(1):
                stack.append(_OpenTag(name, "", u16, len(pieces)))
                continue
            if not stack:
                raise HtmlError(f"Unexpected end tag at byte offset {byte(begin)}")
            tag = stack.pop()
            if name != tag.name:
                raise HtmlError(
                    f'Unmatched end tag at byte offset {byte(begin)}, expected "</{tag.name}>", '
                    f'found "</{name}>"'
                )
            if u16 > tag.offset:
                _close_entity(tag, u16 - tag.offset, entities, pieces, users)
            continue
        i += 1
        if at(i) != "/":
            # A start tag: <name attr="value" attr=token expandable>
            while at(i) not in _SPACE and at(i) != ">":
                i += 1
            if i >= n:
                raise HtmlError(f"Unclosed start tag at byte offset {byte(begin)}")
            name = source[begin + 1 : i].lower()
            if name not in _HTML_TAGS:
                raise HtmlError(f'Unsupported start tag "{name}" at byte offset {byte(begin)}')
            argument = ""
            while at(i) != ">":
                while i < n and at(i) in _SPACE:
                    i += 1
                if at(i) == ">":
                    break
                attribute_begin = i
                while at(i) not in _SPACE and at(i) != "=" and at(i) != ">":
                    i += 1
                attribute = source[attribute_begin:i]
                if not attribute:
                    raise HtmlError(
                        f'Empty attribute name in the tag "{name}" at byte offset {byte(begin)}'
                    )
                while i < n and at(i) in _SPACE:
                    i += 1
                if at(i) != "=":
                    if name == "blockquote" and attribute.lower() == "expandable":
                        argument = "expandable"
                        continue
                    raise HtmlError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{name}" at byte offset {byte(begin)}'
                    )
                i += 1
                while i < n and at(i) in _SPACE:
                    i += 1
                if i >= n:
                    raise HtmlError(f'Unclosed start tag "{name}" at byte offset {byte(begin)}')
                quote = at(i)
                if quote not in ("'", '"'):
                    token = _NAME_TOKEN.match(source, i)
                    assert token is not None
                    value = token.group().lower()
                    i = token.end()
                    if at(i) not in _SPACE and at(i) != ">":
                        raise HtmlError(
                            f"Unexpected end of name token at byte offset "
                            f"{_byte_offset(source, token.start())}"
                        )
                else:
                    close = source.find(quote, i + 1)
                    end = n if close < 0 else close
                    value = _decode_attribute(source, i + 1, end)
                    i = end + 1 if close >= 0 else n
                if i >= n:
                    raise HtmlError(f"Unclosed start tag at byte offset {byte(begin)}")
                attribute = attribute.lower()
                if name == "a" and attribute == "href":
                    argument = value
                elif name == "code" and attribute == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif name == "span" and attribute == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif name == "tg-emoji" and attribute == "emoji-id":
                    argument = value
            if name == "span" and argument != "spoiler":
                raise HtmlError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte(begin)}'
                )
            stack.append(_OpenTag(name, argument, u16, len(pieces)))
            i += 1
            continue

        # An end tag: </name> or </>
        if not stack:
            raise HtmlError(f"Unexpected end tag at byte offset {byte(begin)}")
        while at(i) not in _SPACE and at(i) != ">":
            i += 1
        end_name = source[begin + 2 : i].lower()
        while i < n and at(i) in _SPACE:
            i += 1
        if at(i) != ">":
            raise HtmlError(f"Unclosed end tag at byte offset {byte(begin)}")
        i += 1
        tag = stack.pop()
        if end_name and end_name != tag.name:
            raise HtmlError(
                f'Unmatched end tag at byte offset {byte(begin)}, expected "</{tag.name}>", '
                f'found "</{end_name}>"'
            )
        if u16 > tag.offset:
            _close_entity(tag, u16 - tag.offset, entities, pieces, users)

    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    for entity in entities:
        entity.pop("_code_language", None)
    return _finish("".join(pieces), entities)


def _decode_attribute(source: str, start: int, end: int) -> str:
    """An attribute value between quotes, with character references decoded."""
    value = source[start:end]
    if "&" not in value:
        return value
    out: list[str] = []
    i = 0
    while True:
        amp = value.find("&", i)
        if amp < 0:
            out.append(value[i:])
            return "".join(out)
        out.append(value[i:amp])
        decoded = _decode_reference(value, amp)
        if decoded is None:
            raise HtmlError(
                f'Character "&" at byte offset {_byte_offset(source, start + amp)} must be '
                'escaped as "&amp;"'
            )
        out.append(decoded[0])
        i = decoded[1]


def _close_entity(
    tag: _OpenTag,
    length: int,
    entities: list[JSONDict],
    pieces: list[str],
    users: Mapping[int, Mapping[str, Any]] | None,
) -> None:
    """Turn a closed, non-empty tag into an entity, as tdlib does."""
    offset = tag.offset
    name = tag.name
    simple = _SIMPLE_FORMATTING.get(name)
    if simple is not None or name == "span":
        entities.append({"type": simple or "spoiler", "offset": offset, "length": length})
    elif name == "tg-emoji":
        if not tag.argument.isdigit() or not 0 < int(tag.argument) < 2**63:
            raise HtmlError("Invalid custom emoji identifier specified")
        entities.append(
            {
                "type": "custom_emoji",
                "offset": offset,
                "length": length,
                "custom_emoji_id": tag.argument,
            }
        )
    elif name == "a":
        url = tag.argument or "".join(pieces[tag.piece :])
        mention = _TG_USER.match(url.strip())
        if mention is not None and users is not None and int(mention.group(1)) in users:
            user = dict(users[int(mention.group(1))])
            entities.append(
                {"type": "text_mention", "offset": offset, "length": length, "user": user}
            )
            return
        link = _check_link(url)
        if link is not None:
            entities.append({"type": "text_link", "offset": offset, "length": length, "url": link})
    elif name == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == offset
            and last["length"] == length
            and last.get("_code_language")
        ):
            last["type"] = "pre"
            last["language"] = last.pop("_code_language")
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif name == "code":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "pre"
            and last["offset"] == offset
            and last["length"] == length
            and tag.argument
            and "language" not in last
        ):
            last["language"] = tag.argument
        else:
            entity: JSONDict = {"type": "code", "offset": offset, "length": length}
            if tag.argument:
                entity["_code_language"] = tag.argument
            entities.append(entity)
    elif name == "blockquote":
        kind = "expandable_blockquote" if tag.argument == "expandable" else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})


def _sort_key(entity: JSONDict) -> tuple[int, int, int]:
    return (entity["offset"], -entity["length"], _PRIORITY.get(entity["type"], 50))


def _finish(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """What Telegram does after parsing: strip both ends, fix nesting, sort."""
    stripped = text.strip(_EMPTY_CHARS)
    if stripped != text:
        head = utf16_len(text[: len(text) - len(text.lstrip(_EMPTY_CHARS))])
        total = utf16_len(stripped)
        kept: list[JSONDict] = []
        for entity in entities:
            start = max(entity["offset"] - head, 0)
            end = min(entity["offset"] + entity["length"] - head, total)
            if end > start:
                entity["offset"], entity["length"] = start, end - start
                kept.append(entity)
        entities = kept
    if not entities:
        return stripped, entities
    entities.sort(key=_sort_key)
    if len(entities) > 1:
        entities = _fix_nesting(entities)
    return stripped, entities


def _fix_nesting(entities: list[JSONDict]) -> list[JSONDict]:
    """Drop entities Telegram does not allow inside others (entities come sorted).

    Nothing nests inside code/pre; blockquotes do not nest; links, mentions, custom
    emoji and the like do not contain each other. Bold, italic, underline,
    strikethrough and spoiler nest freely elsewhere.
    """
    kept: list[JSONDict] = []
    for entity in entities:
        end = entity["offset"] + entity["length"]
        allowed = True
        for outer in kept:
            if outer["offset"] + outer["length"] < end or outer["offset"] > entity["offset"]:
                continue  # not containing (HTML tags nest properly, so no partial overlap)
            outer_type, inner_type = outer["type"], entity["type"]
            nothing_inside = outer_type in ("pre", "code")
            nested_quotes = outer_type in _BLOCKQUOTES and inner_type in _BLOCKQUOTES
            unsplittable = (
                outer_type not in _SPLITTABLE
                and outer_type not in _BLOCKQUOTES
                and inner_type not in _SPLITTABLE
                and inner_type not in _BLOCKQUOTES
            )
            if nothing_inside or nested_quotes or unsplittable:
                allowed = False
                break
        if allowed:
            kept.append(entity)
    return kept


def _entity_tuples(entities: list[JSONDict]) -> list[Entity]:
    return [Entity(e["type"], e["offset"], e["length"], e.get("url")) for e in entities]


# Entities a Telegram client attaches to what a person types.
_BOT_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{4,32}(?![\w@])")
_URL = re.compile(r"(?<![\w/@])https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_HASHTAG = re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")


def detect_entities(text: str) -> list[JSONDict]:
    """bot_command, mention, url and hashtag entities, as a Telegram client sends them."""
    found: list[tuple[int, int, str]] = []
    for kind, pattern in (
        ("bot_command", _BOT_COMMAND),
        ("url", _URL),
        ("mention", _MENTION),
        ("hashtag", _HASHTAG),
    ):
        for match in pattern.finditer(text):
            start, end = match.span()
            if all(end <= s or start >= e for s, e, _ in found):
                found.append((start, end, kind))
    found.sort()
    return [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in found
    ]


# ---------------------------------------------------------------------------------------------
# Validation: texts, keyboards, commands, inline results
# ---------------------------------------------------------------------------------------------

_BUTTON_ACTIONS: Final = frozenset(
    {
        "url", "callback_data", "web_app", "login_url", "switch_inline_query",
        "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
        "callback_game", "pay",
    }
)  # fmt: skip
_MAX_BUTTONS: Final = 100
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_CHAT_ACTIONS: Final = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
_INLINE_RESULT_TYPES: Final = frozenset(
    {
        "article", "photo", "gif", "mpeg4_gif", "video", "audio", "voice", "document",
        "location", "venue", "contact", "game", "sticker",
    }
)  # fmt: skip
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_WEBHOOK_PORTS: Final = frozenset({80, 88, 443, 8443})


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
        raise _bad("message text is empty")
    mode = (parse_mode or "").strip().lower()
    if entities is not None:
        plain, parsed = _finish(text, _explicit_entities(entities, text))
    elif mode == "html":
        try:
            plain, parsed = parse_html(text, users=users)
        except HtmlError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
    elif mode == "":
        plain, parsed = _finish(text, [])
    elif mode in ("markdown", "markdownv2"):
        raise _bad(f"unsupported parse_mode {parse_mode!r} (the stand-in implements only HTML)")
    else:
        raise _bad("unsupported parse_mode")
    if not plain:
        if caption:
            return "", []
        raise _bad("message text is empty")
    if len(plain) > limit:
        raise _bad("message caption is too long" if caption else "message is too long")
    return plain, parsed


def _explicit_entities(value: Any, text: str) -> list[JSONDict]:
    """Entities passed as ``entities``/``caption_entities``: checked, clipped to the text."""
    if not isinstance(value, list):
        raise _bad("can't parse entities JSON object")
    total = utf16_len(text)
    out: list[JSONDict] = []
    for item in value:
        if not isinstance(item, dict):
            raise _bad("can't parse MessageEntity: MessageEntity must be an Object")
        kind, offset, length = item.get("type"), item.get("offset"), item.get("length")
        if not isinstance(kind, str) or not isinstance(offset, int) or not isinstance(length, int):
            raise _bad('can\'t parse MessageEntity: fields "type", "offset", "length" are required')
        if kind == "text_link" and _check_link(str(item.get("url", ""))) is None:
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
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
        for row in rows:
            for button in row:
                label = button if isinstance(button, str) else None
                if isinstance(button, dict):
                    label = button.get("text")
                if not isinstance(label, str) or not label:
                    raise _bad("can't parse keyboard button: Can't find field \"text\"")
    elif markup.get("remove_keyboard") is not True and markup.get("force_reply") is not True:
        raise _bad("can't parse reply keyboard markup JSON object")
    return markup


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    if sum(len(row) for row in rows) > _MAX_BUTTONS:
        raise _bad("reply markup is too long")
    for row in rows:
        for button in row:
            if not isinstance(button, dict):
                raise _bad(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            label = button.get("text")
            if not isinstance(label, str):
                raise _bad("can't parse inline keyboard button: Can't find field \"text\"")
            if not label.strip():
                raise _bad("BUTTON_TEXT_INVALID")
            actions = _BUTTON_ACTIONS.intersection(button)
            if not actions:
                raise _bad(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            if len(actions) > 1:
                raise _bad("BUTTON_TYPE_INVALID")
            if "callback_data" in button:
                data = button["callback_data"]
                if (
                    not isinstance(data, str)
                    or not data
                    or len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT
                ):
                    raise _bad("BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                link = _check_link(url) if isinstance(url, str) else None
                if link is None or link.split(":", 1)[0].lower() not in ("http", "https", "tg"):
                    raise _bad("BUTTON_URL_INVALID")


def _check_commands(commands: Any) -> list[JSONDict]:
    if not isinstance(commands, list):
        raise _bad("can't parse commands JSON object")
    if len(commands) > 100:
        raise _bad("too many commands")
    out: list[JSONDict] = []
    for command in commands:
        if not isinstance(command, dict):
            raise _bad("can't parse BotCommand: BotCommand must be an Object")
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _COMMAND_NAME.match(name):
            raise _bad("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not description.strip():
            raise _bad("command description must be non-empty")
        if len(description) > 256:
            raise _bad("command description is too long")
        out.append({"command": name, "description": description})
    return out


def _scope_key(scope: Any) -> str:
    if scope is None:
        return '{"type":"default"}'
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise _bad("can't parse BotCommandScope JSON object")
    normal = dict(scope)
    for key in ("chat_id", "user_id"):
        value = normal.get(key)
        if isinstance(value, str) and value.lstrip("-").isdigit():
            normal[key] = int(value)
    return json.dumps(normal, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------------------------


class _Params:
    """Request parameters, decoded on access the way the Bot API decodes them.

    Form values arrive as strings (python-telegram-bot JSON-encodes non-strings); JSON
    bodies carry typed values. Each accessor accepts both and stores the decoded value
    back, so the recorded request shows ints, dicts and lists for what a method used.
    """

    __slots__ = ("files", "values")

    def __init__(self, values: JSONDict, files: dict[str, UploadedFile] | None = None) -> None:
        self.values = values
        self.files = files or {}

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise _bad(f'field "{name}" must be of type String')

    def integer(self, name: str, error: str | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                number = int(value.strip())
                self.values[name] = number
                return number
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _bad(error or f"invalid {name} specified")

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                number = float(value.strip())
                self.values[name] = number
                return number
        raise _bad(f"invalid {name} specified")

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            decoded = value.strip().lower() in ("true", "1")
            self.values[name] = decoded
            return decoded
        return bool(value)

    def obj(self, name: str, error: str) -> Any:
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            decoded = json.loads(value)
        except ValueError:
            raise _bad(error) from None
        self.values[name] = decoded
        return decoded


def _parse_form(text: str) -> dict[str, str]:
    """application/x-www-form-urlencoded, strictly UTF-8 (a faster parse_qsl)."""
    values: dict[str, str] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote(name.replace("+", " "), errors="strict")
        if "%" in value or "+" in value:
            value = unquote(value.replace("+", " "), errors="strict")
        values[name] = value
    return values


def _decode_params(query: str, content_type: str, body: bytes) -> _Params:
    """Query string plus body (urlencoded, JSON or multipart) into parameters."""
    values: JSONDict = {}
    files: dict[str, UploadedFile] = {}
    try:
        if query:
            values.update(_parse_form(query))
        if body:
            media_type, _, options = content_type.partition(";")
            media_type = media_type.strip().lower()
            if media_type in ("application/x-www-form-urlencoded", ""):
                values.update(_parse_form(body.decode("utf-8")))
            elif media_type == "application/json":
                decoded = json.loads(body)
                if not isinstance(decoded, dict):
                    raise _bad("the request body must be a JSON object")
                values.update(decoded)
            elif media_type == "multipart/form-data":
                match = re.search(r'boundary="?([^";]+)"?', options)
                if match is None:
                    raise _bad("multipart boundary is missing")
                _parse_multipart(body, match.group(1).encode("latin-1"), values, files)
            else:
                raise _bad(f"unsupported Content-Type {media_type}")
    except UnicodeDecodeError:
        raise _bad("strings must be encoded in UTF-8") from None
    except ValueError as exc:
        if isinstance(exc, ApiError):
            raise
        raise _bad("can't parse the request body") from None
    return _Params(values, files)


_DISPOSITION_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')
_FORM_ESCAPE = re.compile(r"%(22|[01][0-9A-Fa-f])|\\\\")


def _unescape_form_value(value: str) -> str:
    """Undo the HTML5 form escaping httpx applies to names and filenames."""
    return _FORM_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else "\\", value)


def _parse_multipart(
    body: bytes, boundary: bytes, values: JSONDict, files: dict[str, UploadedFile]
) -> None:
    for part in body.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            raise _bad("can't parse a multipart part")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers: dict[str, str] = {}
        for line in head.decode("utf-8").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition: dict[str, str] = {}
        for match in _DISPOSITION_PARAM.finditer(headers.get("content-disposition", "")):
            raw = match.group(2) if match.group(2) is not None else match.group(3)
            disposition[match.group(1).lower()] = raw
        name = _unescape_form_value(disposition.get("name", ""))
        if not name:
            raise _bad("a multipart part has no name")
        if "filename*" in disposition:
            filename: str | None = unquote(disposition["filename*"].split("'", 2)[-1])
        elif "filename" in disposition:
            filename = _unescape_form_value(disposition["filename"])
        else:
            filename = None
        if filename is None:
            values[name] = content.decode("utf-8")
        else:
            content_type = headers.get("content-type", "application/octet-stream")
            files[name] = UploadedFile(filename, content, content_type)


_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_bytes(payload: Any) -> bytes:
    return _encode_json(payload).encode("utf-8")


def _error_body(status: int, description: str, parameters: JSONDict | None = None) -> bytes:
    payload: JSONDict = {"ok": False, "error_code": status, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return _json_bytes(payload)


_REASONS: Final = {s.value: s.phrase.encode("ascii") for s in HTTPStatus}


def _http_response(status: int, body: bytes, content_type: bytes, keep_alive: bool) -> bytes:
    reason = _REASONS.get(status, b"Unknown")
    return (
        b"HTTP/1.1 %d %s\r\nServer: takeaways-standin\r\nContent-Type: %s\r\n"
        b"Content-Length: %d\r\nConnection: %s\r\n\r\n"
        % (status, reason, content_type, len(body), b"keep-alive" if keep_alive else b"close")
    ) + body


_JSON_TYPE: Final = b"application/json"


class _Reply(NamedTuple):
    status: int
    body: bytes
    content_type: bytes = _JSON_TYPE
    drop: bool = False  # close the connection without answering (an injected fault)


def _default_description(status: int, retry_after: int | None) -> str:
    descriptions = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running",
        429: f"Too Many Requests: retry after {retry_after}",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    if status in descriptions:
        return descriptions[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Error"


# ---------------------------------------------------------------------------------------------
# The stand-in
# ---------------------------------------------------------------------------------------------

_FORBIDDEN_BY_TYPE: Final = {
    "private": "Forbidden: bot was blocked by the user",
    "group": "Forbidden: bot was kicked from the group chat",
    "supergroup": "Forbidden: bot was kicked from the supergroup chat",
    "channel": "Forbidden: bot is not a member of the channel chat",
}
_QUERY_TOO_OLD: Final = "query is too old and response timeout expired or query ID is invalid"
_NOT_DEFAULT_UPDATES: Final = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)


@dataclass(eq=False, slots=True)
class _Chat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    next_message_id: int = 1
    bot_messages: dict[int, SentMessage] = field(default_factory=dict)
    user_messages: dict[int, JSONDict] = field(default_factory=dict)
    members: set[int] = field(default_factory=set)
    admins: list[int] = field(default_factory=list)
    owner: int | None = None
    bot_is_admin: bool = False
    blocked: bool = False
    migrated_to: int | None = None
    json: JSONDict = field(default_factory=dict)

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


class BotAPIStandin:
    """The Telegram Bot API for one bot, on 127.0.0.1, with a simulated world.

    Typical test use::

        async with BotAPIStandin() as tg:
            tg.add_chat(42, first_name="Ada")
            app = Application.builder().token(tg.token).base_url(tg.base_url)...
            tg.user_sends(42, "/start")
            [reply] = await tg.wait_for_messages(42)

    ``url`` (after :meth:`start`) is what the BOT_API_URL setting takes; python-telegram-bot
    wants ``base_url=f"{url}/bot"`` and ``base_file_url=f"{url}/file/bot"``
    (:attr:`base_url`, :attr:`base_file_url`).
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = "takeaways_bot",
        first_name: str = "Takeaways",
        clock: Callable[[], float] = time.time,
    ) -> None:
        bot_id, sep, _ = token.partition(":")
        if not sep or not bot_id.isdigit():
            raise ValueError("a bot token looks like 123456:ABC...")
        self.token = token
        self.username = username
        self.bot_user: JSONDict = {
            "id": int(bot_id),
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.clock = clock
        self.url = ""

        # Behaviour knobs (tests set these directly)
        self.latency = 0.0
        """Seconds added before every API answer (asyncio.sleep)."""
        self.max_sends_per_second: int | None = None
        """When set, send* calls beyond this many per second get 429 like a flood."""
        self.flood_retry_after = 1
        self.max_group_sends_per_minute: int | None = None
        """When set, send* calls into one group or channel beyond this many within 60 s
        get 429 (Telegram's limit is 20), with ``flood_retry_after``."""

        # What the bot did
        self.all_requests: list[tuple[str, JSONDict]] = []
        self.failures: list[Failure] = []
        self.sent: list[SentMessage] = []
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.inline_answers: dict[str, InlineAnswer] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.settings: JSONDict = {}
        """setMyDescription, setMyShortDescription, setChatMenuButton, ... by method name."""
        self.internal_errors: list[BaseException] = []
        self.webhook: JSONDict | None = None

        # The world
        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, _Chat] = {}
        self._chat_usernames: dict[str, int] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self._updates: deque[JSONDict] = deque()
        self._next_update_id = 100_000_001
        self._delivered_up_to = 0  # highest update_id a getUpdates call has returned
        self._allowed_updates: frozenset[str] | None = None  # None: Telegram's default set
        self._open_callback_queries: dict[str, int] = {}  # query id -> chat id
        self._open_inline_queries: set[str] = set()
        self._query_numbers = itertools.count(4_000_000_001)
        self._faults: list[Fault] = []
        self._send_times: deque[float] = deque()
        self._group_send_times: dict[int, deque[float]] = {}
        self._listeners: list[Callable[[BotEvent], None]] = []

        # Plumbing
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._poller: asyncio.Future[str] | None = None
        self._change: asyncio.Future[None] | None = None
        self._handlers: dict[str, tuple[str, Callable[[_Params], Any]]] = {}
        for name in (
            "getMe", "logOut", "close", "getUpdates", "setWebhook", "deleteWebhook",
            "getWebhookInfo", "sendMessage", "editMessageText", "editMessageReplyMarkup",
            "deleteMessage", "answerCallbackQuery", "answerInlineQuery", "sendDocument",
            "getFile", "getChat", "getChatMember", "getChatAdministrators",
            "getChatMemberCount", "sendChatAction", "setMyCommands", "getMyCommands",
            "deleteMyCommands", "setChatMenuButton", "getChatMenuButton", "setMyDescription",
            "getMyDescription", "setMyShortDescription", "getMyShortDescription", "setMyName",
            "getMyName",
        ):  # fmt: skip
            self._handlers[name.lower()] = (name, getattr(self, "_api_" + name))

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port (0: any free port) and set :attr:`url`."""
        self._server = await asyncio.start_server(self._serve, host, port, limit=1 << 16)
        bound = self._server.sockets[0].getsockname()
        self.url = f"http://{host}:{bound[1]}"

    async def stop(self) -> None:
        """Stop listening and drop every open connection (pending long polls included)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> BotAPIStandin:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``base_url`` for python-telegram-bot (it appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """``base_file_url`` for python-telegram-bot (it appends the token)."""
        return f"{self.url}/file/bot"

    @property
    def bot_id(self) -> int:
        return int(self.bot_user["id"])

    # -- the world -----------------------------------------------------------------------------

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
        if kind not in _FORBIDDEN_BY_TYPE:
            raise ValueError(f"unknown chat type {kind!r}")
        if (kind == "private") != (chat_id > 0):
            raise ValueError("private chats have positive ids, groups and channels negative")
        chat = self._chats.get(chat_id) or _Chat(chat_id, kind)
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

    def _push_my_chat_member(self, chat: _Chat, old: str, new: str) -> None:
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

    def _someone_in(self, chat: _Chat) -> JSONDict | None:
        if chat.type == "private":
            return self._users.get(chat.id)
        for uid in [chat.owner, *chat.admins, *sorted(chat.members)]:
            if uid is not None and uid in self._users:
                return self._users[uid]
        return None

    def _known_chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise KeyError(f"chat {chat_id} is not known to the stand-in; add_chat() it first")
        return chat

    def _chat_for_person(self, chat_id: int, user_id: int | None) -> tuple[_Chat, JSONDict]:
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

    # -- people act: each queues an Update -------------------------------------------------------

    def push_update(self, update: JSONDict) -> int:
        """Queue a raw update (``update_id`` is assigned) and wake a waiting getUpdates.

        Like Telegram, updates of a type the bot excluded via ``allowed_updates`` (by
        default chat_member, message_reaction and message_reaction_count) are dropped;
        the id is returned either way.
        """
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, **{k: v for k, v in update.items() if k != "update_id"}}
        kind = next((key for key in update if key != "update_id"), "")
        allowed = self._allowed_updates
        if (kind in _NOT_DEFAULT_UPDATES) if allowed is None else (kind not in allowed):
            _log.debug("dropping %s update %d: not in allowed_updates", kind, update_id)
            return update_id
        self._updates.append(update)
        poller = self._poller
        if poller is not None and not poller.done():
            poller.set_result("update")
        return update_id

    def user_sends(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """A person sends ``text`` (entities as a Telegram client makes them); the update_id.

        In a private chat the person is the chat's user; in groups pass ``user_id``. In a
        channel it arrives as a channel_post.
        """
        chat, user = self._chat_for_person(chat_id, user_id)
        message = self._user_message(chat, user)
        message["text"] = text
        entities = detect_entities(text)
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            replied = self._find_message(chat, reply_to)
            if replied is None:
                raise KeyError(f"no message {reply_to} in chat {chat_id}")
            message["reply_to_message"] = replied
        chat.user_messages[message["message_id"]] = message
        key = "channel_post" if chat.type == "channel" else "message"
        return self.push_update({key: message})

    def user_sends_document(
        self,
        chat_id: int,
        filename: str,
        content: bytes,
        *,
        user_id: int | None = None,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> int:
        """A person sends a file; getFile and the file URL then serve its bytes."""
        chat, user = self._chat_for_person(chat_id, user_id)
        stored = self._store_file(filename, content, mime_type)
        message = self._user_message(chat, user)
        message["document"] = stored.as_document()
        if caption:
            message["caption"] = caption
            entities = detect_entities(caption)
            if entities:
                message["caption_entities"] = entities
        chat.user_messages[message["message_id"]] = message
        return self.push_update({"message": message})

    def user_presses(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        forged: bool = False,
    ) -> str:
        """A person presses the button with ``data`` on a message the bot sent.

        The button must be on the message as it is now, unless ``forged`` (an old client
        or a tampering one); returns the callback query id for answerCallbackQuery.
        """
        chat, user = self._chat_for_person(chat_id, user_id)
        message = chat.bot_messages.get(message_id)
        if message is None or message.deleted:
            raise KeyError(f"the bot has no message {message_id} in chat {chat_id}")
        if not forged and data not in message.callback_data:
            raise ValueError(
                f"message {message_id} has no button with callback_data {data!r} "
                f"(it has {message.callback_data}); pass forged=True to send it anyway"
            )
        query_id = str(next(self._query_numbers))
        self._open_callback_queries[query_id] = chat_id
        self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": message.raw,
                    "chat_instance": str(abs(chat_id) * 7919 % 10**18),
                    "data": data,
                }
            }
        )
        return query_id

    def user_inline_query(self, user_id: int, query: str, *, offset: str = "") -> str:
        """A person types ``@bot query`` in some chat; returns the inline query id."""
        user = self._users.get(user_id) or self.add_user(user_id, first_name=f"User{user_id}")
        query_id = str(next(self._query_numbers))
        self._open_inline_queries.add(query_id)
        self.push_update(
            {
                "inline_query": {
                    "id": query_id,
                    "from": user,
                    "query": query,
                    "offset": offset,
                    "chat_type": "sender",
                }
            }
        )
        return query_id

    def _user_message(self, chat: _Chat, user: JSONDict) -> JSONDict:
        message: JSONDict = {"message_id": chat.take_message_id()}
        if chat.type == "channel":
            message["sender_chat"] = chat.json
        else:
            message["from"] = user
        message["chat"] = chat.json
        message["date"] = int(self.clock())
        return message

    @property
    def is_polling(self) -> bool:
        """Whether a getUpdates call is waiting right now (the bot is listening)."""
        return self._poller is not None and not self._poller.done()

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Queued updates the bot has not confirmed yet."""
        return list(self._updates)

    def take_updates(self) -> list[JSONDict]:
        """Remove and return the queued updates (to post them to a webhook yourself)."""
        updates = list(self._updates)
        self._updates.clear()
        return updates

    # -- what the bot did ----------------------------------------------------------------------

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """The bot's messages in a chat, oldest first, as they are now (edits applied)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.bot_messages.values() if include_deleted or not m.deleted]

    def calls(self, method: str) -> list[JSONDict]:
        """Parameters of every request to ``method`` (any letter case), oldest first."""
        wanted = method.lower()
        return [params for name, params in self.all_requests if name.lower() == wanted]

    def my_commands(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """The command list set via setMyCommands for a scope, as (command, description)."""
        commands = self.commands.get((_scope_key(scope), language_code), [])
        return [(c["command"], c["description"]) for c in commands]

    def file(self, file_id: str) -> StoredFile:
        return self._files[file_id]

    def add_listener(self, listener: Callable[[BotEvent], None]) -> None:
        """Call ``listener`` for everything a person would see the bot do."""
        self._listeners.append(listener)

    def _emit(self, event: BotEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                _log.exception("stand-in listener failed")

    async def wait_for(self, predicate: Callable[[], _T | None], *, timeout: float = 5.0) -> _T:
        """Wait until ``predicate()`` is truthy and return its value.

        Re-evaluated after every API request the bot makes (event-driven, no polling).
        Raises TimeoutError naming the bot's last requests.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = [method for method, _ in self.all_requests[-8:]]
                failures = [f"{f.method}: {f.description}" for f in self.failures[-3:]]
                raise TimeoutError(
                    f"condition not met within {timeout}s; the bot's last requests: {recent}; "
                    f"last refusals: {failures}"
                )
            change = self._change
            if change is None or change.done():
                change = self._change = loop.create_future()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(change), remaining)

    async def wait_for_messages(
        self, chat_id: int, count: int = 1, *, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Wait until the bot has ``count`` (not deleted) messages in the chat; all of them."""

        def enough() -> list[SentMessage] | None:
            current = self.messages(chat_id)
            return current if len(current) >= count else None

        return await self.wait_for(enough, timeout=timeout)

    async def wait_for_request(
        self, method: str, count: int = 1, *, timeout: float = 5.0
    ) -> list[JSONDict]:
        """Wait until the bot made ``count`` requests to ``method``; their parameters."""

        def enough() -> list[JSONDict] | None:
            current = self.calls(method)
            return current if len(current) >= count else None

        return await self.wait_for(enough, timeout=timeout)

    async def wait_until_delivered(self, *, timeout: float = 5.0) -> None:
        """Wait until getUpdates has handed out every update queued so far."""
        last = self._next_update_id - 1
        await self.wait_for(lambda: self._delivered_up_to >= last, timeout=timeout)

    def _changed(self) -> None:
        change = self._change
        if change is not None:
            self._change = None
            if not change.done():
                change.set_result(None)

    # -- faults --------------------------------------------------------------------------------

    def fail(
        self,
        method: str | None = "sendMessage",
        *,
        chat_id: int | str | None = None,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int | None = 1,
        drop_connection: bool = False,
    ) -> Fault:
        """Make the next ``times`` matching requests fail (``times=None``: until cleared).

        ``method=None`` matches every method (getUpdates included); ``chat_id`` narrows to
        requests for that chat. Descriptions default to Telegram's: 403 "Forbidden: bot
        was blocked by the user", 429 "Too Many Requests: retry after N" with
        ``parameters.retry_after`` (N defaults to 1), 500 "Internal Server Error", 502
        "Bad Gateway". ``drop_connection`` closes the connection without any answer.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        parameters: JSONDict = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        fault = Fault(
            method=method.lower() if method else None,
            chat_id=chat_id,
            status=status,
            description=description or _default_description(status, retry_after),
            parameters=parameters or None,
            remaining=times,
            drop_connection=drop_connection,
        )
        self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self._faults.clear()

    def _take_fault(self, method: str, params: _Params) -> Fault | None:
        for fault in self._faults:
            if fault.method is not None and fault.method != method:
                continue
            if fault.chat_id is not None and str(params.get("chat_id")) != str(fault.chat_id):
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            return fault
        return None

    def _check_flood(self) -> None:
        limit = self.max_sends_per_second
        if limit is None:
            return
        now = time.monotonic()
        times = self._send_times
        while times and now - times[0] >= 1.0:
            times.popleft()
        if len(times) >= limit:
            retry = self.flood_retry_after
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        times.append(now)

    def _check_group_flood(self, chat: _Chat) -> None:
        limit = self.max_group_sends_per_minute
        if limit is None or chat.type == "private":
            return
        now = time.monotonic()
        times = self._group_send_times.setdefault(chat.id, deque())
        while times and now - times[0] >= 60.0:
            times.popleft()
        if len(times) >= limit:
            retry = self.flood_retry_after
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        times.append(now)

    # -- HTTP ----------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One keep-alive connection: requests are answered one after another."""
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                except asyncio.LimitOverrunError:
                    writer.write(_http_response(431, b"", b"text/plain", False))
                    return
                lines = head[:-4].decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    writer.write(_http_response(400, b"", b"text/plain", False))
                    return
                verb, target, version = parts
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    key, _, value = line.partition(":")
                    headers[key.strip().lower()] = value.strip()
                connection = headers.get("connection", "").lower()
                keep_alive = connection != "close" and (
                    version == "HTTP/1.1" or connection == "keep-alive"
                )
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                try:
                    body = await self._read_body(reader, headers)
                except ApiError as exc:
                    payload = _error_body(exc.status, exc.description)
                    writer.write(_http_response(exc.status, payload, _JSON_TYPE, False))
                    return
                except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                    return
                reply = await self._dispatch(verb, target, headers, body, reader)
                if reply.drop:
                    return
                writer.write(
                    _http_response(reply.status, reply.body, reply.content_type, keep_alive)
                )
                if writer.transport.get_write_buffer_size() > 1 << 16:
                    await writer.drain()
                if not keep_alive:
                    return
        except ConnectionError:
            return
        except asyncio.CancelledError:
            # stop() cancels connections; ending quietly instead of re-raising keeps
            # Python 3.11's start_server done-callback from logging the cancellation.
            return
        finally:
            self._connections.discard(task)
            writer.close()

    async def _read_body(self, reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            size_total = 0
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while await reader.readuntil(b"\r\n") != b"\r\n":
                        pass  # trailers
                    return b"".join(chunks)
                size_total += size
                if size_total > _MAX_BODY:
                    raise ApiError(413, "Request Entity Too Large")
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
        length = int(headers.get("content-length", "0") or "0")
        if length > _MAX_BODY:
            raise ApiError(413, "Request Entity Too Large")
        return await reader.readexactly(length) if length else b""

    async def _dispatch(
        self,
        verb: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        reader: asyncio.StreamReader | None = None,
    ) -> _Reply:
        path, _, query = target.partition("?")
        if "%" in path:
            path = unquote(path)  # httpx sends the ":" of the token as %3A in file URLs
        if path.startswith("/bot"):
            token, sep, method = path[4:].partition("/")
            if not sep or not method or "/" in method:
                return _Reply(404, _error_body(404, "Not Found"))
            if token != self.token:
                entry = self._handlers.get(method.lower())
                name = entry[0] if entry is not None else method
                self.failures.append(Failure(name, {}, 401, "Unauthorized"))
                return _Reply(401, _error_body(401, "Unauthorized"))
            return await self._call(method, query, headers.get("content-type", ""), body, reader)
        if path.startswith("/file/bot") and verb in ("GET", "HEAD"):
            token, sep, file_path = path[9:].partition("/")
            if token != self.token:
                return _Reply(401, _error_body(401, "Unauthorized"))
            stored = self._files_by_path.get(file_path)
            if stored is None:
                return _Reply(404, _error_body(404, "Not Found"))
            content = stored.content if verb == "GET" else b""
            return _Reply(200, content, stored.mime_type.encode("latin-1", "replace"))
        return _Reply(404, _error_body(404, "Not Found"))

    async def _call(
        self,
        method: str,
        query: str,
        content_type: str,
        body: bytes,
        reader: asyncio.StreamReader | None = None,
    ) -> _Reply:
        """One Bot API call: decode, record, inject faults, run the method, answer."""
        entry = self._handlers.get(method.lower())
        name = entry[0] if entry is not None else method
        try:
            params = _decode_params(query, content_type, body)
        except ApiError as exc:
            self.all_requests.append((name, {}))
            self.failures.append(Failure(name, {}, exc.status, exc.description))
            self._changed()
            return _Reply(exc.status, _error_body(exc.status, exc.description))
        for key, upload in params.files.items():
            params.values.setdefault(key, upload)
        self.all_requests.append((name, params.values))
        try:
            if entry is None:
                _log.warning("the stand-in has no Bot API method %r", method)
                raise ApiError(404, "Not Found")
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            if self._faults:
                fault = self._take_fault(name.lower(), params)
                if fault is not None:
                    if fault.drop_connection:
                        return _Reply(0, b"", drop=True)
                    raise ApiError(fault.status, fault.description, fault.parameters)
            if entry[0] == "getUpdates":
                result = await self._get_updates(params, reader)
            else:
                result = entry[1](params)
            return _Reply(200, _json_bytes({"ok": True, "result": result}))
        except ApiError as exc:
            self.failures.append(Failure(name, params.values, exc.status, exc.description))
            return _Reply(exc.status, _error_body(exc.status, exc.description, exc.parameters))
        except _ClientGone:
            return _Reply(0, b"", drop=True)
        except Exception as exc:
            _log.exception("the stand-in failed on %s", name)
            self.internal_errors.append(exc)
            description = f"Internal Server Error: stand-in bug: {exc!r}"
            self.failures.append(Failure(name, params.values, 500, description))
            return _Reply(500, _error_body(500, description))
        finally:
            self._changed()

    # -- API: updates and webhooks -------------------------------------------------------------

    async def _get_updates(
        self, p: _Params, reader: asyncio.StreamReader | None = None
    ) -> list[JSONDict]:
        """Long polling: hold the request until an update arrives or ``timeout`` passes.

        While it waits, the connection is watched: a client that gave up (python-telegram-bot
        cancels its poll on shutdown) is not answered, and does not count as a competing
        poller, so a later getUpdates is not met with 409.
        """
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = p.integer("offset")
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(p.number("timeout") or 0.0, 0.0)
        allowed = p.obj("allowed_updates", "can't parse allowed updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(a) for a in allowed) or None
        if offset is not None:
            updates = self._updates
            if offset < 0:
                while len(updates) > -offset:
                    updates.popleft()
            else:
                while updates and updates[0]["update_id"] < offset:
                    updates.popleft()
        previous = self._poller
        if previous is not None and not previous.done():
            previous.set_result("conflict")  # Telegram answers the older request 409
        if not self._updates and timeout > 0:
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[str] = loop.create_future()
            self._poller = waiter
            self._changed()  # is_polling turned true: wake wait_for()
            timer = loop.call_later(timeout, _resolve, waiter, "timeout")
            watcher: asyncio.Task[bytes] | None = None
            if reader is not None:
                # httpx sends nothing more on a connection until it has the answer, so any
                # read completing here means the client hung up (or broke the protocol).
                watcher = loop.create_task(reader.read(1))
                watcher.add_done_callback(lambda _: _resolve(waiter, "gone"))
            try:
                outcome = await waiter
            finally:
                timer.cancel()
                if watcher is not None and not watcher.done():
                    watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher
                if self._poller is waiter:
                    self._poller = None
            if outcome == "gone":
                raise _ClientGone
            if outcome == "conflict":
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
        batch = list(itertools.islice(self._updates, limit))
        if batch:
            self._delivered_up_to = max(self._delivered_up_to, batch[-1]["update_id"])
        return batch

    def _api_setWebhook(self, p: _Params) -> bool:
        url = p.text("url") or ""
        if not url:
            return self._api_deleteWebhook(p)
        link = _check_link(url)
        if link is None or not link.lower().startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        host = link[8:].split("/", 1)[0]
        port = host.rsplit(":", 1)[1] if ":" in host else "443"
        if not port.isdigit() or int(port) not in _WEBHOOK_PORTS:
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = p.text("secret_token")
        if secret is not None and not _SECRET_TOKEN.match(secret):
            raise _bad("secret token contains unallowed characters")
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        allowed = p.obj("allowed_updates", "can't parse allowed updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(a) for a in allowed) or None
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": p.integer("max_connections") or 40,
        }
        return True

    def _api_deleteWebhook(self, p: _Params) -> bool:
        self.webhook = None
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_getWebhookInfo(self, p: _Params) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    # -- API: the bot itself -------------------------------------------------------------------

    def _api_getUpdates(self, p: _Params) -> list[JSONDict]:
        raise AssertionError("getUpdates is asynchronous, _call awaits _get_updates")

    def _api_getMe(self, p: _Params) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _api_logOut(self, p: _Params) -> bool:
        return True

    def _api_close(self, p: _Params) -> bool:
        return True

    def _api_setMyCommands(self, p: _Params) -> bool:
        commands = _check_commands(p.obj("commands", "can't parse commands JSON object"))
        scope = _scope_key(p.obj("scope", "can't parse BotCommandScope JSON object"))
        self.commands[(scope, p.text("language_code") or "")] = commands
        return True

    def _api_getMyCommands(self, p: _Params) -> list[JSONDict]:
        scope = _scope_key(p.obj("scope", "can't parse BotCommandScope JSON object"))
        return self.commands.get((scope, p.text("language_code") or ""), [])

    def _api_deleteMyCommands(self, p: _Params) -> bool:
        scope = _scope_key(p.obj("scope", "can't parse BotCommandScope JSON object"))
        self.commands.pop((scope, p.text("language_code") or ""), None)
        return True

    def _setting(self, method: str, p: _Params, limit: int | None = None) -> bool:
        if limit is not None:
            for value in p.values.values():
                if isinstance(value, str) and len(value) > limit:
                    raise _bad(f"{method} text is too long")
        self.settings[method] = dict(p.values)
        return True

    def _api_setMyDescription(self, p: _Params) -> bool:
        return self._setting("setMyDescription", p, 512)

    def _api_setMyShortDescription(self, p: _Params) -> bool:
        return self._setting("setMyShortDescription", p, 120)

    def _api_setMyName(self, p: _Params) -> bool:
        return self._setting("setMyName", p, 64)

    def _api_setChatMenuButton(self, p: _Params) -> bool:
        p.obj("menu_button", "can't parse menu button JSON object")
        return self._setting("setChatMenuButton", p)

    def _api_getMyDescription(self, p: _Params) -> JSONDict:
        stored = self.settings.get("setMyDescription", {})
        return {"description": stored.get("description", "")}

    def _api_getMyShortDescription(self, p: _Params) -> JSONDict:
        stored = self.settings.get("setMyShortDescription", {})
        return {"short_description": stored.get("short_description", "")}

    def _api_getMyName(self, p: _Params) -> JSONDict:
        stored = self.settings.get("setMyName", {})
        return {"name": stored.get("name") or self.bot_user["first_name"]}

    def _api_getChatMenuButton(self, p: _Params) -> JSONDict:
        button = self.settings.get("setChatMenuButton", {}).get("menu_button")
        return button if isinstance(button, dict) else {"type": "commands"}

    # -- API: chats ----------------------------------------------------------------------------

    def _chat(self, p: _Params, *, sending: bool = False) -> _Chat:
        """Resolve ``chat_id`` (an id or "@username") like Telegram, with its refusals."""
        raw = p.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
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
            raise _bad("chat not found")
        p.values["chat_id"] = chat.id
        if chat.migrated_to is not None:
            raise _bad(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if sending and chat.blocked:
            raise ApiError(403, _FORBIDDEN_BY_TYPE[chat.type])
        return chat

    def _api_getChat(self, p: _Params) -> JSONDict:
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

    def _member(self, chat: _Chat, user_id: int) -> JSONDict:
        if user_id == self.bot_id:
            user = self.bot_user
            if chat.type != "private" and chat.bot_is_admin:
                return _administrator(user)
            return {"user": user, "status": "member"}
        user = self._users.get(user_id) or {}
        if not user:
            raise _bad("user not found")
        if chat.type == "private":
            return {"user": user, "status": "member" if user_id == chat.id else "left"}
        if user_id == chat.owner:
            return {"user": user, "status": "creator", "is_anonymous": False}
        if user_id in chat.admins:
            return _administrator(user)
        return {"user": user, "status": "member" if user_id in chat.members else "left"}

    def _api_getChatMember(self, p: _Params) -> JSONDict:
        chat = self._chat(p)
        user_id = p.integer("user_id", "invalid user_id specified")
        if user_id is None:
            raise _bad("user_id is empty")
        return self._member(chat, user_id)

    def _api_getChatAdministrators(self, p: _Params) -> list[JSONDict]:
        chat = self._chat(p)
        if chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        ids = ([chat.owner] if chat.owner is not None else []) + chat.admins
        members = [self._member(chat, uid) for uid in ids]
        if chat.bot_is_admin:
            members.append(self._member(chat, self.bot_id))
        return members

    def _api_getChatMemberCount(self, p: _Params) -> int:
        chat = self._chat(p)
        return len(chat.members) + 1  # and the bot

    def _api_sendChatAction(self, p: _Params) -> bool:
        chat = self._chat(p, sending=True)
        action = p.text("action")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append((chat.id, action))
        self._emit(BotEvent("chat_action", chat.id, action=action))
        return True

    # -- API: messages -------------------------------------------------------------------------

    def _find_message(self, chat: _Chat, message_id: int) -> JSONDict | None:
        sent = chat.bot_messages.get(message_id)
        if sent is not None and not sent.deleted:
            return sent.raw
        return chat.user_messages.get(message_id)

    def _reply_target(self, chat: _Chat, p: _Params) -> JSONDict | None:
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
            raise _bad("message to be replied not found")
        if target is not None:
            target = {k: v for k, v in target.items() if k != "reply_to_message"}
        return target

    def _new_message(self, chat: _Chat, p: _Params) -> tuple[JSONDict, int]:
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

    def _record(self, chat: _Chat, message: SentMessage) -> None:
        chat.bot_messages[message.message_id] = message
        self.sent.append(message)
        self._emit(BotEvent("sent", chat.id, message=message))

    def _api_sendMessage(self, p: _Params) -> JSONDict:
        chat = self._chat(p, sending=True)
        source = p.text("text")
        parse_mode = p.text("parse_mode")
        entities_param = p.obj("entities", "can't parse entities JSON object")
        text, entities = format_text(
            source, parse_mode, entities_param, limit=MESSAGE_LIMIT, users=self._users
        )
        markup = check_reply_markup(
            p.obj("reply_markup", "can't parse reply keyboard markup JSON object")
        )
        raw, date = self._new_message(chat, p)
        raw["text"] = text
        if entities:
            raw["entities"] = entities
        if markup is not None and "inline_keyboard" in markup:
            raw["reply_markup"] = markup
        self._record(
            chat,
            SentMessage(
                chat_id=chat.id,
                message_id=raw["message_id"],
                text=text,
                parse_mode=parse_mode,
                entities=_entity_tuples(entities),
                reply_markup=markup,
                method="sendMessage",
                date=date,
                source=source or "",
                params=p.values,
                raw=raw,
            ),
        )
        return raw

    def _editable(self, chat: _Chat, p: _Params) -> SentMessage:
        if p.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        message_id = p.integer("message_id", "message to edit not found")
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = chat.bot_messages.get(message_id)
        if message is None or message.deleted:
            if message_id in chat.user_messages:
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return message

    def _apply_edit(self, message: SentMessage) -> JSONDict:
        message.edited = True
        message.raw["edit_date"] = int(self.clock())
        self._emit(BotEvent("edited", message.chat_id, message=message))
        return message.raw

    def _api_editMessageText(self, p: _Params) -> JSONDict:
        chat = self._chat(p, sending=True)
        message = self._editable(chat, p)
        if message.method != "sendMessage":
            raise _bad("there is no text in the message to edit")
        source = p.text("text")
        parse_mode = p.text("parse_mode")
        entities_param = p.obj("entities", "can't parse entities JSON object")
        text, entities = format_text(
            source, parse_mode, entities_param, limit=MESSAGE_LIMIT, users=self._users
        )
        markup = check_reply_markup(
            p.obj("reply_markup", "can't parse reply keyboard markup JSON object")
        )
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        if (
            text == message.text
            and entities == message.raw.get("entities", [])
            and inline == message.raw.get("reply_markup")
        ):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message.text, message.source, message.parse_mode = text, source or "", parse_mode
        message.entities = _entity_tuples(entities)
        message.reply_markup = inline
        message.raw["text"] = text
        _set_or_drop(message.raw, "entities", entities or None)
        _set_or_drop(message.raw, "reply_markup", inline)
        return self._apply_edit(message)

    def _api_editMessageReplyMarkup(self, p: _Params) -> JSONDict:
        chat = self._chat(p, sending=True)
        message = self._editable(chat, p)
        markup = check_reply_markup(
            p.obj("reply_markup", "can't parse reply keyboard markup JSON object")
        )
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        if markup == message.raw.get("reply_markup"):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message.reply_markup = markup
        _set_or_drop(message.raw, "reply_markup", markup)
        return self._apply_edit(message)

    def _api_deleteMessage(self, p: _Params) -> bool:
        chat = self._chat(p)
        message_id = p.integer("message_id", "message to delete not found")
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = chat.bot_messages.get(message_id)
        if message is not None and not message.deleted:
            message.deleted = True
            self._emit(BotEvent("deleted", chat.id, message=message))
            return True
        if chat.user_messages.pop(message_id, None) is not None:
            return True
        raise _bad("message to delete not found")

    # -- API: files ----------------------------------------------------------------------------

    def _store_file(self, filename: str, content: bytes, mime_type: str | None) -> StoredFile:
        number = next(self._file_numbers)
        suffix = ""
        if "." in filename:
            suffix = "." + re.sub(r"[^A-Za-z0-9]", "", filename.rsplit(".", 1)[1])[:10]
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = StoredFile(
            file_id=f"BQACAgIAAxkBAAI{number:08d}Standin{len(content):x}",
            file_unique_id=f"AgAD{number:08d}",
            file_path=f"documents/file_{number}{suffix}",
            filename=filename,
            content=content,
            mime_type=mime,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _api_sendDocument(self, p: _Params) -> JSONDict:
        chat = self._chat(p, sending=True)
        document = p.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            document = p.files.get(document[9:])
            if document is None:
                raise _bad("wrong file identifier/HTTP URL specified")
        if document is None or document == "":
            raise _bad("there is no document in the request")
        if isinstance(document, UploadedFile):
            if not document.content:
                raise _bad("file must be non-empty")
            if len(document.content) > UPLOAD_LIMIT:
                raise ApiError(413, "Request Entity Too Large")
            mime = document.content_type
            if mime == "application/octet-stream":
                mime = mimetypes.guess_type(document.filename)[0] or mime
            stored = self._store_file(document.filename or "document", document.content, mime)
        elif isinstance(document, str) and document.lower().startswith(("http://", "https://")):
            raise _bad("failed to get HTTP URL content")
        elif isinstance(document, str) and document in self._files:
            stored = self._files[document]
        else:
            raise _bad("wrong file identifier/HTTP URL specified")
        source = p.text("caption")
        parse_mode = p.text("parse_mode")
        entities_param = p.obj("caption_entities", "can't parse entities JSON object")
        caption, entities = format_text(
            source,
            parse_mode,
            entities_param,
            limit=CAPTION_LIMIT,
            caption=True,
            users=self._users,
        )
        markup = check_reply_markup(
            p.obj("reply_markup", "can't parse reply keyboard markup JSON object")
        )
        raw, date = self._new_message(chat, p)
        raw["document"] = stored.as_document()
        if caption:
            raw["caption"] = caption
        if entities:
            raw["caption_entities"] = entities
        if markup is not None and "inline_keyboard" in markup:
            raw["reply_markup"] = markup
        self._record(
            chat,
            SentMessage(
                chat_id=chat.id,
                message_id=raw["message_id"],
                text=caption,
                parse_mode=parse_mode,
                entities=_entity_tuples(entities),
                reply_markup=markup,
                method="sendDocument",
                date=date,
                source=source or "",
                document_name=stored.filename,
                document_bytes=stored.content,
                file_id=stored.file_id,
                params=p.values,
                raw=raw,
            ),
        )
        return raw

    def _api_getFile(self, p: _Params) -> JSONDict:
        file_id = p.text("file_id")
        if not file_id:
            raise _bad("file_id is empty")
        stored = self._files.get(file_id)
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.content) > DOWNLOAD_LIMIT:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    # -- API: callback and inline queries ------------------------------------------------------

    def _api_answerCallbackQuery(self, p: _Params) -> bool:
        query_id = p.text("callback_query_id") or ""
        chat_id = self._open_callback_queries.pop(query_id, None)
        if chat_id is None:
            raise _bad(_QUERY_TOO_OLD)
        text = p.text("text")
        if text is not None and len(text) > 200:
            self._open_callback_queries[query_id] = chat_id
            raise _bad("MESSAGE_TOO_LONG")
        answer = CallbackAnswer(
            query_id=query_id,
            text=text,
            show_alert=p.flag("show_alert"),
            url=p.text("url"),
            cache_time=p.integer("cache_time") or 0,
        )
        self.callback_answers[query_id] = answer
        self._emit(BotEvent("callback_answer", chat_id, callback_answer=answer))
        return True

    def _api_answerInlineQuery(self, p: _Params) -> bool:
        query_id = p.text("inline_query_id") or ""
        if query_id not in self._open_inline_queries:
            raise _bad(_QUERY_TOO_OLD)
        results = p.obj("results", "can't parse inline query results JSON object")
        if not isinstance(results, list):
            raise _bad("can't parse inline query results JSON object")
        if len(results) > INLINE_RESULTS_LIMIT:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            self._check_inline_result(result, seen)
        next_offset = p.text("next_offset")
        if next_offset is not None and len(next_offset.encode("utf-8")) > 64:
            raise _bad("NEXT_OFFSET_INVALID")
        self._open_inline_queries.discard(query_id)
        self.inline_answers[query_id] = InlineAnswer(
            query_id=query_id,
            results=results,
            cache_time=p.integer("cache_time"),
            is_personal=p.flag("is_personal"),
            next_offset=next_offset,
            params=p.values,
        )
        return True

    def _check_inline_result(self, result: Any, seen: set[str]) -> None:
        if not isinstance(result, dict):
            raise _bad("can't parse InlineQueryResult: InlineQueryResult must be an Object")
        result_id = result.get("id")
        if not isinstance(result_id, str) or not 0 < len(result_id.encode("utf-8")) <= 64:
            raise _bad("RESULT_ID_INVALID")
        if result_id in seen:
            raise _bad("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        kind = result.get("type")
        if kind not in _INLINE_RESULT_TYPES:
            raise _bad("RESULT_TYPE_INVALID")
        if "reply_markup" in result:
            markup = check_reply_markup(result["reply_markup"])
            if markup is None or "inline_keyboard" not in markup:
                raise _bad("inline keyboard expected")
        content = result.get("input_message_content")
        if kind == "article":
            title = result.get("title")
            if not isinstance(title, str) or not title.strip():
                raise _bad("RESULT_TITLE_EMPTY")
            if not isinstance(content, dict):
                raise _bad(
                    "can't parse InlineQueryResultArticle: "
                    'Can\'t find field "input_message_content"'
                )
        if isinstance(content, dict) and "message_text" in content:
            text = content.get("message_text")
            format_text(
                text if isinstance(text, str) else None,
                content.get("parse_mode"),
                content.get("entities"),
                limit=MESSAGE_LIMIT,
                users=self._users,
            )


def _group_type(chat_id: int) -> str:
    return "supergroup" if str(chat_id).startswith("-100") else "group"


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


def _set_or_drop(target: JSONDict, key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


def _resolve(future: asyncio.Future[str], outcome: str) -> None:
    if not future.done():
        future.set_result(outcome)


# ---------------------------------------------------------------------------------------------
# Running it on its own: ``python -m bot.telegram.standin --port 8081``
# ---------------------------------------------------------------------------------------------


async def _serve_forever(host: str, port: int, token: str) -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    standin = BotAPIStandin(token)
    await standin.start(host, port)
    try:
        print(f"Bot API stand-in on {standin.url}  BOT_TOKEN={token}", flush=True)
        await stop.wait()
    finally:
        await standin.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve the stand-in so a separately started bot (or a container) can talk to it."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m bot.telegram.standin",
        description="A local stand-in for the Telegram Bot API (for tests and trials).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    asyncio.run(_serve_forever(args.host, args.port, args.token))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
