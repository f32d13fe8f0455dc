"""Import: idempotent, edits in place, all or nothing, ids never reused."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from store_helpers import book, column, count, snapshot

from bot.sources.model import Takeaway
from bot.store import MARK_END, MARK_START, ImportResult, Store
from bot.store.takeaways import prepare, write_batch

BOOK = [
    book("You do not rise to the level of your goals.", 10, note="Key idea", tags=("habits",)),
    book("Every action is a vote for the type of person you wish to become.", 20),
    book("Habits are the compound interest of self-improvement.", 30, tags=("a", "b")),
]
THREAD = [
    Takeaway(
        text=f"Tweet {n}: small models are underrated.",
        title="ML thread",
        author="@svpino",
        url=f"https://x.com/svpino/status/{n}",
        source_url="https://x.com/svpino/status/1",
        category="tweets",
    )
    for n in (1, 2, 3)
]


async def test_importing_twice_is_idempotent(store: Store) -> None:
    first = await store.import_takeaways(BOOK + THREAD)
    assert first == ImportResult(new=6, updated=0, unchanged=0)
    tables = ("takeaways", "sources", "takeaways_fts")
    counts = [await count(store, table) for table in tables]
    changes = store.db.total_changes

    second = await store.import_takeaways(BOOK + THREAD)

    assert second == ImportResult(new=0, updated=0, unchanged=6)
    assert [await count(store, table) for table in tables] == counts == [6, 2, 6]
    assert store.db.total_changes == changes  # not a single row written


async def test_an_empty_import_does_nothing(store: Store) -> None:
    assert await store.import_takeaways([]) == ImportResult(0, 0, 0)
    assert await count(store, "sources") == 0


async def test_an_edited_highlight_is_updated_in_place(store: Store) -> None:
    await store.import_takeaways(BOOK)
    [old_id] = await column(store, "SELECT id FROM takeaways WHERE location = 'Location 30'")
    # Extended on the device: the full stop became a comma.
    edited = book(
        "Habits are the compound interest of self-improvement, and of personal growth.",
        30,
        tags=("a", "b"),
    )

    result = await store.import_takeaways([BOOK[0], BOOK[1], edited])

    assert result == ImportResult(new=0, updated=1, unchanged=2)
    item = await store.get_takeaway(old_id)
    assert item is not None and item.takeaway.text == edited.text
    assert await count(store, "takeaways") == 3
    assert [hit.item.id for hit in await store.search("personal growth")] == [old_id]
    assert await store.count_matches("improvement") == 1
    # Shortened again, then re-imported: the same row, and then nothing to do.
    assert await store.import_takeaways([BOOK[2]]) == ImportResult(0, 1, 0)
    assert await store.import_takeaways(BOOK) == ImportResult(0, 0, 3)
    assert await column(store, "SELECT id FROM takeaways WHERE location = 'Location 30'") == [
        old_id
    ]


async def test_different_texts_at_one_location_are_different_takeaways(store: Store) -> None:
    await store.import_takeaways([book("Habits compound.", 30)])
    other = book("Identity drives behaviour.", 30)
    assert await store.import_takeaways([other]) == ImportResult(1, 0, 0)
    both = [book("Habits compound.", 30), other, book("Identity drives behaviour.", 30)]
    assert await store.import_takeaways(both) == ImportResult(0, 0, 2, merged=1)
    assert await count(store, "takeaways") == 2


async def test_editing_note_tags_or_date_updates_too(store: Store) -> None:
    await store.import_takeaways(BOOK)
    changed = [
        book(BOOK[0].text, 10, note="Rewritten thought", tags=("habits",)),
        book(BOOK[1].text, 20, tags=("identity",)),
        book(BOOK[2].text, 30, tags=("a", "b"), highlighted_at="2024-05-01"),
    ]
    assert await store.import_takeaways(changed) == ImportResult(new=0, updated=3, unchanged=0)
    assert [hit.item.takeaway.note for hit in await store.search("rewritten")] == [
        "Rewritten thought"
    ]
    assert await store.search("key idea") == []
    exported = [t async for t in store.export()]
    assert exported == changed


async def test_per_highlight_links_identify_tweets(store: Store) -> None:
    await store.import_takeaways(THREAD)
    edited = Takeaway(**{**THREAD[1].to_json(), "text": "Tweet 2: edited.", "tags": ()})
    assert await store.import_takeaways([edited]) == ImportResult(new=0, updated=1, unchanged=0)
    assert await count(store, "takeaways") == 3


async def test_takeaways_sharing_one_tweet_link_are_all_kept(store: Store) -> None:
    def tweet(text: str, status: int) -> Takeaway:
        return Takeaway(
            text=text,
            title="Thread",
            url=f"https://x.com/grace/status/{status}",
            source_url="https://x.com/grace/status/300",
        )

    thread = [tweet("1. Write the test first.", 301), tweet("2. Read code daily.", 301)]
    thread.append(tweet("3. Keep a work log.", 302))
    assert await store.import_takeaways(thread) == ImportResult(3, 0, 0)
    assert await store.import_takeaways(thread) == ImportResult(0, 0, 3)
    edited = [thread[0], tweet("2. Read code every day.", 301), thread[2]]
    assert await store.import_takeaways(edited) == ImportResult(0, 1, 2)
    assert [t.text async for t in store.export()] == [t.text for t in edited]


async def test_a_kindle_range_edit_updates_in_place(store: Store) -> None:
    await store.import_takeaways(
        [book("Don't live with broken windows.", location="Location 300-301")]
    )
    longer = book("Don't live with broken windows. Fix each one.", location="Location 300-305")
    assert await store.import_takeaways([longer]) == ImportResult(0, 1, 0)
    elsewhere = book("Another highlight.", location="Location 3000-3001")
    assert await store.import_takeaways([elsewhere]) == ImportResult(1, 0, 0)
    assert await count(store, "takeaways") == 2


async def test_a_link_to_the_source_itself_does_not_identify_a_highlight(store: Store) -> None:
    def post(text: str, location: str) -> Takeaway:
        link = "https://example.com/post"
        return Takeaway(text=text, location=location, url=link, source_url=link)

    await store.import_takeaways([post("First idea.", "p. 1")])
    result = await store.import_takeaways(
        [post("First idea, edited.", "p. 1"), post("Second idea.", "p. 2")]
    )
    assert result == ImportResult(new=1, updated=1, unchanged=0)


async def test_without_link_or_location_the_text_is_the_identity(store: Store) -> None:
    await store.import_takeaways([book("A  plain   thought.")])
    # Spacing and case do not make it a different highlight ...
    assert await store.import_takeaways([book("a plain thought.")]) == ImportResult(0, 1, 0)
    # ... but different words do.
    assert await store.import_takeaways([book("Another thought.")]) == ImportResult(1, 0, 0)


async def test_duplicates_within_one_import_count_once_and_the_last_wins(store: Store) -> None:
    result = await store.import_takeaways(
        [book("Draft.", 5), book("Final.", 5), book("draft.", 5, note="later"), book("Other.", 6)]
    )
    assert result == ImportResult(new=3, updated=0, unchanged=0, merged=1)
    rows = await store.db.execute_fetchall("SELECT text, note FROM takeaways ORDER BY id")
    assert [tuple(row) for row in rows] == [("draft.", "later"), ("Final.", None), ("Other.", None)]


async def test_sources_are_keyed_by_normalised_title_and_author_or_url(store: Store) -> None:
    await store.import_takeaways(
        [
            book("One.", 1, title="Atomic Habits", author="James Clear"),
            book("Two.", 2, title="  atomic   HABITS ", author="james clear"),
            book("Three.", 3, title="Atomic Habits", author="Someone Else"),
            book("Four.", 4, title="Atomic Habits", source_url="https://example.com/ah"),
        ]
    )
    assert await count(store, "sources") == 3
    # Same location in a different source is a different highlight.
    result = await store.import_takeaways([book("One, elsewhere.", 1, title="Deep Work")])
    assert result == ImportResult(new=1, updated=0, unchanged=0)


async def test_a_renamed_source_is_searchable_by_its_new_title(store: Store) -> None:
    link = "https://example.com/essay"
    await store.import_takeaways(
        [Takeaway(text="Think slowly.", title="Draft name", source_url=link)]
    )
    assert len(await store.search("draft")) == 1
    await store.import_takeaways(
        [Takeaway(text="Think slowly.", title="Final name", source_url=link)]
    )
    assert await store.search("draft") == []
    [hit] = await store.search("final name")
    assert hit.item.takeaway.title == "Final name"
    # Fields the new export leaves out are kept, not erased.
    await store.import_takeaways([Takeaway(text="Think slowly.", source_url=link)])
    item = await store.get_takeaway(hit.item.id)
    assert item is not None and item.takeaway.title == "Final name"


async def test_mark_characters_are_stripped_on_import(store: Store) -> None:
    raw = f"Bold {MARK_START}claims{MARK_END} need\x00 evidence."
    await store.import_takeaways([book(raw, 1, note=f"n{MARK_START}ote")])
    [item] = [t async for t in store.export()]
    assert item.text == "Bold claims need evidence."
    assert item.note == "note"
    [hit] = await store.search("claims")
    assert hit.marked_text == f"Bold {MARK_START}claims{MARK_END} need evidence."


async def test_ids_are_never_reused(store: Store) -> None:
    await store.import_takeaways([book("One.", 1), book("Two.", 2), book("Three.", 3)])
    assert await store.max_takeaway_id() == 3
    await store.db.execute("DELETE FROM takeaways WHERE id = 3")
    assert await store.max_takeaway_id() == 2
    await store.import_takeaways([book("Four.", 4)])
    assert await column(store, "SELECT id FROM takeaways ORDER BY id") == [1, 2, 4]
    assert await count(store, "takeaways_fts") == 3


async def test_concurrent_imports_take_turns(store: Store) -> None:
    batches = [[book(f"Idea {b}-{i}.", i, title=f"Book {b}") for i in range(50)] for b in range(4)]
    results = await asyncio.gather(*(store.import_takeaways(batch) for batch in batches))
    assert all(result == ImportResult(50, 0, 0) for result in results)
    assert await count(store, "takeaways") == await count(store, "takeaways_fts") == 200


# --- all or nothing ---------------------------------------------------------------


async def _assert_untouched_by(store: Store, failing_import: Any, error: type[Exception]) -> None:
    await store.import_takeaways(BOOK)
    before = await snapshot(store)
    with pytest.raises(error):
        await failing_import()
    assert not store.db.in_transaction
    assert await snapshot(store) == before
    # The store is still usable, and the failed import used up no ids.
    assert await store.import_takeaways([book("After.", 99)]) == ImportResult(1, 0, 0)
    assert await store.max_takeaway_id() == len(BOOK) + 1


async def test_invalid_input_fails_before_writing(store: Store) -> None:
    bad = Takeaway(text=None)  # type: ignore[arg-type]
    items = [*THREAD, book("New.", 40), bad, book("Later.", 50)]
    await _assert_untouched_by(store, lambda: store.import_takeaways(items), TypeError)


async def test_a_database_error_midway_rolls_everything_back(store: Store) -> None:
    # Binding an object fails inside executemany, after sources were written.
    bad = book("Unstorable.", 60, highlighted_at=object())
    edited = book("Habits are the compound interest of everything.", 30, tags=("a", "b"))
    items = [*THREAD, edited, book("New.", 40), bad]
    await _assert_untouched_by(
        store, lambda: store.import_takeaways(items), sqlite3.ProgrammingError
    )


@pytest.mark.parametrize("fail_on", ["INSERT INTO takeaways_fts", "UPDATE takeaways"])
async def test_a_failure_after_rows_were_written_rolls_them_back(
    store: Store, monkeypatch: pytest.MonkeyPatch, fail_on: str
) -> None:
    real_execute, real_executemany = store.db.execute, store.db.executemany

    def failing(real: Any) -> Any:
        def wrapper(sql: str, *args: Any) -> Any:
            if sql.startswith(fail_on):
                raise RuntimeError("disk on fire")
            return real(sql, *args)

        return wrapper

    edited = book(
        "Habits are the compound interest of self-improvement, and of everything.",
        30,
        tags=("a", "b"),
    )
    items = [*THREAD, book("New.", 40), edited]

    async def run() -> None:
        monkeypatch.setattr(store.db, "execute", failing(real_execute))
        monkeypatch.setattr(store.db, "executemany", failing(real_executemany))
        try:
            await store.import_takeaways(items)
        finally:
            monkeypatch.undo()

    await _assert_untouched_by(store, run, RuntimeError)


async def test_store_transaction_rolls_back_and_reraises(store: Store) -> None:
    await store.import_takeaways(BOOK)
    with pytest.raises(ValueError, match="nope"):
        async with store.transaction() as db:
            await db.execute("DELETE FROM takeaways")
            raise ValueError("nope")
    assert await count(store, "takeaways") == len(BOOK)


async def test_transactions_do_not_nest_and_do_not_hang(store: Store) -> None:
    async with store.transaction():
        with pytest.raises(RuntimeError, match="does not nest"):
            async with store.transaction():
                pass
        with pytest.raises(RuntimeError, match="does not nest"):
            await store.import_takeaways(BOOK)
        assert store.db.in_transaction
    assert not store.db.in_transaction
    assert await store.import_takeaways(BOOK) == ImportResult(3, 0, 0)


async def old_format(store: Store) -> None:
    """Turn the store into one written before idents told texts at one place apart.

    Back then a located takeaway's ident was its source's digest and its place's digest
    alone: exactly the first 32 characters of today's (place, then text).
    """
    await store.db.execute(
        "UPDATE takeaways SET ident = substr(ident, 1, 32) WHERE location IS NOT NULL"
    )
    await store.db.commit()


async def test_a_database_of_the_old_identity_format_is_moved_over_without_duplicates(
    store: Store,
) -> None:
    await store.import_takeaways([book("Habits compound.", 10), book("Systems win.", 20)])
    await old_format(store)
    ids = await column(store, "SELECT id FROM takeaways ORDER BY id")

    # The old format kept one row per location: the second text at 10 had been lost.
    again = [book("Habits compound.", 10), book("Identity first.", 10), book("Systems win.", 20)]
    assert await store.import_takeaways(again) == ImportResult(new=1, updated=0, unchanged=2)

    assert await column(store, "SELECT id FROM takeaways ORDER BY id LIMIT 2") == ids
    assert await column(store, "SELECT count(*) FROM takeaways WHERE length(ident) <> 48") == [0]
    assert await store.import_takeaways(again) == ImportResult(0, 0, 3)


async def test_an_old_format_row_is_taken_by_the_text_now_at_its_place(store: Store) -> None:
    # Old idents meant "the highlight at this location": a text edited beyond recognition
    # there updated the row, and still does once, rather than adding a second row.
    await store.import_takeaways([book("Draft wording.", 10)])
    await old_format(store)
    [old_id] = await column(store, "SELECT id FROM takeaways")

    assert await store.import_takeaways([book("Final wording.", 10)]) == ImportResult(0, 1, 0)
    assert await column(store, "SELECT id, text FROM takeaways") == [old_id]
    assert await column(store, "SELECT text FROM takeaways") == ["Final wording."]


async def test_idents_trading_places_within_one_batch_keep_every_row(store: Store) -> None:
    # The stored "P q." is extended by the first file; the second gives both versions:
    # the row moves to the new ident while the old ident is taken by a new row.
    await store.import_takeaways([book("P q.", 10)])
    [old_id] = await column(store, "SELECT id FROM takeaways")
    first = prepare([book("P q, r.", 10)])
    second = prepare([book("P q.", 10), book("P q, r.", 10)])
    async with store.transaction() as db:
        result = await write_batch(db, [first, second])
    assert result.results == [ImportResult(0, 1, 0), ImportResult(1, 0, 1)]
    rows = await store.db.execute_fetchall("SELECT id, text FROM takeaways ORDER BY id")
    assert [tuple(row) for row in rows] == [(old_id, "P q, r."), (old_id + 1, "P q.")]
    assert await store.import_takeaways([book("P q.", 10), book("P q, r.", 10)]) == (
        ImportResult(0, 0, 2)
    )
