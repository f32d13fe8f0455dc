"""Schema versions, tracked in ``PRAGMA user_version``.

``MIGRATIONS[n]`` takes the schema from version ``n`` to ``n + 1``. Append new scripts
at the end and never edit a released one: a database that ran it will not run it
again. Each script runs in its own transaction together with the version bump, so a
failing migration leaves the database at the previous version, untouched.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import aiosqlite

from bot.store.db import transaction

# 1: sources, takeaways and their full-text index.
#
# takeaways.id is AUTOINCREMENT so that an id is never handed out twice, even after
# the highest row is deleted: deliveries remember ids. ``ident`` is the hashed
# (source, identity) pair that makes re-import idempotent; ``content_hash`` lets an
# unchanged re-import compare and skip without touching rows.
#
# takeaways_fts keeps its own copy of text, note, title and author (rowid = takeaway
# id): an external-content table could not take title/author from another table.
# Inserts are indexed by the import code, with one INSERT ... SELECT per import:
# an AFTER INSERT trigger made FTS5 do its work row by row and doubled import time.
# Edits and deletes (rare) are kept in step by triggers, whoever makes them.
_V1 = """
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    title TEXT,
    author TEXT,
    url TEXT,
    category TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE takeaways (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id INTEGER NOT NULL REFERENCES sources (id),
    ident TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    note TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    url TEXT,
    location TEXT,
    highlighted_at TEXT,
    content_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE INDEX takeaways_source_id ON takeaways (source_id);

CREATE VIRTUAL TABLE takeaways_fts USING fts5 (
    text, note, title, author,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER takeaways_fts_update AFTER UPDATE OF text, note, source_id ON takeaways
WHEN old.text IS NOT new.text OR old.note IS NOT new.note OR old.source_id IS NOT new.source_id
BEGIN
    UPDATE takeaways_fts SET
        text = new.text,
        note = new.note,
        title = (SELECT title FROM sources WHERE id = new.source_id),
        author = (SELECT author FROM sources WHERE id = new.source_id)
    WHERE rowid = new.id;
END;

CREATE TRIGGER takeaways_fts_delete AFTER DELETE ON takeaways BEGIN
    DELETE FROM takeaways_fts WHERE rowid = old.id;
END;

CREATE TRIGGER sources_fts_update AFTER UPDATE OF title, author ON sources
WHEN old.title IS NOT new.title OR old.author IS NOT new.author
BEGIN
    UPDATE takeaways_fts SET title = new.title, author = new.author
    WHERE rowid IN (SELECT id FROM takeaways WHERE source_id = new.id);
END;
"""

# 2: chats (subscribers) with their schedule and round position, the daily ledger whose
# primary key (chat, local date) is the once-a-day guarantee, the queries behind
# "More results" buttons (callback data is too small to carry a query), and ``meta``
# for small facts such as the running bot's heartbeat.
_V2 = """
CREATE TABLE chats (
    chat_id       INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL DEFAULT 'private',
    title         TEXT,
    subscribed    INTEGER NOT NULL DEFAULT 0,
    blocked       INTEGER NOT NULL DEFAULT 0,
    delivery_time TEXT    NOT NULL,
    timezone      TEXT    NOT NULL,
    next_due      INTEGER,
    due_date      TEXT,
    round_number  INTEGER NOT NULL DEFAULT 0,
    round_key     INTEGER NOT NULL DEFAULT 0,
    round_lo      INTEGER NOT NULL DEFAULT 0,
    round_hi      INTEGER NOT NULL DEFAULT 0,
    round_pos     INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at    INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX chats_due ON chats (next_due) WHERE subscribed = 1;
CREATE TABLE daily (
    chat_id     INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    local_date  TEXT    NOT NULL,
    takeaway_id INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    sent_at     INTEGER,
    updated_at  INTEGER NOT NULL DEFAULT (unixepoch()),
    PRIMARY KEY (chat_id, local_date)
) WITHOUT ROWID;
CREATE INDEX daily_by_date ON daily (local_date, status);
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE search_queries (
    id         INTEGER PRIMARY KEY,
    chat_id    INTEGER NOT NULL,
    query      TEXT    NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
"""

# 3: what makes the stream personal. Per chat: which weekdays it gets a delivery
# (``days``, a bit per weekday, Monday = 1), how many takeaways a delivery holds
# (``per_delivery``) and how many deliveries it has had (``deliveries``: every few, a
# favorite comes back). ``favorites`` and ``discarded`` are per chat and takeaway;
# ``sources_off`` lists the sources a chat turned off (absent = on, so new sources
# reach everyone). ``hidden_takeaways`` is the admins' "hide for everyone": keyed by
# takeaway id, which a re-import keeps (the same highlight keeps its row), so a hidden
# takeaway stays hidden; it is also taken out of the search index while hidden.
# ``daily.more_ids`` holds a delivery's further takeaways (JSON array) when it has
# more than one; ``daily.parts_sent`` how many of a delivery's messages (a long one
# is several) are out, so a retry sends only the rest.
_V3 = """
ALTER TABLE chats ADD COLUMN days INTEGER NOT NULL DEFAULT 127;
ALTER TABLE chats ADD COLUMN per_delivery INTEGER NOT NULL DEFAULT 1;
ALTER TABLE chats ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE daily ADD COLUMN more_ids TEXT;
ALTER TABLE daily ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;
CREATE TABLE favorites (
    chat_id     INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    takeaway_id INTEGER NOT NULL REFERENCES takeaways (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    last_shown  INTEGER,
    PRIMARY KEY (chat_id, takeaway_id)
) WITHOUT ROWID;
CREATE INDEX favorites_newest ON favorites (chat_id, created_at);
CREATE INDEX favorites_takeaway ON favorites (takeaway_id);
CREATE TABLE discarded (
    chat_id     INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    takeaway_id INTEGER NOT NULL REFERENCES takeaways (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (chat_id, takeaway_id)
) WITHOUT ROWID;
CREATE INDEX discarded_takeaway ON discarded (takeaway_id);
CREATE TABLE sources_off (
    chat_id   INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    PRIMARY KEY (chat_id, source_id)
) WITHOUT ROWID;
CREATE INDEX sources_off_source ON sources_off (source_id);
CREATE TABLE hidden_takeaways (
    takeaway_id INTEGER PRIMARY KEY REFERENCES takeaways (id) ON DELETE CASCADE,
    hidden_by   INTEGER,
    hidden_at   INTEGER NOT NULL
);
"""

# 4: at least once after a crash. ``daily.requested`` counts a delivery's messages whose
# HTTP request was started (committed before the request leaves), so a ``sending`` row
# whose ``requested`` is ahead of ``parts_sent`` had a request out with no answer
# recorded: after a crash it is sent again and counted as such; one that is not ahead
# never left and is simply sent. ``daily.claimed_by`` is the process that claimed the
# row: ``sending`` rows of another process are what a crash left behind. Rows left
# ``sending`` by an older bot are taken as requested (it did not say).
_V4 = """
ALTER TABLE daily ADD COLUMN requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE daily ADD COLUMN claimed_by INTEGER;
UPDATE daily SET requested = parts_sent + 1 WHERE status = 'sending';
"""

# 5: a larger buffer for the full-text index's pending terms (FTS5's ``hashsize``, kept
# in ``takeaways_fts_config``; the default is 1 MB). FTS5 keeps what a transaction
# indexes in memory and writes it out as a new index segment each time the buffer
# passes that size, and segments are merged as they pile up: an import batch of 20,000
# takeaways passed 1 MB many times over, and writing and merging those segments cost
# about a quarter of its indexing time. 16 MB holds a whole batch, so a batch writes
# one segment, at its commit. Only the index's layout changes, never what it holds:
# every search finds and ranks what it did. The memory is taken only while one
# transaction indexes that much, and freed at its commit.
_V5 = """
INSERT INTO takeaways_fts (takeaways_fts, rank) VALUES ('hashsize', 16777216);
"""

# 6: the ledger (``daily``) stored in the order its rows are written instead of by chat.
# Keyed by (chat_id, local_date), a daily run's rows landed one per page, scattered by
# chat id, and each was written three times (claimed, requested, sent), each time in a
# different commit: three page writes to the WAL per subscriber, and as many again when
# checkpointed. Kept in rowid (insertion) order, a batch's rows share a page or two at
# the end of the table, and ``daily_by_date`` (whose entries end in the rowid) grows at
# its end too. The once-a-day guarantee is the same UNIQUE (chat_id, local_date), now an
# index beside the table; every statement reads and writes the same rows as before.
_V6 = """
CREATE TABLE daily_v6 (
    chat_id     INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    local_date  TEXT    NOT NULL,
    takeaway_id INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    sent_at     INTEGER,
    updated_at  INTEGER NOT NULL DEFAULT (unixepoch()),
    more_ids    TEXT,
    parts_sent  INTEGER NOT NULL DEFAULT 0,
    requested   INTEGER NOT NULL DEFAULT 0,
    claimed_by  INTEGER,
    UNIQUE (chat_id, local_date)
);
INSERT INTO daily_v6 (chat_id, local_date, takeaway_id, status, attempts, error, sent_at,
    updated_at, more_ids, parts_sent, requested, claimed_by)
SELECT chat_id, local_date, takeaway_id, status, attempts, error, sent_at, updated_at,
    more_ids, parts_sent, requested, claimed_by FROM daily ORDER BY local_date, chat_id;
DROP TABLE daily;
ALTER TABLE daily_v6 RENAME TO daily;
CREATE INDEX daily_by_date ON daily (local_date, status);
"""

MIGRATIONS: list[str] = [_V1, _V2, _V3, _V4, _V5, _V6]


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer version of the bot than this one."""


async def user_version(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(db: aiosqlite.Connection, migrations: Sequence[str] | None = None) -> int:
    """Bring ``db`` up to ``len(migrations)``; returns the version it ends at.

    Refuses a database newer than the code rather than running against a schema it
    does not know. Safe against a second process migrating at the same time: the
    version is read again inside each write transaction.
    """
    steps = MIGRATIONS if migrations is None else migrations
    target = len(steps)
    version = await user_version(db)
    _check_not_too_new(version, target)
    while version < target:
        async with transaction(db):
            version = await user_version(db)
            _check_not_too_new(version, target)
            if version < target:
                for statement in split_statements(steps[version]):
                    await db.execute(statement)
                # PRAGMA takes no parameters; the value is an int we computed.
                await db.execute(f"PRAGMA user_version = {version + 1:d}")
        version = await user_version(db)
    return version


def split_statements(script: str) -> list[str]:
    """Cut a script into single statements (sqlite3's ``execute`` runs only one).

    ``executescript`` would do this for us, but it COMMITs any open transaction first,
    and a migration must run inside the transaction that also bumps the version.
    ``complete_statement`` knows about strings, comments and trigger bodies, so a ``;``
    inside them does not cut.
    """
    statements: list[str] = []
    pending = ""
    *pieces, tail = script.split(";")
    for piece in pieces:
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    statements.append((pending + tail).strip())
    return [s for s in statements if s.strip("; \t\r\n")]


def _check_not_too_new(version: int, target: int) -> None:
    if version > target:
        raise SchemaTooNewError(
            f"the database is at schema version {version}, but this version of the bot "
            f"only knows up to {target}: upgrade the bot (or restore an older backup)"
        )
