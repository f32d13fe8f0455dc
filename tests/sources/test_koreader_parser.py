"""KOReader: sidecar ``metadata.*.lua`` files (read as data) and the exporter's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sources import (
    ParseError,
    Takeaway,
    detect_format,
    iter_source_files,
    parse_bytes_report,
    parse_text_report,
)
from bot.sources.model import Report

GARDEN = Path("koreader") / "The Quiet Garden.sdr" / "metadata.epub.lua"
LETTERS = Path("koreader") / "Old Letters.sdr" / "metadata.epub.lua"


def _parse(path: Path) -> tuple[list[Takeaway], Report]:
    return parse_bytes_report(path.read_bytes(), str(path))


def test_current_annotations_table(fixtures: Path) -> None:
    takeaways, report = _parse(fixtures / GARDEN)

    assert [t.text for t in takeaways] == [
        "A garden is a lesson in patience, taught by the soil.",
        "Weeds are only plants\nout of place.",
        "Café mornings ☕ are best.",
    ]
    first, second, _ = takeaways
    assert (first.title, first.author, first.category) == (
        "The Quiet Garden",
        "Mira Holt, June Park",
        "books",
    )
    assert second.note == 'Line one of my note\nline two, with a "quote" and a tab here.'
    assert [t.location for t in takeaways] == ["page 12", "page 15", "page 31"]
    assert first.highlighted_at == "2024-03-02T09:15:00"
    assert report.skipped == {"bookmarks without text": 1}
    assert not report.merged and not report.unreadable


def test_old_tables_and_new_in_one_file_count_each_highlight_once(fixtures: Path) -> None:
    takeaways, report = _parse(fixtures / LETTERS)

    assert [(t.text, t.note) for t in takeaways] == [
        ("I have no friend.", "The loneliest line of the book."),
        # KOReader's automatic "Page 41 <text> @ <date>" bookmark text is no note.
        ("Nothing is so painful to the human mind as a great and sudden change.", None),
        # A highlighted bookmark whose highlight entry is gone still holds it in "notes".
        (
            "Learn from me, if not by my precepts, at least by my example.",
            "Kept only in the bookmarks.",
        ),
    ]
    assert {(t.title, t.author) for t in takeaways} == {("Old Letters", "Mary Shelley")}
    assert report.merged == {"duplicates": 1}
    assert report.skipped == {"bookmarks without text": 1}


def test_old_bookmark_keeps_the_readers_note_in_text() -> None:
    sidecar = """return {
        ["highlight"] = { [3] = { [1] = {
            ["datetime"] = "2023-01-24 04:36:02", ["text"] = "we acknowledge our debt.",
            ["pos0"] = "a", ["pos1"] = "b" } } },
        ["bookmarks"] = { [1] = {
            ["datetime"] = "2023-01-24 04:36:02", ["highlighted"] = true,
            ["notes"] = "we acknowledge our debt.", ["text"] = "more info from laptop" } },
        ["doc_props"] = { ["title"] = "Between Us", ["authors"] = "H. G." },
    }"""
    takeaways, _ = parse_text_report(sidecar, "Between Us.sdr/metadata.epub.lua")

    assert [(t.text, t.note, t.location) for t in takeaways] == [
        ("we acknowledge our debt.", "more info from laptop", "page 3")
    ]


def test_title_falls_back_to_the_sdr_folder() -> None:
    sidecar = 'return { ["annotations"] = { { ["text"] = "Hi.", ["pos0"] = "x" } } }'
    takeaways, _ = parse_text_report(sidecar, "Books/Moby Dick.epub.sdr/metadata.epub.lua")

    assert takeaways[0].title == "Moby Dick"


def test_a_book_without_highlights_is_no_error() -> None:
    sidecar = 'return { ["doc_props"] = { ["title"] = "Unread" }, ["percent_finished"] = 0.1 }'

    assert parse_text_report(sidecar, "Unread.sdr/metadata.epub.lua")[0] == []


def test_code_is_never_run_and_is_refused_with_its_line() -> None:
    sidecar = 'return {\n  ["annotations"] = {},\n  ["doc_props"] = os.execute("x"),\n}'
    with pytest.raises(ParseError) as caught:
        parse_text_report(sidecar, "Evil.sdr/metadata.epub.lua")

    assert caught.value.line == 3
    assert "not a readable KOReader metadata file" in str(caught.value)


def test_a_synced_device_folder_yields_sidecars_but_no_other_lua(fixtures: Path) -> None:
    found = sorted(
        p.relative_to(fixtures / "koreader") for p in iter_source_files([fixtures / "koreader"])
    )

    assert found == sorted([LETTERS.relative_to("koreader"), GARDEN.relative_to("koreader")])


def test_plain_lua_is_refused_with_one_line(fixtures: Path) -> None:
    path = fixtures / "koreader" / "plugins" / "main.lua"
    with pytest.raises(ParseError) as caught:
        _parse(path)

    assert str(caught.value).startswith(f"{path}: unsupported file type '.lua'")


def test_exporter_json_with_several_documents(fixtures: Path) -> None:
    takeaways, report = _parse(fixtures / "koreader-export.json")

    assert [(t.title, t.text, t.note, t.location) for t in takeaways] == [
        (
            "The Quiet Garden",
            "A garden is a lesson in patience, taught by the soil.",
            None,
            "page 12",
        ),
        ("The Quiet Garden", "Weeds are only plants out of place.", "Pin this.", "page 15"),
        (
            "Old Letters",
            "Nothing is so painful to the human mind as a great and sudden change.",
            None,
            "page 41",
        ),
    ]
    assert takeaways[0].highlighted_at == "2024-03-02T09:15:00+00:00"
    assert report.skipped == {"highlights without text": 1}  # an image highlight


def test_exporter_json_of_one_book_under_any_name() -> None:
    text = '{"title": "T", "author": "A", "entries": [{"text": "One.", "page": 2, "time": 0}]}'

    assert detect_format(text, "upload.txt") == "koreader-json"
    takeaways, _ = parse_text_report(text, "upload.txt")
    assert [(t.title, t.author, t.text, t.location) for t in takeaways] == [
        ("T", "A", "One.", "page 2")
    ]


def test_exporter_markdown(fixtures: Path) -> None:
    takeaways, report = _parse(fixtures / "koreader-export.md")

    assert [(t.title, t.text, t.note, t.location) for t in takeaways] == [
        (
            "The Quiet Garden",
            "A garden is a lesson in patience, taught by the soil.",
            None,
            "page 12",
        ),
        (
            "The Quiet Garden",
            "Weeds are only plants\nout of place.",
            "Line one of my note\nline two.",
            "page 15",
        ),
        ("The Quiet Garden", "Café mornings are best.", None, "page 31"),
        (
            "Old Letters",
            "Nothing is so painful to the human mind as a great and sudden change.",
            None,
            "page 41",
        ),
    ]
    assert takeaways[0].author == "Mira Holt, June Park"
    assert takeaways[2].highlighted_at == "2024-03-05T20:00:00"
    assert not report.skipped


def test_a_bare_sidecar_is_known_by_its_name() -> None:
    assert detect_format("return {}", "Book.sdr/metadata.pdf.lua") == "koreader"
    assert parse_text_report("return {}", "Book.sdr/metadata.pdf.lua")[0] == []


def test_an_exporter_entry_that_is_no_object_is_reported() -> None:
    text = '{"title": "T", "entries": [{"text": "Kept."}, 42]}'
    takeaways, report = parse_text_report(text, "t.json")

    assert [t.text for t in takeaways] == ["Kept."]
    assert report.unreadable == ["t.json: entry 2 of document 1 is not an object"]


def test_an_old_highlight_that_is_not_a_table_is_reported_with_its_page() -> None:
    sidecar = (
        'return { ["highlight"] = { [3] = { [1] = "oops",'
        ' [2] = { ["text"] = "Kept.", ["chapter"] = "One" } } } }'
    )

    takeaways, report = parse_text_report(sidecar, "Odd.sdr/metadata.epub.lua")

    assert [t.text for t in takeaways] == ["Kept."]
    assert report.unreadable == ["Odd.sdr/metadata.epub.lua: a highlight on page 3 is not a table"]
