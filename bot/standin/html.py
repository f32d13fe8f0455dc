"""Telegram-HTML into plain text and entities: a port of the behaviour of Telegram's
parser (tdlib's parse_html), its tags, attributes, error messages and byte offsets.

A stand-in that accepted any HTML would hide the escaping bugs that bite in production.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bot.standin.entities import SPACE, check_link, finish, utf16_len
from bot.standin.records import JSONDict

_HTML_TAGS: Final = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SPECIAL = re.compile(r"[<&]")
_SIMPLE_TAG = re.compile(
    r"<(/?)(a|b|strong|i|em|u|ins|s|strike|del|tg-spoiler|tg-emoji|code|pre|blockquote)>",
    re.IGNORECASE,
)
_NAMED_REFERENCES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_REFERENCE = re.compile(r"&(?:#[xX]([0-9a-fA-F]+)|#([0-9]+)|([a-zA-Z]+))(;?)")
_TG_USER = re.compile(r"tg://user\?id=(\d{1,19})$", re.IGNORECASE)
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")
_SIMPLE_FORMATTING: Final = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "tg-spoiler": "spoiler",
}  # fmt: skip


class HtmlError(ValueError):
    """Telegram's "can't parse entities" (the message is Telegram's, without the prefix)."""


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
            while at(i) not in SPACE and at(i) != ">":
                i += 1
            if i >= n:
                raise HtmlError(f"Unclosed start tag at byte offset {byte(begin)}")
            name = source[begin + 1 : i].lower()
            if name not in _HTML_TAGS:
                raise HtmlError(f'Unsupported start tag "{name}" at byte offset {byte(begin)}')
            argument = ""
            while at(i) != ">":
                while i < n and at(i) in SPACE:
                    i += 1
                if at(i) == ">":
                    break
                attribute_begin = i
                while at(i) not in SPACE and at(i) != "=" and at(i) != ">":
                    i += 1
                attribute = source[attribute_begin:i]
                if not attribute:
                    raise HtmlError(
                        f'Empty attribute name in the tag "{name}" at byte offset {byte(begin)}'
                    )
                while i < n and at(i) in SPACE:
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
                while i < n and at(i) in SPACE:
                    i += 1
                if i >= n:
                    raise HtmlError(f'Unclosed start tag "{name}" at byte offset {byte(begin)}')
                quote = at(i)
                if quote not in ("'", '"'):
                    token = _NAME_TOKEN.match(source, i)
                    assert token is not None
                    value = token.group().lower()
                    i = token.end()
                    if at(i) not in SPACE and at(i) != ">":
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
        while at(i) not in SPACE and at(i) != ">":
            i += 1
        end_name = source[begin + 2 : i].lower()
        while i < n and at(i) in SPACE:
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
    return finish("".join(pieces), entities)


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
        link = check_link(url)
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
