"""Attacks on the webhook server, in process, with short limits so they run quickly.

Whoever can reach the webhook port can send anything; only Telegram (and whoever else
holds WEBHOOK_SECRET) may reach a handler. The full-size attacks (a 95 MiB body, 1,100
idle connections against a process limited to 1,024 file descriptors) are in
test_webhook_process.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from bot.clock import ManualClock
from bot.settings import Settings
from bot.standin import BotAPIStandin
from bot.store import Store
from bot.telegram.app import build_application, stop_bot
from bot.telegram.webhook import Limits, WebhookServer, secret_matches
from tests.security.security_support import (
    post_json,
    request_head,
    send_and_read,
    stream_body,
)

PATH = "/telegram/hook"
SECRET = secrets.token_hex(32)
FAST = Limits(max_body=64 * 1024, body_timeout=0.5, idle_timeout=0.5, max_connections=20)
PERSON = 61_001


async def trickle_bytes(writer: asyncio.StreamWriter, data: bytes) -> None:
    with contextlib.suppress(ConnectionError):
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.05)


@dataclass
class Hook:
    standin: BotAPIStandin
    store: Store
    server: WebhookServer
    port: int

    def update(self, text: str = "/start") -> dict[str, object]:
        self.standin.user_sends(PERSON, text)
        [update] = self.standin.take_updates()
        return update

    async def chats(self) -> int:
        async with self.store.db.execute("SELECT COUNT(*) FROM chats") as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture
async def hook(
    standin: BotAPIStandin,
    store: Store,
    clock: ManualClock,
    settings: Settings,
    unused_tcp_port: int,
) -> AsyncIterator[Hook]:
    webhook = settings.model_copy(
        update={
            "webhook_url": f"https://bot.example.com{PATH}",
            "webhook_listen": "127.0.0.1",
            "webhook_port": unused_tcp_port,
            "webhook_secret": SecretStr(SECRET),
        }
    )
    app = build_application(webhook, store, clock=clock, rate_limit=False, jobs=False)
    await app.initialize()
    await app.start()
    server = WebhookServer(
        app, listen="127.0.0.1", port=unused_tcp_port, path=PATH, secret=SECRET, limits=FAST
    ).attach()
    await server.start()
    try:
        yield Hook(standin, store, server, unused_tcp_port)
    finally:
        await stop_bot(app)


def test_the_secret_comparison_is_exact() -> None:
    expected = SECRET.encode()
    assert secret_matches([SECRET], expected)
    for values in ([], [""], [SECRET[:-1]], [SECRET + "0"], [SECRET.upper()], [SECRET, SECRET]):
        assert not secret_matches(values, expected), values


async def test_forged_posts_reach_no_handler(hook: Hook) -> None:
    update = hook.update("/stop")
    forged = {
        "none": None,
        "empty": "",
        "wrong": secrets.token_hex(32),
        "prefix": SECRET[:-1],
        "longer": SECRET + "a",
        "case": SECRET.upper(),
    }
    for name, secret in forged.items():
        answer = await send_and_read(hook.port, post_json(PATH, update, secret))
        assert (answer.status, answer.closed) == (403, True), name
    # The secret twice, or once right and once wrong; in the query string; elsewhere.
    body = post_json(PATH, update, SECRET)
    twice = body.replace(
        b"\r\n\r\n", f"\r\nX-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n\r\n".encode(), 1
    )
    assert (await send_and_read(hook.port, twice)).status == 403
    query = post_json(f"{PATH}?secret_token={SECRET}", update, None)
    assert (await send_and_read(hook.port, query)).status == 403
    assert (await send_and_read(hook.port, post_json("/", update, SECRET))).status == 404
    await asyncio.sleep(0.2)
    assert hook.standin.messages(PERSON) == [] and await hook.chats() == 0
    assert hook.server.stats.received == 0 and hook.server.stats.refused["secret"] == 8
    # The real thing gets through.
    real = post_json(PATH, hook.update("/start"), SECRET)
    assert (await send_and_read(hook.port, real, until_closed=False)).status == 200
    await hook.standin.wait_for_messages(PERSON)


async def test_the_secret_is_checked_before_any_body_is_read(hook: Hook) -> None:
    """Headers announcing 50 MiB, and no body at all: refused at once, not after reading."""
    for secret in (None, "wrong-" + SECRET):
        head = request_head(PATH, secret=secret, length=50 * 1024 * 1024)
        answer = await send_and_read(hook.port, head, timeout=2.0)
        assert answer.status == 403 and answer.closed, answer
        assert answer.seconds < 0.4, answer  # well before the body timeout could fire


async def test_big_bodies_are_refused_unread_even_with_the_secret(hook: Hook) -> None:
    declared = request_head(PATH, secret=SECRET, length=FAST.max_body + 1)
    answer = await send_and_read(hook.port, declared, timeout=2.0)
    assert (answer.status, answer.closed) == (413, True) and answer.seconds < 0.4
    # Chunked: read as a stream that stops at the limit.
    chunked = request_head(PATH, secret=SECRET, chunked=True)
    chunk = b"%x\r\n%s\r\n" % (4096, b"x" * 4096)
    answer = await send_and_read(hook.port, chunked + chunk * 40, timeout=2.0)
    assert (answer.status, answer.closed) == (413, True)
    # Without the secret a chunked body is not read at all.
    head = request_head(PATH, chunked=True)
    answer = await stream_body(hook.port, head, 8 * 1024 * 1024, chunked=True)
    assert (answer.status, answer.closed) == (403, True)
    assert hook.server.stats.refused["too_large"] == 2
    assert hook.server.stats.received == 0


async def test_slow_bodies_and_idle_connections_are_closed(hook: Hook) -> None:
    slow = request_head(PATH, secret=SECRET, length=1000) + b'{"update_id": 1'
    answer = await send_and_read(hook.port, slow, timeout=3.0)
    assert (answer.status, answer.closed) == (408, True), answer
    assert answer.seconds < FAST.body_timeout + 0.5
    # Connected, and nothing sent: closed after the idle time.
    reader, writer = await asyncio.open_connection("127.0.0.1", hook.port)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(3):
        assert await reader.read() == b""
    assert loop.time() - started < FAST.idle_timeout + 0.5
    writer.close()
    # A header line a byte at a time (slowloris): each byte does not buy more time.
    reader, writer = await asyncio.open_connection("127.0.0.1", hook.port)
    started = loop.time()
    trickle = asyncio.create_task(trickle_bytes(writer, request_head(PATH, secret=SECRET)))
    async with asyncio.timeout(3):
        assert await reader.read() == b""
    assert loop.time() - started < FAST.idle_timeout + 0.5
    assert not trickle.done()  # it was still sending when the server hung up
    trickle.cancel()
    writer.close()
    assert hook.server.stats.closed_idle >= 2


async def test_many_idle_connections_cannot_lock_telegram_out(hook: Hook) -> None:
    idle = [await asyncio.open_connection("127.0.0.1", hook.port) for _ in range(60)]
    await asyncio.sleep(0.1)
    assert len(hook.server.guard.open) <= FAST.max_connections
    real = post_json(PATH, hook.update("/start"), SECRET)
    assert (await send_and_read(hook.port, real, until_closed=False)).status == 200
    [welcome] = await hook.standin.wait_for_messages(PERSON)
    assert "Welcome" in welcome.text
    assert hook.server.stats.evicted >= 60 - FAST.max_connections
    for _, writer in idle:
        writer.close()


async def test_refusals_are_logged_a_few_times_a_minute(
    hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    update = hook.update()
    with caplog.at_level(logging.INFO):
        for _ in range(200):
            await send_and_read(hook.port, post_json(PATH, update, "forged"), timeout=1.0)
    lines = [r for r in caplog.records if r.name == "bot.telegram.webhook"]
    assert hook.server.stats.refused["secret"] == 200
    # At most the burst of 5 a minute (fewer if earlier tests in this process used it up).
    assert len(lines) <= 5, len(lines)


async def test_malformed_requests_cost_no_traceback(
    hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    """Broken chunk framing right behind the headers: uvicorn answers 400 itself."""
    broken = request_head(PATH, chunked=True) + b"zz\r\nnot a chunk\r\n" * 100
    with caplog.at_level(logging.INFO):
        for _ in range(10):
            answer = await send_and_read(hook.port, broken, timeout=2.0)
            assert answer.status in (400, 403) and answer.closed, answer
        await asyncio.sleep(0.1)
    assert not [r for r in caplog.records if r.exc_info], caplog.text[-2000:]


async def test_an_update_ptb_cannot_read_is_refused_and_the_next_one_served(hook: Hook) -> None:
    for junk in ({"update_id": 5, "message": "not an object"}, {"update_id": "5"}, [1, 2]):
        answer = await send_and_read(hook.port, post_json(PATH, junk, SECRET))  # type: ignore[arg-type]
        assert (answer.status, answer.closed) == (400, True), junk
    real = post_json(PATH, hook.update("/start"), SECRET)
    assert (await send_and_read(hook.port, real, until_closed=False)).status == 200
    await hook.standin.wait_for_messages(PERSON)
