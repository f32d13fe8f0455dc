"""Folder imports: batched writes and skipped unchanged files give what one file at a
time would, and a file still imports all or nothing."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from store_helpers import book

from bot import importer
from bot.importer import ImportSummary, import_paths
from bot.sources import parse_path
from bot.sources.model import Report, Takeaway
from bot.store import Store
from bot.store import takeaways as store_takeaways


@pytest.fixture(autouse=True, params=["thread", "pool"])
def small_batches(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Batches of a few takeaways, so that every test crosses batch boundaries; and
    every test once with parsing in the worker thread, once in worker processes (any
    import with two chunks to parse takes the pool)."""
    monkeypatch.setattr(importer, "_BATCH_ROWS", 4)
    monkeypatch.setattr(importer, "_FIRST_BATCH_ROWS", 2)
    monkeypatch.setattr(importer, "_CHUNK_FILES", 2)
    monkeypatch.setattr(importer, "_POOL_BYTES", 0 if request.param == "pool" else 1 << 62)


def write(folder: Path, name: str, takeaways: Sequence[Takeaway]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(json.dumps(t.to_json()) + "\n" for t in takeaways))
    return path


def library(folder: Path) -> list[Path]:
    """Files that overlap: a shared source, a takeaway edited by a later file, a repeat."""
    return [
        write(folder, "a.jsonl", [book("One.", 1), book("Two.", 2), book("Three.", 3)]),
        write(folder, "b.jsonl", [book("Two, edited.", 2), book("Four.", 4, author="J. Clear")]),
        write(folder, "c.jsonl", [book("Other.", 1, title="Deep Work", author="Cal Newport")]),
        write(folder, "d.jsonl", [book("Three.", 3), book("Five.", 5)]),
        write(folder, "e.jsonl", [book("Six.", 6, title="Deep Work", author="Cal Newport")]),
    ]


async def rows(store: Store) -> list[tuple[Any, ...]]:
    """Everything an import decides, without timestamps."""
    found = await store.db.execute_fetchall(
        "SELECT t.id, s.key, s.title, s.author, s.category, t.ident, t.text, t.note, t.tags, "
        "t.location, t.content_hash FROM takeaways AS t JOIN sources AS s "
        "ON s.id = t.source_id ORDER BY t.id"
    )
    return [tuple(row) for row in found]


async def index(store: Store) -> list[tuple[Any, ...]]:
    found = await store.db.execute_fetchall(
        "SELECT rowid, text, note, title, author FROM takeaways_fts ORDER BY rowid"
    )
    return [tuple(row) for row in found]


async def one_by_one(store: Store, files: Sequence[Path]) -> ImportSummary:
    summary = ImportSummary()
    for path in files:
        result = await store.import_takeaways(parse_path(path))
        summary.files += 1
        summary.new += result.new
        summary.updated += result.updated
        summary.unchanged += result.unchanged
    return summary


def counts(summary: ImportSummary) -> tuple[int, int, int, int, list[str]]:
    return summary.files, summary.new, summary.updated, summary.unchanged, summary.failed


async def test_a_folder_imports_as_its_files_would_one_by_one(tmp_path: Path, store: Store) -> None:
    files = library(tmp_path / "exports")
    async with await Store.open(tmp_path / "reference.db") as reference:
        expected = await one_by_one(reference, files)
        expected_rows, expected_index = await rows(reference), await index(reference)
    summary = await import_paths(store, [tmp_path / "exports"])
    assert counts(summary) == counts(expected)
    assert await rows(store) == expected_rows
    assert await index(store) == expected_index


async def test_importing_again_matches_one_by_one_too(tmp_path: Path, store: Store) -> None:
    # b.jsonl edits a.jsonl's "Two.": each import puts one version back, then the other.
    files = library(tmp_path / "exports")
    async with await Store.open(tmp_path / "reference.db") as reference:
        for _ in range(3):
            expected = await one_by_one(reference, files)
            summary = await import_paths(store, [tmp_path / "exports"])
            assert counts(summary) == counts(expected)
            assert await rows(store) == await rows(reference)
            assert await index(store) == await index(reference)


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    parsed: list[str] = []
    real = importer.parse_bytes_report

    def counting(data: bytes, name: str) -> tuple[list[Takeaway], Report]:
        parsed.append(Path(name).name)
        return real(data, name)

    monkeypatch.setattr(importer, "parse_bytes_report", counting)
    return parsed


async def test_unchanged_files_are_not_parsed_again(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "exports"
    write(folder, "a.jsonl", [book("One.", 1), book("Two.", 2), book("Two.", 2)])
    write(folder, "b.jsonl", [book("Three.", 3), book("Four.", 4, author="J. Clear")])
    write(folder, "c.jsonl", [book("Other.", 1, title="Deep Work", author="Cal Newport")])
    first = await import_paths(store, [folder])
    assert counts(first) == (3, 5, 0, 0, [])
    before = await rows(store)
    parsed = count_parses(monkeypatch)
    again = await import_paths(store, [folder])
    assert parsed == []
    assert counts(again) == (3, 0, 0, 5, [])
    assert await rows(store) == before


async def test_an_edited_file_is_parsed_and_updated(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "exports"
    write(folder, "a.jsonl", [book("One.", 1), book("Two.", 2)])
    write(folder, "b.jsonl", [book("Deep.", 1, title="Deep Work")])
    await import_paths(store, [folder])
    write(folder, "a.jsonl", [book("One, edited.", 1), book("Two.", 2), book("New.", 3)])
    summary = await import_paths(store, [folder])
    assert counts(summary) == (2, 1, 1, 2, [])
    texts = [row[6] for row in await rows(store)]
    assert texts == ["One, edited.", "Two.", "Deep.", "New."]
    again = await import_paths(store, [folder])
    assert counts(again) == (2, 0, 0, 4, [])


async def test_an_upload_that_edits_a_files_takeaway_outdates_its_memo(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "exports"
    write(folder, "a.jsonl", [book("One.", 1), book("Two.", 2)])
    await import_paths(store, [folder])
    # The same highlight (book, location 1) edited by another import path.
    assert (await store.import_takeaways([book("One, uploaded.", 1)])).updated == 1
    summary = await import_paths(store, [folder])
    assert counts(summary) == (1, 0, 1, 1, [])
    assert [row[6] for row in await rows(store)] == ["One.", "Two."]


async def test_a_file_that_cannot_be_stored_fails_alone_and_entirely(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = library(tmp_path / "exports")
    real = store_takeaways.write_batch
    seen: list[int] = []

    async def failing(db: Any, batch: Sequence[Any], *args: Any) -> Any:
        seen.append(len(batch))
        result = await real(db, batch, *args)  # rows written, then the failure
        if any("Five." in row[1] for prepared in batch for row in prepared.rows.values()):
            raise sqlite3.OperationalError("disk I/O error")
        return result

    monkeypatch.setattr(importer, "write_batch", failing)
    summary = await import_paths(store, [tmp_path / "exports"])
    assert [message.split(": ", 1)[0] for message in summary.failed] == [str(files[3])]
    assert max(seen) > 1  # the failure happened inside a batch of several files
    texts = {row[6] for row in await rows(store)}
    assert "Five." not in texts
    assert {"One.", "Two, edited.", "Three.", "Four.", "Other.", "Six."} <= texts
    assert summary.files == len(files)
    # Nothing of d.jsonl is remembered: it is tried again next time, and imports.
    monkeypatch.setattr(importer, "write_batch", real)
    again = await import_paths(store, [tmp_path / "exports"])
    assert again.failed == [] and again.new == 1
    assert "Five." in {row[6] for row in await rows(store)}


async def test_memos_of_another_bot_version_are_ignored(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "exports"
    write(folder, "a.jsonl", [book("One.", 1)])
    await import_paths(store, [folder])
    monkeypatch.setattr(importer, "_VERSION", "another")
    parsed = count_parses(monkeypatch)
    summary = await import_paths(store, [folder])
    assert counts(summary) == (1, 0, 0, 1, [])
    assert len(parsed) == 1


async def test_a_source_key_holding_nul_imports_and_reimports(store: Store) -> None:
    # SQLite's JSON functions cut strings at NUL: such keys must not be looked up that way.
    odd = Takeaway(text="Zero.", author="\x00", title="A\x00B")
    assert (await store.import_takeaways([odd])).new == 1
    assert (await store.import_takeaways([odd])).unchanged == 1
    edited = Takeaway(text="Zero.", author="\x00", title="A\x00B", note="now with a note")
    assert (await store.import_takeaways([edited])).updated == 1
