"""Files -> takeaways -> SQLite, one file per transaction.

A file that fails to parse (or to store) imports nothing and is reported by name; the
other files still import. Parsing runs in a worker thread so a bot that imports at
start (or on /reload) keeps answering while it works.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bot.sources import iter_source_files, parse_bytes, parse_path
from bot.sources.model import ParseError, Takeaway
from bot.store import Store

Progress = Callable[[int, int, Path], None]


@dataclass(slots=True)
class ImportSummary:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    files: int = 0
    failed: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """The one-paragraph summary shown by the CLI and to admins in Telegram."""
        lines = [
            f"{self.files} file{'s' if self.files != 1 else ''}: {self.new} new, "
            f"{self.updated} updated, {self.unchanged} unchanged, {len(self.failed)} failed"
        ]
        lines += [f"  failed: {error}" for error in self.failed]
        return "\n".join(lines)


async def import_paths(
    store: Store, paths: Iterable[Path], progress: Progress | None = None
) -> ImportSummary:
    """Import every supported file under ``paths``; never raises for a bad file."""
    summary = ImportSummary()
    paths = list(paths)
    try:
        files = list(iter_source_files(paths))
    except ParseError as error:
        summary.failed.append(str(error))
        return summary
    if not files:
        names = ", ".join(str(p) for p in paths)
        summary.failed.append(f"{names}: no export files found (.md .txt .csv .jsonl .json)")
    for index, path in enumerate(files, start=1):
        if progress is not None:
            progress(index, len(files), path)
        await import_one(store, summary, str(path), partial(parse_path, path))
    return summary


async def import_upload(store: Store, data: bytes, filename: str) -> ImportSummary:
    """Import one uploaded file (an admin's Telegram document)."""
    summary = ImportSummary()
    await import_one(store, summary, filename, partial(parse_bytes, data, filename))
    return summary


async def import_one(
    store: Store, summary: ImportSummary, name: str, parse: Callable[[], list[Takeaway]]
) -> None:
    """Parse (in a worker thread) and store one file in one transaction; count the result."""
    summary.files += 1
    try:
        takeaways = await asyncio.to_thread(parse)
        result = await store.import_takeaways(takeaways)
    except ParseError as error:
        summary.failed.append(str(error))
        return
    except sqlite3.Error as error:
        summary.failed.append(f"{name}: could not be stored: {error}")
        return
    summary.new += result.new
    summary.updated += result.updated
    summary.unchanged += result.unchanged
