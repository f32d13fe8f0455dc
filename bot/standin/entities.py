"""Message entities: UTF-16 lengths, links, what Telegram does after parsing, and
the entities a Telegram client attaches to what a person types.

Shared by the HTML parser, the validation of explicit entities and the simulated people.
"""

from __future__ import annotations

import re
from typing import Final

from bot.standin.records import Entity, JSONDict

# tdlib's is_space; "\0" doubles as the end-of-text sentinel, as in the C string it parses.
SPACE: Final = frozenset(" \t\r\n\0\v\f")
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
_LINK_SCHEMES: Final = frozenset({"http", "https", "ftp", "tg", "ton"})
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Bot API entity offsets."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) >> 1


def check_link(url: str) -> str | None:
    """Normalise a link like Telegram does for text_link entities and URL buttons.

    Links without a scheme get ``http://``; only http(s), ftp, tg and ton are links;
    an http(s) link to a bare host gets a trailing ``/``. None if it is not a link.
    """
    url = url.strip()
    if not url or any(c in SPACE for c in url):
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


def _sort_key(entity: JSONDict) -> tuple[int, int, int]:
    return (entity["offset"], -entity["length"], _PRIORITY.get(entity["type"], 50))


def finish(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
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


def entity_tuples(entities: list[JSONDict]) -> list[Entity]:
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
