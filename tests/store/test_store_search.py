"""Search: ranking, prefixes, marks, and no query a person types can break it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import book

from bot.sources.model import Takeaway
from bot.store import MARK_END, MARK_START, SearchHit, Store
from bot.store import search as search_module
from bot.store.migrations import MIGRATIONS, split_statements
from bot.store.search import MAX_TOKENS, match_expression, query_tokens

LIBRARY = [
    book("Habits are the compound interest of self-improvement.", 1),
    book("Focus on systems, not goals. Systems build habits, habits build systems.", 2),
    book("Motivation is overrated; environment often matters more.", 3, note="habit design"),
    book("Deep work is rare and valuable.", 4, title="Deep Work", author="Cal Newport"),
    book("Le café est prêt.", 5, title="Carnet", author="Anonyme"),
    book("Attention is the new currency.", 6, title="Stolen Focus", author="Johann Hari"),
]


@pytest.fixture
async def library(store: Store) -> Store:
    await store.import_takeaways(LIBRARY)
    return store


def _texts(hits: Sequence[SearchHit]) -> list[str]:
    return [hit.item.takeaway.text for hit in hits]


async def test_all_words_must_match(library: Store) -> None:
    assert _texts(await library.search("systems goals")) == [LIBRARY[1].text]
    assert await library.search("systems café") == []


async def test_the_last_word_is_a_prefix_and_only_the_last(library: Store) -> None:
    assert set(_texts(await library.search("habi"))) == {
        LIBRARY[0].text,
        LIBRARY[1].text,
        LIBRARY[2].text,  # through its note
    }
    assert await library.search("habi compound") == []
    assert _texts(await library.search("compound habi")) == [LIBRARY[0].text]


async def test_ranking_prefers_text_and_repetition(library: Store) -> None:
    # "habits" twice in [1], once in [0]; [2] only has "habit" in its note.
    assert _texts(await library.search("habit")) == [
        t.text for t in (LIBRARY[1], LIBRARY[0], LIBRARY[2])
    ]
    hits = await library.search("focus")
    # Text mention beats a mention in the title.
    assert _texts(hits) == [LIBRARY[1].text, LIBRARY[5].text]
    assert hits[0].rank < hits[1].rank  # bm25: more negative is better


async def test_matched_words_are_marked(library: Store) -> None:
    [hit] = await library.search("compound inter")
    assert hit.marked_text == (
        f"Habits are the {MARK_START}compound{MARK_END} {MARK_START}interest{MARK_END}"
        " of self-improvement."
    )
    assert hit.marked_text.replace(MARK_START, "").replace(MARK_END, "") == LIBRARY[0].text


async def test_note_title_and_author_are_searchable(library: Store) -> None:
    [by_note] = await library.search("design")
    assert by_note.item.takeaway.note == "habit design"
    assert MARK_START not in by_note.marked_text  # the match is not in the text
    assert _texts(await library.search("newport")) == [LIBRARY[3].text]
    assert _texts(await library.search("deep work cal")) == [LIBRARY[3].text]


async def test_diacritics_and_case_are_ignored(library: Store) -> None:
    assert _texts(await library.search("CAFE PRET")) == [LIBRARY[4].text]
    assert _texts(await library.search("prêt")) == [LIBRARY[4].text]


async def test_paging_and_counting(store: Store) -> None:
    await store.import_takeaways([book(f"Lesson number {i} about focus.", i) for i in range(12)])
    assert await store.count_matches("focus") == 12
    pages = [await store.search("focus", limit=5, offset=offset) for offset in (0, 5, 10, 15)]
    assert [len(page) for page in pages] == [5, 5, 2, 0]
    ids = [hit.item.id for page in pages for hit in page]
    assert sorted(ids) == list(range(1, 13))
    assert await store.search("focus", limit=0) == []
    assert len(await store.search("focus", limit=5, offset=-3)) == 5


async def test_no_words_means_no_query(library: Store) -> None:
    statements: list[str] = []
    await library.db.set_trace_callback(statements.append)
    assert await library.search("  ?!… 🙂 ") == []
    assert await library.count_matches("***") == 0
    await library.db.set_trace_callback(None)  # type: ignore[arg-type]
    assert statements == []


HOSTILE = [
    '"',
    '""',
    "'",
    "*",
    "**",
    "habit*",
    "*habit",
    "NEAR(a b)",
    "NEAR(habits systems, 2)",
    "a OR",
    "OR",
    "AND",
    "NOT",
    "habits NOT systems",
    "habits AND OR NOT",
    "-x",
    "-habits",
    "^",
    "^habits",
    "col:val",
    "text:habits",
    "title:deep",
    "{text note}: habits",
    "(habits",
    "habits)",
    "((()))",
    "'; DROP TABLE takeaways; --",
    '" OR 1=1 --',
    "🙂",
    "habits 🙂",
    "👩‍👩‍👧‍👦 family",
    "x" * 3000,
    "habits " * 500,
    "a\x00b",
    "\x00",
    f"{MARK_START}habits{MARK_END}",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?`~",
    "\u0301\u0301",
    "नमस्ते दुनिया",
    "漢字かな交じり文",
    "\ud800",
    "\n\t\r",
    "",
]


@pytest.mark.parametrize("query", HOSTILE)
async def test_hostile_queries_never_raise(library: Store, query: str) -> None:
    hits = await library.search(query)
    assert isinstance(hits, list)
    assert isinstance(await library.count_matches(query), int)
    assert await library.search(query, limit=3, offset=2) is not None


async def test_the_database_survives_hostile_queries(library: Store) -> None:
    for query in HOSTILE:
        await library.search(query)
    assert (await library.stats()).takeaways == len(LIBRARY)
    assert len(await library.search("habits")) == 3  # two texts and a note ("habit"*)


def test_query_tokens() -> None:
    assert query_tokens("Hello, World! it's") == ["hello", "world", "it", "s"]
    assert query_tokens('NEAR("a" b)') == ["near", "a", "b"]
    assert query_tokens("e\u0301cole") == ["école"]
    assert query_tokens("नमस्ते") == ["नमस्ते"]
    assert query_tokens("🙂 ... ") == []
    assert len(query_tokens("w " * 100)) == MAX_TOKENS
    assert match_expression("the habit") == '"the" "habit"*'
    assert match_expression("?!") is None


# --- property tests -------------------------------------------------------------


@pytest.fixture(scope="module")
def fts_memory() -> Iterator[sqlite3.Connection]:
    """The real schema in memory, so thousands of queries run in a second."""
    conn = sqlite3.connect(":memory:")
    for migration in MIGRATIONS:
        for statement in split_statements(migration):
            conn.execute(statement)
    conn.execute("INSERT INTO sources (key, title, created_at) VALUES ('k', 'T', 'now')")
    conn.execute(
        "INSERT INTO takeaways (source_id, ident, text, content_hash, created_at, updated_at)"
        " VALUES (1, 'i', 'habits and systems', 'h', 'now', 'now')"
    )
    conn.execute(
        "INSERT INTO takeaways_fts (rowid, text, title) VALUES (1, 'habits and systems', 'T')"
    )
    yield conn
    conn.close()


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_any_text_makes_a_valid_match_expression(
    fts_memory: sqlite3.Connection, query: str
) -> None:
    expression = match_expression(query)
    if expression is None:
        return
    fts_memory.execute(
        "SELECT rowid, highlight(takeaways_fts, 0, ?, ?) FROM takeaways_fts"
        " WHERE takeaways_fts MATCH ? ORDER BY rank LIMIT 5",
        (MARK_START, MARK_END, expression),
    ).fetchall()


@pytest.fixture(scope="module")
def running_store(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[asyncio.Runner, Store]]:
    """One store on one private event loop, shared by every hypothesis example."""
    path: Path = tmp_path_factory.mktemp("search") / "takeaways.db"
    with asyncio.Runner() as runner:
        store = runner.run(Store.open(path))
        runner.run(store.import_takeaways(LIBRARY))
        yield runner, store
        runner.run(store.close())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=st.text(max_size=300), offset=st.integers(-5, 20), limit=st.integers(-5, 20))
def test_search_never_raises(
    running_store: tuple[asyncio.Runner, Store], query: str, offset: int, limit: int
) -> None:
    runner, store = running_store
    hits = runner.run(store.search(query, limit=limit, offset=offset))
    assert len(hits) <= max(limit, 0)
    for hit in hits:
        plain = hit.marked_text.replace(MARK_START, "").replace(MARK_END, "")
        assert plain == hit.item.takeaway.text
    assert runner.run(store.count_matches(query)) >= len(hits)


async def test_takeaway_without_title_or_author_is_found(store: Store) -> None:
    await store.import_takeaways([Takeaway(text="Orphan thought about gardens.")])
    [hit] = await store.search("garden")
    assert hit.item.takeaway.title is None and hit.item.takeaway.author is None


async def test_paging_a_window_smaller_than_the_matches(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages are consistent within the window: the best of the newest ten, five by five.
    monkeypatch.setattr(search_module, "WINDOW", 10)
    monkeypatch.setattr(search_module, "MAX_WINDOW", 20)
    await store.import_takeaways([book(f"Lesson number {i} about focus.", i) for i in range(12)])
    pages = [await store.search("focus", limit=5, offset=offset) for offset in (0, 5, 10, 15)]
    assert [len(page) for page in pages] == [5, 5, 2, 0]
    ids = [hit.item.id for page in pages[:2] for hit in page]
    assert sorted(ids) == list(range(3, 13))
    # A short window is widened rather than giving fewer results than there are.
    monkeypatch.setattr(search_module, "WINDOW", 2)
    assert len(await store.search("focus", limit=5)) == 5


async def test_words_beyond_the_rank_budget_still_have_to_match(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.import_takeaways(
        [book(f"Common word {i}.", i) for i in range(20)]
        + [book("Common and rare.", 20), book("Rare alone.", 21), book("Rare, rare.", 22)]
    )
    monkeypatch.setattr(search_module, "WINDOW", 2)
    monkeypatch.setattr(search_module, "RANK_BUDGET", 2)  # "rare" fits, "common" does not
    assert _texts(await store.search("common rare")) == ["Common and rare."]
    # Nothing fits: every word only has to match, newest first.
    monkeypatch.setattr(search_module, "RANK_BUDGET", 1)
    hits = await store.search("common", limit=3)
    assert [hit.item.id for hit in hits] == [21, 20, 19]
    assert {hit.rank for hit in hits} == {0.0}
    # Ranked again, best first: "rare" twice beats once.
    monkeypatch.setattr(search_module, "RANK_BUDGET", 100)
    assert _texts(await store.search("rare", limit=1)) == ["Rare, rare."]


async def test_one_or_two_latin_letters_are_no_prefix(library: Store) -> None:
    assert await library.search("ha") == []
    assert len(await library.search("hab")) == 3
    assert match_expression("systems ha") == '"systems" "ha"'


async def test_a_word_common_enough_is_taken_as_typed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "WINDOW", 2)
    await store.import_takeaways(
        [book("Habit one.", 1), book("Habit two.", 2), book("Habits three.", 3)]
    )
    # "habit" matches a whole window by itself: not expanded to "habits".
    assert _texts(await store.search("habit")) == ["Habit one.", "Habit two."]
    monkeypatch.setattr(search_module, "WINDOW", 5)
    assert len(await store.search("habit")) == 3
