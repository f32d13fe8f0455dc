"""The rule behind every import: whatever was parsed is stored or accounted for.

For any set of takeaways, an import stores every distinct one (two different texts at
one place are two takeaways), counts each of them once as new, updated or unchanged
and every other one as merged, and importing the same set again changes nothing.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.importer import import_paths
from bot.sources.model import Takeaway
from bot.store import ImportResult, Store

WORDS = ("alpha", "beta", "gamma", "delta")
texts = st.builds(
    lambda words, end, upper: (" ".join(words) + end).capitalize() if upper else " ".join(words),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),
    st.sampled_from(["", ".", ",", "!"]),
    st.booleans(),
)
takeaways = st.builds(
    Takeaway,
    text=texts,
    title=st.sampled_from(["A", "B"]),
    location=st.sampled_from([None, "Location 10-12", "Location 10-14", "Location 20", "page 3"]),
    url=st.sampled_from([None, None, "https://x.test/1", "https://x.test/2"]),
    note=st.sampled_from([None, "a note"]),
)
batches = st.lists(st.lists(takeaways, max_size=12), min_size=1, max_size=3)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def normal(text: str) -> str:
    return " ".join(text.split()).lower()


async def stored(store: Store) -> set[tuple[str, str]]:
    rows = await store.db.execute_fetchall(
        "SELECT s.title, t.text FROM takeaways AS t JOIN sources AS s ON s.id = t.source_id"
    )
    return {(row[0], normal(row[1])) for row in rows}


async def row_count(store: Store) -> int:
    rows = list(await store.db.execute_fetchall("SELECT count(*) FROM takeaways"))
    return int(rows[0][0])


@PROPERTY
@given(imports=batches)
def test_every_distinct_takeaway_is_stored_and_the_counts_add_up(
    imports: list[list[Takeaway]],
) -> None:
    async def check(path: Path) -> None:
        async with await Store.open(path) as store:
            for items in imports:
                before = await row_count(store)
                result = await store.import_takeaways(items)
                counted = result.new + result.updated + result.unchanged + result.merged
                assert counted == len(items)
                assert await row_count(store) == before + result.new
                assert {(t.title, normal(t.text)) for t in items} <= await stored(store)
                again = await store.import_takeaways(items)
                assert again == ImportResult(0, 0, result.total, result.merged)

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(check(Path(folder) / "t.db"))


CLIP = "{title} (Author)\n- Your {kind} on Location {start}-{end} | Added on May {day}, 2020\n\n"
clips = st.lists(
    st.tuples(
        st.sampled_from(["Book", "Other"]),
        st.sampled_from(["Highlight", "Highlight", "Note", "Bookmark"]),
        st.integers(1, 30),
        st.integers(0, 3),
        st.one_of(
            texts,
            st.just(""),
            st.just("<You have reached the clipping limit for this item>"),
        ),
    ),
    min_size=1,
    max_size=25,
)


@PROPERTY
@given(clips=clips)
def test_every_kindle_clip_is_stored_merged_or_skipped(
    clips: list[tuple[str, str, int, int, str]],
) -> None:
    text = "".join(
        CLIP.format(title=title, kind=kind, start=start, end=start + length, day=1 + index % 28)
        + f"{body}\n==========\n"
        for index, (title, kind, start, length, body) in enumerate(clips)
    )

    async def check(folder: Path) -> None:
        (folder / "My Clippings.txt").write_text(text, encoding="utf-8")
        async with await Store.open(folder / "t.db") as store:
            summary = await import_paths(store, [folder / "My Clippings.txt"])
            if summary.failed:  # only when nothing at all is left to import
                assert summary.failed[0].endswith("no takeaways found (read as kindle)")
                return
            (result,) = summary.per_file
            assert result.parsed == len(clips)
            left_out = sum(result.merged.values()) + sum(result.skipped.values())
            assert result.parsed == result.new + left_out
            assert await row_count(store) == result.new
            again = await import_paths(store, [folder / "My Clippings.txt"])
            assert (again.new, again.updated, again.unchanged) == (0, 0, result.new)

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(check(Path(folder)))
