"""A first Readwise sync of a large account: its time, and its memory staying flat.

``takeaways-bot sync`` runs as its own process against the local fake of Readwise's
export API (``tests/sync/readwise_fake.py``, on 127.0.0.1), once for a small and once
for a ten times larger account; its peak resident memory should not grow with the
account, since the sync holds one page of books at a time.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.report import Figure, at_most, info
from bench.workspace import Workspace
from tests.sync.readwise_fake import FakeBook, FakeReadwise

HIGHLIGHTS_PER_BOOK = 20
BOOKS_PER_PAGE = 100
# Runs the sync in a child and prints the child's peak RSS in KiB (Linux: ru_maxrss).
_MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stderr.write(done.stderr)\n"
    "print(done.returncode)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "print(done.stdout)\n"
)


def _account(fake: FakeReadwise, highlights: int, seed: int) -> None:
    rng = random.Random(f"readwise-{seed}")
    words = [f"w{n}" for n in range(5_000)]
    books = max(1, highlights // HIGHLIGHTS_PER_BOOK)
    for number in range(1, books + 1):
        book = fake.add_book(
            FakeBook(
                user_book_id=number,
                title=f"Book {number}",
                author=f"Author {number % 97}",
                asin=f"B{number:09d}",
            )
        )
        for k in range(HIGHLIGHTS_PER_BOOK):
            text = " ".join(rng.choices(words, k=rng.randint(12, 60)))
            fake.highlight(book, number * 1000 + k, text, location=10 * k + 1)


def _sync(fake: FakeReadwise, database: Path) -> tuple[float, int, dict[str, object]]:
    """(seconds, peak RSS in KiB, the --json summary) of one ``takeaways-bot sync``."""
    env = dict(
        os.environ,
        READWISE_TOKEN=fake.token,
        READWISE_API_URL=fake.url,
        DATABASE_PATH=str(database),
    )
    command = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "bot", "sync", "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    seconds = time.perf_counter() - started
    code, peak, output = done.stdout.split("\n", 2)
    if code != "0":
        raise AssertionError(f"sync exited with {code}: {done.stderr[-500:]}")
    return seconds, int(peak), json.loads(output)


async def run(ws: Workspace) -> list[Figure]:
    large = 50_000 if ws.sizes.collection >= 1_000_000 else 10_000
    small = large // 10
    figures: list[Figure] = []
    peaks: dict[int, float] = {}
    for highlights in (small, large):
        database = ws.root / f"readwise-{highlights}.db"
        ws.remove(database)
        with FakeReadwise(lambda: datetime.now(UTC), page_size=BOOKS_PER_PAGE) as fake:
            _account(fake, highlights, ws.seed)
            ws.say(f"syncing an account of {highlights:,} highlights")
            seconds, peak_kib, summary = await asyncio.to_thread(_sync, fake, database)
        ws.remove(database)
        if summary.get("new") != highlights:
            raise AssertionError(f"expected {highlights} new takeaways, got {summary}")
        peaks[highlights] = peak_kib / 1024
        at = f"{highlights:,} highlights, {BOOKS_PER_PAGE * HIGHLIGHTS_PER_BOOK:,} per page"
        figures.append(info(f"readwise.first_sync_{highlights}", seconds, "s", at))
        figures.append(info(f"readwise.peak_rss_{highlights}", peak_kib / 1024, "MB", at))
    growth = peaks[large] - peaks[small]
    figures.append(
        at_most(
            "readwise.rss_growth",
            growth,
            "MB",
            20,
            f"peak RSS at {large:,} minus at {small:,} highlights: flat means page by page",
        )
    )
    return figures
