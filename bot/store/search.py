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

# Column weights for bm25, in takeaways_fts column order: text, note, title, author.
_RANK = "bm25(10.0, 4.0, 2.0, 2.0)"


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
    # The inner query is the shape FTS5 optimises: it sorts by rank itself and, with
    # the LIMIT, runs highlight() only for the rows returned.
    rows = await db.execute_fetchall(
        "SELECT t.id, t.source_id, t.text, t.note, t.tags, t.url, t.location, "
        "t.highlighted_at, s.title, s.author, s.url, s.category, hits.marked, hits.rank "
        "FROM ("
        "  SELECT rowid AS id, highlight(takeaways_fts, 0, ?, ?) AS marked, rank"
        "  FROM takeaways_fts"
        "  WHERE takeaways_fts MATCH ? AND rank MATCH ?"
        "  ORDER BY rank LIMIT ? OFFSET ?"
        ") AS hits "
        "JOIN takeaways AS t ON t.id = hits.id "
        "JOIN sources AS s ON s.id = t.source_id "
        "ORDER BY hits.rank, t.id",
        (MARK_START, MARK_END, expression, _RANK, limit, max(offset, 0)),
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
