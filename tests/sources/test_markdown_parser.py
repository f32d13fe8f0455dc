"""Readwise's Markdown (Obsidian) flavour."""

from __future__ import annotations

from pathlib import Path

from bot.sources import (
    detect_format,
    parse_bytes_report,
    parse_path,
    parse_text,
    parse_text_report,
)

KINDLE_LINK = "https://readwise.io/to_kindle?action=open&asin=B06WVYW33Y&location="
TITLE = "How to Take Smart Notes: One Simple Technique to Boost Writing, Learning and Thinking"


def test_is_detected_by_its_sections(fixtures: Path) -> None:
    path = fixtures / "markdown-book.md"

    assert detect_format(path.read_text(encoding="utf-8"), path.name) == "readwise-markdown"


def test_highlights_of_both_sections_in_order(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "markdown-book.md")

    assert [t.text for t in takeaways] == [
        "The quality of a paper or a book depends on what happens before the writing.",
        "Having a clear structure to work in is completely different from making plans about "
        "something.\nThe structure stays, the plans change.",
        "Read with a pen in hand.",
        "The slip-box is not a collection of notes.",
    ]
    assert [t.highlighted_at for t in takeaways] == [None, None, *["2022-11-19T10:12:00"] * 2]


def test_metadata_is_read_and_the_cover_left_out(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "markdown-book.md")

    assert {t.title for t in takeaways} == {TITLE}
    assert {t.author for t in takeaways} == {"Sönke Ahrens"}
    assert {t.category for t in takeaways} == {"books"}
    assert not any("rw-book-cover" in t.text for t in takeaways)


def test_notes_tags_and_location_links(fixtures: Path) -> None:
    first, second, third, fourth = parse_path(fixtures / "markdown-book.md")

    assert first.tags == ("writing", "process")
    assert first.note == "Writing starts long before the draft."
    assert first.location == "Location 118"
    assert first.url == KINDLE_LINK + "118"
    assert second.note is None
    assert third.note == "Literature notes,\nin my own words."
    assert fourth.location == "Page 12"


def test_heading_title_is_used_without_full_title() -> None:
    page = "# Smart Notes (highlights)\n\n## Highlights\n- Read with a pen.\n"

    assert parse_text(page, "x.md")[0].title == "Smart Notes"


def test_thread_in_markdown_flavour_gives_numbered_items(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "markdown-thread.md")

    assert [t.text for t in takeaways] == [
        "Write the test first.",
        "Read code every day.",
        "Keep a work log.",
        "Explain it to a rubber duck.",
    ]
    status = "https://twitter.com/grace/status/"
    assert [t.url for t in takeaways] == [status + s for s in ("301", "301", "302", "302")]
    assert {t.source_url for t in takeaways} == {status + "300"}


def test_thread_with_gaps_in_its_numbering_keeps_every_highlighted_item(fixtures: Path) -> None:
    # The reader highlighted 1-4, 6-8 and 10: the thread does not stop at the first gap,
    # and the reply "1. Great list!" after it is no item of the thread.
    takeaways, report = parse_bytes_report(
        (fixtures / "markdown-thread-gaps.md").read_bytes(), "markdown-thread-gaps.md"
    )

    assert [t.text for t in takeaways] == [
        "Make it work.",
        "Make it right.",
        "Make it fast, if you must.",
        "Delete code often.",
        "Name things for the reader.",
        "Small functions, small files.",
        "Log what you would need at 3 a.m.",
        "Ship, then listen.",
    ]
    assert takeaways[4].url == "https://twitter.com/grace/status/404"
    assert report.skipped == {"tweets of a thread around its numbered items": 2}


def test_tags_a_template_writes_after_the_link() -> None:
    page = (
        "# Swift Notes\n\n## Highlights\n"
        "- Only the main thread may touch the UI "
        "([View Highlight](https://read.readwise.io/read/01h7)) #Highlight #[[2023-08-08]]\n"
    )
    takeaways = parse_text(page, "swift.md")

    assert [(t.text, t.url, t.tags) for t in takeaways] == [
        (
            "Only the main thread may touch the UI",
            "https://read.readwise.io/read/01h7",
            ("Highlight", "2023-08-08"),
        )
    ]


THREAD_HEAD = (
    "# CDN Thread\n\n## Metadata\n- Category: #tweets\n"
    "- URL: https://twitter.com/f/status/1\n\n## Highlights\n"
)


def test_a_list_in_the_intro_does_not_hide_the_threads_own_numbering() -> None:
    page = THREAD_HEAD + (
        "- CDNs have 2 benefits:\n  1. caching\n  2. a fast network\n  Thread ↓ "
        "([View Tweet](https://twitter.com/f/status/1))\n"
        "- 1. Working principle\n  A CDN works like a cache. ([View Tweet](https://twitter.com/f/status/2))\n"
        "- 2. Geography\n  Servers sit near clients. ([View Tweet](https://twitter.com/f/status/3))\n"
        "- 3. Options:\n  1. anycast\n  2. DNS\n  ([View Tweet](https://twitter.com/f/status/4))\n"
        "- 4. Caching layers. ([View Tweet](https://twitter.com/f/status/5))\n"
    )
    takeaways = parse_text(page, "cdn.md")

    assert [(t.text, t.url) for t in takeaways] == [
        ("Working principle\nA CDN works like a cache.", "https://twitter.com/f/status/2"),
        ("Geography\nServers sit near clients.", "https://twitter.com/f/status/3"),
        ("Options:\n1. anycast\n2. DNS", "https://twitter.com/f/status/4"),
        ("Caching layers.", "https://twitter.com/f/status/5"),
    ]


def test_a_reader_document_saved_without_highlights_is_reported_not_an_error() -> None:
    page = (
        "# Some Article\n\n## Metadata\n- Author: [[A]]\n- Category: #articles\n\n"
        "## Full Document\nThe whole article, which is not a highlight.\n\n- not one either\n"
    )

    assert detect_format(page, "article.md") == "readwise-markdown"
    takeaways, report = parse_text_report(page, "article.md")
    assert takeaways == []
    assert report.skipped == {"documents saved without highlights": 1}
