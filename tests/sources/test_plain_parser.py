"""Plain hand-written lists and paragraphs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sources import ParseError, detect_format, parse_bytes_report, parse_path, parse_text


def test_list_items_are_takeaways_and_intro_text_is_not(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "plain-list.md")

    assert [t.text for t in takeaways] == [
        "Ship small things often.",
        "Write things down;\nmemory is a leaky bucket.",
        "Sleep is a performance tool.",
        "Read the docs first.",
        "Ask for help after 15 minutes.\n\nNot after three hours.",
    ]
    assert {t.title for t in takeaways} == {"Lessons from 2023"}


def test_paragraphs_when_there_is_no_list(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "plain-paragraphs.txt")

    assert [t.text for t in takeaways] == [
        "The obstacle is the way.",
        "What stands in the way\nbecomes the way.",
        "Waste no more time arguing what a good man should be. Be one.",
    ]
    assert {t.title for t in takeaways} == {None}


def test_nested_items_stay_inside_their_parent() -> None:
    text = "- Parent idea\n  - detail one\n  - detail two\n- Next idea\n"

    assert [t.text for t in parse_text(text, "n.md")] == [
        "Parent idea\n- detail one\n- detail two",
        "Next idea",
    ]


def test_front_matter_later_headings_and_rules_are_not_takeaways() -> None:
    text = "---\ntags: [x]\n---\n# Title\n\nFirst.\n\n## Part two\n\n---\n\nSecond.\n"

    takeaways = parse_text(text, "notes.md")

    assert [t.text for t in takeaways] == ["First.", "Second."]
    assert takeaways[0].title == "Title"


def test_plain_is_only_for_text_like_names() -> None:
    assert detect_format("Just a thought.", "notes.txt") == "plain"
    assert detect_format("Just a thought.", "upload") == "plain"
    with pytest.raises(ParseError, match=r"^script\.py: unsupported file type"):
        detect_format("print('hi')", "script.py")


def test_only_a_heading_yields_nothing() -> None:
    with pytest.raises(ParseError, match=r"^h\.md: no takeaways found"):
        parse_text("# Only a title\n", "h.md")


def test_blockquotes_are_quotes_and_the_heading_above_names_their_author(fixtures: Path) -> None:
    path = fixtures / "plain-quotes.md"
    takeaways, report = parse_bytes_report(path.read_bytes(), str(path))

    assert [(t.text, t.author) for t in takeaways] == [
        (
            "The whole problem with the world is that fools and fanatics are always so "
            "certain\nof themselves, and wiser people so full of doubts.",
            "Bertrand Russell",
        ),
        (
            "One of the symptoms of an approaching nervous breakdown\n\n"
            "is the belief that one's work is terribly important.",
            "Bertrand Russell",
        ),
        ("Luck is what happens when preparation meets opportunity.", "Seneca"),
        ("We suffer more often in imagination than in reality.", "Lucius Annaeus Seneca"),
        # The quote's own "— source" line names it; bold around the whole quote is styling.
        ('"So we beat on, boats against the current."', "The Great Gatsby, F. Scott Fitzgerald"),
    ]
    assert {t.title for t in takeaways} == {"Favourite quotes"}
    assert report.skipped == {"lines outside the quotes": 1}


def test_a_list_with_a_quote_among_its_items_stays_a_list_and_says_what_it_left() -> None:
    text = "- First idea.\n- Second idea.\n- Third idea.\n\n> A quote in between.\n"

    takeaways, report = parse_bytes_report(text.encode(), "list.txt")

    assert [t.text for t in takeaways] == ["First idea.", "Second idea.", "Third idea."]
    assert report.skipped == {"lines outside the list items": 1}
