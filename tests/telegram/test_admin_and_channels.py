"""Admin tools in Telegram, channels from CHANNEL_IDS, and webhook mode."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from bot.clock import ManualClock
from bot.settings import Settings
from bot.standin import BotAPIStandin
from bot.store import Store
from bot.telegram.app import build_application, start_bot, stop_bot
from tests.conftest import BotHarness

ADMIN, STRANGER = 900, 901
SECRET = "s3cret-token_1-0123456789abcdef0123456789"
Make = Callable[..., Awaitable[BotHarness]]


async def upload(bot: BotHarness, chat_id: int, name: str, content: bytes) -> list[str]:
    bot.standin.user_sends_document(chat_id, name, content)
    return [m.text for m in await bot._settle(chat_id)]


async def count(bot: BotHarness) -> int:
    row = await bot.store.db.execute("SELECT COUNT(*) FROM takeaways")
    return int((await row.fetchone())[0])


async def test_admin_uploads_an_export_and_gets_the_summary(make_bot: Make) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    [summary] = await upload(bot, ADMIN, "ideas.txt", b"- First idea\n- Second idea\n")
    assert "2 new, 0 updated, 0 unchanged, 0 failed" in summary
    assert await count(bot) == 18
    [again] = await upload(bot, ADMIN, "ideas.txt", b"- First idea\n- Second idea\n")
    assert "0 new, 0 updated, 2 unchanged" in again


async def test_a_bad_upload_gets_the_parse_error_and_imports_nothing(make_bot: Make) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    [reply] = await upload(bot, ADMIN, "photo.jpg", b"\xff\xd8\xff\x00\x00JFIF")
    assert "photo.jpg" in reply and "1 failed" in reply
    csv = b'Highlight,Book Title,Book Author\nok,T,A\n"unclosed,x\n'
    [reply] = await upload(bot, ADMIN, "export.csv", csv)
    assert "export.csv:3:" in reply and "0 new" in reply
    assert await count(bot) == 16


async def test_admin_tools_ignore_everybody_else(make_bot: Make) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    # A file from anyone else is just something the bot does not read: the usual hint.
    [hint] = await upload(bot, STRANGER, "ideas.txt", b"- Sneaky idea\n")
    assert hint.startswith("Send /random") and "import" not in hint
    for command in ("/stats", "/reload"):
        assert await bot.send(STRANGER, command) == []
    assert await count(bot) == 16


async def test_admin_stats_and_reload(make_bot: Make, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "list.md").write_text("# Notes\n\n- One\n- Two\n- Three\n")
    bot = await make_bot(admin_ids=[ADMIN], takeaways_path=exports)
    await bot.send(STRANGER, "/start")
    bot.standin.block(STRANGER, notify=False)
    bot.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    await bot.deliver()
    text = await bot.reply_text(ADMIN, "/stats")
    assert "Subscribers: 0 active, 1 blocked" in text
    assert "Takeaways: 16 from 1 sources" in text
    assert "0 sent, 1 failed" in text
    assert "3 new" in await bot.reply_text(ADMIN, "/reload")
    assert "3 unchanged" in await bot.reply_text(ADMIN, "/reload")


async def test_channels_get_the_daily_takeaway_once(make_bot: Make) -> None:
    channel = -1007777
    bot = await make_bot(channel_ids=["@readers_daily"])
    bot.standin.add_chat(channel, type="channel", title="Readers", username="readers_daily")
    await bot.restart()  # resolves @readers_daily now that the channel exists
    bot.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    assert (await bot.deliver()).sent == 1
    bot.clock.set(datetime(2026, 3, 2, 9, 1, tzinfo=UTC))
    assert (await bot.deliver()).sent == 0
    await bot.restart()
    assert (await bot.deliver()).sent == 0
    assert len(bot.dailies(channel)) == 1
    bot.clock.set(datetime(2026, 3, 3, 9, tzinfo=UTC))
    assert (await bot.deliver()).sent == 1
    # Readers share the channel's stream: no Keep / Not for me there, only the source.
    for message in bot.dailies(channel):
        assert [b["text"] for row in message.buttons for b in row] == ["🔗 Source"]


async def test_webhook_checks_the_secret_on_every_request(
    standin: BotAPIStandin,
    store: Store,
    clock: ManualClock,
    settings: Settings,
    unused_tcp_port: int,
) -> None:
    webhook = settings.model_copy(
        update={
            "webhook_url": "https://bot.example.com/telegram/hook",
            "webhook_listen": "127.0.0.1",
            "webhook_port": unused_tcp_port,
            "webhook_secret": SecretStr(SECRET),
        }
    )
    app = build_application(webhook, store, clock=clock, rate_limit=False, jobs=False)
    await start_bot(app)
    try:
        assert standin.webhook is not None
        assert standin.webhook["url"] == "https://bot.example.com/telegram/hook"
        standin.user_sends(55, "/random")
        [update] = standin.take_updates()
        url = f"http://127.0.0.1:{unused_tcp_port}/telegram/hook"
        async with httpx.AsyncClient() as client:
            refused = await client.post(url, json=update)
            wrong = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
            )
            assert (refused.status_code, wrong.status_code) == (403, 403)
            assert standin.messages(55) == []
            accepted = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            assert accepted.status_code == 200
        [reply] = await standin.wait_for_messages(55)
        assert "@svpino on Twitter" in reply.text
    finally:
        await stop_bot(app)
