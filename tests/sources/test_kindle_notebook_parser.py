"""The Kindle app's "Export notebook" HTML, in the layouts the apps write."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sources import (
    ParseError,
    detect_format,
    iter_source_files,
    parse_bytes_report,
    parse_text_report,
)


def _parse(path: Path, attached_notes: int) -> tuple[list, dict[str, int]]:
    takeaways, report = parse_bytes_report(path.read_bytes(), str(path))
    assert not report.unreadable
    # A note given to its highlight is merged into it, as in My Clippings.txt.
    assert report.merged == {"notes added to their highlight": attached_notes}
    return takeaways, report.skipped


def test_desktop_layout_with_malformed_nesting(fixtures: Path) -> None:
    takeaways, skipped = _parse(fixtures / "kindle-notebook-desktop.html", attached_notes=1)

    assert [t.text for t in takeaways] == [
        'Small steps, taken daily, beat "big plans" taken never.',
        "Read slowly.\nThen read again.",
        "Momentum is a choice you make every morning.",
        "My own thought, far from any highlight.",
    ]
    first = takeaways[0]
    assert (first.title, first.author, first.category) == (
        "The Pragmatic Reader",
        "Lane, Ada",
        "books",
    )
    assert first.note == "Pin this above the desk."  # the note right after its highlight
    assert [t.location for t in takeaways] == [
        "Location 40",
        "Location 88",
        "Location 120",
        "Location 610",
    ]
    assert takeaways[3].note is None  # a note far from any highlight stands alone
    assert skipped == {"bookmarks without text": 1}


def test_phone_layout_notebook_export_with_subsections(fixtures: Path) -> None:
    takeaways, skipped = _parse(fixtures / "kindle-notebook-phone.html", attached_notes=1)

    assert [(t.text, t.note, t.location) for t in takeaways] == [
        (
            "Timid young artists often give up their sunny dreams.",
            "That was me at twenty.",
            "Location 824",
        ),
        ("Art requires the courage to be a beginner.", None, "Location 850"),
    ]
    assert {t.title for t in takeaways} == {"Creative Habits - 2nd Edition"}
    assert skipped == {"bookmarks without text": 1}


def test_chinese_headings(fixtures: Path) -> None:
    takeaways, skipped = _parse(fixtures / "kindle-notebook-zh.html", attached_notes=1)

    assert [(t.text, t.note, t.location) for t in takeaways] == [
        ("真正重要的东西，用眼睛是看不见的。", "要常读。", "Location 84"),
        ("你为你的玫瑰花费的时间，使你的玫瑰变得如此重要。", None, "Location 160"),
    ]
    assert (takeaways[0].title, takeaways[0].author) == ("小王子", "圣埃克苏佩里")
    assert skipped == {"bookmarks without text": 1}


def test_japanese_page_and_location_without_text_is_reported() -> None:
    page = (
        '<div class="bookTitle">Effective DevOps</div><div class="authors">J. Davis</div>'
        '<div class="noteHeading">ハイライト(<span class="highlight_pink">ピンク</span>) - '
        "3.7 手法 &gt; ページ23 ·位置607</div>"
        '<div class="noteText">小さなデプロイを頻繁に行う。</div>'
        '<div class="noteHeading">ハイライト(<span class="highlight_pink">ピンク</span>) - '
        "ページ33 ·位置690</div>"
    )
    takeaways, report = parse_text_report(page, "notebook.html")

    assert [(t.text, t.location) for t in takeaways] == [
        ("小さなデプロイを頻繁に行う。", "Location 607")
    ]
    assert report.skipped == {"highlights without text": 1}


def test_page_only_entries_show_the_page() -> None:
    page = (
        "<div class='bookTitle'>A PDF</div>"
        "<h3 class='noteHeading'>Highlight(<span class='highlight_yellow'>yellow</span>) - Page 7"
        "</div><div class='noteText'>On page seven.</h3>"
        "<h3 class='noteHeading'>Note - Page 7</div><div class='noteText'>Mine.</h3>"
    )
    takeaways, _ = parse_text_report(page, "notes.html")

    assert [(t.text, t.note, t.location) for t in takeaways] == [
        ("On page seven.", "Mine.", "page 7")
    ]


def test_detected_by_content_whatever_the_name(fixtures: Path) -> None:
    text = (fixtures / "kindle-notebook-desktop.html").read_text(encoding="utf-8")

    assert detect_format(text, "upload.txt") == "kindle-notebook"
    assert detect_format(text, "Notebook.html") == "kindle-notebook"


def test_other_html_is_refused_with_one_line_naming_it() -> None:
    with pytest.raises(ParseError) as caught:
        parse_text_report("<html><body><p>Hello</p></body></html>", "page.html")

    assert str(caught.value).startswith("page.html: ")
    assert "\n" not in str(caught.value)


def test_folder_imports_pick_up_html_notebooks(tmp_path: Path, fixtures: Path) -> None:
    (tmp_path / "Book - Notebook.html").write_bytes(
        (fixtures / "kindle-notebook-phone.html").read_bytes()
    )
    (tmp_path / "old.htm").write_text("<div class='noteHeading'>x</div>", encoding="utf-8")
    (tmp_path / "cover.jpg").write_bytes(b"\xff\xd8")

    assert [p.name for p in iter_source_files([tmp_path])] == ["Book - Notebook.html", "old.htm"]


def test_a_highlight_without_colour_is_never_taken_for_a_note() -> None:
    page = (
        "<div class='noteHeading'>Highlight - Location 30</div><div class='noteText'>A</div>"
        "<div class='noteHeading'>Highlight - Location 31</div><div class='noteText'>B</div>"
        "<div class='noteHeading'>Note - Location 31</div><div class='noteText'>mine</div>"
    )
    takeaways, _ = parse_text_report(page, "n.html")

    assert [(t.text, t.note) for t in takeaways] == [("A", None), ("B", "mine")]
