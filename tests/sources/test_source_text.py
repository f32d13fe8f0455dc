"""The shared text helpers: whitespace, Readwise links, tags."""

from __future__ import annotations

import pytest

from bot.sources.text import normalise, parse_tags, split_trailing_links


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  a  b\t\tc  ", "a b c"),
        ("line one  \n\t line two", "line one\nline two"),
        ("para one\n\n\n\n\npara two", "para one\n\npara two"),
        ("crlf\r\nand\rcr", "crlf\nand\ncr"),
        ("keep\n\none blank", "keep\n\none blank"),
        ("\n \n x \n \n", "x"),
    ],
)
def test_normalise(raw: str, clean: str) -> None:
    assert normalise(raw) == clean


def test_normalise_is_idempotent() -> None:
    text = " a \n\n\n b\t c "

    assert normalise(normalise(text)) == normalise(text)


def test_trailing_links_become_url_and_location() -> None:
    linked = split_trailing_links(
        "Text (with parens) ([Location 12](https://readwise.io/to_kindle?l=12)) "
        "([View Highlight](https://read.readwise.io/read/abc))"
    )

    assert linked.text == "Text (with parens)"
    assert linked.url == "https://read.readwise.io/read/abc"
    assert linked.location == "Location 12"


def test_location_link_url_is_used_when_there_is_no_view_link() -> None:
    linked = split_trailing_links("Words ([Page 3](https://example.com/p3))")

    assert (linked.text, linked.url, linked.location) == (
        "Words",
        "https://example.com/p3",
        "Page 3",
    )


def test_urls_with_parentheses_and_unknown_labels() -> None:
    wiki = split_trailing_links("See ([View Tweet](https://en.wikipedia.org/wiki/Foo_(bar)))")
    other = split_trailing_links("A link ([source](https://example.com))")

    assert (wiki.text, wiki.url) == ("See", "https://en.wikipedia.org/wiki/Foo_(bar)")
    assert (other.text, other.url) == ("A link ([source](https://example.com))", None)


def test_links_in_the_middle_are_the_authors() -> None:
    text = "Read ([View Tweet](https://x.com/1)) and more"

    assert split_trailing_links(text).text == text


def test_tags_in_every_written_form() -> None:
    assert parse_tags("#a #b-c [[two words]] #[[three more words]]") == [
        "a",
        "b-c",
        "two words",
        "three more words",
    ]
    assert parse_tags("favorite, blue ,") == ["favorite", "blue"]
