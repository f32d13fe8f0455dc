"""The real-world sample: a Readwise Logseq export of a numbered tweet thread."""

from __future__ import annotations

import re
from pathlib import Path

from bot.sources import detect_format, parse_bytes, parse_path

TWEET = "https://twitter.com/svpino/status/"
EXPECTED = [
    (
        "There are more courses out there than you'll ever need. Pick one and finish it. "
        'There\'s no such thing as "the best course."',
        "1379809572152565770",
    ),
    (
        "You probably already know most of the math you'll need to get started.",
        "1379809572152565770",
    ),
    (
        "Don't be discourage by introductory courses that claim you need a ton of math as a "
        "prerequisite. Most don't.",
        "1379809573092143109",
    ),
    (
        "You want to be proficient with Python. Other languages are great and all, but Python "
        "rules.",
        "1379809573092143109",
    ),
    (
        "The better developer you are, the easier machine learning will be for you. If you have "
        "a hard time programming, it will cost you to make progress.",
        "1379809574010687489",
    ),
    (
        "Understanding computer science fundamentals is usually overlooked but extremely "
        "beneficial.",
        "1379809574010687489",
    ),
    (
        "While learning, don't worry about the code and invest your time understanding how and "
        "why things work.",
        "1379809574895677443",
    ),
    (
        "Some algorithms are complex as shit. 99 out of 100 times, you can just use them without "
        "worrying about how they work.",
        "1379809574895677443",
    ),
    (
        '"Understand every detail of an algorithm if you want to use it" is bullshit advice.',
        "1379809575847739395",
    ),
    (
        "Machine learning is not different than any other subject you may learn. You can start "
        "at a very high level and get deeper into details as you need them.",
        "1379809575847739395",
    ),
    (
        "There are 375,475,484 algorithms out there. In practice, you'll probably use a handful "
        "of them.",
        "1379809576736985088",
    ),
    (
        "You don't need a GPU to get started. You don't need a GPU most of the time. You will "
        "at some point for deep learning, and you can solve it online for free.",
        "1379809576736985088",
    ),
    (
        "Most machine learning educative learning materials end when you finish training your "
        "model. In real life, this is where the fun starts.",
        "1379809577634521098",
    ),
    (
        "The best solution for a problem is not necessarily machine learning-related. In fact, "
        "this is the case most of the time.",
        "1379809577634521098",
    ),
    (
        "The loudest machine learning voices right now come from academia. Make sure you "
        "understand that a research position is very different than working in the industry.",
        "1379809578590871553",
    ),
    (
        "Pragmatism is a great trait when building a career centered on providing value.",
        "1379809578590871553",
    ),
]


def test_sample_is_detected_as_readwise_logseq(sample: Path) -> None:
    assert detect_format(sample.read_text(encoding="utf-8"), sample.name) == "readwise-logseq"


def test_sample_gives_exactly_the_sixteen_numbered_takeaways_word_for_word(sample: Path) -> None:
    takeaways = parse_path(sample)

    assert [t.text for t in takeaways] == [text for text, _ in EXPECTED]


def test_each_takeaway_links_the_tweet_it_came_from(sample: Path) -> None:
    takeaways = parse_path(sample)

    assert [t.url for t in takeaways] == [TWEET + status for _, status in EXPECTED]
    assert takeaways[0].url == takeaways[1].url == TWEET + "1379809572152565770"


def test_document_metadata_is_repeated_on_every_takeaway(sample: Path) -> None:
    takeaways = parse_path(sample)

    # Title rule: full-title:: (quotes stripped) wins over the shortened title::, and a
    # trailing " (highlights)" never survives. Here both give the same text.
    assert {t.title for t in takeaways} == {"16 Key Takeaways About S..."}
    assert {t.author for t in takeaways} == {"@svpino on Twitter"}
    assert {t.category for t in takeaways} == {"tweets"}
    assert {t.source_url for t in takeaways} == {TWEET + "1379809581698854912"}
    assert {t.highlighted_at for t in takeaways} == {"2022-11-19"}


def test_scaffolding_promotion_and_replies_are_left_out(sample: Path) -> None:
    texts = [t.text for t in parse_path(sample)]
    joined = "\n".join(texts)

    for unwanted in ("↓", "View Tweet", "follow me", "subscribe", "t.co", "![](", "10/10"):
        assert unwanted not in joined
    assert not any(text.startswith("16 key takeaways") for text in texts)
    assert not any(text.startswith("Absolutely!") for text in texts)
    assert not any(re.match(r"\d+[.)]\s", text) for text in texts)  # numbers are stripped
    assert {t.note for t in parse_path(sample)} == {None}  # the "Thread" note was on the intro


def test_sample_survives_crlf_bom_and_utf16(sample: Path) -> None:
    text = sample.read_text(encoding="utf-8")
    expected = [t.text for t in parse_path(sample)]
    variants = [
        text.replace("\n", "\r\n").encode("utf-8"),
        b"\xef\xbb\xbf" + text.encode("utf-8"),
        text.encode("utf-16"),
        b"\xfe\xff" + text.encode("utf-16-be"),
    ]
    for data in variants:
        assert [t.text for t in parse_bytes(data, sample.name)] == expected
