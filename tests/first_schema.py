"""A database exactly as the first released schema (version 1) left it, with one takeaway.

Upgrade tests start from it: every later schema must open it and keep its data.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.store.migrations import MIGRATIONS, split_statements


def first_schema(path: Path) -> None:
    """Write the version-1 database to ``path``."""
    with sqlite3.connect(path) as db:
        for statement in split_statements(MIGRATIONS[0]):
            db.execute(statement)
        db.execute(
            "INSERT INTO sources (id, key, title, author, url, category, created_at)"
            " VALUES (1, 'k', 'Old book', 'Old author', NULL, 'books', '2025-01-01')"
        )
        db.execute(
            "INSERT INTO takeaways (id, source_id, ident, text, note, tags, url, location,"
            " highlighted_at, content_hash, created_at, updated_at) VALUES"
            " (1, 1, 'i', 'An old idea', NULL, '[]', NULL, NULL, NULL, 'h', '2025', '2025')"
        )
        db.execute(
            "INSERT INTO takeaways_fts (rowid, text, title, author)"
            " VALUES (1, 'An old idea', 'Old book', 'Old author')"
        )
        db.execute("PRAGMA user_version = 1")
    db.close()
