"""A request's fields URL-encoded as ``urllib.parse.urlencode`` does, in less time.

Every message goes to the Bot API as a form: the text and the keyboard's JSON are
percent-encoded character by character. ``urlencode`` (what PTB's
``RequestData.url_encoded_parameters`` calls) does that with a Python call per byte;
one ``str.translate`` over the UTF-8 bytes does the same in C, about twice as fast for
a takeaway and its keyboard. The output is byte for byte ``urlencode``'s
(``tests/telegram/test_outgoing.py`` checks it on arbitrary text).
"""

from __future__ import annotations

from collections.abc import Mapping

# What quote_plus leaves as it is (letters, digits, "_.-~"); a space becomes "+".
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_QUOTED = str.maketrans(
    {
        chr(byte): "+" if byte == 0x20 else chr(byte) if byte in _SAFE else f"%{byte:02X}"
        for byte in range(256)
    }
)


def quote_plus(text: str) -> str:
    """``urllib.parse.quote_plus(text)`` (UTF-8; a lone surrogate raises as there)."""
    # Each byte of the UTF-8 form as one character (latin-1), then each one replaced.
    return text.encode("utf-8").decode("latin-1").translate(_QUOTED)


def urlencode(fields: Mapping[str, str]) -> bytes:
    """``urllib.parse.urlencode(fields).encode()`` for string keys and values."""
    return "&".join(
        f"{quote_plus(name)}={quote_plus(value)}" for name, value in fields.items()
    ).encode("ascii")
