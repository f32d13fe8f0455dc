"""Uploads and imports are bounded in content, not only in bytes.

Before bot/sources/limits.py, an 18 MB single line became one takeaway a delivery
would send as about 5,000 messages, and a 1,000,000-line upload took 845 MiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.sources import parse_text
from bot.sources.limits import (
    MARKER,
    MAX_TAKEAWAYS,
    MAX_TEXT,
    MAX_UPLOAD_LINES,
    cut_text,
)
from tests.conftest import BotHarness

ADMIN = 90_201
Make = Callable[..., Awaitable[BotHarness]]


async def texts_longer_than(bot: BotHarness, length: int) -> list[str]:
    rows = await bot.store.db.execute_fetchall(
        "SELECT text FROM takeaways WHERE length(text) > ?", (length,)
    )
    return [str(row[0]) for row in rows]


async def count(bot: BotHarness) -> int:
    rows = await bot.store.db.execute_fetchall("SELECT COUNT(*) FROM takeaways")
    return int(next(iter(rows))[0])


async def upload(bot: BotHarness, name: str, content: bytes) -> list[str]:
    bot.standin.user_sends_document(ADMIN, name, content)
    return [m.text for m in await bot._settle(ADMIN)]


async def test_one_huge_line_becomes_one_takeaway_of_one_message(make_bot: Make) -> None:
    """A 2 MB single line (sentences without end): one takeaway, cut at a sentence,
    that /random sends as one message (about 570 before)."""
    bot = await make_bot(admin_ids=[ADMIN])
    line = " ".join(f"Sentence number {n} says a little more." for n in range(50_000))
    [reply] = await upload(bot, "one-line.txt", line.encode() + b"\n")
    assert "1 new" in reply
    assert "cut at a sentence" in reply  # the admin is told the limits
    [text] = await texts_longer_than(bot, 1000)
    assert len(text) <= MAX_TEXT and text.endswith("more." + MARKER)
    assert text.startswith("Sentence number 0 says")
    async with bot.store.transaction() as db:
        await db.execute("DELETE FROM takeaways WHERE length(text) <= 1000")
    messages = await bot.send(ADMIN, "/random")
    assert len(messages) == 1
    # The same upload again: cut the same way, so nothing changes.
    [again] = await upload(bot, "one-line.txt", line.encode() + b"\n")
    assert "0 new, 0 updated, 1 unchanged" in again


async def test_an_upload_with_too_many_lines_is_refused_before_parsing(make_bot: Make) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    before = await count(bot)
    lines = MAX_UPLOAD_LINES + 50_000
    content = b"".join(b"- Idea %d\n" % n for n in range(lines))
    [reply] = await upload(bot, "million.txt", content)
    assert reply.startswith("Not imported: million.txt:")
    assert f"{lines:,} lines" in reply and "split it" in reply
    assert await count(bot) == before


async def test_a_file_with_too_many_takeaways_imports_nothing(make_bot: Make) -> None:
    """One line of JSON holding more takeaways than a file may: refused whole, named."""
    bot = await make_bot(admin_ids=[ADMIN])
    before = await count(bot)
    objects = [{"text": f"Idea {n}"} for n in range(MAX_TAKEAWAYS + 1)]
    [reply] = await upload(bot, "many.json", json.dumps(objects).encode())
    assert "1 failed" in reply
    assert f"{MAX_TAKEAWAYS + 1:,} takeaways in one file" in reply and "split it" in reply
    assert await count(bot) == before


def test_the_operators_own_files_have_no_count_bound() -> None:
    """A whole library (or a `takeaways-bot export` of it) read from disk comes back whole."""
    objects = "".join(json.dumps({"text": f"Idea {n}"}) + "\n" for n in range(MAX_TAKEAWAYS + 1))
    assert len(parse_text(objects, "export.jsonl")) == MAX_TAKEAWAYS + 1


def test_text_is_cut_at_a_sentence_then_a_word() -> None:
    sentences = "A short one. " * 1000
    cut = cut_text(sentences)
    assert len(cut) <= MAX_TEXT and cut.endswith("one." + MARKER)
    words = "word " * 2000
    cut = cut_text(words)
    assert len(cut) <= MAX_TEXT and cut.endswith("word" + MARKER)
    blob = "x" * 10_000
    assert cut_text(blob) == "x" * (MAX_TEXT - len(MARKER)) + MARKER
    assert cut_text("Fits. ") == "Fits. "


def test_every_parser_output_is_bounded() -> None:
    """The bound sits where all formats pass: a Markdown bullet and a note are cut."""
    long_note = "n" * 5000
    [item] = parse_text(
        json.dumps({"text": "t " * 5000, "note": long_note, "title": "T" * 5000}) + "\n",
        "x.jsonl",
    )
    assert len(item.text) <= MAX_TEXT and item.note is not None and len(item.note) <= 1000
    assert item.title is not None and len(item.title) <= 1000
    [bullet] = parse_text("- " + "Long thought. " * 1000 + "\n", "x.md")
    assert len(bullet.text) <= MAX_TEXT


def test_the_cli_import_is_bounded_too(tmp_path: Path) -> None:
    export = tmp_path / "long.txt"
    export.write_text("Another sentence here. " * 2000 + "\n")
    db = tmp_path / "t.db"
    env = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    env["DATABASE_PATH"] = str(db)
    run = [sys.executable, "-m", "bot"]
    result = subprocess.run([*run, "import", str(export)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    search = subprocess.run(
        [*run, "search", "another", "--json"], capture_output=True, text=True, env=env
    )
    assert search.returncode == 0, search.stderr
    assert len(search.stdout) < MAX_TEXT * 2
