"""A reader for Lua table literals, the data KOReader writes next to each book.

KOReader's ``metadata.*.lua`` sidecars are Lua source (``return { ... }``). Running
them would execute whatever a file says, so they are read as data instead: this
module understands only literals (strings with every escape form, long brackets,
numbers, booleans, nil, nested tables with ``[key] = value``, ``name = value`` and
positional entries, comments) and refuses anything else. Nesting is bounded, so a
hostile file cannot exhaust the stack.
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 64

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(
    r"0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?"
    r"|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
)
_SPACE = re.compile(r"[ \t\r\n\f\v]+")
# A run of ordinary characters inside a quoted string, per quote character.
_RUNS = {'"': re.compile(r'[^"\\\n]+'), "'": re.compile(r"[^'\\\n]+")}
_LONG_OPEN = re.compile(r"\[(=*)\[")
_SIMPLE_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "\n": "\n",
}
_KEYWORDS = {"true": True, "false": False, "nil": None}


class LuaError(ValueError):
    """Text that is not a Lua table literal; ``line`` is where reading stopped."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def loads(text: str) -> Any:
    """The value of ``return <literal>`` (or of a bare literal) as Python data.

    Tables become dicts keyed by int or str in file order; use ``values`` to walk a
    list-like table. Anything that is not a literal raises LuaError.
    """
    reader = _Reader(text)
    reader.skip_space()
    if reader.text.startswith("return", reader.pos) and not _is_name_char(reader.peek(6)):
        reader.pos += len("return")
    value = reader.value(0)
    reader.skip_space()
    if reader.peek() == ";":
        reader.pos += 1
        reader.skip_space()
    if reader.pos != len(reader.text):
        reader.fail("unexpected text after the table")
    return value


def values(table: Any) -> list[Any]:
    """The entries of a list-like table in index order (numeric keys, then the rest).

    KOReader writes ``[2] = ..., [1] = ...`` in any order and, in some versions,
    string keys such as ``["1"]``; sorting numeric keys restores the reading order.
    """
    if not isinstance(table, dict):
        return []
    numeric: list[tuple[float, Any]] = []
    other: list[Any] = []
    for key, value in table.items():
        number = _as_number(key)
        if number is None:
            other.append(value)
        else:
            numeric.append((number, value))
    numeric.sort(key=lambda pair: pair[0])
    return [value for _, value in numeric] + other


def _as_number(key: Any) -> float | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int | float):
        return float(key)
    if isinstance(key, str) and key.isdigit():
        return float(key)
    return None


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char == "_"


class _Reader:
    """Recursive descent over the text; ``pos`` is the next unread character."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def line(self) -> int:
        return self.text.count("\n", 0, self.pos) + 1

    def fail(self, message: str) -> None:
        raise LuaError(message, self.line())

    def skip_space(self) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            space = _SPACE.match(text, self.pos) if char in " \t\r\n\f\v" else None
            if space is not None:
                self.pos = space.end()
            elif text.startswith("--", self.pos):
                self.pos += 2
                long = _LONG_OPEN.match(text, self.pos)
                if long is not None:
                    self._long_body(long)
                else:
                    end = text.find("\n", self.pos)
                    self.pos = len(text) if end < 0 else end + 1
            else:
                return

    def value(self, depth: int) -> Any:
        self.skip_space()
        char = self.peek()
        if char == "{":
            return self.table(depth + 1)
        if char in "\"'":
            return self.quoted()
        if char == "[" and _LONG_OPEN.match(self.text, self.pos):
            return self.long_string()
        if char == "-" or char.isdigit() or (char == "." and self.peek(1).isdigit()):
            return self.number()
        name = _NAME.match(self.text, self.pos)
        if name is not None and name.group(0) in _KEYWORDS:
            self.pos = name.end()
            return _KEYWORDS[name.group(0)]
        self.fail("expected a value (string, number, boolean, nil or table)")
        return None  # pragma: no cover - fail always raises

    def table(self, depth: int) -> dict[Any, Any]:
        if depth > MAX_DEPTH:
            self.fail(f"tables nested deeper than {MAX_DEPTH}")
        self.pos += 1  # "{"
        result: dict[Any, Any] = {}
        index = 1
        while True:
            self.skip_space()
            char = self.peek()
            if char == "}":
                self.pos += 1
                return result
            if not char:
                self.fail("table not closed")
            if char == "[" and not _LONG_OPEN.match(self.text, self.pos):
                self.pos += 1
                key = self.value(depth)
                self.skip_space()
                self.expect("]")
                self.skip_space()
                self.expect("=")
                result[_key(key)] = self.value(depth)
            else:
                name = _NAME.match(self.text, self.pos)
                after = name.end() if name is not None else self.pos
                if name is not None and name.group(0) not in _KEYWORDS and self._equals_at(after):
                    self.pos = after
                    self.skip_space()
                    self.expect("=")
                    result[name.group(0)] = self.value(depth)
                else:
                    result[index] = self.value(depth)
                    index += 1
            self.skip_space()
            if self.peek() in (",", ";"):
                self.pos += 1
            elif self.peek() != "}":
                self.fail("expected ',' or '}' in table")

    def _equals_at(self, pos: int) -> bool:
        saved = self.pos
        self.pos = pos
        self.skip_space()
        found = self.peek() == "=" and self.peek(1) != "="
        self.pos = saved
        return found

    def expect(self, char: str) -> None:
        if self.peek() != char:
            self.fail(f"expected {char!r}")
        self.pos += 1

    def number(self) -> int | float:
        negative = False
        if self.peek() == "-":
            negative = True
            self.pos += 1
            self.skip_space()
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            self.fail("expected a number")
            return 0  # pragma: no cover - fail always raises
        self.pos = match.end()
        literal = match.group(0)
        value: int | float
        if literal[:2].lower() == "0x":
            value = _hex_number(literal)
        elif any(c in literal for c in ".eE"):
            value = float(literal)
        else:
            value = int(literal)
        return -value if negative else value

    def quoted(self) -> str:
        """A quoted string; escaped bytes (``\\195\\169``) are joined and read as UTF-8."""
        quote = self.peek()
        self.pos += 1
        parts: list[str] = []
        pending = bytearray()
        text = self.text
        while True:
            if self.pos >= len(text):
                self.fail("string not closed")
            char = text[self.pos]
            if char == quote:
                self.pos += 1
                parts.append(pending.decode("utf-8", errors="replace"))
                return "".join(parts)
            if char == "\n":
                self.fail("line break inside a quoted string")
            if char == "\\":
                piece = self._escape()
                if isinstance(piece, int):
                    pending.append(piece)
                    continue
            else:
                run = _RUNS[quote].match(text, self.pos)
                assert run is not None  # the current character is none of the stops
                piece = run.group(0)
                self.pos = run.end()
            if pending:
                parts.append(pending.decode("utf-8", errors="replace"))
                pending.clear()
            parts.append(piece)

    def _escape(self) -> str | int:
        """The escaped text, or a byte value for ``\\ddd`` / ``\\xXX``."""
        self.pos += 1  # backslash
        char = self.peek()
        if char == "\r":
            self.pos += 2 if self.peek(1) == "\n" else 1
            return "\n"
        if char in _SIMPLE_ESCAPES:
            self.pos += 1
            return _SIMPLE_ESCAPES[char]
        if char == "z":
            self.pos += 1
            while self.peek() and self.peek() in " \t\r\n\f\v":
                self.pos += 1
            return ""
        if char == "x":
            digits = self.text[self.pos + 1 : self.pos + 3]
            if len(digits) != 2 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                self.fail("bad \\x escape")
            self.pos += 3
            return int(digits, 16)
        if char.isdigit():
            end = self.pos
            while end < len(self.text) and end - self.pos < 3 and self.text[end].isdigit():
                end += 1
            code = int(self.text[self.pos : end])
            if code > 255:
                self.fail("decimal escape too large")
            self.pos = end
            return code
        if char == "u" and self.peek(1) == "{":
            end = self.text.find("}", self.pos)
            digits = self.text[self.pos + 2 : end] if end > 0 else ""
            if not digits or not all(c in "0123456789abcdefABCDEF" for c in digits):
                self.fail("bad \\u escape")
            code = int(digits, 16)
            if code > 0x10FFFF:
                self.fail("bad \\u escape")
            self.pos = end + 1
            return chr(code)
        self.fail("unknown escape in string")
        return ""  # pragma: no cover - fail always raises

    def long_string(self) -> str:
        opening = _LONG_OPEN.match(self.text, self.pos)
        assert opening is not None
        return self._long_body(opening)

    def _long_body(self, opening: re.Match[str]) -> str:
        close = "]" + opening.group(1) + "]"
        start = opening.end()
        end = self.text.find(close, start)
        if end < 0:
            self.fail("long string or comment not closed")
        self.pos = end + len(close)
        body = self.text[start:end]
        # Lua drops a line break directly after the opening bracket.
        if body.startswith("\r\n"):
            return body[2:]
        return body[1:] if body[:1] == "\n" else body


def _key(key: Any) -> Any:
    """Float keys that are whole numbers index the same slot as ints, as in Lua."""
    if key is None:
        raise LuaError("nil is not a table key", 0)
    if isinstance(key, float) and key.is_integer():
        return int(key)
    return key


def _hex_number(literal: str) -> int | float:
    if any(c in literal for c in ".pP"):
        return float.fromhex(literal)
    return int(literal, 16)
