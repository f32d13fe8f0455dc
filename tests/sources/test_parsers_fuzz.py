"""Whatever comes in, the parsers answer with takeaways or a ParseError, nothing else."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sources import (
    ParseError,
    Report,
    Takeaway,
    detect_format,
    parse_bytes_report,
    parse_text_report,
)
from bot.sources.text import decode

NAMES = st.sampled_from(
    [
        "notes.txt",
        "page.md",
        "export.csv",
        "export.jsonl",
        "x.json",
        "My Clippings.txt",
        "up",
        "notebook.html",
        "b.sdr/metadata.epub.lua",
    ]
)
# Pieces of every format, so generated text reaches deep into each parser.
FRAGMENTS = st.sampled_from(
    [
        "\n",
        "\r\n",
        "\t",
        "  ",
        "- ",
        "\t- ",
        "\t  ",
        "1. ",
        "2) ",
        "# ",
        "## Highlights\n",
        "## Metadata\n",
        "- Author: [[X]]\n",
        "title:: T\n",
        'full-title:: ""\n',
        "category:: #tweets\n",
        "- Highlights first synced by [[Readwise]] [[Nov 19th, 2022]]\n",
        "**Note**: ",
        "**Tags**: #a [[b]]",
        " ([View Tweet](https://t.co/x))",
        " ([Location 12](u))",
        "![](i)",
        "↓ 2/10",
        "==========\n",
        "Book (Author)\n",
        "- Your Highlight on page 3 | Location 10-12 | Added on Tuesday, March 5, 2019 10:12 PM\n",
        "- Your Note on Location 12 | Added on 5. März 2019\n",
        "- Ihr Lesezeichen bei Position 3 |\n",
        "Highlight,Book Title,Book Author,Amazon Book ID,Note,Color,Tags,Location Type,Location,"
        "Highlighted at,Document tags\n",
        '"a\nb",c',
        ",,,,,,,,,,\n",
        '{"text": "x"}\n',
        '{"text": ',
        "[",
        "]",
        "(",
        ")",
        "---\n",
        "\ufeff",
        "\x00",
        "word",
        "Ünïcödé",
        "> ",
        ">\n",
        "#### Name\n",
        "<div class='noteHeading'>Highlight (<span class='highlight_yellow'>x</span>) - Page 3",
        "</div><div class='noteText'>",
        "</h3>",
        "Note - Location 12",
        "&amp;",
        "return {",
        '["annotations"] = {',
        '["highlight"] = {',
        '["bookmarks"] = {',
        '[1] = {["text"] = "t", ["datetime"] = "2023-01-01 10:00:00"},',
        "[[long]]",
        "\\",
        "}",
        '{"title": "T", "entries": [',
        '{"text": "x", "page": 3, "time": 1700000000}',
        "##### Author\n",
        "### Page 12 @ 03 December 2023 10:11:12 PM\n",
    ]
)
STRUCTURED = st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=40).map("".join)


def _check(result: list[Takeaway], report: Report, empty_ok: bool = False) -> None:
    # Nothing parsed is fine only when the report says why (or for a KOReader sidecar).
    assert result or report.unreadable or report.skipped or report.merged or empty_ok
    for takeaway in result:
        assert isinstance(takeaway, Takeaway)
        assert takeaway.text.strip()


def _is_sidecar(text: str, name: str) -> bool:
    try:
        return detect_format(text.removeprefix("\ufeff"), name) == "koreader"
    except ParseError:
        return False


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(), STRUCTURED), name=NAMES)
def test_parse_text_raises_only_parse_error(text: str, name: str) -> None:
    try:
        result, report = parse_text_report(text, name)
    except ParseError as error:
        assert "\n" not in str(error)
    else:
        _check(result, report, _is_sidecar(text, name))


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(
        st.binary(),
        STRUCTURED.map(lambda text: text.encode("utf-8")),
        STRUCTURED.map(lambda text: text.encode("utf-16")),
    ),
    name=NAMES,
)
def test_parse_bytes_raises_only_parse_error(data: bytes, name: str) -> None:
    try:
        result, report = parse_bytes_report(data, name)
    except ParseError as error:
        assert "\n" not in str(error)
    else:
        _check(result, report, _is_sidecar(decode(data, name), name))


def test_long_whitespace_runs_stay_fast() -> None:
    """Regexes that backtrack on long space runs would hang an import; these must not."""
    spaces = " " * 20_000
    texts = {
        "plain.md": f"# a{spaces}b {spaces}#\n- x{spaces}y\n{spaces}#\n\n#{spaces}#{spaces}#\n",
        "paragraphs.txt": f"para{spaces}x\n\n---{spaces}-\n",
        "page.md": (
            f"# T\n## Metadata\n- a{spaces}\n- Author{spaces}:{spaces}x\n## Highlights\n"
            f"- h{spaces}([Location 1](u{spaces}))\n  - Note{spaces}:{spaces}\n"
        ),
        "logseq.md": (
            "title:: t\ncategory:: #tweets\n- Highlights first synced by [[Readwise]]\n"
            f"\t- 1. a{spaces}\n\t  {spaces}↓{spaces}1/2{spaces}https://t.co/x{spaces}\n"
            f"\t- 2. b{spaces}https://t.co/y{spaces}↓ 3/4{spaces}\n"
        ),
        "clips.txt": (
            f"T{spaces}(A{spaces})\n- Your Highlight on Location 1{spaces}-{spaces}2 | "
            f"Added on {spaces}March{spaces}5\n\nx{spaces}\n==========\n"
        ),
        "export.csv": f'Highlight,Book Title\n"a{spaces}b",c{spaces}\n',
    }
    for name, text in texts.items():
        started = time.perf_counter()
        assert parse_text_report(text, name)[0]
        assert time.perf_counter() - started < 1.0, name
