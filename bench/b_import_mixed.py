"""Import of a large mixed collection as people have it: Kindle clippings from devices
in six languages (with repeats, edits, notes, bookmarks, clipping-limit placeholders
and different highlights at one location), Readwise Logseq and Markdown exports.

Besides the rate, it checks the rule every import keeps (every file's summary adds
up, nothing is lost) and measures the one-time cost of the first import into a
database written before different texts at one location had identities of their own.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench import gen
from bench.report import Figure, at_least, info
from bench.workspace import Workspace
from bot.importer import ImportSummary, import_paths
from bot.store import Store

# Meta lines per device language: highlight, note, bookmark; then the date.
_META = {
    "en": (
        "- Your Highlight on page {p} | Location {s}-{e} | Added on {date}",
        "- Your Note on page {p} | Location {e} | Added on {date}",
        "- Your Bookmark on page {p} | Location {e} | Added on {date}",
    ),
    "de": (
        "- Ihre Markierung auf Seite {p} | Position {s}-{e} | Hinzugefügt am {date}",
        "- Ihre Notiz auf Seite {p} | Position {e} | Hinzugefügt am {date}",
        "- Ihr Lesezeichen auf Seite {p} | Position {e} | Hinzugefügt am {date}",
    ),
    "zh": (
        "- 您在第 {p} 页（位置 #{s}-{e}）的标注 | 添加于 {date}",
        "- 您在位置 #{e} 的笔记 | 添加于 {date}",
        "- 您在位置 #{e} 的书签 | 添加于 {date}",
    ),
    "ja": (
        "- {p}ページ|位置No. {s}-{e}のハイライト |作成日: {date}",
        "- 位置No. {e}のメモ |作成日: {date}",
        "- 位置No. {e}のブックマーク |作成日: {date}",
    ),
    "ru": (
        "– Ваш выделенный отрывок в месте {s}–{e} | Добавлено: {date}",
        "– Ваша заметка в месте {e} | Добавлено: {date}",
        "– Ваша закладка в месте {e} | Добавлено: {date}",
    ),
    "pt": (
        "- Seu destaque na página {p} | posição {s}-{e} | Adicionado: {date}",
        "- Sua nota na página {p} | posição {e} | Adicionado: {date}",
        "- Seu marcador na página {p} | posição {e} | Adicionado: {date}",
    ),
}
_EN_MONTHS = "January February March April May June July August September October November"
_MONTHS = (*_EN_MONTHS.split(), "December")


def _date(language: str, when: datetime) -> str:
    if language in ("zh", "ja"):
        return f"{when.year}年{when.month}月{when.day}日 {when:%H:%M:%S}"
    return f"{when.day} {_MONTHS[when.month - 1]} {when.year} {when:%H:%M:%S}"


def kindle_file(vocab: gen.Vocabulary, rng: random.Random, count: int) -> str:
    """``count`` highlights in one device language, and what devices add around them."""
    language = rng.choice(list(_META))
    highlight, note, bookmark = _META[language]
    books = [f"{vocab.title(rng)} ({vocab.author(rng)})" for _ in range(rng.randint(2, 5))]
    place = dict.fromkeys(books, 10)
    when = datetime(2019, 1, 1, 8, 0) + timedelta(minutes=rng.randrange(2_000_000))
    clips: list[str] = []
    for _ in range(count):
        book = rng.choice(books)
        start = place[book] + rng.randint(3, 60)
        end = start + rng.randint(1, 6)
        place[book] = end + 1
        when += timedelta(minutes=rng.randint(1, 300))
        fields = {"p": start // 15 + 1, "s": start, "e": end, "date": _date(language, when)}
        text = vocab.highlight(rng)
        clip = f"{book}\n{highlight.format(**fields)}\n\n{text}\n"
        clips.append(clip)
        roll = rng.random()
        if roll < 0.05:
            clips.append(clip)  # read again: a repeat
        elif roll < 0.10:  # extended on the device: the full stop becomes a comma
            longer = {**fields, "e": end + 2}
            clips.append(
                f"{book}\n{highlight.format(**longer)}\n\n{text.rstrip('.')}, "
                f"{vocab.sentence(rng, 3, 8)}\n"
            )
        elif roll < 0.13:  # another highlight starting at the same place
            clips.append(f"{book}\n{highlight.format(**fields)}\n\n{vocab.highlight(rng)}\n")
        elif roll < 0.15:
            clips.append(
                f"{book}\n{highlight.format(**fields)}\n\n"
                "<You have reached the clipping limit for this item>\n"
            )
        if rng.random() < 0.1:
            clips.append(f"{book}\n{note.format(**fields)}\n\n{vocab.sentence(rng, 4, 14)}\n")
        if rng.random() < 0.05:
            clips.append(f"{book}\n{bookmark.format(**fields)}\n\n\n")
    return "".join(f"\ufeff{clip}==========\r\n" for clip in clips)


def write_exports(folder: Path, highlights: int, files: int, seed: int) -> None:
    """Half Kindle clippings, a quarter each Readwise Logseq and Markdown."""
    rng = random.Random(f"mixed-{seed}")
    vocab = gen.Vocabulary(seed)
    per_file, extra = divmod(highlights, files)
    for index in range(files):
        count = per_file + (1 if index < extra else 0)
        kind = index % 4
        if kind == 0:
            text, name = gen.logseq_file(vocab, rng, count), f"logseq/pages/book-{index:05d}.md"
        elif kind == 1:
            text, name = gen.markdown_file(vocab, rng, count), f"Readwise/b-{index:05d}.md"
        else:
            text, name = kindle_file(vocab, rng, count), f"kindle/{index:05d}/My Clippings.txt"
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _check(summary: ImportSummary) -> None:
    """Every file adds up, and the totals are the sums of the files."""
    if summary.failed:
        raise AssertionError(f"import failed: {summary.failed[:3]}")
    for result in summary.per_file:
        stored = result.new + result.updated + result.unchanged
        left_out = sum(result.merged.values()) + sum(result.skipped.values())
        if result.parsed != stored + left_out:
            raise AssertionError(f"does not add up: {result.describe()}")
    if summary.parsed != sum(result.parsed for result in summary.per_file):
        raise AssertionError("the totals are not the sums of the files")


async def _to_old_format(store: Store) -> None:
    """The database as versions before identities told texts at one place apart left
    it: one row per place (the others had been lost) with the place as its ident."""
    db = store.db
    await db.execute(
        "DELETE FROM takeaways WHERE length(ident) = 48 AND id NOT IN "
        "(SELECT min(id) FROM takeaways WHERE length(ident) = 48 GROUP BY substr(ident, 1, 32))"
    )
    await db.execute("UPDATE takeaways SET ident = substr(ident, 1, 32) WHERE length(ident) = 48")
    await db.execute("DELETE FROM meta WHERE key LIKE 'import.%'")
    await db.commit()


async def run(ws: Workspace) -> list[Figure]:
    sizes = ws.sizes
    folder = ws.root / f"mixed-{sizes.import_highlights}-seed{ws.seed}"
    if not folder.exists():
        ws.say(f"writing a mixed collection of {sizes.import_highlights:,} highlights")
        write_exports(folder, sizes.import_highlights, sizes.import_files, ws.seed)
    path = ws.root / "import-mixed.db"
    ws.remove(path)
    async with await Store.open(path) as store:
        started = time.perf_counter()
        first = await import_paths(store, [folder])
        first_s = time.perf_counter() - started
        _check(first)
        again = await import_paths(store, [folder])
        _check(again)
        if again.new or again.updated or again.unchanged != first.new:
            raise AssertionError(f"re-import changed something: {again.describe()}")
        await _to_old_format(store)
        started = time.perf_counter()
        moved = await import_paths(store, [folder])
        moved_s = time.perf_counter() - started
        _check(moved)
        rows = list(await store.db.execute_fetchall("SELECT count(*) FROM takeaways"))
        if int(rows[0][0]) != first.new or moved.new + moved.unchanged + moved.updated != first.new:
            raise AssertionError(f"old-format database not moved over: {moved.describe()}")
    ws.remove(path)
    left_out = first.parsed - first.new
    size = (
        f"{first.parsed:,} clips and highlights in {first.files:,} files -> {first.new:,} "
        f"takeaways, {left_out:,} merged or skipped"
    )
    return [
        at_least("import.mixed_rate", first.parsed / first_s, "parsed/s", 25_000, size),
        info("import.mixed_first_s", first_s, "s", size),
        info(
            "import.old_format_first_s",
            moved_s,
            "s",
            f"first import into a database of the old identity format ({moved.new:,} "
            f"recovered, {moved.unchanged + moved.updated:,} moved over)",
        ),
    ]
