"""What each chat chose: favorites, "not for me", sources turned off; and admins' hides.

A takeaway is *eligible* for a chat when it exists, no admin hid it, the chat did not
discard it and its source is not turned off there. Eligibility is checked at pick time,
so a choice changes the very next pick; nothing is copied into the chats' rounds.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from bot.store.records import StoredTakeaway, stored_from_row
from bot.store.search import match_expression

_TAKEAWAY_COLUMNS = (
    "t.id, t.source_id, t.text, t.note, t.tags, t.url, t.location, "
    "t.highlighted_at, s.title, s.author, s.url, s.category"
)

# The one definition of "takeaway ``t`` may be sent to chat ?1" (?1 NULL: to anyone, so
# only admins' hides count). Every query below that picks for a chat uses it.
_MAY_GET = (
    "NOT EXISTS (SELECT 1 FROM hidden_takeaways AS h WHERE h.takeaway_id = t.id)"
    " AND (?1 IS NULL OR ("
    "  NOT EXISTS (SELECT 1 FROM discarded AS d WHERE d.chat_id = ?1 AND d.takeaway_id = t.id)"
    "  AND NOT EXISTS (SELECT 1 FROM sources_off AS o"
    "   WHERE o.chat_id = ?1 AND o.source_id = t.source_id)))"
)
# ?2: the ids (JSON array).
_ELIGIBLE = (
    "SELECT t.id FROM json_each(?2) AS j JOIN takeaways AS t ON t.id = j.value"  # noqa: S608
    f" WHERE {_MAY_GET}"
)


async def eligible(db: aiosqlite.Connection, chat_id: int | None, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` may be sent to ``chat_id`` (``None``: to anyone): one query."""
    if not ids:
        return set()
    rows = list(await db.execute_fetchall(_ELIGIBLE, (chat_id, json.dumps([int(i) for i in ids]))))
    return {int(row[0]) for row in rows}


_ELIGIBLE_ROWS = f" FROM takeaways AS t WHERE {_MAY_GET}"


async def random_eligible(
    db: aiosqlite.Connection, chat_id: int | None, rng: random.Random
) -> int | None:
    """A uniformly random eligible takeaway by counting: two scans, for the rare chat
    that excludes nearly everything (random draws then keep missing)."""
    counted = list(await db.execute_fetchall(f"SELECT count(*){_ELIGIBLE_ROWS}", (chat_id,)))
    total = int(counted[0][0])
    if total == 0:
        return None
    rows = list(
        await db.execute_fetchall(
            f"SELECT t.id{_ELIGIBLE_ROWS} ORDER BY t.id LIMIT 1 OFFSET ?2",
            (chat_id, rng.randrange(total)),
        )
    )
    return int(rows[0][0]) if rows else None


async def visible_many(db: aiosqlite.Connection, ids: Sequence[int]) -> dict[int, StoredTakeaway]:
    """The takeaways among ``ids`` that exist and are not hidden, read whole."""
    if not ids:
        return {}
    rows = list(
        await db.execute_fetchall(
            f"SELECT {_TAKEAWAY_COLUMNS} FROM takeaways AS t"  # noqa: S608 - constant
            " JOIN sources AS s ON s.id = t.source_id"
            " WHERE t.id IN (SELECT value FROM json_each(?))"
            " AND NOT EXISTS (SELECT 1 FROM hidden_takeaways AS h WHERE h.takeaway_id = t.id)",
            (json.dumps([int(i) for i in ids]),),
        )
    )
    return {int(row[0]): stored_from_row(row) for row in rows}


async def eligible_ids(db: aiosqlite.Connection, chat_id: int, *, limit: int) -> list[int]:
    """Up to ``limit`` ids the chat may get, found through its sources that are on.

    Source by source (``CROSS JOIN`` keeps that order), so the cost follows what the
    chat may get, not the collection: the list is short exactly when it is needed.
    """
    # The sources_off test on ``s`` skips a turned-off source before reading any of its
    # takeaways; ``_MAY_GET`` (which repeats it on ``t``) then decides for each one.
    rows = await db.execute_fetchall(
        "SELECT t.id FROM sources AS s CROSS JOIN takeaways AS t ON t.source_id = s.id"  # noqa: S608
        " WHERE NOT EXISTS (SELECT 1 FROM sources_off AS o"
        "  WHERE o.chat_id = ?1 AND o.source_id = s.id)"
        f" AND {_MAY_GET} LIMIT ?2",
        (chat_id, limit),
    )
    return [int(row[0]) for row in rows]


@dataclass(frozen=True, slots=True)
class Personal:
    """What makes a chat's picks differ from the plain round."""

    filtered: bool  # something discarded or a source off
    favorites: bool


async def personal_chats(db: aiosqlite.Connection, chat_ids: Sequence[int]) -> dict[int, Personal]:
    """The chats among ``chat_ids`` with any personal choice; the rest are plain."""
    if not chat_ids:
        return {}
    rows = list(
        await db.execute_fetchall(
            "SELECT j.value,"
            " EXISTS (SELECT 1 FROM discarded WHERE chat_id = j.value)"
            "  OR EXISTS (SELECT 1 FROM sources_off WHERE chat_id = j.value),"
            " EXISTS (SELECT 1 FROM favorites WHERE chat_id = j.value)"
            " FROM json_each(?) AS j",
            (json.dumps([int(i) for i in chat_ids]),),
        )
    )
    return {int(row[0]): Personal(bool(row[1]), bool(row[2])) for row in rows if row[1] or row[2]}


# --- favorites and "not for me" -------------------------------------------------------


async def set_favorite(
    db: aiosqlite.Connection, chat_id: int, takeaway_id: int, on: bool, now: int
) -> None:
    """Keep (``on``) or let go; keeping also takes back a "not for me"."""
    if on:
        await db.execute(
            "INSERT INTO favorites (chat_id, takeaway_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (chat_id, takeaway_id, now),
        )
        await set_discarded(db, chat_id, takeaway_id, False, now)
    else:
        await db.execute(
            "DELETE FROM favorites WHERE chat_id = ? AND takeaway_id = ?", (chat_id, takeaway_id)
        )


async def set_discarded(
    db: aiosqlite.Connection, chat_id: int, takeaway_id: int, on: bool, now: int
) -> None:
    """ "Not for me" (``on``) or its undo; a discarded takeaway is no favorite either."""
    if on:
        await db.execute(
            "INSERT INTO discarded (chat_id, takeaway_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (chat_id, takeaway_id, now),
        )
        await set_favorite(db, chat_id, takeaway_id, False, now)
    else:
        await db.execute(
            "DELETE FROM discarded WHERE chat_id = ? AND takeaway_id = ?", (chat_id, takeaway_id)
        )


@dataclass(frozen=True, slots=True)
class Marks:
    """A chat's marks on some takeaways, for drawing their buttons."""

    favorites: frozenset[int]
    discarded: frozenset[int]
    hidden: frozenset[int]
    channel: bool = False  # the chat is a channel (its readers share one stream)


async def marks(db: aiosqlite.Connection, chat_id: int, ids: Sequence[int]) -> Marks:
    rows = list(
        await db.execute_fetchall(
            "SELECT j.value,"
            " EXISTS (SELECT 1 FROM favorites WHERE chat_id = ?2 AND takeaway_id = j.value),"
            " EXISTS (SELECT 1 FROM discarded WHERE chat_id = ?2 AND takeaway_id = j.value),"
            " EXISTS (SELECT 1 FROM hidden_takeaways WHERE takeaway_id = j.value),"
            " EXISTS (SELECT 1 FROM chats WHERE chat_id = ?2 AND kind = 'channel')"
            " FROM json_each(?1) AS j",
            (json.dumps([int(i) for i in ids]), chat_id),
        )
    )
    return Marks(
        frozenset(int(r[0]) for r in rows if r[1]),
        frozenset(int(r[0]) for r in rows if r[2]),
        frozenset(int(r[0]) for r in rows if r[3]),
        channel=any(r[4] for r in rows),
    )


NO_MARKS = Marks(frozenset(), frozenset(), frozenset())


@dataclass(frozen=True, slots=True)
class Pick:
    """A takeaway picked for a chat, read whole, with the chat's marks on it (for its
    buttons; none when picked for anyone)."""

    item: StoredTakeaway
    marks: Marks


# ?1: the chat (NULL: anyone); ?2: random numbers (a JSON array), each turned into an id
# between the lowest and the highest; the first that is a takeaway the chat may get wins.
# Every join is a CROSS JOIN, which SQLite never reorders: the draws are tried in their
# order (not, say, the lowest id among the hits), so the pick stays uniformly random.
_DRAW = (
    "WITH b(lo, hi) AS"  # noqa: S608 - constants
    " (SELECT (SELECT min(id) FROM takeaways), (SELECT max(id) FROM takeaways))"
    f" SELECT {_TAKEAWAY_COLUMNS},"
    " EXISTS (SELECT 1 FROM favorites WHERE chat_id = ?1 AND takeaway_id = t.id),"
    " EXISTS (SELECT 1 FROM chats WHERE chat_id = ?1 AND kind = 'channel')"
    " FROM b CROSS JOIN json_each(?2) AS j CROSS JOIN takeaways AS t"
    " CROSS JOIN sources AS s"
    " WHERE t.id = b.lo + j.value % (b.hi - b.lo + 1) AND s.id = t.source_id"
    f" AND {_MAY_GET} LIMIT 1"
)


async def draw_eligible(
    db: aiosqlite.Connection, chat_id: int | None, draws: Sequence[int]
) -> Pick | None:
    """The first of ``draws`` (non-negative random numbers, each standing for a uniformly
    random id from the lowest to the highest) that is a takeaway ``chat_id`` may get
    (``None``: anyone), read whole with the chat's marks; None if no draw hits one.

    One statement, so one trip to the database's thread: ``/random`` is this and a send.
    """
    rows = list(await db.execute_fetchall(_DRAW, (chat_id, json.dumps([int(d) for d in draws]))))
    if not rows:
        return None
    row = rows[0]
    item = stored_from_row(row)
    # A takeaway the chat may get is neither hidden nor turned down by it.
    favorites = frozenset((item.id,)) if row[12] else frozenset()
    return Pick(item, Marks(favorites, frozenset(), frozenset(), channel=bool(row[13])))


# ?1: the chat; ?2: an FTS5 match expression to search within them, or NULL for all.
_VISIBLE_FAVORITES = (
    " FROM favorites AS f JOIN takeaways AS t ON t.id = f.takeaway_id"
    " JOIN sources AS s ON s.id = t.source_id"
    " WHERE f.chat_id = ?1"
    " AND NOT EXISTS (SELECT 1 FROM hidden_takeaways AS h WHERE h.takeaway_id = t.id)"
    " AND (?2 IS NULL OR f.takeaway_id IN"
    "  (SELECT rowid FROM takeaways_fts WHERE takeaways_fts MATCH ?2))"
)


async def favorites_page(
    db: aiosqlite.Connection,
    chat_id: int,
    *,
    limit: int,
    offset: int = 0,
    query: str | None = None,
) -> tuple[list[StoredTakeaway], int]:
    """A page of the chat's favorites, newest first, and how many there are in all."""
    expression = match_expression(query) if query else None
    rows = list(
        await db.execute_fetchall(
            f"SELECT {_TAKEAWAY_COLUMNS}{_VISIBLE_FAVORITES}"
            " ORDER BY f.created_at DESC, f.takeaway_id DESC LIMIT ?3 OFFSET ?4",
            (chat_id, expression, limit, offset),
        )
    )
    counted = list(
        await db.execute_fetchall(
            f"SELECT count(*){_VISIBLE_FAVORITES}",
            (chat_id, expression),
        )
    )
    return [stored_from_row(row) for row in rows], int(counted[0][0])


async def all_favorites(db: aiosqlite.Connection, chat_id: int) -> list[StoredTakeaway]:
    """Every favorite, oldest first (the order an export reads best in)."""
    rows = list(
        await db.execute_fetchall(
            f"SELECT {_TAKEAWAY_COLUMNS}{_VISIBLE_FAVORITES} ORDER BY f.created_at, f.takeaway_id",
            (chat_id, None),
        )
    )
    return [stored_from_row(row) for row in rows]


async def shared_links(db: aiosqlite.Connection, urls: Sequence[str]) -> set[str]:
    """Which of ``urls`` more than one takeaway has (a tweet split into several)."""
    rows = await db.execute_fetchall(
        "SELECT url FROM takeaways WHERE url IN (SELECT value FROM json_each(?))"
        " GROUP BY url HAVING count(*) > 1",
        (json.dumps(list(urls)),),
    )
    return {str(row[0]) for row in rows}


async def favorite_due(db: aiosqlite.Connection, chat_id: int) -> int | None:
    """The eligible favorite the chat has not seen for longest (never shown first)."""
    rows = list(
        await db.execute_fetchall(
            "SELECT f.takeaway_id FROM favorites AS f"  # noqa: S608 - constants
            " JOIN takeaways AS t ON t.id = f.takeaway_id"
            f" WHERE f.chat_id = ?1 AND {_MAY_GET}"
            " ORDER BY coalesce(f.last_shown, 0), f.created_at LIMIT 1",
            (chat_id,),
        )
    )
    return int(rows[0][0]) if rows else None


async def favorite_shown(
    db: aiosqlite.Connection, chat_id: int, takeaway_id: int, now: int
) -> None:
    await db.execute(
        "UPDATE favorites SET last_shown = ? WHERE chat_id = ? AND takeaway_id = ?",
        (now, chat_id, takeaway_id),
    )


# --- sources ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceChoice:
    id: int
    title: str | None
    author: str | None
    takeaways: int
    on: bool


async def sources_page(
    db: aiosqlite.Connection, chat_id: int, *, limit: int, offset: int = 0
) -> tuple[list[SourceChoice], int]:
    """Sources with their (visible) takeaway counts, by title; and how many there are."""
    rows = list(
        await db.execute_fetchall(
            "SELECT s.id, s.title, s.author,"
            " (SELECT count(*) FROM takeaways AS t WHERE t.source_id = s.id"
            "  AND NOT EXISTS (SELECT 1 FROM hidden_takeaways AS h WHERE h.takeaway_id = t.id)),"
            " NOT EXISTS (SELECT 1 FROM sources_off AS o"
            "  WHERE o.chat_id = ? AND o.source_id = s.id)"
            " FROM sources AS s"
            " WHERE EXISTS (SELECT 1 FROM takeaways AS t WHERE t.source_id = s.id)"
            " ORDER BY lower(coalesce(s.title, '')), s.id LIMIT ? OFFSET ?",
            (chat_id, limit, offset),
        )
    )
    counted = list(
        await db.execute_fetchall(
            "SELECT count(*) FROM sources AS s"
            " WHERE EXISTS (SELECT 1 FROM takeaways AS t WHERE t.source_id = s.id)",
        )
    )
    choices = [SourceChoice(int(r[0]), r[1], r[2], int(r[3]), bool(r[4])) for r in rows]
    return choices, int(counted[0][0])


async def source_exists(db: aiosqlite.Connection, source_id: int) -> bool:
    rows = list(await db.execute_fetchall("SELECT 1 FROM sources WHERE id = ?", (source_id,)))
    return bool(rows)


async def set_source(db: aiosqlite.Connection, chat_id: int, source_id: int, on: bool) -> None:
    if on:
        await db.execute(
            "DELETE FROM sources_off WHERE chat_id = ? AND source_id = ?", (chat_id, source_id)
        )
    else:
        await db.execute(
            "INSERT INTO sources_off (chat_id, source_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (chat_id, source_id),
        )


async def sources_on(db: aiosqlite.Connection, chat_id: int) -> int:
    """How many sources (with takeaways) the chat has on."""
    rows = list(
        await db.execute_fetchall(
            "SELECT count(*) FROM sources AS s"
            " WHERE EXISTS (SELECT 1 FROM takeaways AS t WHERE t.source_id = s.id)"
            " AND NOT EXISTS (SELECT 1 FROM sources_off AS o"
            "  WHERE o.chat_id = ? AND o.source_id = s.id)",
            (chat_id,),
        )
    )
    return int(rows[0][0])


# --- hidden for everyone ----------------------------------------------------------------


async def set_hidden(
    db: aiosqlite.Connection, takeaway_id: int, on: bool, *, by: int | None, now: int
) -> bool:
    """Hide (``on``) or unhide for everyone; False when there was nothing to change.

    Hiding also takes the takeaway out of the search index, so no search finds it and
    nothing about search had to learn about hiding; unhiding puts it back.
    """
    if on:
        cursor = await db.execute(
            "INSERT INTO hidden_takeaways (takeaway_id, hidden_by, hidden_at)"
            " SELECT id, ?, ? FROM takeaways WHERE id = ? ON CONFLICT DO NOTHING",
            (by, now, takeaway_id),
        )
        if cursor.rowcount <= 0:
            return False
        await db.execute("DELETE FROM takeaways_fts WHERE rowid = ?", (takeaway_id,))
        return True
    cursor = await db.execute("DELETE FROM hidden_takeaways WHERE takeaway_id = ?", (takeaway_id,))
    if cursor.rowcount <= 0:
        return False
    await db.execute(
        "INSERT INTO takeaways_fts (rowid, text, note, title, author)"
        " SELECT t.id, t.text, t.note, s.title, s.author"
        " FROM takeaways AS t JOIN sources AS s ON s.id = t.source_id WHERE t.id = ?",
        (takeaway_id,),
    )
    return True


async def hidden_page(
    db: aiosqlite.Connection, *, limit: int, offset: int = 0
) -> tuple[list[StoredTakeaway], int]:
    """Hidden takeaways, most recently hidden first, and how many there are."""
    rows = list(
        await db.execute_fetchall(
            f"SELECT {_TAKEAWAY_COLUMNS} FROM hidden_takeaways AS h"  # noqa: S608 - constant
            " JOIN takeaways AS t ON t.id = h.takeaway_id JOIN sources AS s ON s.id = t.source_id"
            " ORDER BY h.hidden_at DESC, h.takeaway_id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
    )
    counted = list(await db.execute_fetchall("SELECT count(*) FROM hidden_takeaways"))
    return [stored_from_row(row) for row in rows], int(counted[0][0])
