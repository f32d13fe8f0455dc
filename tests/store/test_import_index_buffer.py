"""Schema 5: the full-text index buffers a whole import batch before writing it out
(FTS5's ``hashsize``). It changes how the index is cut into segments, never what it
holds: the same rows, the same search results and ranks, before and after an upgrade."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import aiosqlite

from bot.sources.model import Takeaway
from bot.store import MIGRATIONS, Store
from bot.store import takeaways as store_takeaways
from bot.store.db import connect, transaction
from bot.store.migrations import migrate

HASHSIZE = 16 * 1024 * 1024
WORDS = [
    "habit",
    "attention",
    "compound",
    "interest",
    "garden",
    "river",
    "memory",
    "ocean",
    "patience",
    "lantern",
    "stone",
    "quiet",
    "signal",
    "harvest",
    "ledger",
    "orbit",
    "willow",
    "ember",
    "canyon",
    "thread",
    "mirror",
    "Überlegung",
    "naïve",
    "café",
    "zoë",
]
QUERIES = ["habit", "compound interest", "cafe", "riv", "memory ocean", "Ember", "zoe", "xyz"]


def collection(count: int, seed: int) -> list[Takeaway]:
    """Takeaways of 20-40 words from 40 books, some with notes and locations."""
    rng = random.Random(seed)
    books = [(f"Book {n} {rng.choice(WORDS)}", f"Author {n % 7}") for n in range(40)]
    items = []
    for index in range(count):
        title, author = rng.choice(books)
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 40)))
        items.append(
            Takeaway(
                text=f"{text} {seed}-{index}",
                title=title,
                author=author,
                note=rng.choice(WORDS) if index % 5 == 0 else None,
                location=f"Location {index}" if index % 2 == 0 else None,
            )
        )
    return items


async def at_version_4(path: Path, takeaways: list[Takeaway]) -> None:
    """A database as the previous version left it, holding ``takeaways``."""
    db = await connect(path)
    try:
        assert await migrate(db, MIGRATIONS[:4]) == 4
        async with transaction(db):
            await store_takeaways.write(db, store_takeaways.prepare(takeaways))
    finally:
        await db.close()


def config(path: Path) -> dict[str, object]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT k, v FROM takeaways_fts_config").fetchall())


def segments(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(DISTINCT segid) FROM takeaways_fts_idx").fetchone()[0])


async def index_and_searches(store: Store) -> tuple[list[object], list[object]]:
    """The index's rows, and every query's hits: ids, marked text and rank."""
    rows = list(
        await store.db.execute_fetchall(
            "SELECT rowid, text, note, title, author FROM takeaways_fts ORDER BY rowid"
        )
    )
    await store.db.execute("INSERT INTO takeaways_fts (takeaways_fts) VALUES ('integrity-check')")
    hits: list[object] = []
    for query in QUERIES:
        for offset in (0, 20):
            found = await store.search(query, limit=20, offset=offset)
            hits.append([(hit.item.id, hit.marked_text, round(hit.rank, 9)) for hit in found])
    return rows, hits


async def test_a_fresh_database_buffers_a_whole_batch(db_path: Path) -> None:
    async with await Store.open(db_path) as store:
        assert await store.import_takeaways(collection(50, seed=1))
    assert len(MIGRATIONS) >= 5
    assert config(db_path)["hashsize"] == HASHSIZE


async def test_an_existing_database_is_upgraded_and_finds_the_same(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    await at_version_4(path, collection(3_000, seed=2))
    assert "hashsize" not in config(path)
    db = await aiosqlite.connect(path)
    try:
        before = [
            list(await db.execute_fetchall(sql))
            for sql in (
                "SELECT rowid, text, note, title, author FROM takeaways_fts ORDER BY rowid",
                "SELECT rowid FROM takeaways_fts WHERE takeaways_fts MATCH 'habit' ORDER BY rank",
            )
        ]
    finally:
        await db.close()
    async with await Store.open(path) as store:
        version = await store.db.execute_fetchall("PRAGMA user_version")
        assert version == [(len(MIGRATIONS),)] and len(MIGRATIONS) >= 5
        after = [
            list(await store.db.execute_fetchall(sql))
            for sql in (
                "SELECT rowid, text, note, title, author FROM takeaways_fts ORDER BY rowid",
                "SELECT rowid FROM takeaways_fts WHERE takeaways_fts MATCH 'habit' ORDER BY rank",
            )
        ]
        assert after == before
        result = await store.import_takeaways(collection(500, seed=3))
        assert result.new == 500
        hits = await store.search("3-499")
        assert [hit.item.takeaway.text[-5:] for hit in hits] == ["3-499"]
    assert config(path)["hashsize"] == HASHSIZE


async def test_the_index_and_searches_are_the_same_with_either_buffer(tmp_path: Path) -> None:
    """Written in one transaction, 12,000 takeaways overflow the old 1 MB buffer several
    times (so the old layout has several segments) and fit the new one."""
    items = collection(12_000, seed=4)
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    await at_version_4(old, items)
    async with await Store.open(new) as store:
        async with store.transaction() as db:
            await store_takeaways.write(db, store_takeaways.prepare(items))
        wanted = await index_and_searches(store)
    assert segments(old) > segments(new) == 1
    async with await Store.open(old) as store:  # now at 5, its segments as they were
        assert await index_and_searches(store) == wanted
    assert any(hits for hits in wanted[1])
