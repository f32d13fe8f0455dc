"""/sync, /stats and the periodic sync job in the real bot, against the Bot API stand-in
and the fake Readwise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import pytest
from pydantic import SecretStr

from bot.clock import ManualClock
from bot.settings import Settings
from bot.store import Store
from bot.telegram import readwise as rw
from bot.telegram.app import build_application
from tests.conftest import BotHarness
from tests.sync.readwise_fake import FakeBook, FakeReadwise

ADMIN, STRANGER = 900, 901
Make = Callable[..., Awaitable[BotHarness]]


@pytest.fixture
def readwise(clock: ManualClock) -> Iterator[FakeReadwise]:
    with FakeReadwise(clock) as fake:
        book = fake.add_book(FakeBook(user_book_id=1, title="Book", asin="B000000001"))
        fake.highlight(book, 1, "One idea about gardens.", location=10)
        fake.highlight(book, 2, "Another idea about gardens.", location=20)
        yield fake


async def synced_bot(make: Make, readwise: FakeReadwise, token: str | None = None) -> BotHarness:
    return await make(
        admin_ids=[ADMIN],
        readwise_token=SecretStr(token or readwise.token),
        readwise_api_url=readwise.url,
    )


async def test_admin_syncs_and_stats_tell_what_it_brought(
    make_bot: Make, readwise: FakeReadwise, clock: ManualClock
) -> None:
    bot = await synced_bot(make_bot, readwise)
    before = await bot.reply_text(ADMIN, "/stats")
    assert "Readwise sync: not run yet" in before

    reply = await bot.reply_text(ADMIN, "/sync")
    assert "Readwise sync (full): 2 new, 0 updated, 0 deleted, 0 unchanged" in reply
    assert len(await bot.store.search("gardens")) == 2

    clock.advance(hours=1)
    readwise.delete(1)
    clock.advance(minutes=10)
    reply = await bot.reply_text(ADMIN, "/sync")
    assert "(incremental): 0 new, 0 updated, 1 deleted" in reply
    stats = await bot.reply_text(ADMIN, "/stats")
    assert "Readwise sync: last ran 2026-03-02 07:10 UTC: 0 new, 0 updated, 1 deleted" in stats


async def test_sync_is_for_admins_only_and_off_without_a_token(
    make_bot: Make, readwise: FakeReadwise
) -> None:
    bot = await synced_bot(make_bot, readwise)
    assert await bot.send(STRANGER, "/sync") == []
    assert not [p for p, _, _ in readwise.requests if p == "/api/v2/export/"]
    await bot.stop()
    plain = await make_bot(admin_ids=[ADMIN])
    assert "READWISE_TOKEN" in await plain.reply_text(ADMIN, "/sync")
    assert "Readwise sync: off" in await plain.reply_text(ADMIN, "/stats")


async def test_a_bad_token_is_told_to_admins_once_and_the_bot_keeps_running(
    make_bot: Make, readwise: FakeReadwise
) -> None:
    bot = await synced_bot(make_bot, readwise, token="a-token-readwise-does-not-know")
    bot.standin.add_chat(ADMIN)  # the admin has talked to the bot before
    service = rw.service_of(bot.app.bot_data)
    assert service is not None
    for _ in range(3):  # the job at start, then two intervals
        await rw.scheduled_sync(bot.app.bot, service, [ADMIN])
    told = [m.text for m in bot.received(ADMIN)]
    assert len(told) == 1
    assert "Readwise refused READWISE_TOKEN (HTTP 401)" in told[0]
    assert "a-token-readwise-does-not-know" not in told[0]
    assert "did not start" in await bot.reply_text(ADMIN, "/sync")

    # Fixed in Readwise (the fake now takes this token): the next interval syncs.
    readwise.token = "a-token-readwise-does-not-know"
    await rw.scheduled_sync(bot.app.bot, service, [ADMIN])
    assert len(bot.received(ADMIN)) == 2  # only the /sync reply above, nothing new
    assert len(await bot.store.search("gardens")) == 2


async def test_the_job_is_registered_only_with_a_token(
    settings: Settings, store: Store, readwise: FakeReadwise
) -> None:
    with_token = settings.model_copy(
        update={"readwise_token": SecretStr(readwise.token), "readwise_sync_interval": 1800}
    )
    app = build_application(with_token, store, rate_limit=False)
    assert app.job_queue is not None
    [job] = [j for j in app.job_queue.jobs() if j.name == "readwise-sync"]
    assert job.job.trigger.interval.total_seconds() == 1800
    plain = build_application(settings, store, rate_limit=False)
    assert plain.job_queue is not None
    assert not [j for j in plain.job_queue.jobs() if j.name == "readwise-sync"]
