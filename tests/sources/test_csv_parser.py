"""Readwise's CSV export."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sources import (
    ParseError,
    detect_format,
    parse_bytes_report,
    parse_path,
    parse_text,
    parse_text_report,
)

HEADER = (
    "Highlight,Book Title,Book Author,Amazon Book ID,Note,Color,Tags,Location Type,Location,"
    "Highlighted at,Document tags"
)


def test_rows_become_takeaways_and_multi_line_cells_stay_one(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "readwise.csv")

    assert [t.text for t in takeaways] == [
        "The best way to predict the future is to invent it.",
        "Simple things should be simple,\ncomplex things should be possible.",
        'She said "no" twice.',
    ]


def test_columns_map_to_fields(fixtures: Path) -> None:
    first, second, third = parse_path(fixtures / "readwise.csv")

    assert (first.title, first.author) == ("Quotes", "Alan Kay")
    assert first.tags == ("favorite", "computing")
    assert first.location == "Location 123"
    assert first.highlighted_at == "2022-11-19T10:12:00+00:00"
    assert first.note is None
    assert second.note == "Motto for APIs"
    assert second.location == "Page 12"
    assert second.highlighted_at == "2022-11-20T08:00:00+00:00"
    assert third.author == "Doe, Jane"
    assert third.location is None
    assert third.highlighted_at is None  # "not a date" is unknown, not an error


def test_row_with_wrong_column_count_is_reported_with_its_line(fixtures: Path) -> None:
    path = fixtures / "readwise-bad-row.csv"
    takeaways, report = parse_bytes_report(path.read_bytes(), str(path))

    assert [t.text for t in takeaways] == ["A highlight that spans\ntwo lines."]
    assert len(report.unreadable) == 1
    assert report.unreadable[0].endswith("readwise-bad-row.csv:4: expected 11 columns, found 2")


def test_heading_rows_are_left_out_and_reported() -> None:
    text = (
        HEADER
        + "\nChapter One,Book,Author,,,,h1,order,1,,"
        + "\nPart A,Book,Author,,,,.h2,order,2,,"
        + '\nThe idea.,Book,Author,,,,"focus, h2x",order,3,,'
        + "\nLater idea.,Book,Author,,,,,offset,120,,"
    )
    takeaways, report = parse_text_report(text, "export.csv")

    assert [t.text for t in takeaways] == ["The idea.", "Later idea."]
    assert report.skipped == {"headings": 2}
    assert [t.location for t in takeaways] == [None, None]  # positions, not places to show
    assert takeaways[0].tags == ("focus", "h2x")


def test_detected_by_header_whatever_the_name() -> None:
    text = HEADER + "\nHello,Book,Author,,,,,,,,\n"

    assert detect_format(text, "export.txt") == "readwise-csv"
    assert [t.text for t in parse_text(text, "export.txt")] == ["Hello"]


def test_crlf_and_bom_are_fine() -> None:
    text = "\ufeff" + HEADER + '\r\n"Two\r\nlines",Book,Author,,,,,,,,\r\n'

    assert [t.text for t in parse_text(text, "x.csv")] == ["Two\nlines"]


def test_other_csv_is_refused_with_one_line() -> None:
    with pytest.raises(ParseError, match=r"^data\.csv: not a Readwise CSV export"):
        parse_text("name,age\nAda,36\n", "data.csv")


def test_header_only_has_no_takeaways() -> None:
    with pytest.raises(ParseError, match="no takeaways found"):
        parse_text(HEADER + "\n", "empty.csv")


def test_list_only_parse_names_the_unreadable_row(fixtures: Path) -> None:
    # parse_path has no report to carry the row, so it fails rather than drop it.
    with pytest.raises(ParseError) as caught:
        parse_path(fixtures / "readwise-bad-row.csv")

    assert caught.value.line == 4
    assert str(caught.value).endswith("readwise-bad-row.csv:4: expected 11 columns, found 2")


def test_a_row_without_highlight_text_is_reported_not_dropped() -> None:
    header = (
        "Highlight,Book Title,Book Author,Amazon Book ID,Note,Color,Tags,"
        "Location Type,Location,Highlighted at,Document tags\n"
    )
    rows = "Real one,B,A,,,,,,,,\n,B,A,,just a note,,,,,,\n"

    takeaways, report = parse_text_report(header + rows, "readwise.csv")

    assert [t.text for t in takeaways] == ["Real one"]
    assert report.skipped == {"highlights without text": 1}
