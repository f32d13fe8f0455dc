"""Full-text search over what a person typed, never over what they might inject.

The FTS5 query language treats quotes, ``*``, ``-``, ``:``, ``^``, parentheses and
the words AND/OR/NOT/NEAR as syntax, and a syntax error is an exception. So the
user's text is never passed through: it is cut into words, and each word becomes a
double-quoted FTS5 string, which FTS5 reads as plain text. Words are ANDed; the last
one is a prefix so results appear while a word is still being typed.
"""

from __future__ import annotations

import json
import unicodedata

import aiosqlite

from bot.store.records import MARK_END, MARK_START, SearchHit, stored_from_row

# Enough for any real search; bounds the work a pasted novel can cause.
MAX_QUERY_CHARS = 1_000
MAX_TOKENS = 16
MAX_TOKEN_CHARS = 64
MAX_LIMIT = 100
MIN_PREFIX_CHARS = 3

# Search reads a window of recent matches, not all of them: the takeaways from the
# query's rarest word's WINDOW-th newest match on (more when paging deeper). Reading
# and ranking a match costs microseconds, and the word in 3% of a million takeaways
# took 60 ms to rank in full; the best of its newest thousand are found in a few.
# A query of several words keeps the matches of all of them in that window. When a
# page comes back short, the window is widened to MAX_WINDOW before giving up.
WINDOW = 500
MAX_WINDOW = 8_000
# How many takeaways bm25 may count to weigh the query's words. bm25 weighs each word
# by how rare it is, counting every takeaway that holds it (~50-100 ns each) whatever
# the LIMIT: 3 ms for a word in 3% of a million takeaways, 80 ms for "the". So the
# rarest words are ranked while their estimated counts fit this budget; the others
# only have to match (they would weigh little anyway). When not even the rarest word
# fits, the newest matches come first.
RANK_BUDGET = 40_000

# The rowid of the newest match of phrase ?1 after skipping ?2 newer ones: the lower
# end of a window. FTS5 reads its matches in rowid order, so this reads ?2 + 1 of them.
_FLOOR = (
    "SELECT rowid FROM takeaways_fts WHERE takeaways_fts MATCH ? ORDER BY rowid DESC "
    "LIMIT 1 OFFSET ?"
)
# How common each word is, in one statement: the highest id, then per word (?2, a JSON
# array of quoted words, in query order) its index and its WINDOW-th newest match (?1
# is WINDOW - 1), and for the last word (index ?3) taken as a prefix (?4) the same,
# which is only looked at (CASE is lazy) when the exact last word falls short of a
# window. The newest WINDOW-th match of a word tells how dense its matches are, at the
# cost of reading at most WINDOW of them.
_FLOORS = (
    "WITH floors AS MATERIALIZED ("
    "  SELECT key AS i, (SELECT rowid FROM takeaways_fts WHERE takeaways_fts MATCH value"
    "    ORDER BY rowid DESC LIMIT 1 OFFSET ?1) AS f FROM json_each(?2)"
    ") SELECT (SELECT coalesce(max(id), 0) FROM takeaways), i, f,"
    "  CASE WHEN f IS NULL AND i = ?3 THEN (SELECT rowid FROM takeaways_fts"
    "    WHERE takeaways_fts MATCH ?4 ORDER BY rowid DESC LIMIT 1 OFFSET ?1) END"
    " FROM floors ORDER BY i"
)

# Best first in three steps, so the costly work is done once per hit: ``top`` picks
# the page (bm25 with column weights in takeaways_fts column order text, note, title,
# author (10, 4, 2, 2); bm25() in ORDER BY with a LIMIT lets SQLite keep just the best
# rows while it scans); ``marks`` runs highlight() for those rows only (the unary +
# keeps the rowid test out of FTS5, which would otherwise reload the match list once
# per row); then the takeaways and their sources are joined. Ties go by id.
# Parameters: ?1 ?2 the marks, ?3 the whole query, ?4 limit, ?5 offset, ?6 the
# window's lowest rowid (a range FTS5 seeks to, so only the window is read), ?7 the
# words to rank by.
_TOP_RANKED = (
    "SELECT id, score, score AS ord FROM ("
    "  SELECT rowid AS id, bm25(takeaways_fts, 10.0, 4.0, 2.0, 2.0) AS score"
    "  FROM takeaways_fts WHERE takeaways_fts MATCH ?7 AND rowid >= ?6"
)
_TOP_RANKED_END = "  ORDER BY score, rowid LIMIT ?4 OFFSET ?5)"
# The words left out of ranking as a filter only: the window's matches of the whole
# query, a set built once (FTS5 intersects by seeking: this costs about what the
# ranked words do).
_FILTER = (
    " AND +rowid IN (SELECT rowid FROM takeaways_fts WHERE takeaways_fts MATCH ?3 AND rowid >= ?6)"
)
_TOP_NEWEST = (
    "SELECT rowid AS id, 0.0 AS score, -rowid AS ord FROM takeaways_fts"
    "  WHERE takeaways_fts MATCH ?7 AND rowid >= ?6 ORDER BY rowid DESC LIMIT ?4 OFFSET ?5"
)
_MARKS_AND_ROWS = (
    "), marks AS ("
    "  SELECT rowid AS id, highlight(takeaways_fts, 0, ?1, ?2) AS marked"
    "  FROM takeaways_fts"
    "  WHERE takeaways_fts MATCH ?3 AND rowid >= ?6 AND +rowid IN (SELECT id FROM top)"
    ") "
    "SELECT t.id, t.source_id, t.text, t.note, t.tags, t.url, t.location, "
    "t.highlighted_at, s.title, s.author, s.url, s.category, marks.marked, top.score "
    "FROM top JOIN marks ON marks.id = top.id "
    "JOIN takeaways AS t ON t.id = top.id "
    "JOIN sources AS s ON s.id = t.source_id "
    "ORDER BY top.ord, t.id"
)
_RANKED = "WITH top AS (" + _TOP_RANKED + _TOP_RANKED_END + _MARKS_AND_ROWS
_RANKED_FILTERED = "WITH top AS (" + _TOP_RANKED + _FILTER + _TOP_RANKED_END + _MARKS_AND_ROWS
_NEWEST = "WITH top AS (" + _TOP_NEWEST + _MARKS_AND_ROWS


def query_tokens(query: str) -> list[str]:
    """The words of ``query``: runs of letters, digits and combining marks, lowercased.

    Wider than Python's ``\\w`` on purpose (which drops combining marks and would split
    Devanagari words): FTS5 re-tokenises each quoted word with its own rules anyway,
    so a word it would split further just becomes a phrase. A run without any letter
    or digit would be an empty phrase that matches nothing, so it is dropped.
    """
    text = unicodedata.normalize("NFC", query[:MAX_QUERY_CHARS])
    spaced = "".join(ch if unicodedata.category(ch)[0] in "LNM" else " " for ch in text)
    tokens = [
        word.lower()[:MAX_TOKEN_CHARS]
        for word in spaced.split()
        if any(ch.isalnum() for ch in word)
    ]
    return tokens[:MAX_TOKENS]


def match_expression(query: str) -> str | None:
    """The FTS5 MATCH string for ``query``, or None when it has no words."""
    tokens = query_tokens(query)
    return " ".join(_phrases(tokens, prefix=_is_prefix(tokens[-1]))) if tokens else None


def _is_prefix(token: str) -> bool:
    """Whether a last word also matches the words it begins.

    Not one or two Latin letters: "th" begins most of the words of an English text, and
    without a prefix index FTS5 reads the postings of every one of them (over a second
    for a million takeaways). Scripts FTS5 does not cut into words (CJK) keep it.
    """
    return len(token) >= MIN_PREFIX_CHARS or not token.isascii()


def _phrases(tokens: list[str], *, prefix: bool) -> list[str]:
    """Each token as a double-quoted FTS5 string (plain text to FTS5, whatever it holds);
    with ``prefix`` the last one also matches the words it begins."""
    quoted = ['"' + token.replace('"', '""') + '"' for token in tokens]
    if prefix:
        quoted[-1] += "*"
    return quoted


async def search(
    db: aiosqlite.Connection, query: str, *, limit: int = 5, offset: int = 0
) -> list[SearchHit]:
    """Best matches first (bm25: text weighs most, then note, then title and author),
    among recent ones when there are very many (see WINDOW and RANK_BUDGET).

    A last word that matches a whole window by itself is taken as typed in full, not
    as a prefix: its completions would only add to a list already too long to read in
    full, and expanding a prefix as common as "the" reads every posting of every word
    it begins.
    """
    tokens = query_tokens(query)
    limit = min(limit, MAX_LIMIT)
    offset = max(offset, 0)
    if not tokens or limit <= 0:
        return []
    exact = _phrases(tokens, prefix=False)
    prefixed = _phrases(tokens, prefix=_is_prefix(tokens[-1]))
    rows = list(
        await db.execute_fetchall(
            _FLOORS, (WINDOW - 1, json.dumps(exact), len(tokens) - 1, prefixed[-1])
        )
    )
    newest = int(rows[0][0])
    floors: list[int | None] = [row[2] for row in rows]
    last_prefixed = rows[-1][3]
    if floors[-1] is None and prefixed[-1] != exact[-1]:
        phrases = prefixed
        floors[-1] = last_prefixed
    else:
        phrases = exact
    estimates = [_estimate(floor, newest) for floor in floors]
    rarest = min(range(len(phrases)), key=estimates.__getitem__)
    ranked = _within_budget(phrases, estimates)
    expression = " ".join(phrases)
    if len(ranked) == len(phrases):
        sql = _RANKED
    elif ranked:
        sql = _RANKED_FILTERED
    else:
        sql = _NEWEST
    window, low = WINDOW, floors[rarest]
    while True:
        if window < offset + limit and low is not None:
            window = offset + limit
            low = await _floor(db, phrases[rarest], window)
        rows = list(
            await db.execute_fetchall(
                sql,
                (
                    MARK_START,
                    MARK_END,
                    expression,
                    limit,
                    offset,
                    low or 0,
                    " ".join(ranked) if ranked else expression,
                ),
            )
        )
        # A short page with older matches left unread: read further back, at once as
        # far as allowed (each try costs about what reading its window does).
        if len(rows) == limit or low is None or window >= MAX_WINDOW:
            break
        window = MAX_WINDOW
        low = await _floor(db, phrases[rarest], window)
    return [
        SearchHit(item=stored_from_row(row), marked_text=row[12], rank=float(row[13]))
        for row in rows
    ]


async def _floor(db: aiosqlite.Connection, phrase: str, depth: int) -> int | None:
    """The rowid of ``phrase``'s ``depth``-th newest match; None if it has fewer."""
    rows = await db.execute_fetchall(_FLOOR, (phrase, depth - 1))
    for (rowid,) in rows:
        return int(rowid)
    return None


def _estimate(floor: int | None, newest: int) -> int:
    """About how many takeaways match a word whose WINDOW-th newest match is ``floor``.

    At most WINDOW when it has no such match; otherwise WINDOW matches per the
    ``newest - floor + 1`` ids above it, as if ids were dense.
    """
    return WINDOW if floor is None else WINDOW * newest // max(newest - floor + 1, 1)


def _within_budget(phrases: list[str], estimates: list[int]) -> list[str]:
    """The phrases bm25 weighs, in query order: the rarest first, while their estimated
    counts of matching takeaways add up to at most RANK_BUDGET."""
    chosen: set[int] = set()
    total = 0
    for index in sorted(range(len(phrases)), key=estimates.__getitem__):
        if total + estimates[index] > RANK_BUDGET:
            break
        chosen.add(index)
        total += estimates[index]
    return [phrase for index, phrase in enumerate(phrases) if index in chosen]


async def count_matches(db: aiosqlite.Connection, query: str) -> int:
    """How many takeaways ``search`` could page through for ``query``."""
    expression = match_expression(query)
    if expression is None:
        return 0
    async with db.execute(
        "SELECT count(*) FROM takeaways_fts WHERE takeaways_fts MATCH ?", (expression,)
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0
