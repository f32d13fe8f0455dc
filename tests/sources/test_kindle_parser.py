"""Kindle's My Clippings.txt: languages, notes, repeats and edited highlights."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sources import ParseError, detect_format, parse_path, parse_text

PRAGMATIC = "The Pragmatic Programmer (20th Anniversary Edition)"


@pytest.mark.parametrize("language", ["en", "de", "es", "fr"])
def test_every_device_language_reads_the_same(fixtures: Path, language: str) -> None:
    path = fixtures / f"kindle-{language}.txt"

    assert detect_format(path.read_text(encoding="utf-8"), path.name) == "kindle"
    first, second = parse_path(path)

    assert (first.title, first.author) == ("Der Process", "Franz Kafka")
    assert first.text == "Jemand musste Josef K. verleumdet haben."
    assert first.location == "Location 10-12"
    assert first.highlighted_at == "2019-03-05T10:12:00"
    assert first.note == "Berühmter erster Satz."
    assert second.text == "Es ist nicht notwendig, alles für wahr zu halten."
    assert second.location == "Location 100-102"
    assert second.highlighted_at == "2019-03-06T18:00:05"
    assert second.note is None


def test_edits_repeats_bookmarks_and_empty_clips_fold_away(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "kindle-edits.txt")

    assert [t.text for t in takeaways] == [
        "Care about your craft.",
        "Don't live with broken windows. Fix each one as soon as it is discovered.",
        "A clip without an author.",
        "You have power over your mind",
        "Remember this in the morning.",
    ]


def test_extended_highlight_keeps_only_its_latest_version(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "kindle-edits.txt")
    extended = takeaways[1]

    assert extended.location == "Location 300-305"
    assert extended.highlighted_at == "2019-03-06T21:05:00"
    assert sum("broken windows" in t.text for t in takeaways) == 1


def test_shortened_highlight_keeps_only_its_latest_version(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "kindle-edits.txt")

    assert sum("power over your mind" in t.text for t in takeaways) == 1
    assert takeaways[3].location == "Location 1500-1501"


def test_title_splits_at_the_last_parentheses_and_author_may_be_missing(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "kindle-edits.txt")

    assert (takeaways[0].title, takeaways[0].author) == (PRAGMATIC, "David Thomas;Andrew Hunt")
    assert (takeaways[2].title, takeaways[2].author) == ("Personal Notes", None)
    assert takeaways[2].highlighted_at == "2019-03-07T08:05:00"  # day-month order


def test_note_attaches_to_the_highlight_it_was_written_on(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "kindle-edits.txt")

    assert takeaways[0].note == "Why spend your life developing software unless you care?"
    assert [t.note for t in takeaways[1:]] == [None] * 4


def test_note_without_a_highlight_is_kept_and_bad_dates_are_unknown(fixtures: Path) -> None:
    note = parse_path(fixtures / "kindle-edits.txt")[-1]

    assert (note.title, note.location, note.highlighted_at) == (
        "Meditations",
        "Location 2000",
        None,
    )


def test_note_inside_a_range_attaches_and_ending_there_wins() -> None:
    clips = "\n==========\n".join(
        [
            "Book (A)\n- Your Highlight on Location 10-20 | Added on May 1, 2020\n\nWide.",
            "Book (A)\n- Your Highlight on Location 14-15 | Added on May 1, 2020\n\nNarrow.",
            "Book (A)\n- Your Note on Location 15 | Added on May 1, 2020\n\nOn narrow.",
            "Book (A)\n- Your Note on Location 18 | Added on May 1, 2020\n\nOn wide.",
            "Other (B)\n- Your Note on Location 15 | Added on May 1, 2020\n\nOther book.",
        ]
    )

    wide, narrow, other = parse_text(clips + "\n==========\n", "My Clippings.txt")

    assert (wide.text, wide.note) == ("Wide.", "On wide.")
    assert (narrow.text, narrow.note) == ("Narrow.", "On narrow.")
    assert (other.text, other.title, other.note) == ("Other book.", "Other", None)
    assert wide.highlighted_at == "2020-05-01"


def test_page_only_clips_and_old_abbreviated_ranges() -> None:
    clips = (
        "Scan (X)\n- Your Highlight on page 7 | Added on Monday, June 1, 2020 1:02:03 PM\n\nA.\n"
        "==========\n"
        "Old (Y)\n- Highlight Loc. 2054-56 | Added on Monday, June 1, 2020, 12:05 AM\n\nB.\n"
        "==========\n"
        "Old (Y)\n- Highlight Loc. 2054-58 | Added on Monday, June 1, 2020, 12:06 AM\n\nB. C.\n"
        "==========\n"
    )

    page, old = parse_text(clips, "clips.txt")

    assert (page.location, page.highlighted_at) == ("page 7", "2020-06-01T13:02:03")
    assert (old.text, old.location, old.highlighted_at) == (
        "B. C.",
        "Location 2054-2058",
        "2020-06-01T00:06:00",
    )


def test_same_text_at_another_place_is_not_a_repeat() -> None:
    clip = (
        "Book (A)\n- Your Highlight on Location {} | Added on May 1, 2020\n\nAgain.\n==========\n"
    )

    takeaways = parse_text(clip.format("10-11") + clip.format("90-91"), "c.txt")

    assert [t.location for t in takeaways] == ["Location 10-11", "Location 90-91"]


def test_only_bookmarks_is_an_error() -> None:
    clip = "Book (A)\n- Your Bookmark on Location 5 | Added on May 1, 2020\n\n\n==========\n"

    with pytest.raises(ParseError, match="no takeaways found"):
        parse_text(clip, "My Clippings.txt")


def test_many_highlights_of_one_book_stay_fast() -> None:
    clip = "Big (A)\n- Your Highlight on Location {0}-{1} | Added on May 1, 2020\n\nIdea {0}.\n"
    text = "==========\n".join(clip.format(i * 3, i * 3 + 5) for i in range(20_000))

    assert len(parse_text(text, "big.txt")) == 20_000
