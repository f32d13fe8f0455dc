"""The project's own JSON Lines export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.sources import ParseError, Takeaway, detect_format, parse_path, parse_text

FULL = Takeaway(
    text="Line one\nline two",
    title="A Book",
    author="Someone",
    url="https://example.com/h/1",
    note="My note",
    tags=("a", "b c"),
    location="Location 12",
    highlighted_at="2022-11-19T10:12:00+00:00",
    source_url="https://example.com/book",
    category="books",
)


def _dump(takeaways: list[Takeaway]) -> str:
    return "\n".join(json.dumps(t.to_json(), ensure_ascii=False) for t in takeaways) + "\n"


def test_round_trip_of_a_full_takeaway() -> None:
    minimal = Takeaway(text="Only text")

    assert parse_text(_dump([FULL, minimal]), "export.jsonl") == [FULL, minimal]


def test_round_trip_of_every_fixture_export(fixtures: Path, sample: Path) -> None:
    originals = [t for path in (sample, *sorted(fixtures.glob("*.md"))) for t in parse_path(path)]

    assert parse_text(_dump(originals), "all.jsonl") == originals


def test_blank_lines_are_fine_and_content_decides_the_format() -> None:
    text = "\n" + json.dumps({"text": "x"}) + "\n\n" + json.dumps({"text": "y", "extra": 1})

    assert detect_format(text, "export.txt") == "jsonl"
    assert [t.text for t in parse_text(text, "export.txt")] == ["x", "y"]


def test_bad_line_is_named(fixtures: Path) -> None:
    with pytest.raises(ParseError) as caught:
        parse_path(fixtures / "bad-line.jsonl")

    assert caught.value.line == 4
    assert str(caught.value).endswith('bad-line.jsonl:4: missing or empty "text"')


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"text": "   "}', 'missing or empty "text"'),
        ('{"text": 5}', 'missing or empty "text"'),
        ('{"text": "ok", "tags": 5}', '"tags" must be a list of strings'),
        ('{"text": "ok", "title": {"a": 1}}', '"title" must be a string or null'),
    ],
)
def test_each_kind_of_bad_line(line: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_text('{"text": "fine"}\n' + line + "\n", "x.jsonl")

    assert caught.value.line == 2
    assert caught.value.message == message


def test_json_array_is_accepted() -> None:
    text = json.dumps([FULL.to_json(), {"text": "second"}])

    assert parse_text(text, "export.json") == [FULL, Takeaway(text="second")]
