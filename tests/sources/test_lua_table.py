"""Lua table literals read as data: every literal form KOReader writes, nothing else."""

from __future__ import annotations

import pytest

from bot.sources.lua_table import MAX_DEPTH, LuaError, loads, values


def test_strings_in_every_form() -> None:
    text = (
        'return { "tab\\tquote\\"\\\\", \'single \\\'q\\\'\', "line\\\nbreak", '
        '"\\65\\066\\x43\\u{263A}", "caf\\195\\169", "a\\z\n     b", '
        "[[\nlong ] string]], [==[with ]] inside]==] }"
    )

    assert values(loads(text)) == [
        'tab\tquote"\\',
        "single 'q'",
        "line\nbreak",
        "ABC☺",
        "café",
        "ab",
        "long ] string",
        "with ]] inside",
    ]


def test_numbers_booleans_nil_and_keys() -> None:
    text = """-- header comment
    return {
        ["n"] = -12, ["f"] = 0.5, ["e"] = 1e3, ["h"] = 0x1F,
        yes = true, no = false, gone = nil,
        [3] = "three", [1.0] = "one", --[[ a block
        comment ]] "positional";
    }"""

    table = loads(text)

    assert table["n"] == -12 and table["f"] == 0.5 and table["e"] == 1000.0 and table["h"] == 31
    assert (table["yes"], table["no"], table["gone"]) == (True, False, None)
    assert values({k: v for k, v in table.items() if isinstance(k, int)}) == [
        "positional",
        "three",
    ]


def test_values_orders_numeric_keys_written_in_any_order() -> None:
    table = loads('return { [2] = "b", [10] = "j", ["1"] = "a", [1.5] = "x" }')

    assert values(table) == ["a", "x", "b", "j"]


@pytest.mark.parametrize(
    "text",
    [
        'return os.execute("rm -rf /")',
        "return { f() }",
        'return { "a" .. "b" }',
        "return { x = y }",
        "return {",
        'return { "unterminated }',
        "return { [[never closed }",
        "return {} extra",
        'return { "line\nbreak" }',
        'return { "\\q" }',
        "return { [nil] = 1 }",
    ],
)
def test_anything_but_a_literal_is_refused(text: str) -> None:
    with pytest.raises(LuaError):
        loads(text)


def test_nesting_is_bounded() -> None:
    deep = "return " + "{" * (MAX_DEPTH + 5) + "}" * (MAX_DEPTH + 5)
    with pytest.raises(LuaError, match="nested deeper"):
        loads(deep)
    assert loads("return " + "{" * MAX_DEPTH + "}" * MAX_DEPTH) == _nested(MAX_DEPTH - 1)


def test_errors_name_their_line() -> None:
    with pytest.raises(LuaError) as caught:
        loads('return {\n  ["a"] = 1,\n  ["b"] = oops,\n}')
    assert caught.value.line == 3


def _nested(depth: int) -> dict:
    table: dict = {}
    for _ in range(depth):
        table = {1: table}
    return table
