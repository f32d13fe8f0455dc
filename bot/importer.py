"""Files -> takeaways -> SQLite, all or nothing per file, and nothing lost silently.

A file that fails to parse (or to store) imports nothing and is reported by name; the
other files still import. A file with a clip or row that cannot be read fails whole,
each such place named ``path:line: reason``: importing the rest of it would leave the
collection half in step with the file, and the reader could not tell what is missing.
For every other file the summary adds up: what the parser read ("parsed") is new,
updated or unchanged, or merged into another takeaway, or skipped by design, each
with its reason. Parsing runs in a worker thread (or, for a large import, in worker
processes) so a bot that imports at start (or on /reload) keeps answering while it works.

Speed (docs/performance.md) comes from four things:

* Several files share one write transaction (``_BATCH_ROWS`` takeaways): FTS5 writes
  and merges index segments per commit, which made one transaction per file cost more
  than the indexing itself. A batch that fails is rolled back and written again one
  file per transaction, so a file that cannot be stored still fails alone.
* The worker parses the next files while the database writes the previous batch.
* A large import (see ``_Import._worth_it``) parses in a pool of worker processes, one per
  CPU, instead: parsing and ``prepare`` are Python and hold the GIL, so in one process
  they take turns with the writer's per-row work, while processes run side by side.
  Chunks go out in order, at most ``workers + 1`` at a time, and come back in order,
  so memory stays bounded and the summary is the same as in one process. A file that
  fails to parse in a worker fails as it would here (its ParseError line); a worker
  that dies is not a file's fault: its chunk, and the rest, are parsed here instead.
* A file whose bytes are the same as when it was last imported is not parsed at all
  (see ``_Memos``): re-importing an unchanged folder, which every start and /reload
  does, reads and hashes its files and stops there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import signal
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from hashlib import blake2b
from pathlib import Path
from typing import Any

import aiosqlite

import bot
from bot.sources import iter_source_files, limits, parse_bytes_report, read_path
from bot.sources.model import ParseError, Report, Takeaway
from bot.store import Store
from bot.store.takeaways import (
    BatchResult,
    Prepared,
    changes_since,
    prepare,
    source_prefix,
    write_batch,
)

Progress = Callable[[int, int, Path], None]

# Takeaways per write transaction: big enough that FTS5's per-commit work is amortised,
# small enough that the write lock is held for a fraction of a second.
_BATCH_ROWS = 20_000
# The first batch is smaller, and each next one twice as big up to _BATCH_ROWS: the
# database starts writing (and the parser gets its first overlap) sooner.
_FIRST_BATCH_ROWS = 2_500
# Files (and bytes) handed to the worker thread at once: fewer hand-overs between
# threads, while the next chunk is parsed during the previous batch's write.
_CHUNK_FILES = 64
_CHUNK_BYTES = 2_000_000
# Chunks parsed ahead of the writer: enough to keep the worker busy through a batch's
# write, few enough to bound memory.
_AHEAD_CHUNKS = 4
# Worker processes pay for themselves only on a large import: starting one (a fresh
# interpreter that imports the parsers) costs about 0.1-0.3 s, parsing these bytes
# about a second. Below this, or with fewer than two chunks to share out, the import
# parses in the worker thread.
_POOL_BYTES = 8_000_000


# Takeaways given twice within one file with the same identity (see ``prepare``).
DUPLICATES = "duplicates"
# Unreadable places listed per failed file in the text summary (``--json`` has all).
_FAILURES_SHOWN = 5
# Files listed one by one in the default text summary (Telegram messages are short).
_FILES_SHOWN = 10


@dataclass(slots=True)
class FileResult:
    """One file's part of an import. Unless it failed, it adds up:
    ``parsed == new + updated + unchanged + sum(merged) + sum(skipped)``."""

    name: str
    # What the parser read: the takeaways it gave, plus what it merged or skipped.
    parsed: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    # ``path[:line]: reason`` each; a failed file imported nothing and counts nothing.
    failed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.name, **_counts_json(self)}

    def describe(self) -> str:
        """``name: 557 parsed = 553 new + 4 merged (4 duplicates of earlier clips)``."""
        if self.failed:
            return f"{self.name}: failed"
        terms = [
            f"{count} {label}"
            for count, label in (
                (self.new, "new"),
                (self.updated, "updated"),
                (self.unchanged, "unchanged"),
            )
            if count
        ]
        for label, reasons in (("merged", self.merged), ("skipped", self.skipped)):
            if reasons:
                terms.append(f"{sum(reasons.values())} {label} ({_reasons(reasons)})")
        return f"{self.name}: {self.parsed} parsed = {' + '.join(terms) or '0 stored'}"


@dataclass(slots=True)
class ImportSummary:
    """A whole import: the totals of its files, and each file's own result."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    files: int = 0
    # Every ``path[:line]: reason`` that made a file (or the import) fail.
    failed: list[str] = field(default_factory=list)
    parsed: int = 0
    merged: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    per_file: list[FileResult] = field(default_factory=list)
    failed_files: int = 0

    def add(self, result: FileResult) -> None:
        """Count one file (failed or not) into the totals."""
        self.files += 1
        self.per_file.append(result)
        if result.failed:
            self.failed_files += 1
            self.failed.extend(result.failed)
            return
        self.parsed += result.parsed
        self.new += result.new
        self.updated += result.updated
        self.unchanged += result.unchanged
        for totals, counts in ((self.merged, result.merged), (self.skipped, result.skipped)):
            for reason, count in counts.items():
                totals[reason] = totals.get(reason, 0) + count

    def fail(self, message: str) -> None:
        """A failure that belongs to no one file (a missing folder, nothing to import)."""
        self.failed_files += 1
        self.failed.append(message)

    def to_json(self) -> dict[str, Any]:
        """What ``import --json`` prints: the text summary's numbers, every file's too."""
        return {
            "files": self.files,
            **_counts_json(self),
            "per_file": [result.to_json() for result in self.per_file],
        }

    def describe(self, files_shown: int | None = _FILES_SHOWN) -> str:
        """The summary shown by the CLI (every file) and to admins in Telegram (the
        first ``files_shown`` files, so the message stays short)."""
        lines = [
            f"{self.files} file{'s' if self.files != 1 else ''}: {self.new} new, "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.failed_files} failed"
        ]
        merged, skipped = sum(self.merged.values()), sum(self.skipped.values())
        if merged or skipped:
            stored = self.new + self.updated + self.unchanged
            lines.append(
                f"  {self.parsed} parsed = {stored} stored + {merged} merged + {skipped} skipped"
            )
            if merged:
                lines.append(f"  merged: {_reasons(self.merged)}")
            if skipped:
                lines.append(f"  skipped: {_reasons(self.skipped)}")
        if self.files > 1:
            shown = self.per_file if files_shown is None else self.per_file[:files_shown]
            lines += [f"  {result.describe()}" for result in shown if not result.failed]
            if len(shown) < len(self.per_file):
                lines.append(f"  ... and {len(self.per_file) - len(shown)} more files")
        failures: list[str] = []
        for result in self.per_file:
            failures += [f"  failed: {error}" for error in result.failed[:_FAILURES_SHOWN]]
            if len(result.failed) > _FAILURES_SHOWN:
                more = len(result.failed) - _FAILURES_SHOWN
                failures.append(f"  failed: {result.name}: and {more} more places")
        owned = sum(len(result.failed) for result in self.per_file)
        failures += [f"  failed: {error}" for error in self.failed[owned:]]
        if files_shown is not None and len(failures) > files_shown:
            hidden = len(failures) - files_shown
            failures = [*failures[:files_shown], f"  ... and {hidden} more failures"]
        return "\n".join(lines + failures)


def _counts_json(counts: FileResult | ImportSummary) -> dict[str, Any]:
    """The numbers a file and a whole import both report, in ``import --json``."""
    return {
        "parsed": counts.parsed,
        "new": counts.new,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "merged": dict(counts.merged),
        "skipped": dict(counts.skipped),
        "failed": list(counts.failed),
    }


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in counts.items())


def file_result(
    name: str, takeaways: Sequence[Takeaway], report: Report, prepared: Prepared
) -> FileResult:
    """What a parsed and prepared file holds, before it is written."""
    merged = dict(report.merged)
    if prepared.duplicates:
        merged[DUPLICATES] = merged.get(DUPLICATES, 0) + prepared.duplicates
    parsed = len(takeaways) + sum(report.merged.values()) + sum(report.skipped.values())
    return FileResult(name, parsed, merged=merged, skipped=dict(report.skipped))


async def import_paths(
    store: Store,
    paths: Iterable[Path],
    progress: Progress | None = None,
    *,
    pool: bool | None = None,
) -> ImportSummary:
    """Import every supported file under ``paths``; never raises for a bad file.

    ``pool``: parse in worker processes (True), in a thread (False), or decide by the
    size of what there is to parse (None, see ``_Import._worth_it``); the summary is the same."""
    summary = ImportSummary()
    paths = list(paths)
    try:
        files = list(iter_source_files(paths))
    except ParseError as error:
        summary.fail(str(error))
        return summary
    if not files:
        names = ", ".join(str(p) for p in paths)
        summary.fail(f"{names}: no export files found (.md .txt .csv .jsonl .json)")
        return summary
    await _Import(store, summary).run(files, progress, pool)
    return summary


async def import_upload(store: Store, data: bytes, filename: str) -> ImportSummary:
    """Import one uploaded file (an admin's Telegram document)."""
    summary = ImportSummary()
    await import_one(store, summary, filename, partial(_parse_upload, data, filename))
    return summary


def _parse_upload(data: bytes, filename: str) -> tuple[list[Takeaway], Report]:
    """An upload's takeaways, refused whole above the upload's count bound."""
    takeaways, report = parse_bytes_report(data, filename)
    limits.check_upload_count(takeaways, filename)
    return takeaways, report


async def import_one(
    store: Store,
    summary: ImportSummary,
    name: str,
    parse: Callable[[], tuple[list[Takeaway], Report]],
) -> None:
    """Parse (in a worker thread) and store one file in one transaction; count the result."""
    try:
        takeaways, report = await asyncio.to_thread(parse)
        if report.unreadable:
            summary.add(FileResult(name, failed=list(report.unreadable)))
            return
        result = await store.import_takeaways(takeaways)
    except ParseError as error:
        summary.add(FileResult(name, failed=[str(error)]))
        return
    except sqlite3.Error as error:
        summary.add(FileResult(name, failed=[f"{name}: could not be stored: {error}"]))
        return
    merged = dict(report.merged)
    if result.merged:
        merged[DUPLICATES] = merged.get(DUPLICATES, 0) + result.merged
    parsed = len(takeaways) + sum(report.merged.values()) + sum(report.skipped.values())
    summary.add(
        FileResult(
            name,
            parsed,
            result.new,
            result.updated,
            result.unchanged,
            merged,
            dict(report.skipped),
        )
    )


# ---------------------------------------------------------------------------------------
# What the worker thread hands back per file.


@dataclass(slots=True)
class _Parsed:
    digest: str
    prepared: Prepared
    result: FileResult  # parsed, merged and skipped; the store fills in the rest


@dataclass(slots=True)
class _Same:
    """The file's bytes hash to the digest it had when last imported: not parsed."""

    digest: str


@dataclass(slots=True)
class _Failed:
    messages: list[str]


_Outcome = _Parsed | _Same | _Failed


def _read_and_parse(
    jobs: Sequence[tuple[Path, str | None]], gate: threading.Event | None = None
) -> list[_Outcome]:
    """Per (file, digest it had when last imported): read, hash, and unless the digest
    is the same, parse and prepare. Runs in the worker thread, waiting before each file
    for ``gate`` to be open (see ``_Import.gate``)."""
    outcomes: list[_Outcome] = []
    for path, known in jobs:
        if gate is not None:
            gate.wait()
        try:
            data = read_path(path)
            digest = blake2b(data, digest_size=16).hexdigest()
            if digest == known:
                outcomes.append(_Same(digest))
                continue
            takeaways, report = parse_bytes_report(data, str(path))
            if report.unreadable:
                outcomes.append(_Failed(list(report.unreadable)))
                continue
            prepared = prepare(takeaways)
            outcomes.append(
                _Parsed(digest, prepared, file_result(str(path), takeaways, report, prepared))
            )
        except ParseError as error:
            outcomes.append(_Failed([str(error)]))
    return outcomes


# ---------------------------------------------------------------------------------------
# Which files are known to be imported as they are now.


@dataclass(frozen=True, slots=True)
class _Memo:
    """A file as it was when an import left the database in step with it."""

    digest: str  # of the file's bytes
    generation: int  # the value of _GENERATION_KEY just after that import
    takeaways: int  # distinct takeaways the file holds (counted as "unchanged")
    sources: tuple[str, ...]  # source_prefix() of each of its sources
    # What the parser read, merged and skipped, so that a file not parsed again is
    # summed up as it was then.
    parsed: int = 0
    merged: tuple[tuple[str, int], ...] = ()
    skipped: tuple[tuple[str, int], ...] = ()


# Memos change meaning when parsing or identity changes: a new version of the bot
# starts afresh (one full re-import), as does bumping _MEMO_FORMAT. 2: different texts
# at one location got identities of their own (every file is parsed once again, which
# also moves stored takeaways to the new identities), and memos hold the file's counts.
# 3: a Kindle notebook's notes given to their highlight count as merged.
_MEMO_FORMAT = 3
_VERSION = f"{bot.__version__}/{_MEMO_FORMAT}"
_FILE_KEY = "import.file:"  # + digest of the file's absolute path -> _Memo as JSON


class _Memos:
    """Which files the database is known to be in step with, kept in ``meta``.

    A file may be skipped when its bytes are those an earlier import left the database
    in step with, and none of its sources changed since. Takeaways and sources are only
    written by imports, and every import stamps the sources whose stored takeaways or
    fields it changed with a new generation (``bot.store.takeaways.changes_since``):
    a memo older than one of its sources' stamps is outdated. So an unchanged file is
    parsed again when another file (or an upload) edited one of its takeaways or
    renamed its source, and importing it then puts back what it says, as it would have
    without memos. Memos live and die with the database (a restored backup restores
    its own), and a new version of the bot ignores older ones.
    """

    def __init__(self) -> None:
        self.files: dict[str, _Memo] = {}
        self.stamps: dict[str, int] = {}
        self.generation = 0

    @staticmethod
    def key(path: Path) -> str:
        return _FILE_KEY + blake2b(os.path.abspath(path).encode(), digest_size=12).hexdigest()

    async def load(self, db: aiosqlite.Connection, keys: list[str]) -> None:
        """Read the generation, every source stamp and the memos for ``keys``."""
        self.generation, self.stamps = await changes_since(db)
        rows = await db.execute_fetchall(
            "SELECT key, value FROM meta WHERE key IN (SELECT value FROM json_each(?))",
            (json.dumps(keys),),
        )
        self.files = {}
        for key, value in rows:
            memo = _decode(value)
            if memo is not None:
                self.files[key] = memo

    def valid(self, key: str) -> _Memo | None:
        """The file's memo if the database is still in step with it."""
        memo = self.files.get(key)
        if memo is None:
            return None
        if any(self.stamps.get(prefix, 0) > memo.generation for prefix in memo.sources):
            return None
        return memo

    async def record(
        self, db: aiosqlite.Connection, files: Sequence[tuple[str, _Parsed]], result: BatchResult
    ) -> dict[str, _Memo | None]:
        """Inside the batch's transaction: a memo per settled file, none for the others."""
        memos: dict[str, _Memo | None] = {}
        for (key, parsed), settled in zip(files, result.settled, strict=True):
            prepared = parsed.prepared
            memos[key] = (
                _Memo(
                    parsed.digest,
                    result.generation,
                    len(prepared.rows),
                    tuple(source_prefix(source) for source in prepared.sources),
                    parsed.result.parsed,
                    tuple(parsed.result.merged.items()),
                    tuple(parsed.result.skipped.items()),
                )
                if settled
                else None
            )
        await db.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [(key, _encode(memo)) for key, memo in memos.items() if memo is not None],
        )
        await db.executemany(
            "DELETE FROM meta WHERE key = ?",
            [(key,) for key, memo in memos.items() if memo is None],
        )
        return memos

    async def committed(
        self, db: aiosqlite.Connection, result: BatchResult, memos: dict[str, _Memo | None]
    ) -> None:
        """Mirror a committed batch in memory."""
        if result.generation != self.generation + bool(result.touched):
            # Another import (another process) wrote meanwhile: take its stamps too.
            self.generation, self.stamps = await changes_since(db)
        self.generation = result.generation
        for prefix in result.touched:
            self.stamps[prefix] = result.generation
        for key, memo in memos.items():
            if memo is None:
                self.files.pop(key, None)
            else:
                self.files[key] = memo


def _encode(memo: _Memo) -> str:
    return json.dumps(
        {
            "v": _VERSION,
            "digest": memo.digest,
            "generation": memo.generation,
            "takeaways": memo.takeaways,
            "sources": memo.sources,
            "parsed": memo.parsed,
            "merged": dict(memo.merged),
            "skipped": dict(memo.skipped),
        },
        separators=(",", ":"),
    )


def _decode(value: str) -> _Memo | None:
    """None for a memo of another version or that cannot be read: the file is parsed."""
    try:
        data = json.loads(value)
        if data.get("v") != _VERSION:
            return None
        return _Memo(
            str(data["digest"]),
            int(data["generation"]),
            int(data["takeaways"]),
            tuple(str(prefix) for prefix in data["sources"]),
            int(data["parsed"]),
            tuple((str(reason), int(count)) for reason, count in data["merged"].items()),
            tuple((str(reason), int(count)) for reason, count in data["skipped"].items()),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


# ---------------------------------------------------------------------------------------
# The pipeline.


@dataclass(slots=True)
class _Pending:
    """Parsed files waiting for their batch's transaction, in import order."""

    files: list[tuple[Path, str, _Parsed]] = field(default_factory=list)
    rows: int = 0
    sources: set[str] = field(default_factory=set)

    def add(self, path: Path, key: str, parsed: _Parsed) -> None:
        self.files.append((path, key, parsed))
        self.rows += len(parsed.prepared.rows)
        self.sources.update(source_prefix(source) for source in parsed.prepared.sources)


class _Shut:
    """A reusable ``with`` block during which ``gate`` is shut."""

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate

    def __enter__(self) -> None:
        self.gate.clear()

    def __exit__(self, *exc_info: object) -> None:
        self.gate.set()


class _Import:
    """One ``import_paths`` run: a reader task parsing ahead in the worker thread, and
    the writer (this task) taking files in order and writing them in batches."""

    def __init__(self, store: Store, summary: ImportSummary) -> None:
        self.store = store
        self.summary = summary
        self.memos = _Memos()
        self.pending = _Pending()
        self.batch_rows = _FIRST_BATCH_ROWS
        # Open while the worker thread may parse. Parsing is Python, so it holds the
        # GIL; an ``executemany`` needs the GIL once per row, and with a parser running
        # each of those waits out its 5 ms switch interval: the import got slower than
        # doing one thing at a time. So the gate is shut during those (``pause``),
        # and open while the rest, above all indexing, runs in SQLite without the GIL.
        self.gate = threading.Event()
        self.gate.set()
        self.pause = _Shut(self.gate)

    async def run(self, files: list[Path], progress: Progress | None, pool: bool | None) -> None:
        keys = [_Memos.key(path) for path in files]
        # Under the store's lock: another coroutine's open transaction could otherwise
        # show us memos about to roll back.
        async with self.store.transaction() as db:
            await self.memos.load(db, keys)
        chunks = _chunks(list(zip(files, keys, strict=True)))
        use_pool = self._worth_it(chunks) if pool is None else pool
        executor = _pool(len(chunks)) if use_pool and chunks else None
        queue: asyncio.Queue[tuple[list[tuple[Path, str]], list[_Outcome]] | None]
        queue = asyncio.Queue(maxsize=_AHEAD_CHUNKS)
        reader = asyncio.create_task(self._read(chunks, queue, executor))
        try:
            index = 0
            while (item := await queue.get()) is not None:
                for (path, key), outcome in zip(*item, strict=True):
                    index += 1
                    if progress is not None:
                        progress(index, len(files), path)
                    await self._take(path, key, outcome)
            await self._flush()
        finally:
            self.gate.set()  # a worker waiting at the gate must finish its chunk
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            if executor is not None:
                # Workers finish the chunk they hold (under a second) and exit; the
                # ones not yet started are dropped.
                await asyncio.shield(
                    asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
                )

    def _jobs(self, chunk: list[tuple[Path, str]]) -> list[tuple[Path, str | None]]:
        """Per file, the digest it had when last imported if that memo is valid now."""
        jobs: list[tuple[Path, str | None]] = []
        for path, key in chunk:
            memo = self.memos.valid(key)
            jobs.append((path, memo.digest if memo is not None else None))
        return jobs

    def _worth_it(self, chunks: list[list[tuple[Path, str]]]) -> bool:
        """Whether what there is to parse (files without a valid memo) is large enough
        for worker processes: at least two chunks and ``_POOL_BYTES``."""
        todo = [[path for path, key in chunk if self.memos.valid(key) is None] for chunk in chunks]
        if sum(1 for paths in todo if paths) < 2:
            return False
        size = 0
        for paths in todo:
            for path in paths:
                with contextlib.suppress(OSError):
                    size += path.stat().st_size
        return size >= _POOL_BYTES

    async def _read(
        self,
        chunks: list[list[tuple[Path, str]]],
        queue: asyncio.Queue[tuple[list[tuple[Path, str]], list[_Outcome]] | None],
        executor: ProcessPoolExecutor | None,
    ) -> None:
        """Read and parse chunk after chunk (in the worker thread, or in ``executor``'s
        processes), up to _AHEAD_CHUNKS ahead of the writer; a file whose memo is valid
        now is only read and hashed."""
        if executor is not None:
            await self._read_in_pool(chunks, queue, executor)
        else:
            for chunk in chunks:
                outcomes = await asyncio.to_thread(_read_and_parse, self._jobs(chunk), self.gate)
                await queue.put((chunk, outcomes))
        await queue.put(None)

    async def _read_in_pool(
        self,
        chunks: list[list[tuple[Path, str]]],
        queue: asyncio.Queue[tuple[list[tuple[Path, str]], list[_Outcome]] | None],
        executor: ProcessPoolExecutor,
    ) -> None:
        """Chunks handed to the workers in order, at most one more than there are
        workers in flight, and passed on in order. The first chunk is parsed in the
        worker thread, so that the writer starts while the workers start (a fresh
        interpreter each). If the pool breaks (a worker died, or could not start), the
        chunk it held and every later one are parsed in the worker thread: the result
        is the same, only slower."""
        ahead = (os.cpu_count() or 1) + 1
        flight: deque[tuple[list[tuple[Path, str]], list[tuple[Path, str | None]], Any]]
        flight = deque()
        broken = False
        for index, chunk in enumerate(chunks):
            jobs = self._jobs(chunk)
            future: Any = None
            if not broken and index > 0:  # the first chunk: here, while the workers start
                try:
                    future = asyncio.wrap_future(executor.submit(_read_and_parse, jobs))
                except RuntimeError:  # BrokenProcessPool, or shut down
                    broken = True
            flight.append((chunk, jobs, future))
            while flight and (len(flight) >= ahead or index == len(chunks) - 1):
                done, done_jobs, pending = flight.popleft()
                outcomes: list[_Outcome] | None = None
                if pending is not None:
                    try:
                        outcomes = await pending
                    except asyncio.CancelledError:
                        raise
                    except Exception:  # the pool broke, not the file: parse it here
                        broken = True
                if outcomes is None:
                    outcomes = await asyncio.to_thread(_read_and_parse, done_jobs, self.gate)
                await queue.put((done, outcomes))

    async def _take(self, path: Path, key: str, outcome: _Outcome) -> None:
        if isinstance(outcome, _Same):
            memo = self.memos.valid(key)
            if memo is not None and set(memo.sources) & self.pending.sources:
                # The pending batch may change this file's sources: write it first, so
                # files keep their order, then ask again.
                await self._flush()
                memo = self.memos.valid(key)
            if memo is not None and memo.digest == outcome.digest:
                self.summary.add(
                    FileResult(
                        str(path),
                        memo.parsed,
                        unchanged=memo.takeaways,
                        merged=dict(memo.merged),
                        skipped=dict(memo.skipped),
                    )
                )
                return
            # Outdated since the worker looked (an earlier batch of this import): parse.
            (outcome,) = await asyncio.to_thread(_read_and_parse, [(path, None)])
        if isinstance(outcome, _Failed):
            self.summary.add(FileResult(str(path), failed=outcome.messages))
            return
        assert isinstance(outcome, _Parsed)
        self.pending.add(path, key, outcome)
        if self.pending.rows >= self.batch_rows:
            self.batch_rows = min(self.batch_rows * 2, _BATCH_ROWS)
            await self._flush()

    async def _flush(self) -> None:
        pending, self.pending = self.pending, _Pending()
        if pending.files:
            await self._write(pending.files)

    async def _write(self, files: list[tuple[Path, str, _Parsed]]) -> None:
        """One transaction for ``files``; on a database error, one per file instead."""
        try:
            async with self.store.transaction() as db:
                result = await write_batch(
                    db, [parsed.prepared for _, _, parsed in files], self.pause
                )
                memos = await self.memos.record(
                    db, [(key, parsed) for _, key, parsed in files], result
                )
        except sqlite3.Error as error:
            if len(files) > 1:
                for file in files:
                    await self._write([file])
            else:
                path = files[0][0]
                self.summary.add(
                    FileResult(str(path), failed=[f"{path}: could not be stored: {error}"])
                )
            return
        await self.memos.committed(self.store.db, result, memos)
        for (_, _, parsed), counts in zip(files, result.results, strict=True):
            parsed.result.new = counts.new
            parsed.result.updated = counts.updated
            parsed.result.unchanged = counts.unchanged
            self.summary.add(parsed.result)


def _pool(chunks: int) -> ProcessPoolExecutor:
    """Worker processes, one per CPU (no more than there are chunks), started fresh
    with "spawn": forking a process that runs an event loop and SQLite threads is
    unsafe, and spawn behaves the same on every platform. (So every entry point that
    may import, ``python -m bot`` and ``python -m bench`` included, keeps its work under
    ``if __name__ == "__main__":``, lest a worker run it again.)"""
    workers = max(1, min(os.cpu_count() or 1, chunks))
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start)


def _worker_start() -> None:
    """Ctrl-C in a terminal reaches every process of its group: the importing process
    handles it (cancelling the import shuts the pool down), so a worker ignores it
    rather than dying with a traceback while it waits for work."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _chunks(items: list[tuple[Path, str]]) -> list[list[tuple[Path, str]]]:
    """Consecutive runs of at most _CHUNK_FILES files and (about) _CHUNK_BYTES bytes."""
    chunks: list[list[tuple[Path, str]]] = []
    chunk: list[tuple[Path, str]] = []
    size = 0
    for item in items:
        with contextlib.suppress(OSError):  # the worker reports it
            size += item[0].stat().st_size
        chunk.append(item)
        if len(chunk) >= _CHUNK_FILES or size >= _CHUNK_BYTES:
            chunks.append(chunk)
            chunk, size = [], 0
    if chunk:
        chunks.append(chunk)
    return chunks
