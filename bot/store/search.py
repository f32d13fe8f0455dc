"""Full-text search over what a person typed, never over what they might inject.

The FTS5 query language treats quotes, ``*``, ``-``, ``:``, ``^``, parentheses and
the words AND/OR/NOT/NEAR as syntax, and a syntax error is an exception. So the
user's text is never passed through: it is cut into words, and each word becomes a
double-quoted FTS5 string, which FTS5 reads as plain text. Words are ANDed; the last
one is a prefix so results appear while a word is still being typed.
"""

from __future__ import annotations

import unicodedata

import aiosqlite

from bot.store.records import MARK_END, MARK_START, SearchHit, stored_from_row

# Enough for any real search; bounds the work a pasted novel can cause.
MAX_QUERY_CHARS = 1_000
MAX_TOKENS = 16
MAX_TOKEN_CHARS = 64
MAX_LIMIT = 100

# Best first: bm25 with column weights, in takeaways_fts column order text, note, title,
# author (10, 4, 2, 2). Three steps in one statement, so the costly work is done once per
# hit: ``top`` ranks every match but keeps only the page (bm25() in ORDER BY with a LIMIT
# lets SQLite keep just the best rows while it scans: cheaper than FTS5's own sort on
# ``rank``, which sorts every match); ``marks`` runs highlight() for those rows only (the
# unary + keeps the rowid test out of FTS5, which would otherwise reload the match list
# once per row); then the takeaways and their sources are joined. Ties go by id.
_SEARCH = (
    "WITH top AS ("
    "  SELECT rowid AS id, bm25(takeaways_fts, 10.0, 4.0, 2.0, 2.0) AS score"
    "  FROM takeaways_fts"
    "  WHERE takeaways_fts MATCH ?3 ORDER BY score, rowid LIMIT ?4 OFFSET ?5"
    "), marks AS ("
    "  SELECT rowid AS id, highlight(takeaways_fts, 0, ?1, ?2) AS marked"
    "  FROM takeaways_fts"
    "  WHERE takeaways_fts MATCH ?3 AND +rowid IN (SELECT id FROM top)"
    ") "
    "SELECT t.id, t.source_id, t.text, t.note, t.tags, t.url, t.location, "
    "t.highlighted_at, s.title, s.author, s.url, s.category, marks.marked, top.score "
    "FROM top JOIN marks ON marks.id = top.id "
    "JOIN takeaways AS t ON t.id = top.id "
    "JOIN sources AS s ON s.id = t.source_id "
    "ORDER BY top.score, t.id"
)


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
    if not tokens:
        return None
    quoted = ['"' + token.replace('"', '""') + '"' for token in tokens]
    quoted[-1] += "*"
    return " ".join(quoted)


async def search(
    db: aiosqlite.Connection, query: str, *, limit: int = 5, offset: int = 0
) -> list[SearchHit]:
    """Best matches first (bm25: text weighs most, then note, then title and author)."""
    expression = match_expression(query)
    limit = min(limit, MAX_LIMIT)
    if expression is None or limit <= 0:
        return []
    rows = await db.execute_fetchall(
        _SEARCH,
        (MARK_START, MARK_END, expression, limit, max(offset, 0)),
    )
    return [
        SearchHit(item=stored_from_row(row), marked_text=row[12], rank=float(row[13]))
        for row in rows
    ]


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
