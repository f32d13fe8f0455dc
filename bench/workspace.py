"""Sizes, and the generated databases the benchmarks share within one run."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bench import gen
from bot.store import Store


@dataclass(frozen=True, slots=True)
class Sizes:
    import_highlights: int
    import_files: int
    collection: int  # takeaways searched, picked from and delivered
    small_collection: int  # the other end of "flat from 10k to 1M"
    search_queries: int
    like_queries: int
    picks: int
    daily_subscribers: int  # bookkeeping only
    delivery_messages: int  # end to end over HTTP, limiter off
    limited_messages: int  # end to end, limiter on
    command_users: int  # /random at once, limiter off
    limited_users: int  # /random at once, limiter on
    memory_subscribers: int


QUICK = Sizes(
    import_highlights=10_000,
    import_files=200,
    collection=100_000,
    small_collection=10_000,
    search_queries=1_000,
    like_queries=10,
    picks=2_000,
    daily_subscribers=50_000,
    delivery_messages=3_000,
    limited_messages=200,
    command_users=300,
    limited_users=150,
    memory_subscribers=3_000,
)

FULL = Sizes(
    import_highlights=100_000,
    import_files=2_000,
    collection=1_000_000,
    small_collection=10_000,
    search_queries=5_000,
    like_queries=20,
    picks=5_000,
    daily_subscribers=1_000_000,
    delivery_messages=100_000,
    limited_messages=1_000,
    command_users=1_000,
    limited_users=1_000,
    memory_subscribers=100_000,
)


class Workspace:
    """A folder for generated data; databases are built once per size and seed, then
    copied for benchmarks that change them."""

    def __init__(self, root: Path, seed: int, sizes: Sizes, *, verbose: bool = True) -> None:
        self.root = root
        self.seed = seed
        self.sizes = sizes
        self.verbose = verbose
        root.mkdir(parents=True, exist_ok=True)

    def say(self, message: str) -> None:
        if self.verbose:
            print(f"  .. {message}", flush=True)

    async def collection(self, takeaways: int) -> Path:
        """A migrated database holding ``takeaways`` generated takeaways (built once)."""
        path = self.root / f"collection-{takeaways}-seed{self.seed}.db"
        done = path.with_suffix(".done")
        if path.exists() and done.exists():
            return path
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        self.say(f"generating a collection of {takeaways:,} takeaways")
        started = time.perf_counter()
        store = await Store.open(path)
        await store.close()
        await asyncio.to_thread(gen.fill_collection, path, takeaways, self.seed)
        done.write_text("ok\n")
        self.say(f"generated in {time.perf_counter() - started:.0f} s")
        return path

    def copy(self, source: Path, name: str) -> Path:
        """A private copy of a (checkpointed) database for a benchmark that writes."""
        target = self.root / name
        for stale in (target, target.with_name(target.name + "-wal")):
            stale.unlink(missing_ok=True)
        target.with_name(target.name + "-shm").unlink(missing_ok=True)
        with sqlite3.connect(source) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(source, target)
        return target

    def remove(self, path: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
