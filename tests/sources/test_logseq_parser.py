"""Readwise's Logseq flavour beyond the sample: books, notes, tags, sections, threads."""

from __future__ import annotations

from pathlib import Path

from bot.sources import parse_bytes_report, parse_path, parse_text

KINDLE_LINK = "https://readwise.io/to_kindle?action=open&asin=B00X47ZVXM&location="


def test_book_page_gives_one_takeaway_per_highlight(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "logseq-book.md")

    assert [t.text for t in takeaways] == [
        "To produce at your peak level you need to work for extended periods with full "
        "concentration on a single task free from distraction.",
        "Clarity about what matters provides clarity about what does not.\n\n"
        "Busyness is not productivity.",
        "Who you are, what you think, feel, and do, what you love—is the sum of what you focus on.",
        "Efforts to deepen your focus will struggle if you don't simultaneously wean your mind "
        "from a dependence on distraction.",
    ]


def test_full_title_wins_over_the_shortened_title(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "logseq-book.md")

    assert {t.title for t in takeaways} == {
        "Deep Work: Rules for Focused Success in a Distracted World"
    }
    assert {t.author for t in takeaways} == {"Cal Newport"}
    assert {t.category for t in takeaways} == {"books"}


def test_title_without_full_title_drops_the_highlights_suffix() -> None:
    page = (
        "title:: Deep Work (highlights)\n\n- Highlights first synced by [[Readwise]]\n\t- Focus.\n"
    )

    assert parse_text(page, "page.md")[0].title == "Deep Work"


def test_title_falls_back_to_the_file_name() -> None:
    page = "category:: #books\n\n- Highlights first synced by [[Readwise]]\n\t- Focus.\n"

    assert parse_text(page, "pages/Deep Work (highlights).md")[0].title == "Deep Work"


def test_notes_tags_and_links_belong_to_the_highlight_above(fixtures: Path) -> None:
    first, second, third, fourth = parse_path(fixtures / "logseq-book.md")

    assert first.note == "The core formula."
    assert first.tags == ("focus", "deep work")
    assert first.location == "Location 345"
    assert first.url == KINDLE_LINK + "345"
    assert second.tags == ("productivity", "time management", "focus")
    assert second.note is None
    assert third.note == "From Winifred Gallagher,\nquoted in chapter 3."
    assert third.url == "https://read.readwise.io/read/01gjabc"
    assert third.location is None
    assert fourth.url is None  # no link and no url:: property
    assert "id::" not in fourth.text


def test_section_headers_give_the_date_readwise_got_the_highlights(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "logseq-book.md")

    assert [t.highlighted_at for t in takeaways] == [
        "2022-11-19",
        "2022-11-19",
        "2022-11-20T10:12:00",
        "2022-11-20T10:12:00",
    ]


def test_image_only_highlight_is_dropped(fixtures: Path) -> None:
    texts = [t.text for t in parse_path(fixtures / "logseq-book.md")]

    assert not any("![" in text or "diagram" in text for text in texts)


def test_single_tweets_with_a_list_are_not_a_thread(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "logseq-tweets.md")

    assert [t.text for t in takeaways] == [
        "Three rules for code review:\n\n1. Be kind.\n2. Be specific.\n3. Be quick.",
        "Naming things is hard because understanding things is hard.\n\nhttps://t.co/abc123",
    ]
    assert [t.url for t in takeaways] == [
        "https://twitter.com/ada/status/100",
        "https://twitter.com/ada/status/200",
    ]
    assert {t.source_url for t in takeaways} == {"https://twitter.com/ada"}


def test_numbered_book_highlights_are_not_treated_as_a_thread() -> None:
    page = (
        "title:: Habits\ncategory:: #books\n\n"
        "- Highlights first synced by [[Readwise]] [[Jan 2nd, 2023]]\n"
        "\t- Some intro highlight.\n"
        "\t- 1. First law.\n"
        "\t- 2. Second law.\n"
    )

    assert [t.text for t in parse_text(page, "habits.md")] == [
        "Some intro highlight.",
        "1. First law.",
        "2. Second law.",
    ]


def test_space_indented_outline_and_crlf_are_read_too() -> None:
    page = (
        "title:: Spaces\r\n\r\n"
        "- Highlights first synced by [[Readwise]] [[Feb 1st, 2023]]\r\n"
        "  - First line\r\n"
        "    second line ([Page 4](https://example.com/p4))\r\n"
        "    - **Note**: mine\r\n"
    )

    [takeaway] = parse_text(page, "spaces.md")

    assert takeaway.text == "First line\nsecond line"
    assert takeaway.location == "Page 4"
    assert takeaway.note == "mine"
    assert takeaway.highlighted_at == "2023-02-01"


def test_highlight_containing_a_list_keeps_it_in_a_tab_indented_page() -> None:
    page = (
        "title:: Lists\n\n"
        "- Highlights first synced by [[Readwise]]\n"
        "\t- Three things:\n"
        "\t  - one\n"
        "\t  - two\n"
        "\t\t- **Tags**: #lists\n"
    )

    [takeaway] = parse_text(page, "lists.md")

    assert takeaway.text == "Three things:\n- one\n- two"
    assert takeaway.tags == ("lists",)


def test_thread_with_gaps_in_its_numbering_keeps_every_highlighted_item(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "logseq-thread-gaps.md")

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


def test_bare_bullets_page_links_and_entities(fixtures: Path) -> None:
    path = fixtures / "logseq-flashcards.md"
    takeaways, report = parse_bytes_report(path.read_bytes(), str(path))

    assert [(t.text, t.tags) for t in takeaways] == [
        ('How do you count one word in a file? #flashcard\ngrep -c "word" file', ("bash",)),
        ("Use grep and wc together: grep -o -w 'foo' bar.txt | wc -w & done.", ()),
    ]
    assert takeaways[1].url == "https://read.readwise.io/read/01grep"
    assert [t.location for t in takeaways] == ["Page 5", None]  # from the "(Page 5)" bullet
    assert report.skipped == {"cover images": 1, "page tag lines": 1, "empty bullets": 2}


def test_tweets_counted_1_of_10_are_one_takeaway_each_without_the_counter() -> None:
    page = (
        "title:: Learn State Machines\ncategory:: #tweets\n\n"
        "- Highlights first synced by [[Readwise]] [[Nov 18th, 2022]]\n"
        "\t- Learn state machines in 2 tweets 👇 ([View Tweet](https://twitter.com/c/status/1))\n"
        "\t- 1/2\n\t  \n\t  States are statuses. ([View Tweet](https://twitter.com/c/status/2))\n"
        "\t- 2/2 \n\t  \n\t  Guards allow or deny a transition. "
        "([View Tweet](https://twitter.com/c/status/3))\n"
    )

    assert [t.text for t in parse_text(page, "sm.md")] == [
        "Learn state machines in 2 tweets 👇",
        "States are statuses.",
        "Guards allow or deny a transition.",
    ]
