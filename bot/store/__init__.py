"""Storage: takeaways in SQLite with a full-text index.

Everything outside this package goes through ``Store``; ``Store.db`` is there for
modules that keep their own tables in the same file (add a migration for them in
``bot.store.migrations``).
"""

from bot.store.migrations import MIGRATIONS, SchemaTooNewError
from bot.store.records import (
    MARK_END,
    MARK_START,
    ImportResult,
    SearchHit,
    Stats,
    StoredTakeaway,
)
from bot.store.store import Store

__all__ = [
    "MARK_END",
    "MARK_START",
    "MIGRATIONS",
    "ImportResult",
    "SchemaTooNewError",
    "SearchHit",
    "Stats",
    "Store",
    "StoredTakeaway",
]
