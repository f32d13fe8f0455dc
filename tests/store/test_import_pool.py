"""Parsing in worker processes gives the import parsing in the worker thread gives:
the same summary (failed files included), the same rows and index, the same
re-import; and a pool that breaks costs time, not files."""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from store_helpers import book
from test_import_summary import MIXED_CLIPS, adds_up, kindle

from bot import importer
from bot.importer import ImportSummary, import_paths
from bot.sources.model import Takeaway
from bot.store import Store


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two files per chunk and batch, so that a small folder spans several of each."""
    monkeypatch.setattr(importer, "_CHUNK_FILES", 2)
    monkeypatch.setattr(importer, "_BATCH_ROWS", 4)
    monkeypatch.setattr(importer, "_FIRST_BATCH_ROWS", 2)


def write_jsonl(path: Path, takeaways: Sequence[Takeaway]) -> None:
    path.write_text("".join(json.dumps(t.to_json()) + "\n" for t in takeaways))


def folder_of_everything(folder: Path) -> Path:
    """Clippings that merge and skip, overlapping lists, a file with an unreadable clip,
    one in no known format and one that is empty."""
    (folder / "kindle").mkdir(parents=True)
    (folder / "kindle" / "My Clippings.txt").write_text(MIXED_CLIPS)
    write_jsonl(folder / "a.jsonl", [book("One.", 1), book("Two.", 2), book("one.", 1)])
    write_jsonl(folder / "b.jsonl", [book("Three.", 3), book("Five.", 5)])
    (folder / "c.txt").write_text(kindle(("Highlight", "1-2", "Fine."), ("Odd", "3", "What?")))
    (folder / "d.md").write_text("")
    (folder / "e.csv").write_text("no,known\ncolumns,here\n")
    write_jsonl(folder / "f.jsonl", [book("Four.", 4, title="Deep Work", author="Cal Newport")])
    return folder


async def dump(store: Store) -> list[tuple[Any, ...]]:
    """Rows and index, without timestamps."""
    rows = await store.db.execute_fetchall(
        "SELECT t.id, s.key, t.ident, t.text, t.note, t.location, t.content_hash "
        "FROM takeaways AS t JOIN sources AS s ON s.id = t.source_id ORDER BY t.id"
    )
    index = await store.db.execute_fetchall("SELECT rowid, text, title FROM takeaways_fts")
    return [tuple(row) for row in rows] + [tuple(row) for row in index]


async def import_twice(db: Path, folder: Path, pool: bool) -> tuple[ImportSummary, ...]:
    async with await Store.open(db) as store:
        first = await import_paths(store, [folder], pool=pool)
        again = await import_paths(store, [folder], pool=pool)
        (folder / "f.jsonl").write_text((folder / "f.jsonl").read_text() + "\n")  # touched
        third = await import_paths(store, [folder], pool=pool)
        (folder / "f.jsonl").write_text((folder / "f.jsonl").read_text().rstrip() + "\n")
        rows = await dump(store)
    return first, again, third, rows  # type: ignore[return-value]


async def test_the_pool_gives_the_thread_s_summaries_and_rows(tmp_path: Path) -> None:
    folder = folder_of_everything(tmp_path / "exports")
    *in_thread, thread_rows = await import_twice(tmp_path / "thread.db", folder, pool=False)
    *in_pool, pool_rows = await import_twice(tmp_path / "pool.db", folder, pool=True)

    for thread, pool in zip(in_thread, in_pool, strict=True):
        assert pool.to_json() == thread.to_json()
        assert pool.describe(None) == thread.describe(None)
    assert pool_rows == thread_rows

    first, again, third = in_pool
    broken = str(folder / "c.txt")
    assert [error.split(":")[0] for error in first.failed] == [
        broken,
        str(folder / "d.md"),
        str(folder / "e.csv"),
    ]
    assert first.failed[0] == (
        f"{broken}:7: unknown clip kind: '- your odd on location 3 | added on may 1, 2020'"
    )
    assert (first.files, first.failed_files, first.new, first.updated) == (7, 3, 8, 0)
    assert all(adds_up(result) for result in first.per_file if not result.failed)
    assert (again.new, again.updated, again.unchanged, again.failed) == (0, 0, 8, first.failed)
    assert (third.new, third.updated, third.unchanged) == (0, 0, 8)


def _dying_pool(chunks: int) -> ProcessPoolExecutor:
    """A pool whose worker exits as it starts, as one killed by the system would."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(1, mp_context=context, initializer=os._exit, initargs=(3,))


async def test_a_pool_that_breaks_costs_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = folder_of_everything(tmp_path / "exports")
    *expected, _ = await import_twice(tmp_path / "thread.db", folder, pool=False)
    monkeypatch.setattr(importer, "_pool", _dying_pool)
    *got, _ = await import_twice(tmp_path / "pool.db", folder, pool=True)
    assert [summary.to_json() for summary in got] == [summary.to_json() for summary in expected]


async def test_a_small_import_parses_in_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pool(chunks: int) -> ProcessPoolExecutor:
        raise AssertionError("a pool was started for a small import")

    monkeypatch.setattr(importer, "_pool", no_pool)
    folder = folder_of_everything(tmp_path / "exports")
    async with await Store.open(tmp_path / "t.db") as store:
        summary = await import_paths(store, [folder])
    assert summary.new == 8


async def test_a_large_import_takes_the_pool_and_a_reimport_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []
    real = importer._pool

    def counted(chunks: int) -> ProcessPoolExecutor:
        started.append(chunks)
        return real(chunks)

    monkeypatch.setattr(importer, "_pool", counted)
    monkeypatch.setattr(importer, "_POOL_BYTES", 100)  # a few files are "large" here
    folder = folder_of_everything(tmp_path / "exports")
    for failing in ("c.txt", "d.md", "e.csv"):  # parsed again on every import
        (folder / failing).unlink()
    async with await Store.open(tmp_path / "t.db") as store:
        first = await import_paths(store, [folder])
        again = await import_paths(store, [folder])  # nothing to parse: no pool
    assert started == [2]  # once, for two chunks of two files
    assert (first.new, again.unchanged, again.files) == (8, 8, 4)
