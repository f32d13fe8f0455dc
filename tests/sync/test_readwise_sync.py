"""The Readwise sync end to end: the real client over HTTP against a local fake of
Readwise's API, the real mapping and import path, a real SQLite file."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.importer import import_paths
from bot.sources import parse_path
from bot.store import Store, personal
from bot.store import chats as chat_db
from bot.store import sync as sync_db
from bot.sync import ReadwiseClient, SyncSummary, sync_readwise
from bot.sync.client import MAX_ATTEMPTS
from tests.sync.readwise_fake import FakeBook, FakeReadwise, iter_requests

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "bot" / "samples" / "svpino-16-ml-takeaways.md"
FIXTURES = ROOT / "tests" / "fixtures" / "sources"
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def readwise(clock: ManualClock) -> Iterator[FakeReadwise]:
    with FakeReadwise(clock) as fake:
        yield fake


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "takeaways.db") as opened:
        yield opened


class Sleeps:
    """Records the client's waits instead of sleeping them (time is an input)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def run_sync(
    store: Store,
    readwise: FakeReadwise,
    clock: ManualClock,
    sleeps: Sleeps | None = None,
    token: str | None = None,
) -> SyncSummary:
    async with ReadwiseClient(
        token or readwise.token, readwise.url, sleep=sleeps or Sleeps()
    ) as client:
        return await sync_readwise(store, client, clock)


async def texts(store: Store) -> list[str]:
    rows = await store.db.execute_fetchall("SELECT text FROM takeaways ORDER BY id")
    return [str(row[0]) for row in rows]


async def idents(store: Store) -> dict[str, int]:
    rows = await store.db.execute_fetchall("SELECT ident, id FROM takeaways")
    return {str(row[0]): int(row[1]) for row in rows}


# --- the svpino sample: the same highlights the bundled Logseq export holds ---------------

_TRAILING = re.compile(r"\s*\(\[View Tweet\]\((?P<url>\S+)\)\)\s*$")


def sample_highlights() -> list[tuple[str, str, str]]:
    """(text, tweet URL, note) of each highlight block in the bundled Logseq sample, as
    Readwise holds them (without the link its export appends)."""
    blocks: list[list[str]] = []
    notes: dict[int, str] = {}
    for line in SAMPLE.read_text().split("\n"):
        if line.startswith("\t- "):
            blocks.append([line[3:]])
        elif line.startswith("\t\t- **Note**: "):
            notes[len(blocks) - 1] = line[len("\t\t- **Note**: ") :]
        elif line.startswith("\t  ") and blocks:
            blocks[-1].append(line[3:])
        elif line.strip() == "" and blocks and line.startswith("\t"):
            blocks[-1].append("")
    result = []
    for index, lines in enumerate(blocks):
        text = "\n".join(lines).strip()
        match = _TRAILING.search(text)
        assert match is not None, text
        result.append((text[: match.start()], match["url"], notes.get(index, "")))
    return result


def add_sample(readwise: FakeReadwise) -> FakeBook:
    book = readwise.add_book(
        FakeBook(
            user_book_id=9001,
            title="16 Key Takeaways About S...",
            author="@svpino on Twitter",
            category="tweets",
            source_url="https://twitter.com/svpino/status/1379809581698854912",
            source="twitter",
        )
    )
    for index, (text, url, note) in enumerate(sample_highlights()):
        readwise.highlight(book, 500 + index, text, url=url, note=note, location=index + 1)
        readwise.highlights[500 + index].location_type = "order"
    return book


async def test_a_sync_gives_what_the_file_export_gives_and_the_file_adds_no_copies(
    store: Store, readwise: FakeReadwise, clock: ManualClock
) -> None:
    add_sample(readwise)
    summary = await run_sync(store, readwise, clock)
    assert summary.ok and summary.full
    assert (summary.new, summary.updated, summary.deleted) == (16, 0, 0)
    from_file = parse_path(SAMPLE)
    assert await texts(store) == [t.text for t in from_file]
    stored = {t.text: t for t in [item async for item in store.export()]}
    for takeaway in from_file:
        assert stored[takeaway.text].url == takeaway.url
        assert stored[takeaway.text].note == takeaway.note
    before = await idents(store)

    result = await import_paths(store, [SAMPLE])
    assert result.new == 0 and not result.failed
    assert await idents(store) == before


async def test_kindle_and_reader_highlights_match_their_markdown_and_logseq_exports(
    store: Store, readwise: FakeReadwise, clock: ManualClock
) -> None:
    kindle = readwise.add_book(
        FakeBook(
            user_book_id=1,
            title="How to Take Smart Notes: One Simple Technique to Boost Writing, "
            "Learning and Thinking",
            author="Sönke Ahrens",
            asin="B06WVYW33Y",
        )
    )
    readwise.highlight(
        kindle,
        1,
        "The quality of a paper or a book depends on what happens before the writing.",
        location=118,
        tags=["writing", "process"],
        note="Writing starts long before the draft.",
    )
    readwise.highlight(
        kindle,
        2,
        "Having a clear structure to work in is completely different from making plans "
        "about something.\nThe structure stays, the plans change.",
        location=201,
    )
    readwise.highlight(kindle, 3, "Read with a pen in hand.", location=1234)
    readwise.highlight(kindle, 4, "The slip-box is not a collection of notes.", location=1300)
    reader = readwise.add_book(
        FakeBook(
            user_book_id=2,
            title="Deep Work: Rules for Focused Success in a Distracted World",
            author="Cal Newport",
            source="reader",
        )
    )
    readwise.highlight(
        reader,
        10,
        "Who you are, what you think, feel, and do, what you love—is the sum of what you focus on.",
        url="https://read.readwise.io/read/01gjabc",
        location_type="offset",
        location=4000,
    )
    # A heading and a highlight thrown away in Readwise's review are no takeaways.
    readwise.highlight(kindle, 5, "Chapter 2", location=1400, tags=["h2"])
    readwise.highlight(kindle, 6, "Discarded in review.", location=1500, is_discard=True)

    summary = await run_sync(store, readwise, clock)
    assert (summary.new, summary.left_out) == (5, 2)
    assert "Chapter 2" not in await texts(store)
    before = await idents(store)

    result = await import_paths(store, [FIXTURES / "markdown-book.md"])
    assert (result.new, len(result.failed)) == (0, 0)
    # The Logseq page holds this Reader highlight among others that Readwise does not
    # have here: only those are new.
    result = await import_paths(store, [FIXTURES / "logseq-book.md"])
    logseq_texts = [t.text for t in parse_path(FIXTURES / "logseq-book.md")]
    assert result.new == len(logseq_texts) - 1
    after = await idents(store)
    assert {k: v for k, v in after.items() if k in before} == before


async def test_edits_and_deletes_flow_in_and_marks_stay_where_the_takeaway_stays(
    store: Store, readwise: FakeReadwise, clock: ManualClock
) -> None:
    book = readwise.add_book(FakeBook(user_book_id=7, title="Antifragile", asin="B0083DJWGO"))
    for hid, location in ((1, 10), (2, 20), (3, 30), (4, 40), (5, 50)):
        readwise.highlight(book, hid, f"Highlight number {hid} about ravens", location=location)
    other = readwise.add_book(FakeBook(user_book_id=8, title="Untouched"))
    readwise.highlight(other, 99, "A highlight nobody changes", location_type="none")
    clock.advance(minutes=10)
    first = await run_sync(store, readwise, clock)
    assert first.new == 6
    ids = {
        text: tid
        for tid, text in (await store.db.execute_fetchall("SELECT id, text FROM takeaways"))
    }
    async with store.transaction() as db:
        await chat_db.ensure_chat(
            db, 42, kind="private", title=None, delivery_time="09:00", timezone="UTC"
        )
        await personal.set_favorite(db, 42, ids["Highlight number 1 about ravens"], True, 1)
        await personal.set_favorite(db, 42, ids["Highlight number 2 about ravens"], True, 1)
        await personal.set_discarded(db, 42, ids["Highlight number 3 about ravens"], True, 1)

    clock.advance(hours=1)
    readwise.edit(1, text="Highlight number 1 about crows, edited")
    readwise.delete(2)
    readwise.edit(3, is_discard=True)
    readwise.edit(4, tags=["h1"])
    readwise.highlight(book, 6, "A new highlight about owls", location=60)
    clock.advance(minutes=5)
    second = await run_sync(store, readwise, clock)

    assert second.ok and not second.full
    assert (second.new, second.updated, second.deleted) == (1, 1, 3)
    exports = list(iter_requests(readwise, "/api/v2/export/"))
    # Exactly the start of the last successful sync.
    assert first.started_at == "2026-03-02T06:10:00Z"
    assert exports[-2]["updatedAfter"] == "2026-03-02T06:10:00Z"
    assert exports[-1]["ids"] == "7"  # the changed book, fetched again whole
    assert "8" not in exports[-1]["ids"].split(",")
    now = {
        text: tid
        for tid, text in (await store.db.execute_fetchall("SELECT id, text FROM takeaways"))
    }
    assert now["Highlight number 1 about crows, edited"] == ids["Highlight number 1 about ravens"]
    assert set(now) == {
        "Highlight number 1 about crows, edited",
        "Highlight number 5 about ravens",
        "A highlight nobody changes",
        "A new highlight about owls",
    }
    marks = await personal.marks(store.db, 42, list(ids.values()))
    assert marks.favorites == {ids["Highlight number 1 about ravens"]}
    assert marks.discarded == frozenset()
    rows = await store.db.execute_fetchall("SELECT count(*) FROM favorites")
    assert next(iter(rows))[0] == 1
    assert [h.item.takeaway.text for h in await store.search("crows")] == [
        "Highlight number 1 about crows, edited"
    ]
    assert await store.search("ravens number 2") == []
    assert await store.search("ravens number 4") == []

    # Nothing changed since: one request, nothing written.
    clock.advance(hours=1)
    third = await run_sync(store, readwise, clock)
    assert (third.new, third.updated, third.deleted, third.books) == (0, 0, 0, 0)


async def test_pages_are_followed_by_their_cursors(
    store: Store, readwise: FakeReadwise, clock: ManualClock
) -> None:
    for number in range(1, 6):
        book = readwise.add_book(FakeBook(user_book_id=number, title=f"Book {number}"))
        readwise.highlight(book, number * 10, f"Only highlight of book {number}", location=1)
    summary = await run_sync(store, readwise, clock)
    assert (summary.books, summary.new) == (5, 5)
    cursors = [p.get("pageCursor") for p in iter_requests(readwise, "/api/v2/export/")]
    assert cursors == [None, "2", "4"]
    assert all(p["includeDeleted"] == "true" for p in iter_requests(readwise, "/api/v2/export/"))


async def test_a_refused_token_writes_nothing_and_is_never_shown(
    store: Store, readwise: FakeReadwise, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    add_sample(readwise)
    secret = "wrong-token-with-a-secret-value-4711"
    with caplog.at_level(logging.DEBUG):
        summary = await run_sync(store, readwise, clock, token=secret)
    assert not summary.ok and summary.token_refused
    assert summary.error is not None and "401" in summary.error
    assert secret not in summary.error and secret not in caplog.text
    assert await texts(store) == []
    assert await sync_db.sync_point(store.db) is None
    saved = await sync_db.last_sync(store.db)
    assert saved is not None and saved["ok"] is False


async def test_429_waits_as_told_and_5xx_backs_off(
    store: Store, readwise: FakeReadwise, clock: ManualClock
) -> None:
    add_sample(readwise)
    readwise.faults.rate_limited = 2
    readwise.faults.retry_after = "7"
    sleeps = Sleeps()
    summary = await run_sync(store, readwise, clock, sleeps)
    assert summary.ok and summary.new == 16
    assert sleeps.waits == [7.0, 7.0]

    clock.advance(hours=1)
    # The tweet holding items 1 and 2 of the thread: both takeaways take the note.
    readwise.edit(501, note="Two at once")
    readwise.faults.server_errors = 3
    sleeps = Sleeps()
    summary = await run_sync(store, readwise, clock, sleeps)
    assert summary.ok and (summary.updated, summary.unchanged) == (2, 14)
    assert sleeps.waits == [1.0, 2.0, 4.0]


async def test_a_page_cut_off_half_way_is_fetched_again(
    store: Store, readwise: FakeReadwise, clock: ManualClock
) -> None:
    for number in range(1, 6):
        book = readwise.add_book(FakeBook(user_book_id=number, title=f"Book {number}"))
        readwise.highlight(book, number, f"Highlight of book {number}", location=1)
    readwise.faults.cut_pages = {2}
    sleeps = Sleeps()
    summary = await run_sync(store, readwise, clock, sleeps)
    assert summary.ok and summary.new == 5
    assert sleeps.waits == [1.0]
    assert len(await texts(store)) == 5


async def test_an_interrupted_sync_resumes_without_losing_or_doubling(
    store: Store, readwise: FakeReadwise, clock: ManualClock, tmp_path: Path
) -> None:
    for number in range(1, 8):
        book = readwise.add_book(FakeBook(user_book_id=number, title=f"Book {number}"))
        for k in range(3):
            readwise.highlight(book, number * 10 + k, f"Highlight {k} of book {number}", location=k)
    # The second page fails every time it is asked for: the sync gives up there.
    readwise.faults.cut_pages = set(range(2, 2 + MAX_ATTEMPTS))
    broken = await run_sync(store, readwise, clock)
    assert not broken.ok and broken.error is not None
    assert broken.new == 6  # the first page (2 books) is in, and stays in
    assert len(await texts(store)) == 6
    assert await sync_db.sync_point(store.db) is None

    clock.advance(minutes=10)
    readwise.delete(11)  # changes while we were down arrive too
    readwise.edit(20, text="Highlight 0 of book 2, edited")
    resumed = await run_sync(store, readwise, clock)
    assert resumed.ok and resumed.full
    assert await sync_db.sync_point(store.db) == resumed.started_at

    # The same as one clean sync of the account as it is now.
    async with await Store.open(tmp_path / "clean.db") as clean:
        await run_sync(clean, readwise, clock)
        assert sorted(await texts(store)) == sorted(await texts(clean))
        assert set(await idents(store)) == set(await idents(clean))
    assert len(await texts(store)) == 20


async def test_an_interrupted_incremental_sync_keeps_its_old_sync_point(
    store: Store, readwise: FakeReadwise, clock: ManualClock
) -> None:
    book = readwise.add_book(FakeBook(user_book_id=1, title="Book"))
    readwise.highlight(book, 1, "First", location=1)
    first = await run_sync(store, readwise, clock)
    clock.advance(hours=1)
    readwise.highlight(book, 2, "Second", location=2)
    readwise.faults.server_errors = MAX_ATTEMPTS
    failed = await run_sync(store, readwise, clock)
    assert not failed.ok
    assert await sync_db.sync_point(store.db) == first.started_at
    clock.advance(hours=1)
    again = await run_sync(store, readwise, clock)
    assert again.ok and again.new == 1
    assert sorted(await texts(store)) == ["First", "Second"]


async def test_an_older_version_stored_under_another_identity_goes_when_its_book_syncs(
    store: Store, readwise: FakeReadwise, clock: ManualClock
) -> None:
    # Whatever rule made a stored takeaway's identity (an older version of the bot, a
    # differently identified file), a row with this highlight's link that is not one of
    # the book's takeaways now is an earlier version of it.
    book = readwise.add_book(FakeBook(user_book_id=3, title="Walden", source="reader"))
    link = "https://read.readwise.io/read/01walden"
    readwise.highlight(book, 1, "Simplify, simplify.", url=link, location_type="offset")
    readwise.highlight(book, 2, "Kept as it is.", url=link + "2", location_type="offset")
    await run_sync(store, readwise, clock)
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO takeaways (source_id, ident, text, url, content_hash, created_at,"
            " updated_at) SELECT source_id, 'an-older-identity', 'Simplify.', url, 'x', '', ''"
            " FROM takeaways WHERE url = ?",
            (link,),
        )
    clock.advance(hours=1)
    readwise.edit(1, text="Simplify, simplify, simplify.")
    clock.advance(minutes=10)
    summary = await run_sync(store, readwise, clock)
    assert (summary.updated, summary.deleted, summary.unchanged) == (1, 1, 1)
    assert sorted(await texts(store)) == ["Kept as it is.", "Simplify, simplify, simplify."]
