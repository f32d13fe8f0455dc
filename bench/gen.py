"""Seeded, realistic test data at any size: export files, a stored collection, subscribers.

Everything here is a pure function of its arguments and ``seed``, so two runs (and two
machines) benchmark the same bytes.

Text is drawn from one Zipf-distributed vocabulary (s = 1): about a hundred English
function words take the top ranks, then tens of thousands of made-up content words, so
term frequencies look like English prose (the most common content word is in a few per
cent of highlights, most words in a handful). Search queries draw their words from the
same distribution restricted to content words: people search for common words more often.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from hashlib import blake2b
from pathlib import Path
from zoneinfo import ZoneInfo


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


STOPWORDS = _words(
    "the of and to a in is that it for as with was on be by this are not or at from but "
    "have an they which you one we all their has there been if more when will would who "
    "so no what can out about up them into than only its some could other time these two "
    "may then do first any like now my such make over our even most me made after also "
    "did many before must through back years where much your way well down should because "
    "each just those people how too little us state good very own see great still"
)

_ONSETS = _words("b c d f g h k l m n p r s t v z br ch cl dr fl gr pl pr sh st th tr")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "io", "ou")
_CODAS = ("", "", "", "n", "r", "s", "l", "m", "t", "nd", "st", "rk")
_FIRST_NAMES = _words(
    "Ada Alan Barbara Cal Clara Daniel Edith Frank Grace Hannah Ivan Julia Kurt Lena Marcus "
    "Nadia Oliver Priya Ruth Samuel Tara Umberto Vera Walter Yuki Zora"
)
_CATEGORIES = ("books", "books", "books", "articles", "articles", "tweets", "podcasts")
_MONTHS = _words(
    "January February March April May June July August September October November December"
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Zones whose local time at BENCH_NOW is well away from midnight, so every subscriber's
# due instant and local date are unambiguous.
ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Africa/Nairobi",
)
# The instant the delivery benchmarks run at: a Monday noon, no DST change near.
BENCH_NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Vocabulary:
    """Words with Zipf weights; draws are seeded by the caller's ``random.Random``."""

    def __init__(self, seed: int, size: int = 40_000) -> None:
        rng = random.Random(f"vocabulary-{seed}")
        words: list[str] = list(STOPWORDS)
        seen = set(words)
        while len(words) < size:
            word = "".join(
                rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                for _ in range(rng.choice((2, 2, 2, 3, 3, 4)))
            )
            if len(word) >= 4 and word not in seen:
                seen.add(word)
                words.append(word)
        self.words = words
        self._cum = list(itertools.accumulate(1.0 / rank for rank in range(1, size + 1)))
        self._content_from = len(STOPWORDS)

    def draw(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self._cum, k=k)

    def content_word(self, rng: random.Random) -> str:
        """A non-function word, by the same Zipf weights (what people search for)."""
        low = self._cum[self._content_from - 1]
        x = low + rng.random() * (self._cum[-1] - low)
        index = bisect.bisect_left(self._cum, x)
        return self.words[min(index, len(self.words) - 1)]

    def sentence(self, rng: random.Random, low: int = 6, high: int = 22) -> str:
        words = self.draw(rng, rng.randint(low, high))
        words[0] = words[0].capitalize()
        return " ".join(words) + rng.choice(".....?!")

    def highlight(self, rng: random.Random) -> str:
        """One to three sentences: 8 to 60 words, like most book highlights."""
        return " ".join(self.sentence(rng) for _ in range(rng.choice((1, 1, 2, 2, 3))))

    def title(self, rng: random.Random) -> str:
        return " ".join(w.capitalize() for w in self.draw(rng, rng.randint(2, 6)))

    def author(self, rng: random.Random) -> str:
        return f"{rng.choice(_FIRST_NAMES)} {self.content_word(rng).capitalize()}"

    def query(self, rng: random.Random) -> str:
        """One to three content words, as a person would type them into /search."""
        return " ".join(self.content_word(rng) for _ in range(rng.choice((1, 1, 2, 2, 3))))

    def common_query(self, rng: random.Random, top: int = 200) -> str:
        """One to three of the ``top`` most frequent words, function words included
        ("the", "of"...): the worst case for ranking, every word matching thousands."""
        return " ".join(rng.choice(self.words[:top]) for _ in range(rng.choice((1, 1, 2, 2, 3))))


# --- export files ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportSet:
    folder: Path
    files: int
    highlights: int  # takeaways the parsers will find in them
    bytes: int


@dataclass(slots=True)
class _Book:
    title: str
    author: str
    category: str
    asin: str
    url: str | None


def _book(vocab: Vocabulary, rng: random.Random) -> _Book:
    category = rng.choice(_CATEGORIES)
    asin = "B0" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(8))
    url = None
    if category == "articles":
        url = f"https://example.com/{vocab.content_word(rng)}/{rng.getrandbits(40):x}"
    return _Book(vocab.title(rng), vocab.author(rng), category, asin, url)


def _note_and_tags(vocab: Vocabulary, rng: random.Random) -> tuple[str | None, list[str]]:
    note = vocab.sentence(rng, 4, 14) if rng.random() < 0.15 else None
    tags = [vocab.content_word(rng) for _ in range(rng.choice((1, 2, 3)))]
    return note, tags if rng.random() < 0.2 else []


def _logseq_date(day: date) -> str:
    n = day.day
    suffix = "th" if 11 <= n <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{_MONTHS[day.month - 1][:3]} {n}{suffix}, {day.year}"


def _link(book: _Book, location: int, rng: random.Random) -> tuple[str, str]:
    """(label, url) of one highlight's own link, unique within its document."""
    if book.category == "books":
        return (
            f"Location {location}",
            f"https://readwise.io/to_kindle?action=open&asin={book.asin}&location={location}",
        )
    return "View Highlight", f"https://read.readwise.io/read/{book.asin.lower()}{location:07d}"


def logseq_file(vocab: Vocabulary, rng: random.Random, count: int) -> str:
    """A Readwise export in its Logseq flavour: page properties, then an outline."""
    book = _book(vocab, rng)
    lines = [
        f"title:: {book.title} (highlights)",
        f"author:: [[{book.author}]]",
        f'full-title:: "{book.title}"',
        f"category:: #{book.category}",
    ]
    if book.url:
        lines.append(f"url:: {book.url}")
    lines.append("")
    day = date(2021, 1, 1) + timedelta(days=rng.randrange(1500))
    location = rng.randint(10, 500)
    for index in range(count):
        if index % 20 == 0:
            header = "Highlights first synced by" if index == 0 else "New highlights added"
            lines.append(f"- {header} [[Readwise]] [[{_logseq_date(day)}]]")
            day += timedelta(days=rng.randint(1, 40))
        location += rng.randint(5, 80)
        label, url = _link(book, location, rng)
        text = vocab.highlight(rng)
        if rng.random() < 0.1:  # a highlight spanning paragraphs
            text += "\n\t  \n\t  " + vocab.sentence(rng)
        lines.append(f"\t- {text} ([{label}]({url}))")
        note, tags = _note_and_tags(vocab, rng)
        if note:
            lines.append(f"\t\t- **Note**: {note}")
        if tags:
            lines.append("\t\t- **Tags**: " + " ".join(f"#[[{t}]]" for t in tags))
    return "\n".join(lines) + "\n"


def markdown_file(vocab: Vocabulary, rng: random.Random, count: int) -> str:
    """A Readwise export in its Markdown (Obsidian) flavour."""
    book = _book(vocab, rng)
    lines = [
        f"# {book.title}",
        "",
        f"![rw-book-cover](https://images.example.com/{book.asin}.jpg)",
        "",
        "## Metadata",
        f"- Author: [[{book.author}]]",
        f"- Full Title: {book.title}",
        f"- Category: #{book.category}",
    ]
    if book.url:
        lines.append(f"- URL: {book.url}")
    lines += ["", "## Highlights"]
    location = rng.randint(10, 500)
    for index in range(count):
        if index and index % 25 == 0:
            month = rng.choice(_MONTHS)
            lines += ["", f"## New highlights added {month} {rng.randint(1, 28)}, 2023 at 9:12 AM"]
        location += rng.randint(5, 80)
        label, url = _link(book, location, rng)
        lines.append(f"- {vocab.highlight(rng)} ([{label}]({url}))")
        note, tags = _note_and_tags(vocab, rng)
        if tags:
            lines.append("    - Tags: " + " ".join(f"[[{t}]]" for t in tags))
        if note:
            lines.append(f"    - Note: {note}")
    return "\n".join(lines) + "\n"


def kindle_file(vocab: Vocabulary, rng: random.Random, count: int) -> str:
    """A Kindle ``My Clippings.txt``: a few books, highlights with some notes and bookmarks."""
    books = [_book(vocab, rng) for _ in range(rng.randint(2, 6))]
    locations = {book.asin: rng.randint(10, 300) for book in books}
    when = datetime(2019, 1, 1, 8, 0) + timedelta(minutes=rng.randrange(2_000_000))
    clips: list[str] = []
    for _ in range(count):
        book = rng.choice(books)
        start = locations[book.asin] + rng.randint(3, 60)
        end = start + rng.randint(1, 6)
        locations[book.asin] = end + 1
        when += timedelta(minutes=rng.randint(1, 300))
        added = (
            f"Added on {_DAYS[when.weekday()]}, {_MONTHS[when.month - 1]} {when.day}, "
            f"{when.year} {when.strftime('%I:%M:%S %p').lstrip('0')}"
        )
        head = f"{book.title} ({book.author})"
        page = start // 15 + 1
        clips.append(
            f"{head}\n- Your Highlight on page {page} | Location {start}-{end} | {added}\n\n"
            f"{vocab.highlight(rng)}\n"
        )
        if rng.random() < 0.1:
            clips.append(
                f"{head}\n- Your Note on page {page} | Location {end} | {added}\n\n"
                f"{vocab.sentence(rng, 4, 14)}\n"
            )
        if rng.random() < 0.05:
            clips.append(f"{head}\n- Your Bookmark on page {page} | Location {end} | {added}\n\n\n")
    return "".join(clip + "==========\n" for clip in clips)


def write_exports(folder: Path, highlights: int, files: int, seed: int) -> ExportSet:
    """``files`` export files holding ``highlights`` takeaways in all: 40 % Readwise
    Logseq, 40 % Readwise Markdown, 20 % Kindle clippings, in sub-folders like a real
    export tree."""
    rng = random.Random(f"exports-{seed}")
    vocab = Vocabulary(seed)
    folder.mkdir(parents=True, exist_ok=True)
    per_file, extra = divmod(highlights, files)
    total_bytes = 0
    for index in range(files):
        count = per_file + (1 if index < extra else 0)
        kind = index % 5
        if kind in (0, 1):
            text, name = logseq_file(vocab, rng, count), f"logseq/pages/book-{index:05d}.md"
        elif kind in (2, 3):
            text, name = markdown_file(vocab, rng, count), f"obsidian/Readwise/b-{index:05d}.md"
        else:
            text, name = kindle_file(vocab, rng, count), f"kindle/clippings-{index:05d}.txt"
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        path.write_bytes(data)
        total_bytes += len(data)
    return ExportSet(folder, files, highlights, total_bytes)


# --- a stored collection, written with SQL in bulk ----------------------------------------


def _digest(value: str) -> str:
    return blake2b(value.encode(), digest_size=8).hexdigest()


def _chunks(total: int, size: int) -> Iterator[range]:
    for start in range(0, total, size):
        yield range(start, min(total, start + size))


def fill_collection(db_path: Path, takeaways: int, seed: int, *, per_source: int = 50) -> None:
    """``takeaways`` rows (and their full-text index) in an already migrated database.

    Written directly with SQL in the schema ``bot.store.migrations`` defines, a chunk at
    a time, because importing a million highlights through the parsers would take
    minutes and is measured on its own.
    """
    rng = random.Random(f"collection-{seed}")
    vocab = Vocabulary(seed)
    con = sqlite3.connect(db_path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = OFF")
        con.execute("PRAGMA cache_size = -200000")
        sources = (takeaways + per_source - 1) // per_source
        now = "2026-03-01T00:00:00Z"
        con.execute("BEGIN")
        books = []
        for number in range(1, sources + 1):
            book = _book(vocab, rng)
            books.append(book)
            con.execute(
                "INSERT INTO sources (id, key, title, author, url, category, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    number,
                    f"ta:{book.title.lower()}\x1f{book.author.lower()}#{number}",
                    book.title,
                    book.author,
                    book.url,
                    book.category,
                    now,
                ),
            )
        con.execute("COMMIT")
        for chunk in _chunks(takeaways, 20_000):
            rows = []
            for index in chunk:
                source = index // per_source + 1
                book = books[source - 1]
                text = vocab.highlight(rng)
                note, tags = _note_and_tags(vocab, rng)
                location = 10 + (index % per_source) * 37
                label, url = _link(book, location, rng)
                rows.append(
                    (
                        index + 1,
                        source,
                        f"{_digest(str(source))}{_digest(url)}",
                        text,
                        note,
                        json.dumps(tags) if tags else "[]",
                        url,
                        label if label.startswith("Location") else None,
                        "2024-05-01",
                        _digest(text),
                        now,
                        now,
                    )
                )
            con.execute("BEGIN")
            con.executemany(
                "INSERT INTO takeaways (id, source_id, ident, text, note, tags, url, location,"
                " highlighted_at, content_hash, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            con.execute(
                "INSERT INTO takeaways_fts (rowid, text, note, title, author)"
                " SELECT t.id, t.text, t.note, s.title, s.author"
                " FROM takeaways AS t JOIN sources AS s ON s.id = t.source_id"
                " WHERE t.id BETWEEN ? AND ? ORDER BY t.id",
                (chunk.start + 1, chunk.stop),
            )
            con.execute("COMMIT")
        # A collection built once and searched for months: merge the index's segments,
        # as a long-running bot's automatic merges would have by then.
        con.execute("INSERT INTO takeaways_fts (takeaways_fts) VALUES ('optimize')")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


# --- subscribers -------------------------------------------------------------------------


def add_subscribers(
    db_path: Path, count: int, seed: int, *, now: datetime = BENCH_NOW, first_id: int = 1
) -> None:
    """``count`` private chats, subscribed and due at ``now`` (their slot within the last
    hour, in several time zones); half are new (first pick still to make), half are
    part-way through their round."""
    rng = random.Random(f"subscribers-{seed}")
    con = sqlite3.connect(db_path, isolation_level=None)
    try:
        con.execute("PRAGMA synchronous = OFF")
        max_id = con.execute("SELECT coalesce(max(id), 0) FROM takeaways").fetchone()[0]
        # Every (zone, minutes ago) combination: its due instant, local date and time.
        slots: list[tuple[int, str, str, int]] = []
        for zone in ZONES:
            for minutes in range(1, 61):
                due = now - timedelta(minutes=minutes)
                local = due.astimezone(ZoneInfo(zone))
                slots.append((len(slots), zone, local.strftime("%H:%M"), int(due.timestamp())))
        con.execute("BEGIN")
        con.execute(
            "CREATE TEMP TABLE slots (n INTEGER PRIMARY KEY, zone TEXT, at TEXT, due INTEGER)"
        )
        con.executemany("INSERT INTO slots VALUES (?, ?, ?, ?)", slots)
        dates = {
            zone: (now - timedelta(minutes=30)).astimezone(ZoneInfo(zone)).date().isoformat()
            for zone in ZONES
        }
        con.execute("CREATE TEMP TABLE dates (zone TEXT PRIMARY KEY, day TEXT)")
        con.executemany("INSERT INTO dates VALUES (?, ?)", list(dates.items()))
        key = rng.getrandbits(62)
        con.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)"
            " INSERT INTO chats (chat_id, kind, title, subscribed, blocked, delivery_time,"
            " timezone, next_due, due_date, round_number, round_key, round_lo, round_hi,"
            " round_pos)"
            " SELECT ? + i, 'private', 'reader ' || i, 1, 0, s.at, s.zone, s.due, d.day,"
            "  i % 2, CASE i % 2 WHEN 1 THEN (? + i * 7919) % 4611686018427387903 ELSE 0 END,"
            "  0, CASE i % 2 WHEN 1 THEN ? ELSE 0 END,"
            "  CASE i % 2 WHEN 1 THEN (i * 31) % max(?, 1) ELSE 0 END"
            " FROM n JOIN slots AS s ON s.n = (i * 7) % ? JOIN dates AS d ON d.zone = s.zone",
            (count, first_id, key, max_id, max_id, len(slots)),
        )
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def chat_ids(count: int, first_id: int = 1) -> Sequence[int]:
    return range(first_id, first_id + count)
