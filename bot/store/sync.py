"""What the Readwise sync keeps in SQLite: deletions by identity, and its state in ``meta``.

Imports never delete (a file that lacks a highlight says nothing about it), but Readwise
does tell us when a highlight is gone, so the sync removes it. Deleting the row is
enough for everything hanging off it: favorites, "not for me" marks and hidden flags go
with it (``ON DELETE CASCADE``), the search index through its delete trigger. A
delivery that remembers the id finds nothing and sends the rest. Sources are left in
place even when empty: their per-chat on/off choices stay meaningful should the
document get new highlights.

Deletions do not stamp an import generation (see ``takeaways.changes_since``): a file
remembered as unchanged is not read again because of them, so a highlight deleted in
Readwise does not come back at the next start from an old export in the folder.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import aiosqlite

SYNC_POINT_KEY = "readwise.sync_point"
LAST_SYNC_KEY = "readwise.last_sync"
# Identities per statement: bounds the size of one JSON parameter.
_DELETE_BATCH = 5_000


async def delete_takeaways(db: aiosqlite.Connection, idents: Collection[str]) -> int:
    """Delete the takeaways with these identities; how many there were. The caller
    owns the transaction."""
    wanted = sorted(set(idents))
    deleted = 0
    for start in range(0, len(wanted), _DELETE_BATCH):
        cursor = await db.execute(
            "DELETE FROM takeaways WHERE ident IN (SELECT value FROM json_each(?))",
            (json.dumps(wanted[start : start + _DELETE_BATCH]),),
        )
        deleted += max(cursor.rowcount, 0)
        await cursor.close()
    return deleted


async def delete_stale(
    db: aiosqlite.Connection, source_key: str, links: Collection[str], keep: Collection[str]
) -> int:
    """Delete the source's takeaways that carry one of ``links`` but are not in ``keep``.

    ``links`` are per-highlight links of a document that the sync has seen whole, and
    ``keep`` the identities it has now: anything else stored with such a link is an
    earlier version of one of those highlights (or an item a thread no longer has), so
    it goes, whatever rule made its identity. How many there were.
    """
    if not links:
        return 0
    cursor = await db.execute(
        "DELETE FROM takeaways WHERE source_id = (SELECT id FROM sources WHERE key = ?)"
        " AND url IN (SELECT value FROM json_each(?))"
        " AND ident NOT IN (SELECT value FROM json_each(?))",
        (source_key, json.dumps(sorted(set(links))), json.dumps(sorted(set(keep)))),
    )
    deleted = max(cursor.rowcount, 0)
    await cursor.close()
    return deleted


async def sync_point(db: aiosqlite.Connection) -> str | None:
    """The start of the last successful sync (ISO 8601, UTC), or None before the first."""
    rows = list(
        await db.execute_fetchall("SELECT value FROM meta WHERE key = ?", (SYNC_POINT_KEY,))
    )
    return str(rows[0][0]) if rows else None


async def set_sync_point(db: aiosqlite.Connection, value: str) -> None:
    await db.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (SYNC_POINT_KEY, value)
    )


async def last_sync(db: aiosqlite.Connection) -> dict[str, Any] | None:
    """The last sync's summary as saved by ``save_last_sync``, or None."""
    rows = list(await db.execute_fetchall("SELECT value FROM meta WHERE key = ?", (LAST_SYNC_KEY,)))
    if not rows:
        return None
    try:
        value = json.loads(rows[0][0])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def save_last_sync(db: aiosqlite.Connection, summary: dict[str, Any]) -> None:
    await db.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        (LAST_SYNC_KEY, json.dumps(summary, ensure_ascii=False)),
    )
