"""Writing and reading takeaways: import, lookups, random pick, stats, export.

Import speed comes from doing the thinking in Python first (identity, hash, dedup)
and then talking to SQLite in a handful of statements per batch, whatever its size:
lookups take a JSON array parameter (so each statement is prepared once, for any
batch size), inserts and updates are one ``executemany`` each, and one
INSERT ... SELECT over the new id range indexes all new rows at once. ``write_batch``
applies several files' imports in one transaction (what the folder importer does),
exactly as one after another would. A re-import that would change nothing is
recognised with two reads and never opens a write transaction; writes that change
stored takeaways stamp their sources (``changes_since``) so that the importer's
memory of unchanged files stays true.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import blake2b
from typing import Any, TypeGuard, overload

import aiosqlite

from bot.sources.model import Takeaway, versions_of_one_highlight
from bot.store.records import ImportResult, Stats, StoredTakeaway, stored_from_row

# Characters removed from stored text: the search marks (so they can't collide with
# highlight()'s) and NUL (which C code reading the text may take as its end).
_STRIP = str.maketrans("", "", "\x00\x02\x03")

# The end of a location range: "Location 10-12" -> "Location 10".
_RANGE_END = re.compile(r"(?<=\d)\s*[-–]\s*\d+\s*$")

# Identities looked up per query; bounds the size of one JSON parameter and result.
_LOOKUP_BATCH = 5_000
# Rows per export page: memory stays flat however large the table is.
_EXPORT_PAGE = 500
# Exact-id tries before the random pick settles for the next id after a gap.
_RANDOM_TRIES = 16

_DEFAULT_RNG = random.Random()


@dataclass(slots=True)
class _Source:
    """The merged view of one source across an import: later non-empty values win."""

    title: str | None
    author: str | None
    url: str | None
    category: str | None


# (source key, text, note, tags JSON, url, location, highlighted_at, content hash)
_Row = tuple[str, str, str | None, str, str | None, str | None, str | None, str]


@dataclass(slots=True)
class Prepared:
    """An import, reduced to what the database needs; built without touching it."""

    sources: dict[str, _Source]
    rows: dict[str, _Row]  # identity -> row; later duplicates replaced earlier ones
    # Takeaways that had the identity of an earlier one in the same import.
    duplicates: int = 0


def prepare(takeaways: Iterable[Takeaway]) -> Prepared:
    """Clean, identify, hash and deduplicate; raises before any write on bad input.

    This loop is most of an unchanged re-import's time, hence the per-source memo
    and the cheap checks before any string is copied.
    """
    sources: dict[str, _Source] = {}
    # (title, author, source_url) -> (source key, identity prefix, clean title, clean author)
    memo: dict[tuple[str | None, str | None, str | None], tuple[str, str, str | None, str | None]]
    memo = {}
    rows: dict[str, _Row] = {}
    duplicates = 0
    # source prefix + link -> takeaways seen with that link so far in this import
    links: dict[str, int] = {}
    last: tuple[object, ...] = ()
    for item in takeaways:
        text = item.text
        if not isinstance(text, str):
            raise TypeError(f"takeaway text must be a string, not {type(text).__name__}")
        text = _clean(text)
        note = item.note
        if note is not None:
            note = _clean(note)
        source_url = item.source_url
        where = (item.title, item.author, source_url)
        known = memo.get(where)
        if known is None:
            key = source_key(item.title, item.author, source_url)
            known = (key, _digest(key), _clean(item.title), _clean(item.author))
            memo[where] = known
        key, prefix, title, author = known
        # Consecutive takeaways mostly share their source: merge only on a change.
        if (where, item.category) != last:
            last = (where, item.category)
            _merge_source(sources, key, title, author, source_url, item.category)
        tags = item.tags
        url, location, highlighted_at = item.url, item.location, item.highlighted_at
        # repr() of a tuple of str/None is unambiguous and several times cheaper than JSON.
        # (Should a Python upgrade escape some new character differently, the few
        # takeaways holding it count as "updated" once; nothing worse.)
        content = repr((text, note, tuple(tags), url, location, highlighted_at))
        repeat = 0
        if is_own_link(url, source_url):
            repeat = links.get(prefix + url, 0)
            links[prefix + url] = repeat + 1
        ident = prefix + identity(text, url, source_url, location, repeat)
        if ident in rows:
            duplicates += 1
        rows[ident] = (
            key,
            text,
            note,
            json.dumps(list(tags)) if tags else "[]",
            url,
            location,
            highlighted_at,
            _digest(content),
        )
    return Prepared(sources, rows, duplicates)


def _merge_source(
    sources: dict[str, _Source],
    key: str,
    title: str | None,
    author: str | None,
    url: str | None,
    category: str | None,
) -> None:
    """Later non-empty values win, as they will in ``_UPSERT_SOURCE``."""
    merged = sources.get(key)
    if merged is None:
        sources[key] = _Source(title, author, url, category)
        return
    merged.title = merged.title if title is None else title
    merged.author = merged.author if author is None else author
    merged.url = merged.url if url is None else url
    merged.category = merged.category if category is None else category


def source_key(title: str | None, author: str | None, source_url: str | None) -> str:
    """The document's URL when known, else its title and author ignoring case and spacing.

    Exports disagree on capitalisation and line breaks in titles; a URL is the one
    thing that names a document exactly.
    """
    if source_url and source_url.strip():
        return "url:" + source_url.strip()
    return f"ta:{_normal(title)}\x1f{_normal(author)}"


def identity(
    text: str, url: str | None, source_url: str | None, location: str | None, repeat: int = 0
) -> str:
    """What makes a highlight *the same* highlight on the next import, within its source.

    A per-highlight link survives edits of the text. Without one, the text identifies
    the highlight, and where there is a location it is told apart by its place too:
    the digest of the location's start (a Kindle edit moves only the end of a range,
    "Location 10-12" then "Location 10-14") followed by the digest of the text. Two
    different highlights at one place thus never share an identity, while all of a
    place's takeaways share the ident prefix ``place`` (``_PLACE_CHARS``), so an
    edited highlight, whose new text is not stored yet, finds its earlier version
    there and is updated in place (``_Replay``). The kind prefix keeps a location
    "12" apart from a highlight "12".

    One tweet can hold several takeaways ("1. ... 2. ..." split by the parser), all
    with the tweet's link: ``repeat`` (the n-th takeaway with this link in the file)
    tells them apart, so they are neither merged nor reshuffled on re-import.

    The stored ``ident`` is ``_digest(source key) + identity(...)``: unique across
    sources, and a source's takeaways sit side by side in the index, so importing one
    file writes a page or two of it rather than one page per takeaway.
    """
    if is_own_link(url, source_url):
        return _digest(f"url:{url}" if repeat == 0 else f"url:{url}#{repeat}")
    words = _digest("text:" + _normal(text))
    if location:
        return _digest("loc:" + _normal(_RANGE_END.sub("", location))) + words
    return words


def is_own_link(url: str | None, source_url: str | None) -> TypeGuard[str]:
    """A link to this highlight itself, not just to the document it is in."""
    return bool(url) and url != source_url


async def unchanged(db: aiosqlite.Connection, prepared: Prepared) -> bool:
    """Whether ``prepared`` would change nothing: two reads, no write transaction.

    Re-importing the same files is the common case (every bot start, every /reload),
    so it is worth answering without a write transaction. A new source, the usual
    sign of a new file, answers after the first query.
    """
    known = await _load_sources(db, list(prepared.sources))
    if len(known) != len(prepared.sources):
        return False
    for key, src in prepared.sources.items():
        stored = list(known[key][1:])
        if _merged(src, stored) != stored:
            return False
    existing = await _existing(db, list(prepared.rows))
    if len(existing) != len(prepared.rows):
        return False
    return all(existing[ident][1] == row[7] for ident, row in prepared.rows.items())


async def write(db: aiosqlite.Connection, prepared: Prepared) -> ImportResult:
    """Apply a prepared import; the caller owns the transaction."""
    if not prepared.rows:
        return ImportResult(0, 0, 0)
    return (await write_batch(db, [prepared])).results[0]


@dataclass(slots=True)
class BatchResult:
    """What ``write_batch`` did, per prepared import and as a whole."""

    results: list[ImportResult]
    # Per prepared import: importing it again right now would change nothing (a later
    # import in the same batch did not override one of its takeaways or source fields).
    settled: list[bool]
    # ``source_prefix()`` of each source whose stored takeaways or fields changed; rows
    # merely added to a source do not count.
    touched: set[str]
    # The import generation after this write (see ``changes_since``).
    generation: int


async def write_batch(
    db: aiosqlite.Connection,
    batch: Sequence[Prepared],
    per_row: AbstractContextManager[object] | None = None,
) -> BatchResult:
    """Apply several prepared imports as if one after another; the caller owns the
    transaction.

    The result (rows, sources, counts) is what importing them one at a time would give,
    but the database sees one statement of each kind for the whole batch: two reads,
    then the source upserts, one ``executemany`` of inserts, one INSERT ... SELECT into
    the index and the updates. Per-transaction costs (FTS5 writes a segment per commit
    and merges them) are what made a file-per-transaction import slow.

    The ``executemany`` statements need Python's GIL for every row: they run inside
    ``per_row``, which lets the importer pause its parser (a thread holding the GIL)
    for them. The rest, the index above all, runs in SQLite without the GIL.
    """
    per_row = per_row or contextlib.nullcontext()
    now = _now()
    keys = list(dict.fromkeys(key for prepared in batch for key in prepared.sources))
    known = await _load_sources(db, keys)
    # Each source's fields after the whole batch, folded in import order.
    final_sources: dict[str, list[str | None]] = {}
    for prepared in batch:
        for key, src in prepared.sources.items():
            fields = final_sources.get(key)
            if fields is None:
                stored = known.get(key)
                fields = list(stored[1:]) if stored is not None else None
            final_sources[key] = (
                _merged(src, fields)
                if fields is not None
                else [src.title, src.author, src.url, src.category]
            )
    # Only a known source can hold stored takeaways (an ident starts with its source's
    # digest): a first import looks nothing up.
    idents = list(
        dict.fromkeys(
            ident for prepared in batch for ident, row in prepared.rows.items() if row[0] in known
        )
    )
    existing = await _existing(db, idents) if idents else {}
    # A located takeaway not stored as it is may be an edit of one stored at its place.
    places = list(
        dict.fromkeys(
            ident[:_PLACE_CHARS]
            for ident in idents
            if len(ident) == _LOCATED_CHARS and ident not in existing
        )
    )
    replay = _Replay(existing, await _at_places(db, places) if places else [])
    # Replay the imports in order: each takeaway is new, updated or unchanged against
    # the state the previous imports left; the last version of each one is written.
    results = [replay.apply(prepared) for prepared in batch]
    final = replay.held
    settled = [
        all(
            (held := final.get(ident)) is not None and held.hash == row[7]
            for ident, row in prepared.rows.items()
        )
        and all(
            _merged(src, final_sources[key]) == final_sources[key]
            for key, src in prepared.sources.items()
        )
        for prepared in batch
    ]
    touched: set[str] = set()
    source_rows = []
    for key, fields in final_sources.items():
        stored = known.get(key)
        if stored is None or list(stored[1:]) != fields:
            source_rows.append((key, *fields, now))
            if stored is not None:
                touched.add(source_prefix(key))
    if source_rows:
        with per_row:
            await db.executemany(_UPSERT_SOURCE, source_rows)
    source_ids = {key: stored[0] for key, stored in known.items()}
    created = [key for key in final_sources if key not in known]
    if created:
        source_ids.update((key, row[0]) for key, row in (await _load_sources(db, created)).items())
    inserts: list[tuple[object, ...]] = []
    updates: list[tuple[object, ...]] = []
    moved: list[tuple[int]] = []
    for ident, held in final.items():
        row = held.row
        if row is None:
            continue
        if held.id is None:
            inserts.append((source_ids[row[0]], ident, *row[1:], now, now))
        elif held.stored_hash != row[7] or held.stored_ident != ident:
            updates.append((ident, *row[1:], now, held.id))
            touched.add(ident[:_PREFIX_CHARS])
            if held.stored_ident != ident:
                moved.append((held.id,))
    if moved:
        # Idents change hands only between rows of one place, possibly in a chain
        # (a -> b while b -> c): every moving row first lets go of its old ident.
        await db.executemany("UPDATE takeaways SET ident = '~' || id WHERE id = ?", moved)
    if updates:
        # The update trigger re-indexes text and note of exactly these rows.
        with per_row:
            await db.executemany(
                "UPDATE takeaways SET ident = ?, text = ?, note = ?, tags = ?, url = ?, "
                "location = ?, highlighted_at = ?, content_hash = ?, updated_at = ? "
                "WHERE id = ?",
                updates,
            )
    if inserts:
        await _insert(db, inserts, per_row)
    return BatchResult(results, settled, touched, await _stamp(db, touched))


# An ident is the source's digest (_PREFIX_CHARS) and the identity: one digest, or for a
# located takeaway two (place, then text). Idents of the old format (before different
# texts at one location were told apart) are a place's digest alone: _PLACE_CHARS long.
_PLACE_CHARS = 32
_LOCATED_CHARS = 48


@dataclass(slots=True)
class _Held:
    """One takeaway as a batch leaves it: a stored row (``id``) or one it adds."""

    id: int | None
    stored_ident: str | None
    stored_hash: str | None
    hash: str
    text: str | None  # known where it may be compared (takeaways at a looked-up place)
    row: _Row | None = None  # what to write, when the batch gives the takeaway


class _Replay:
    """The takeaways a batch touches, as importing its files one after another leaves
    them; ``held`` maps each one's ident (as it will be) to it.

    A takeaway whose ident is held is that takeaway. One whose ident is not, but that
    has a place, may be an edit of a takeaway held at the same place and not given by
    the same import: the one whose text it contains or is contained in (see
    ``versions_of_one_highlight``), the closest in length first. That row takes the new
    ident and text (updated in place, ``id`` kept). A row of the old ident format at
    the place, which stood for "the highlight at this location", is taken by the first
    takeaway there left without a match, so a database written before idents told
    texts apart gains the highlights it had lost and duplicates none.
    """

    def __init__(
        self,
        existing: dict[str, tuple[int, str]],
        at_places: list[tuple[str, str, int, str, str]],
    ) -> None:
        self.held: dict[str, _Held] = {}
        self.places: dict[str, list[str]] = {}
        # Whether a place holds a row of the old ident format: without one, the second
        # (legacy) matching pass can match nothing and is skipped.
        self.legacy = False
        for place, ident, row_id, content_hash, text in at_places:
            self.held[ident] = _Held(row_id, ident, content_hash, content_hash, text)
            self.places.setdefault(place, []).append(ident)
            self.legacy = self.legacy or len(ident) == _PLACE_CHARS
        for ident, (row_id, content_hash) in existing.items():
            if ident not in self.held:
                self.held[ident] = _Held(row_id, ident, content_hash, content_hash, None)

    def apply(self, prepared: Prepared) -> ImportResult:
        new = updated = 0
        unmatched: list[tuple[str, _Row]] = []
        held_by = self.held
        places = self.places
        for ident, row in prepared.rows.items():
            held = held_by.get(ident)
            if held is None:
                unmatched.append((ident, row))
                continue
            if held.hash != row[7]:
                updated += 1
            held.hash, held.text, held.row = row[7], row[1], row
        left: list[tuple[str, _Row]] = []
        for legacy in (False, True) if self.legacy else (False,):
            for ident, row in unmatched:
                # Only a located row whose place holds takeaways can be an edit: most of
                # a first import's rows are new without a call. (Matching only renames
                # a place's members, so a place without any stays so.)
                if len(ident) != _LOCATED_CHARS or ident[:_PLACE_CHARS] not in places:
                    left.append((ident, row))
                    continue
                old = self._earlier(ident, row[1], prepared, legacy)
                if old is None:
                    left.append((ident, row))
                    continue
                held = self.held.pop(old)
                if held.hash != row[7]:
                    updated += 1
                held.hash, held.text, held.row = row[7], row[1], row
                self.held[ident] = held
                members = self.places[ident[:_PLACE_CHARS]]
                members[members.index(old)] = ident
            unmatched, left = left, []
        for ident, row in unmatched:
            new += 1
            self.held[ident] = _Held(None, None, None, row[7], row[1], row)
            if len(ident) == _LOCATED_CHARS:
                self.places.setdefault(ident[:_PLACE_CHARS], []).append(ident)
        return ImportResult(
            new, updated, len(prepared.rows) - new - updated, merged=prepared.duplicates
        )

    def _earlier(self, ident: str, text: str, prepared: Prepared, legacy: bool) -> str | None:
        """The ident of the takeaway at ``ident``'s place that ``text`` edits, if any."""
        if len(ident) != _LOCATED_CHARS:
            return None
        best: str | None = None
        best_gap = 0
        for other in self.places.get(ident[:_PLACE_CHARS], ()):
            if other in prepared.rows:
                continue  # given by this import itself: not an earlier version
            if legacy:
                if len(other) == _PLACE_CHARS:
                    return other
                continue
            held = self.held[other]
            if held.text is not None and versions_of_one_highlight(held.text, text):
                gap = abs(len(held.text) - len(text))
                if best is None or gap < best_gap:
                    best, best_gap = other, gap
        return best


# Import generations, in ``meta``: a write that changes stored takeaways or source
# fields takes the next generation number and stamps the sources it changed with it.
# Someone who remembers "this file's sources were as the file says at generation g"
# (the importer, to skip unchanged files) is outdated once one of them has a later
# stamp. Adding takeaways to a source changes nothing anyone remembers, so it is not
# stamped: a first import stamps nothing.
_GENERATION_KEY = "import.generation"
_STAMP_KEY = "import.source:"  # + source_prefix(key) -> generation of its last change


async def changes_since(db: aiosqlite.Connection) -> tuple[int, dict[str, int]]:
    """The current import generation, and each changed source's last stamp."""
    rows = await db.execute_fetchall(
        "SELECT key, value FROM meta WHERE key = ?1 OR (key > ?2 AND key < ?3)",
        (_GENERATION_KEY, _STAMP_KEY, _STAMP_KEY[:-1] + chr(ord(_STAMP_KEY[-1]) + 1)),
    )
    generation = 0
    stamps: dict[str, int] = {}
    for key, value in rows:
        if key == _GENERATION_KEY:
            generation = int(value)
        else:
            stamps[key[len(_STAMP_KEY) :]] = int(value)
    return generation, stamps


async def _stamp(db: aiosqlite.Connection, touched: set[str]) -> int:
    """Stamp ``touched`` sources with a new generation, if any; the generation now."""
    rows = await db.execute_fetchall("SELECT value FROM meta WHERE key = ?", (_GENERATION_KEY,))
    generation = int(next(iter(rows))[0]) if rows else 0
    if touched:
        generation += 1
        await db.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [(_GENERATION_KEY, str(generation))]
            + [(_STAMP_KEY + prefix, str(generation)) for prefix in sorted(touched)],
        )
    return generation


def source_prefix(key: str) -> str:
    """What every ident of the source with this key starts with."""
    return _digest(key)


async def _insert(
    db: aiosqlite.Connection,
    inserts: list[tuple[object, ...]],
    per_row: AbstractContextManager[object],
) -> None:
    """Insert brand-new takeaways and index them.

    AUTOINCREMENT hands out ids above ``sqlite_sequence``'s value, and the caller's
    transaction holds the write lock, so the new rows are exactly those above the value
    read first: the index is fed by a range scan of the primary key, in id order (FTS5
    flushes its buffer whenever a rowid goes backwards). Only brand-new rows enter the
    index here; no takeaway hidden from search can be among them.
    """
    rows = await db.execute_fetchall(
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'takeaways'), 0)"
    )
    before = int(next(iter(rows))[0])
    with per_row:
        await db.executemany(
            "INSERT INTO takeaways (source_id, ident, text, note, tags, url, location, "
            "highlighted_at, content_hash, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            inserts,
        )
    await db.execute(
        "INSERT INTO takeaways_fts (rowid, text, note, title, author) "
        "SELECT t.id, t.text, t.note, s.title, s.author "
        "FROM takeaways AS t JOIN sources AS s ON s.id = t.source_id "
        "WHERE t.id > ? ORDER BY t.id",
        (before,),
    )


# New sources are inserted; known ones take this import's non-empty fields, and are
# only written when that changes something (a real change of title or author then
# reaches the index through the sources trigger).
_UPSERT_SOURCE = """
INSERT INTO sources (key, title, author, url, category, created_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    title = coalesce(excluded.title, sources.title),
    author = coalesce(excluded.author, sources.author),
    url = coalesce(excluded.url, sources.url),
    category = coalesce(excluded.category, sources.category)
WHERE coalesce(excluded.title, sources.title) IS NOT sources.title
    OR coalesce(excluded.author, sources.author) IS NOT sources.author
    OR coalesce(excluded.url, sources.url) IS NOT sources.url
    OR coalesce(excluded.category, sources.category) IS NOT sources.category
"""


async def _load_sources(
    db: aiosqlite.Connection, keys: list[str]
) -> dict[str, tuple[int, str | None, str | None, str | None, str | None]]:
    """Key -> (id, title, author, url, category) for the keys already stored.

    SQLite's JSON functions cut a string at ``\u0000``, and a key is built from a title
    and author as given, so the rare key holding NUL is looked up on its own.
    """
    plain = [key for key in keys if "\x00" not in key]
    rows = list(
        await db.execute_fetchall(
            "SELECT key, id, title, author, url, category FROM sources "
            "WHERE key IN (SELECT value FROM json_each(?))",
            (json.dumps(plain),),
        )
    )
    for key in keys:
        if "\x00" in key:
            rows += await db.execute_fetchall(
                "SELECT key, id, title, author, url, category FROM sources WHERE key = ?",
                (key,),
            )
    return {row[0]: (row[1], row[2], row[3], row[4], row[5]) for row in rows}


async def _existing(db: aiosqlite.Connection, idents: list[str]) -> dict[str, tuple[int, str]]:
    """Identity -> (id, content hash) for the identities already stored."""
    found: dict[str, tuple[int, str]] = {}
    for start in range(0, len(idents), _LOOKUP_BATCH):
        rows = await db.execute_fetchall(
            "SELECT ident, id, content_hash FROM takeaways "
            "WHERE ident IN (SELECT value FROM json_each(?))",
            (json.dumps(idents[start : start + _LOOKUP_BATCH]),),
        )
        for row in rows:
            found[row[0]] = (row[1], row[2])
    return found


async def _at_places(
    db: aiosqlite.Connection, places: list[str]
) -> list[tuple[str, str, int, str, str]]:
    """(place, ident, id, content hash, text) of every takeaway stored at ``places``.

    A place's idents are the place itself (the old format) or it followed by a text's
    digest, so each place is one range scan of the ident index (hex digits sort
    below "g").
    """
    found: list[tuple[str, str, int, str, str]] = []
    for start in range(0, len(places), _LOOKUP_BATCH):
        rows = await db.execute_fetchall(
            "SELECT p.value, t.ident, t.id, t.content_hash, t.text "
            "FROM json_each(?) AS p JOIN takeaways AS t "
            "ON t.ident >= p.value AND t.ident < p.value || 'g'",
            (json.dumps(places[start : start + _LOOKUP_BATCH]),),
        )
        found.extend((row[0], row[1], row[2], row[3], row[4]) for row in rows)
    return found


async def get(db: aiosqlite.Connection, takeaway_id: int) -> StoredTakeaway | None:
    async with db.execute(
        "SELECT t.id, t.source_id, t.text, t.note, t.tags, t.url, t.location, "
        "t.highlighted_at, s.title, s.author, s.url, s.category "
        "FROM takeaways AS t JOIN sources AS s ON s.id = t.source_id WHERE t.id = ?",
        (takeaway_id,),
    ) as cursor:
        row = await cursor.fetchone()
    return stored_from_row(row) if row is not None else None


async def get_many(db: aiosqlite.Connection, ids: Sequence[int]) -> dict[int, StoredTakeaway]:
    """Missing ids are simply absent from the result."""
    if not ids:
        return {}
    rows = await db.execute_fetchall(
        "SELECT t.id, t.source_id, t.text, t.note, t.tags, t.url, t.location, "
        "t.highlighted_at, s.title, s.author, s.url, s.category "
        "FROM takeaways AS t JOIN sources AS s ON s.id = t.source_id "
        "WHERE t.id IN (SELECT value FROM json_each(?))",
        (json.dumps([int(i) for i in ids]),),
    )
    return {row[0]: stored_from_row(row) for row in rows}


async def max_id(db: aiosqlite.Connection) -> int:
    # One round trip to the connection's thread (a cursor's execute, fetch and close
    # would be three): the daily run asks once per batch.
    rows = list(await db.execute_fetchall("SELECT coalesce(max(id), 0) FROM takeaways"))
    return int(rows[0][0]) if rows else 0


async def pick_random(
    db: aiosqlite.Connection, rng: random.Random | None = None
) -> StoredTakeaway | None:
    """A uniformly random takeaway in O(log n): no ``ORDER BY random()``, no count.

    Draw an id between the smallest and largest; if it exists, that's the pick. If it
    falls into a gap left by deletions, draw again (taking the next id after the gap
    would favour takeaways that follow gaps). After a few misses, settle for the next
    id, so a very sparse table still answers quickly.
    """
    if rng is None:
        rng = _DEFAULT_RNG
    async with db.execute(
        "SELECT (SELECT min(id) FROM takeaways), (SELECT max(id) FROM takeaways)"
    ) as cursor:
        bounds = await cursor.fetchone()
    if bounds is None or bounds[0] is None:
        return None
    low, high = int(bounds[0]), int(bounds[1])
    fallback = None
    for _ in range(_RANDOM_TRIES):
        wanted = rng.randint(low, high)
        row = await _first_from(db, wanted)
        if row is not None and row[0] == wanted:
            return stored_from_row(row)
        if fallback is None:
            fallback = row
    if fallback is None:
        # Every draw landed past the end: the table shrank since we read the bounds.
        fallback = await _first_from(db, low)
    return stored_from_row(fallback) if fallback is not None else None


async def _first_from(db: aiosqlite.Connection, wanted: int) -> Sequence[Any] | None:
    """The takeaway row with the smallest id >= ``wanted``: one index seek."""
    async with db.execute(
        "SELECT t.id, t.source_id, t.text, t.note, t.tags, t.url, t.location, "
        "t.highlighted_at, s.title, s.author, s.url, s.category "
        "FROM takeaways AS t JOIN sources AS s ON s.id = t.source_id "
        "WHERE t.id >= ? ORDER BY t.id LIMIT 1",
        (wanted,),
    ) as cursor:
        return await cursor.fetchone()


async def stats(db: aiosqlite.Connection) -> Stats:
    rows = await db.execute_fetchall(
        "SELECT s.category, count(*), count(t.note) "
        "FROM takeaways AS t JOIN sources AS s ON s.id = t.source_id "
        "GROUP BY s.category ORDER BY count(*) DESC, s.category"
    )
    by_category: dict[str | None, int] = {}
    with_notes = 0
    for category, count, notes in rows:
        by_category[category] = count
        with_notes += notes
    async with db.execute("SELECT count(*) FROM sources") as cursor:
        row = await cursor.fetchone()
    return Stats(
        takeaways=sum(by_category.values()),
        sources=int(row[0]) if row else 0,
        with_notes=with_notes,
        by_category=by_category,
    )


async def export(db: aiosqlite.Connection) -> AsyncIterator[Takeaway]:
    """Every takeaway by id, a page at a time.

    Pages are fetched by "id greater than the last one" rather than through one open
    cursor, so other queries on the shared connection can run between pages.
    """
    after = 0
    while True:
        rows = await db.execute_fetchall(
            "SELECT t.id, t.source_id, t.text, t.note, t.tags, t.url, t.location, "
            "t.highlighted_at, s.title, s.author, s.url, s.category "
            "FROM takeaways AS t JOIN sources AS s ON s.id = t.source_id "
            "WHERE t.id > ? ORDER BY t.id LIMIT ?",
            (after, _EXPORT_PAGE),
        )
        page = [stored_from_row(row) for row in rows]
        if not page:
            return
        for stored in page:
            yield stored.takeaway
        after = page[-1].id


def _merged(src: _Source, stored: list[str | None]) -> list[str | None]:
    """The source's fields after this import: new values where it has them.

    Mirrors ``_UPSERT_SOURCE``, so that ``unchanged`` predicts what it would write.
    """
    fields = (src.title, src.author, src.url, src.category)
    return [new if new is not None else old for new, old in zip(fields, stored, strict=True)]


@overload
def _clean(value: str) -> str: ...
@overload
def _clean(value: None) -> None: ...
@overload
def _clean(value: str | None) -> str | None: ...
def _clean(value: str | None) -> str | None:
    # Three substring tests cost a fraction of one translate() on non-ASCII text.
    if value is not None and ("\x02" in value or "\x03" in value or "\x00" in value):
        return value.translate(_STRIP)
    return value


def _normal(value: str | None) -> str:
    return " ".join(value.split()).lower() if value else ""


# The length of ``_digest``'s result: an ident starts with its source's digest.
_PREFIX_CHARS = 16


def _digest(value: str) -> str:
    """16 hex digits: plenty to tell one source's highlights (or versions) apart."""
    return blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
