"""One Readwise sync: export pages -> takeaways -> the store, one transaction per page.

The sync point (Readwise's ``updatedAfter``) is the start of the last sync that went to
the end; it is written only after every page before it is committed. A sync that stops
half-way (network, crash, Ctrl+C) leaves the old point, so the next one asks again for
everything since then: pages already written come back unchanged (the import path is
idempotent, deletions too), nothing is lost and nothing doubles.

Memory stays flat: one page of books (plus, in an incremental sync, those books whole)
is held at a time, whatever the size of the account.

In an incremental sync Readwise sends only the highlights that changed. A book's
takeaways can depend on its other highlights (a tweet thread is numbered across its
tweets; two highlights with one link are told apart by their order), so every book that
changed is fetched again whole (``ids=``) and written as a file export of it would be.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from bot.clock import Clock
from bot.store import Store
from bot.store import sync as sync_db
from bot.store.takeaways import Prepared, is_own_link, prepare, source_key, write_batch
from bot.sync.client import ReadwiseClient, ReadwiseError, TokenRefused
from bot.sync.mapping import book_changes

log = logging.getLogger(__name__)

# Books per ``ids=`` request when changed books are fetched again whole (keeps URLs short).
_REFETCH_BOOKS = 100


@dataclass(slots=True)
class SyncSummary:
    """What one sync did; saved in ``meta`` for /stats, printed by the CLI."""

    started_at: str
    finished_at: str | None = None
    ok: bool = False
    error: str | None = None
    token_refused: bool = False
    # No sync point yet: everything in the account was asked for.
    full: bool = False
    books: int = 0
    highlights: int = 0
    new: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    # Headings and highlights discarded in Readwise's review: no takeaways by design.
    left_out: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SyncSummary:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def counts(self) -> str:
        return (
            f"{self.new} new, {self.updated} updated, {self.deleted} deleted, "
            f"{self.unchanged} unchanged"
        )

    def describe(self) -> str:
        """A few lines for people: the CLI's summary and /sync's reply."""
        kind = "full" if self.full else "incremental"
        head = (
            f"Readwise sync ({kind}): {self.counts()}"
            f" ({self.highlights} highlights in {self.books} books"
            + (f", {self.left_out} headings or discarded left out" if self.left_out else "")
            + ")"
        )
        if self.ok:
            return head
        return f"{head}\nFailed: {self.error}\nThe next sync starts again where this one began."


# Called after each page: (books done, books in the export when Readwise says, summary).
Progress = Callable[[int, int | None, SyncSummary], None]


def iso(moment: datetime) -> str:
    """UTC, whole seconds, ``Z``: the form Readwise's own timestamps take."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def sync_readwise(
    store: Store,
    client: ReadwiseClient,
    clock: Clock,
    progress: Progress | None = None,
) -> SyncSummary:
    """Run one sync to the end or to its first failure; the summary says which.

    Readwise failures come back in the summary (``ok`` False, ``error`` one line);
    anything else (the database) raises, after the summary was saved where possible.
    """
    started = clock()
    point = await sync_db.sync_point(store.db)
    summary = SyncSummary(started_at=iso(started), full=point is None)
    log.info(
        "Readwise sync started (%s)",
        "everything" if point is None else f"changes since {point}",
    )
    after = point
    try:
        async for page in client.export(updated_after=after):
            if point is None:
                await _apply(store, page.books, summary)
            else:
                await _apply_whole(store, client, page.books, summary)
            if progress is not None:
                progress(summary.books, page.total, summary)
            log.info(
                "Readwise sync: %d books, %d highlights so far: %s",
                summary.books,
                summary.highlights,
                summary.counts(),
            )
        summary.ok = True
    except ReadwiseError as error:
        summary.error = str(error)
        summary.token_refused = isinstance(error, TokenRefused)
    finally:
        if not summary.ok and summary.error is None:
            summary.error = "interrupted"  # cancelled (the bot stopping, Ctrl+C) or crashed
        summary.finished_at = iso(clock())
        async with store.transaction() as db:
            if summary.ok:
                await sync_db.set_sync_point(db, summary.started_at)
            await sync_db.save_last_sync(db, summary.to_json())
    if summary.ok:
        log.info("Readwise sync done: %s", summary.counts())
    else:
        log.error("Readwise sync failed: %s", summary.error)
    return summary


async def last_summary(store: Store) -> SyncSummary | None:
    saved = await sync_db.last_sync(store.db)
    if saved is None:
        return None
    try:
        return SyncSummary.from_json(saved)
    except TypeError:
        return None


async def _apply_whole(
    store: Store, client: ReadwiseClient, books: list[dict[str, Any]], summary: SyncSummary
) -> None:
    """Write the changed books of an incremental page, each fetched again whole.

    A book that the second request does not return (deleted in Readwise meanwhile, or
    without an id) is written as the first one gave it, so its deleted highlights
    still go.
    """
    by_id = {book_id: b for b in books if (book_id := _book_id(b)) is not None}
    ids = list(by_id)
    rest = [b for b in books if _book_id(b) is None]
    for start in range(0, len(ids), _REFETCH_BOOKS):
        async for page in client.export(book_ids=ids[start : start + _REFETCH_BOOKS]):
            for book in page.books:
                by_id.pop(_book_id(book) or 0, None)
            await _apply(store, page.books, summary)
    rest.extend(by_id.values())
    if rest:
        await _apply(store, rest, summary)


async def _apply(store: Store, books: list[dict[str, Any]], summary: SyncSummary) -> None:
    """One page of whole books in one transaction: what is gone deleted, the rest imported.

    Gone are the takeaways of deleted highlights (by identity) and, for each book, any
    stored takeaway that has one of the book's highlight links without being one of its
    takeaways now (an earlier version of a highlight, an item a thread lost).
    """
    batch: list[Prepared] = []
    gone: set[str] = set()
    stale: list[tuple[str, set[str], set[str]]] = []
    for book in books:
        changes = book_changes(book)
        summary.books += 1
        summary.highlights += changes.highlights
        summary.left_out += changes.left_out
        live = prepare(changes.live)
        if live.rows:
            batch.append(live)
        if changes.gone:
            gone.update(ident for ident in prepare(changes.gone).rows if ident not in live.rows)
        everything = changes.live + changes.gone
        links = {t.url for t in everything if is_own_link(t.url, t.source_url)}
        if links:
            first = everything[0]
            key = source_key(first.title, first.author, first.source_url)
            stale.append((key, links, set(live.rows)))
    for prepared in batch:
        gone.difference_update(prepared.rows)
    if not batch and not gone and not stale:
        return
    async with store.transaction() as db:
        if gone:
            summary.deleted += await sync_db.delete_takeaways(db, gone)
        for key, links, keep in stale:
            summary.deleted += await sync_db.delete_stale(db, key, links, keep)
        if batch:
            result = await write_batch(db, batch)
            for counts in result.results:
                summary.new += counts.new
                summary.updated += counts.updated
                summary.unchanged += counts.unchanged


def _book_id(book: dict[str, Any]) -> int | None:
    value = book.get("user_book_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None
