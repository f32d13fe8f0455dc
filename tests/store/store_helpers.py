"""Small builders and probes shared by the storage tests."""

from __future__ import annotations

from typing import Any

from bot.sources.model import Takeaway
from bot.store import Store


def book(text: str, n: int | None = None, **fields: Any) -> Takeaway:
    """A Kindle-like highlight of one book; ``n`` gives it a location."""
    defaults: dict[str, Any] = {
        "title": "Atomic Habits",
        "author": "James Clear",
        "category": "books",
        "location": None if n is None else f"Location {n}",
    }
    defaults.update(fields)
    return Takeaway(text=text, **defaults)


async def snapshot(store: Store) -> tuple[int, list[str]]:
    """Everything in the file: schema version and a full SQL dump (incl. sqlite_sequence)."""
    async with store.db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), [line async for line in store.db.iterdump()]


async def count(store: Store, table: str) -> int:
    async with store.db.execute(f"SELECT count(*) FROM {table}") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def column(store: Store, sql: str, *params: object) -> list[Any]:
    rows = await store.db.execute_fetchall(sql, params)
    return [row[0] for row in rows]
