"""Uploads from admins and from everyone else: big, binary, unsupported, or sent to a group.

A clear reply (or, for tools someone may not use, the usual silence), nothing imported,
and memory bounded: a file over the 20 MB bots may download is refused from its size
alone, before any getFile or download.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.telegram.admin import MAX_UPLOAD
from tests.conftest import BotHarness

ADMIN, STRANGER = 90_001, 90_002
GROUP = -90_100
Make = Callable[..., Awaitable[BotHarness]]
HUGE = 50 * 1024 * 1024
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 40
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + b"\x00\xff" * 500


async def count(bot: BotHarness) -> int:
    async with bot.store.db.execute("SELECT COUNT(*) FROM takeaways") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def upload(
    bot: BotHarness, chat_id: int, name: str, content: bytes, **kw: object
) -> list[str]:
    bot.standin.user_sends_document(chat_id, name, content, **kw)  # type: ignore[arg-type]
    return [m.text for m in await bot._settle(chat_id)]


def fetches(bot: BotHarness) -> int:
    return len(bot.standin.calls("getFile"))


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("highlights.zip", ZIP, "highlights.zip"),
        ("a.out", ELF, "a.out"),
        ("book.pdf", PDF, "book.pdf"),
        ("notes.docx", ZIP, "notes.docx"),
        ("notes.txt", b"\xff\xfe\x00\xd8" * 300, "notes.txt"),
        ("empty.md", b"", "empty.md"),
        ("blank.md", b"   \n\n\t\n", "blank.md"),
    ],
)
async def test_an_admin_upload_that_is_not_an_export_is_named_and_imports_nothing(
    make_bot: Make, name: str, content: bytes, says: str
) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    [reply] = await upload(bot, ADMIN, name, content)
    assert says in reply and "1 failed" in reply and "0 new" in reply
    assert await count(bot) == 16
    assert not bot.standin.failures


async def test_a_50_mb_upload_is_refused_from_its_size_alone(make_bot: Make) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    big = b"- idea\n" * (HUGE // 7)
    [reply] = await upload(bot, ADMIN, "everything.txt", big)
    assert "everything.txt is too large" in reply
    assert fetches(bot) == 0  # never downloaded: memory is not at stake
    [hint] = await upload(bot, STRANGER, "everything.txt", big)
    assert hint.startswith("Send /random") and fetches(bot) == 0
    assert await count(bot) == 16


async def test_an_upload_without_a_size_is_checked_before_download(make_bot: Make) -> None:
    """Telegram's ``file_size`` is optional: without it the bot asks getFile, and a file
    over the download limit gets the same clear reply, not an error."""
    bot = await make_bot(admin_ids=[ADMIN])
    over = b"- idea\n" * ((MAX_UPLOAD + 7) // 7 + 1)
    bot.standin.user_sends_document(ADMIN, "big.txt", over)
    del bot.standin.pending_updates[-1]["message"]["document"]["file_size"]
    [reply] = [m.text for m in await bot._settle(ADMIN)]
    assert "big.txt is too large" in reply
    bot.standin.user_sends_document(ADMIN, "small.txt", b"- A small idea\n")
    del bot.standin.pending_updates[-1]["message"]["document"]["file_size"]
    [summary] = [m.text for m in await bot._settle(ADMIN)]
    assert "1 new" in summary
    assert await count(bot) == 17


async def test_a_stranger_upload_is_never_fetched_or_imported(make_bot: Make) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    for name, content in [("ideas.txt", b"- Sneaky idea\n"), ("a.out", ELF), ("x.zip", ZIP)]:
        [hint] = await upload(bot, STRANGER, name, content)
        assert hint.startswith("Send /random") and "import" not in hint
    assert fetches(bot) == 0
    assert await count(bot) == 16


async def test_admin_tools_stay_out_of_groups(make_bot: Make) -> None:
    """README: admins have these "in a private chat with the bot". A file an admin shares
    with a group is for the group; /stats there would show the bot's numbers to all."""
    bot = await make_bot(admin_ids=[ADMIN])
    bot.standin.add_chat(GROUP, type="group", title="Book club")
    bot.standin.set_admins(GROUP, [ADMIN], owner=ADMIN)
    [*_] = await upload(bot, GROUP, "ideas.txt", b"- A group idea\n", user_id=ADMIN)
    for command in ("/stats", "/reload", "/stats@takeaways_bot"):
        assert await bot.send(GROUP, command, user_id=ADMIN) == []
    assert bot.standin.messages(GROUP) == []
    assert fetches(bot) == 0
    assert await count(bot) == 16
