"""A takeaway whose link is hostile HTML, through every redraw of its message.

Telegram hands the bot its messages back with the links' URLs unescaped in
``Message.text_html``: ``https://example.com/"><b>INJECTED</b>`` there becomes markup,
and an unbalanced one makes the edit fail. Every edit must rebuild the text from the
database, as when the message was first sent. The stand-in parses HTML as strictly as
Telegram, so markup gained or broken shows up as changed entities or a failed request.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.importer import import_paths
from bot.standin import HtmlError, SentMessage, parse_html
from bot.store import personal
from bot.telegram.format import TODAY_HEADER
from bot.telegram.review import LONE_HEADERS, NOT_FOR_ME_TEXT
from tests.conftest import BotHarness

HOSTILE = 'https://example.com/"><b>INJECTED</b>'
UNBALANCED = 'https://example.com/"><b>open'
ADMIN = 90_501
Make = Callable[..., Awaitable[BotHarness]]


async def only_hostile(bot: BotHarness, tmp_path: Path, url: str, chat_id: int) -> int:
    """Import one takeaway linking to ``url``; turn every other down for ``chat_id``."""
    await bot.send(chat_id, "/start")
    export = tmp_path / "hostile.jsonl"
    record = {"text": "Links are data, not markup.", "title": "A hostile page", "url": url}
    export.write_text(json.dumps(record) + "\n")
    summary = await import_paths(bot.store, [export])
    assert summary.new == 1, summary.describe()
    rows = await bot.store.db.execute_fetchall("SELECT id, url FROM takeaways")
    hostile = next(int(row[0]) for row in rows if row[1] == url)
    async with bot.store.transaction() as db:
        for row in rows:
            if int(row[0]) != hostile:
                await personal.set_discarded(db, chat_id, int(row[0]), True, 0)
    return hostile


def shown(bot: BotHarness, message: SentMessage) -> SentMessage:
    [now] = [m for m in bot.standin.messages(message.chat_id) if m.message_id == message.message_id]
    return now


def link_urls(message: SentMessage) -> list[str | None]:
    return [e.url for e in message.entities if e.type == "text_link"]


def assert_unchanged(before: tuple[str, list[object]], message: SentMessage) -> None:
    assert (message.text, list(message.entities)) == before


async def first_message(bot: BotHarness, how: str) -> SentMessage:
    if how == "random":
        [message] = await bot.send(ADMIN, "/random")
        return message
    if how == "today":
        [message] = await bot.send(ADMIN, "/today")
        return message
    await bot.send(ADMIN, "/start")
    bot.clock.set(bot.clock().replace(hour=9, minute=0))
    report = await bot.deliver()
    assert report.sent == 1
    return bot.dailies(ADMIN)[-1]


def test_the_standin_refuses_what_the_old_redraw_sent() -> None:
    """What ``text_html`` made of the unbalanced link: Telegram (and the stand-in)
    refuse it; the balanced one parses, with INJECTED in bold."""
    with pytest.raises(HtmlError):
        parse_html(f'<a href="{UNBALANCED}">A hostile page</a>')
    _, entities = parse_html(f'<a href="{HOSTILE}">A hostile page</a>')
    assert any(e["type"] == "bold" for e in entities)


def test_the_redraw_knows_the_today_header() -> None:
    assert TODAY_HEADER in LONE_HEADERS


@pytest.mark.parametrize("url", [HOSTILE, UNBALANCED], ids=["markup", "unbalanced"])
@pytest.mark.parametrize("how", ["random", "today", "daily"])
async def test_every_button_redraws_from_the_database(
    make_bot: Make, tmp_path: Path, url: str, how: str
) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    tid = await only_hostile(bot, tmp_path, url, ADMIN)
    message = await first_message(bot, how)
    assert link_urls(message) == [url]
    assert "INJECTED" not in message.text and '">' not in message.text
    original = (message.text, list(message.entities))

    await bot.press(ADMIN, message, f"n:{tid}")  # not for me: the note is added
    now = shown(bot, message)
    assert now.text == f"{original[0]}\n\n{NOT_FOR_ME_TEXT}"
    assert list(now.entities)[: len(original[1])] == original[1]
    assert [e.type for e in now.entities[len(original[1]) :]] == ["italic"]
    for data in (f"u:{tid}", f"k:{tid}", f"uk:{tid}", f"h:{tid}", f"sh:{tid}"):
        await bot.press(ADMIN, message, data)  # undo, keep, let go, hide, unhide
        assert_unchanged(original, shown(bot, message))
    assert not bot.standin.failures, bot.standin.failures


async def test_paging_lists_keep_the_link_as_data(make_bot: Make, tmp_path: Path) -> None:
    """Favorites (and the admin's hidden list) page in place: six entries, the hostile
    one among them, forward and back."""
    bot = await make_bot(admin_ids=[ADMIN])
    tid = await only_hostile(bot, tmp_path, HOSTILE, ADMIN)
    rows = await bot.store.db.execute_fetchall("SELECT id FROM takeaways ORDER BY id LIMIT 6")
    ids = [tid, *[int(r[0]) for r in rows if int(r[0]) != tid][:5]]
    for command in ("/favorites", "/hidden"):
        async with bot.store.transaction() as db:
            for n, takeaway in enumerate(ids):
                if command == "/favorites":
                    await personal.set_favorite(db, ADMIN, takeaway, True, n)
                else:
                    await personal.set_hidden(db, takeaway, True, by=ADMIN, now=n)
        [listing] = await bot.send(ADMIN, command)
        pages, urls = [listing.text], link_urls(listing)
        for label in ("Next ▸", "◂ Back"):
            await bot.press(ADMIN, listing, listing.button_data(label))
            listing = shown(bot, listing)
            pages.append(listing.text)
            urls += link_urls(listing)
        assert all("INJECTED" not in page for page in pages), pages
        assert HOSTILE in urls
        assert pages[2] == pages[0]
    assert not bot.standin.failures, bot.standin.failures
