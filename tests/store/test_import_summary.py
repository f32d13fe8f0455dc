"""The import summary adds up for every file, and nothing is lost without a word."""

from __future__ import annotations

import json
from pathlib import Path

from store_helpers import book, count

from bot.importer import FileResult, ImportSummary, import_paths, import_upload
from bot.store import Store

CLIP = "{title} (Author)\n- Your {kind} on Location {place} | Added on May 1, 2020\n\n{text}\n"


def kindle(*clips: tuple[str, str, str]) -> str:
    """A clippings file of (kind, place, text) clips of one book."""
    return "".join(
        CLIP.format(title="Book", kind=kind, place=place, text=text) + "==========\n"
        for kind, place, text in clips
    )


MIXED_CLIPS = kindle(
    ("Highlight", "10-11", "One idea."),
    ("Highlight", "10-11", "One idea."),  # a repeat
    ("Highlight", "10-11", "A second idea at the same place."),
    ("Note", "11", "My note."),
    ("Bookmark", "12", ""),
    ("Highlight", "20-21", "<You have reached the clipping limit for this item>"),
    ("Highlight", "30-31", "Cut short."),
    ("Highlight", "30-33", "Cut short, and then extended."),
)


def adds_up(result: FileResult) -> bool:
    stored = result.new + result.updated + result.unchanged
    return result.parsed == stored + sum(result.merged.values()) + sum(result.skipped.values())


def write_jsonl(path: Path, *items: object) -> None:
    path.write_text("".join(json.dumps(item.to_json()) + "\n" for item in items))  # type: ignore[attr-defined]


async def test_every_file_adds_up_with_its_reasons(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "My Clippings.txt").write_text(MIXED_CLIPS)
    write_jsonl(folder / "list.jsonl", book("Same.", 1), book("same.", 1), book("Other.", 2))

    summary = await import_paths(store, [folder])

    clips, listed = sorted(summary.per_file, key=lambda result: result.name)
    assert (clips.parsed, clips.new) == (8, 3)
    assert clips.merged == {
        "duplicates of earlier clips": 1,
        "earlier versions of edited highlights": 1,
        "notes added to their highlight": 1,
    }
    assert clips.skipped == {"bookmarks": 1, "clipping-limit placeholders": 1}
    assert (listed.parsed, listed.new, listed.merged) == (3, 2, {"duplicates": 1})
    assert all(adds_up(result) for result in summary.per_file)
    assert (summary.parsed, summary.new, summary.failed) == (11, 5, [])
    assert await count(store, "takeaways") == 5
    text = summary.describe()
    assert "2 files: 5 new, 0 updated, 0 unchanged, 0 failed" in text
    assert "11 parsed = 5 stored + 4 merged + 2 skipped" in text
    assert "list.jsonl: 3 parsed = 2 new + 1 merged (1 duplicates)" in text

    again = await import_paths(store, [folder])  # not parsed again: the memo keeps counts
    assert [result.to_json() | {"unchanged": 0} for result in again.per_file] == [
        result.to_json() | {"new": 0} for result in summary.per_file
    ]
    assert again.unchanged == 5 and all(adds_up(result) for result in again.per_file)


async def test_a_file_with_an_unreadable_clip_fails_whole_and_names_the_line(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    broken = folder / "My Clippings.txt"
    broken.write_text(kindle(("Highlight", "1-2", "Fine."), ("Frobnication", "3", "What?")))
    write_jsonl(folder / "list.jsonl", book("Kept.", 1, title="Other"))

    summary = await import_paths(store, [folder])

    assert summary.failed == [
        f"{broken}:7: unknown clip kind: '- your frobnication on location 3 | added on may 1, 2020'"
    ]
    assert (summary.files, summary.failed_files, summary.new) == (2, 1, 1)
    assert await count(store, "takeaways") == 1  # nothing of the broken file
    assert f"failed: {broken}:7: unknown clip kind" in summary.describe()
    assert summary.to_json()["failed"] == summary.failed


async def test_an_upload_gets_the_same_summary(store: Store) -> None:
    summary = await import_upload(store, MIXED_CLIPS.encode(), "My Clippings.txt")

    (result,) = summary.per_file
    assert (result.parsed, result.new) == (8, 3) and adds_up(result)
    assert "skipped: 1 bookmarks, 1 clipping-limit placeholders" in summary.describe()
    broken = await import_upload(store, kindle(("Frob", "3", "x")).encode(), "c.txt")
    assert broken.failed == [
        "c.txt:2: unknown clip kind: '- your frob on location 3 | added on may 1, 2020'"
    ]


def test_the_text_summary_lists_files_up_to_a_limit() -> None:
    summary = ImportSummary()
    for index in range(12):
        summary.add(FileResult(f"f{index}.md", parsed=1, new=1))
    assert "... and 2 more files" in summary.describe()
    assert "f11.md" in summary.describe(files_shown=None)
    for index in range(12):
        summary.add(FileResult(f"bad{index}.md", failed=[f"bad{index}.md:1: broken"]))
    assert "... and 2 more failures" in summary.describe()
    assert "bad11.md:1: broken" in summary.describe(files_shown=None)
