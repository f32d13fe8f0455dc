"""The public API: decoding, detection, errors and folder walking."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.sources as sources
from bot.sources import (
    ParseError,
    Takeaway,
    detect_format,
    iter_source_files,
    parse_bytes,
    parse_bytes_report,
    parse_path,
    parse_text,
)

EXPECTED_FORMATS = {
    "bad-line.jsonl": "jsonl",
    "kindle-de.txt": "kindle",
    "kindle-edits.txt": "kindle",
    "kindle-en.txt": "kindle",
    "kindle-es.txt": "kindle",
    "kindle-fr.txt": "kindle",
    "logseq-book.md": "readwise-logseq",
    "logseq-tweets.md": "readwise-logseq",
    "markdown-book.md": "readwise-markdown",
    "markdown-thread.md": "readwise-markdown",
    "plain-list.md": "plain",
    "plain-paragraphs.txt": "plain",
    "readwise-bad-row.csv": "readwise-csv",
    "readwise.csv": "readwise-csv",
    "kindle-notebook-desktop.html": "kindle-notebook",
    "kindle-notebook-phone.html": "kindle-notebook",
    "kindle-notebook-zh.html": "kindle-notebook",
    "koreader-export.json": "koreader-json",
    "koreader-export.md": "koreader-markdown",
    "logseq-flashcards.md": "readwise-logseq",
    "logseq-thread-gaps.md": "readwise-logseq",
    "markdown-thread-gaps.md": "readwise-markdown",
    "plain-quotes.md": "plain",
    "metadata.epub.lua": "koreader",
}


def test_every_fixture_is_detected_as_its_format(fixtures: Path) -> None:
    found = {
        path.name: detect_format(path.read_bytes().decode("utf-8-sig"), path.name)
        for path in fixtures.rglob("*")
        if path.is_file() and path.parent.name != "plugins"
    }

    assert found == EXPECTED_FORMATS


def test_content_wins_over_a_misleading_extension(fixtures: Path) -> None:
    kindle = (fixtures / "kindle-en.txt").read_text(encoding="utf-8")

    assert detect_format(kindle, "document.md") == "kindle"
    assert len(parse_text(kindle, "upload.jsonl")) == 2


@pytest.mark.parametrize(
    "data",
    [b"\x00\x01\x02binary", b"\x89PNG\r\n\x1a\n\x00\x00", b"caf\xe9 latin-1", b"\xff\xfe\x00"],
)
def test_binary_data_is_refused(data: bytes) -> None:
    with pytest.raises(ParseError, match=r"^upload\.txt: not a text file \(binary data\)$"):
        parse_bytes(data, "upload.txt")


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n", b"\xef\xbb\xbf", b"\xff\xfe \x00\n\x00"])
def test_empty_file_is_refused(data: bytes) -> None:
    with pytest.raises(ParseError, match=r"^notes\.txt: empty file$"):
        parse_bytes(data, "notes.txt")


def test_utf8_with_and_without_bom_and_utf16_with_bom() -> None:
    text = "- Grüße aus Köln\n- 日本語も大丈夫\n"
    encodings = [
        text.encode("utf-8"),
        b"\xef\xbb\xbf" + text.encode("utf-8"),
        text.encode("utf-16"),
        b"\xff\xfe" + text.encode("utf-16-le"),
        b"\xfe\xff" + text.encode("utf-16-be"),
    ]

    for data in encodings:
        assert [t.text for t in parse_bytes(data, "n.txt")] == ["Grüße aus Köln", "日本語も大丈夫"]


def test_parse_path_names_the_file_in_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.md"

    with pytest.raises(ParseError) as caught:
        parse_path(missing)

    assert caught.value.path == str(missing)
    assert str(caught.value).startswith(f"{missing}: cannot read file")


def test_parse_path_on_a_folder_is_a_parse_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="cannot read file"):
        parse_path(tmp_path)


def test_messages_are_one_line(fixtures: Path) -> None:
    with pytest.raises(ParseError) as caught:
        parse_path(fixtures / "bad-line.jsonl")
    assert "\n" not in str(caught.value)
    path = fixtures / "readwise-bad-row.csv"
    _, report = parse_bytes_report(path.read_bytes(), str(path))
    assert report.unreadable and all("\n" not in line for line in report.unreadable)


def test_unexpected_failures_still_surface_as_parse_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(text: str, name: str, report: object) -> list[Takeaway]:
        raise KeyError("a bug, not the user's fault")

    monkeypatch.setitem(sources._PARSERS, "plain", broken)

    with pytest.raises(ParseError, match=r"^x\.txt: cannot be parsed \(KeyError\)$"):
        parse_text("hello", "x.txt")


def _touch(path: Path, text: str = "- idea\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_folders_are_walked_sorted_skipping_hidden_and_other_files(tmp_path: Path) -> None:
    root = tmp_path / "exports"
    wanted = [
        _touch(root / "A.MD"),
        _touch(root / "b.txt"),
        _touch(root / "books" / "c.markdown"),
        _touch(root / "books" / "deep" / "d.csv"),
        _touch(root / "e.jsonl"),
        _touch(root / "f.ndjson"),
        _touch(root / "g.json"),
    ]
    _touch(root / ".hidden.md")
    _touch(root / ".obsidian" / "workspace.json")
    _touch(root / "books" / ".trash" / "old.md")
    _touch(root / "cover.png")
    _touch(root / "notes.docx")
    (root / "folder.md").mkdir()  # a folder with a source-like name is walked, not returned

    assert list(iter_source_files([root])) == wanted


def test_files_are_taken_as_given_and_folders_expanded_in_place(tmp_path: Path) -> None:
    hidden = _touch(tmp_path / ".secret.txt")
    odd = _touch(tmp_path / "clippings.log")
    inner = _touch(tmp_path / "dir" / "x.md")

    assert list(iter_source_files([odd, tmp_path / "dir", hidden])) == [odd, inner, hidden]


def test_missing_path_is_a_parse_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope"

    with pytest.raises(ParseError) as caught:
        list(iter_source_files([missing]))

    assert caught.value.path == str(missing)


def test_symlink_loops_are_walked_once(tmp_path: Path) -> None:
    inner = _touch(tmp_path / "a" / "x.md")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a", target_is_directory=True)

    assert list(iter_source_files([tmp_path])) == [inner]


def test_missing_path_fails_before_any_file_is_yielded(tmp_path: Path) -> None:
    files = iter_source_files([_touch(tmp_path / "a.md"), tmp_path / "typo.md"])

    with pytest.raises(ParseError, match=r"typo\.md: no such file or folder$"):
        next(files)
