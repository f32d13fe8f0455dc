"""End to end over HTTP: the real bot (python-telegram-bot over the default transport,
``HTTP_TRANSPORT=aiohttp``) against the stand-in Bot API running in a second process.

* ``standin``: the stand-in alone, with a raw keep-alive socket client, and
  python-telegram-bot's ``Bot.send_message`` alone (no code of ours) over each transport:
  the bounds the bot's own figures sit under.
* ``delivery`` / ``delivery-limited``: the daily run, limiter off / at Telegram's 30/s.
* ``commands`` / ``commands-limited``: many people send /random at the same moment.

``delivery`` and ``commands`` also run over ``HTTP_TRANSPORT=httpx`` (the transport before
aiohttp) in the same run, as the "before" figure; the httpx delivery sends at most 20,000
messages, as its rate is flat in the count and 100,000 would take minutes.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from pydantic import SecretStr
from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import BaseRateLimiter, Defaults, ExtBot

from bench import gen
from bench.remote import RemoteStandin
from bench.report import Figure, at_least, at_most, info, percentile
from bench.transport import LeanRequest
from bench.workspace import Workspace
from bot.clock import ManualClock
from bot.delivery.daily import RunReport, deliver_due
from bot.settings import Settings
from bot.store import Store
from bot.telegram.app import (
    build_application,
    daily_sender,
    settle_memory,
    start_bot,
    stop_bot,
)
from bot.telegram.format import takeaway_messages
from bot.telegram.keyboards import takeaway_keyboard
from bot.telegram.transport import Transport, build_request

TELEGRAM_RATE = 30  # messages per second, Telegram's limit for one bot
DEFAULT_TRANSPORT: Transport = Settings.model_fields["http_transport"].default
HTTPX_DELIVERY_MAX = 20_000  # the httpx comparison's size (flat rate, slow)
COMMAND_USERS_FROM = 50_000_001  # chat ids of the people sending commands


@asynccontextmanager
async def running_bot(
    tg: RemoteStandin, path: Path, *, rate_limit: bool, transport: Transport = DEFAULT_TRANSPORT
) -> AsyncIterator[tuple[Any, Store, ManualClock]]:
    """The bot as ``takeaways-bot run`` wires it (polling, handlers), minus the jobs:
    the benchmark runs the daily job itself, at a fixed instant."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=SecretStr(tg.token),
        bot_api_url=tg.url,
        database_path=path,
        http_transport=transport,
    )
    async with await Store.open(path) as store:
        clock = ManualClock(gen.BENCH_NOW)
        app = build_application(settings, store, clock=clock, rate_limit=rate_limit, jobs=False)
        await start_bot(app)
        settle_memory()  # as ``takeaways-bot run`` does once started
        try:
            yield app, store, clock
        finally:
            await stop_bot(app)


async def _sample_message(path: Path) -> tuple[str, str]:
    """A typical takeaway message (HTML text, keyboard JSON) as the bot sends it."""
    async with await Store.open(path) as store:
        item = await store.get_takeaway(1)
    assert item is not None
    keyboard = json.dumps(takeaway_keyboard(item).to_dict())
    return takeaway_messages(item)[0], keyboard


async def _raw_client(url: str, body: bytes, count: int) -> None:
    """Sequential requests on one keep-alive connection, parsing just enough HTTP."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    request = head + body
    try:
        for _ in range(count):
            writer.write(request)
            answer = await reader.readuntil(b"\r\n\r\n")
            if not answer.startswith(b"HTTP/1.1 200"):
                raise AssertionError(answer[:200].decode("latin-1"))
            length = 0
            for line in answer.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
    finally:
        writer.close()


async def run_standin(ws: Workspace) -> list[Figure]:
    path = await ws.collection(ws.sizes.small_collection)
    text, keyboard = await _sample_message(path)
    requests = 20_000 if ws.sizes.collection >= 1_000_000 else 5_000
    connections = 4
    async with RemoteStandin() as tg:
        await tg.call("add_chats", first=1, count=connections)
        url = f"{tg.url}/bot{tg.token}/sendMessage"
        raw_rates = []
        # A takeaway as the bot sends it (HTML to parse, a keyboard to check), then a bare
        # "hi": the stand-in's cost per request depends on what it has to validate.
        for fields in (
            {"text": text, "parse_mode": "HTML", "reply_markup": keyboard},
            {"text": "hi"},
        ):
            bodies = [urlencode({"chat_id": n + 1, **fields}).encode() for n in range(connections)]
            started = time.perf_counter()
            per_client = requests // connections
            await asyncio.gather(*(_raw_client(url, body, per_client) for body in bodies))
            raw_rates.append(per_client * connections / (time.perf_counter() - started))
        raw_rate, short_rate = raw_rates
        # python-telegram-bot alone: no code of ours between the loop and the transport:
        # aiohttp (the default), httpx, and the lean experiment (bench.transport).
        rates, cpus = [], []
        for request in (build_request("aiohttp"), build_request("httpx"), LeanRequest()):
            bot = Bot(tg.token, base_url=f"{tg.url}/bot", request=request)
            async with bot:
                sends = requests // 5
                gate = asyncio.Semaphore(4)

                async def send(n: int, bot: Bot = bot, gate: asyncio.Semaphore = gate) -> None:
                    async with gate:
                        await bot.send_message(n % connections + 1, text, parse_mode=ParseMode.HTML)

                started, cpu = time.perf_counter(), time.process_time()
                await asyncio.gather(*(send(n) for n in range(sends)))
                rates.append(sends / (time.perf_counter() - started))
                cpus.append((time.process_time() - cpu) / sends * 1000)
        ptb_rate, httpx_rate, lean_rate = rates
        # The transport alone: BaseRequest.do_request (no Bot, no Message objects), 16 at once.
        request_cpus = []
        get_me = f"{tg.url}/bot{tg.token}/getMe"
        for request in (build_request("aiohttp"), build_request("httpx"), LeanRequest()):
            async with request:
                gate = asyncio.Semaphore(16)

                async def call(request: Any = request, gate: asyncio.Semaphore = gate) -> None:
                    async with gate:
                        await request.do_request(get_me, "POST")

                cpu = time.process_time()
                await asyncio.gather(*(call() for _ in range(sends)))
                request_cpus.append((time.process_time() - cpu) / sends * 1_000_000)
        stats = await tg.call("stats")
    if stats["other_failures"] or stats["internal_errors"]:
        raise AssertionError(f"the stand-in refused requests: {stats}")
    return [
        at_least(
            "standin.raw_requests",
            raw_rate,
            "req/s",
            2 * 1_500,
            f"a takeaway message, {connections} connections; 2x the delivery target",
        ),
        info("standin.raw_requests_short", short_rate, "req/s", 'the same with text "hi"'),
        info(
            "ptb.send_message_alone", ptb_rate, "msg/s", "Bot.send_message (aiohttp), 4 at a time"
        ),
        info("ptb.send_message_httpx", httpx_rate, "msg/s", "the same over httpx"),
        info("ptb.cpu_per_message", cpus[0], "ms", "client CPU per send_message (aiohttp)"),
        info("ptb.cpu_per_message_httpx", cpus[1], "ms", "the same over httpx"),
        info("ptb.cpu_per_message_lean_transport", cpus[2], "ms", "the same, bench.transport"),
        info("transport.cpu_per_request", request_cpus[0], "us", "do_request alone (aiohttp)"),
        info("transport.cpu_per_request_httpx", request_cpus[1], "us", "the same over httpx"),
        info("transport.cpu_per_request_lean", request_cpus[2], "us", "the same, bench.transport"),
        info(
            "ptb.send_message_lean_transport",
            lean_rate,
            "msg/s",
            "experiment: the same with bench.transport",
        ),
    ]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _variant_bot(tg: RemoteStandin, *, limiter: BaseRateLimiter[Any] | None) -> Any:
    """A bot configured like the product's (same defaults and transport), for the
    experiments with a differently tuned rate limiter."""
    return ExtBot(
        tg.token,
        base_url=f"{tg.url}/bot",
        request=build_request(DEFAULT_TRANSPORT),
        defaults=Defaults(
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        rate_limiter=limiter,
    )


async def _deliver(
    ws: Workspace,
    count: int,
    *,
    rate_limit: bool,
    name: str,
    transport: Transport = DEFAULT_TRANSPORT,
    limiter: BaseRateLimiter[Any] | None = None,
) -> tuple[float, tuple[float, float], dict[str, Any], RunReport]:
    """Run the daily job for ``count`` due subscribers; (seconds, CPU seconds of this
    process and of the stand-in's, stand-in stats, report).

    By default through the bot as the product builds it; with ``limiter``, through the
    same delivery code on a bot with that one thing changed.
    """
    collection = await ws.collection(ws.sizes.collection)
    path = ws.copy(collection, f"{name}.db")
    gen.add_subscribers(path, count, ws.seed)
    try:
        async with RemoteStandin() as tg:
            await tg.call("add_chats", first=1, count=count)
            if rate_limit or limiter is not None:
                await tg.call("configure", max_sends_per_second=TELEGRAM_RATE)
            if limiter is not None:
                async with (
                    await Store.open(path) as store,
                    _variant_bot(tg, limiter=limiter) as bot,
                ):
                    await tg.call("reset")
                    started, cpu = time.perf_counter(), time.process_time()
                    standin_cpu = _cpu_seconds(tg.pid)
                    report = await deliver_due(
                        store,
                        daily_sender(bot, store),
                        ManualClock(gen.BENCH_NOW),
                        rng=random.Random(ws.seed),
                    )
                    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                    standin_cpu = _cpu_seconds(tg.pid) - standin_cpu
            else:
                async with running_bot(tg, path, rate_limit=rate_limit, transport=transport) as (
                    app,
                    store,
                    clock,
                ):
                    await tg.call("reset")
                    started, cpu = time.perf_counter(), time.process_time()
                    standin_cpu = _cpu_seconds(tg.pid)
                    report = await deliver_due(
                        # As the delivery job sends: buttons drawn from the chat's marks.
                        store,
                        daily_sender(app.bot, store),
                        clock,
                        rng=random.Random(ws.seed),
                    )
                    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                    standin_cpu = _cpu_seconds(tg.pid) - standin_cpu
            stats = await tg.call("stats", times=True)
    finally:
        ws.remove(path)
    if report.due != count or stats["sent"] != report.sent or stats["internal_errors"]:
        raise AssertionError(f"delivery went wrong: {report.line()}; stand-in: {stats['sent']}")
    if not (rate_limit or limiter) and report.sent != count:
        raise AssertionError(f"without a limiter every message must go: {report.line()}")
    return elapsed, (cpu, standin_cpu), stats, report


async def run_delivery(ws: Workspace) -> list[Figure]:
    count = ws.sizes.delivery_messages
    elapsed, (cpu, standin_cpu), _, _ = await _deliver(ws, count, rate_limit=False, name="delivery")
    small = min(count, HTTPX_DELIVERY_MAX)
    httpx_elapsed, (httpx_cpu, _), _, _ = await _deliver(
        ws, small, rate_limit=False, name="delivery", transport="httpx"
    )
    return [
        at_least(
            "delivery.rate",
            count / elapsed,
            "msg/s",
            1_500,
            f"{count:,} subscribers, limiter off, {elapsed:.1f} s ({DEFAULT_TRANSPORT})",
        ),
        info(
            "delivery.cpu_per_message",
            cpu / count * 1000,
            "ms",
            "the bot process's CPU time per message (the stand-in's not included)",
        ),
        info(
            "delivery.standin_cpu_per_message",
            standin_cpu / count * 1000,
            "ms",
            f"the stand-in's CPU time per message: its own bound is {count / standin_cpu:,.0f} "
            "msg/s on a free core"
            if standin_cpu
            else "not measured (no /proc)",
        ),
        info(
            "delivery.rate_httpx",
            small / httpx_elapsed,
            "msg/s",
            f"the same over HTTP_TRANSPORT=httpx, {small:,} subscribers",
        ),
        info(
            "delivery.cpu_per_message_httpx",
            httpx_cpu / small * 1000,
            "ms",
            "the same over httpx",
        ),
    ]


def _steady_rate(times: list[float]) -> float:
    """Messages per second once the first second (a limiter's burst) is over: the slope
    of a least-squares line through (send time, messages so far), which a limiter that
    sends in bursts (a window's worth at once) does not throw off the way "messages
    divided by first-to-last time" would."""
    points = [(t, n) for n, t in enumerate(times) if t >= times[0] + 1.0]
    if len(points) < 3:
        return float("nan")
    mean_t = statistics.fmean(t for t, _ in points)
    mean_n = statistics.fmean(n for _, n in points)
    var = sum((t - mean_t) ** 2 for t, _ in points)
    cov = sum((t - mean_t) * (n - mean_n) for t, n in points)
    return cov / var


def _busiest_second(times: list[float]) -> int:
    """The most sends the stand-in saw within any one second."""
    most, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def run_delivery_limited(ws: Workspace) -> list[Figure]:
    count = ws.sizes.limited_messages
    figures = []
    # The product's limiter (bot.telegram.limiter: a window, after PTB's leaky bucket let
    # 201 of 1,000 through too fast in an earlier run).
    for label, limiter in (("", None),):
        elapsed, _, stats, report = await _deliver(
            ws, count, rate_limit=True, name="limited", limiter=limiter
        )
        times = stats["send_times"]
        sustained = _steady_rate(times)
        off = abs(sustained - TELEGRAM_RATE) / TELEGRAM_RATE
        experiment = "experiment: " if limiter else ""
        figures += [
            Figure(
                f"delivery_limited{label}.sustained_rate",
                sustained,
                "msg/s",
                "30 +/- 5%",
                None if limiter else off <= 0.05,
                f"{experiment}{count:,} messages, after the first second",
            ),
            info(
                f"delivery_limited{label}.overall_rate",
                (len(times) - 1) / (times[-1] - times[0]),
                "msg/s",
                f"first to last send, run {elapsed:.1f} s",
            ),
            info(
                f"delivery_limited{label}.busiest_second",
                _busiest_second(times),
                "msg",
                "most sends the stand-in saw in any one second",
            ),
            Figure(
                f"delivery_limited{label}.429s",
                stats["too_many"],
                "answers",
                "<= 0",
                None if limiter else stats["too_many"] == 0,
                f"{experiment}stand-in refuses the 31st send in any second",
            ),
            info(
                f"delivery_limited{label}.delivered",
                report.sent,
                f"of {count:,}",
                f"{report.retried} rescheduled after 429s (the run's retry, minutes later)",
            ),
        ]
    return figures


async def _commands(
    ws: Workspace, users: int, *, rate_limit: bool, transport: Transport = DEFAULT_TRANSPORT
) -> dict[str, Any]:
    """The stand-in's stats, plus ``cpu`` and ``standin_cpu``: the CPU seconds this
    process (the bot, and the benchmark polling the stand-in) and the stand-in spent
    from the push to the last answer."""
    path = await ws.collection(ws.sizes.collection)
    async with RemoteStandin() as tg:
        await tg.call("add_chats", first=COMMAND_USERS_FROM, count=users)
        if rate_limit:
            await tg.call("configure", max_sends_per_second=TELEGRAM_RATE)
        async with running_bot(tg, path, rate_limit=rate_limit, transport=transport):
            await tg.call("reset")
            cpu, standin_cpu = time.process_time(), _cpu_seconds(tg.pid)
            await tg.call("push", first=COMMAND_USERS_FROM, count=users, text="/random")
            timeout = 30 + (users / TELEGRAM_RATE) * 2 if rate_limit else 120
            stats = await tg.wait_answered(users, timeout)
            stats["cpu"] = time.process_time() - cpu
            stats["standin_cpu"] = _cpu_seconds(tg.pid) - standin_cpu
    if stats["internal_errors"] or stats["other_failures"]:
        raise AssertionError(f"the stand-in refused requests: {stats}")
    return stats


async def run_commands(ws: Workspace) -> list[Figure]:
    users = ws.sizes.command_users
    stats = await _commands(ws, users, rate_limit=False)
    latencies = [s * 1000 for s in stats["latencies"]]
    before = await _commands(ws, users, rate_limit=False, transport="httpx")
    before_latencies = [s * 1000 for s in before["latencies"]]
    return [
        at_least("commands.answered", stats["answered"], "of " + f"{users:,}", users),
        at_most(
            "commands.p99",
            percentile(latencies, 0.99),
            "ms",
            500,
            f"p50 {percentile(latencies, 0.5):.0f} ms; update queued -> reply received "
            f"({DEFAULT_TRANSPORT})",
        ),
        info("commands.all_answered_in", stats["span"], "s", "limiter off"),
        info(
            "commands.cpu_per_command",
            stats["cpu"] / users * 1000,
            "ms",
            "the bot process's CPU time per /random, push to last answer",
        ),
        info(
            "commands.standin_cpu_per_command",
            stats["standin_cpu"] / users * 1000,
            "ms",
            "the stand-in's (getUpdates and sendMessage)" if stats["standin_cpu"] else "no /proc",
        ),
        info(
            "commands.p99_httpx",
            percentile(before_latencies, 0.99),
            "ms",
            f"the same over HTTP_TRANSPORT=httpx: {before['answered']:,} answered in "
            f"{before['span']:.2f} s",
        ),
    ]


async def run_commands_limited(ws: Workspace) -> list[Figure]:
    users = ws.sizes.limited_users
    stats = await _commands(ws, users, rate_limit=True)
    latencies = [s * 1000 for s in stats["latencies"]]
    # The limiter's own bound: a burst of 30 at once, then 30 a second.
    bound = max(0, users - TELEGRAM_RATE) / TELEGRAM_RATE
    return [
        at_least("commands_limited.answered", stats["answered"], "of " + f"{users:,}", users),
        Figure(
            "commands_limited.all_answered_in",
            stats["span"],
            "s",
            f"~{bound:.1f} (limiter)",
            stats["span"] <= bound * 1.05 + 1.0,
            f"p99 {percentile(latencies, 0.99) / 1000:.1f} s; bound = (N - 30) / 30",
        ),
        at_most("commands_limited.429s", stats["too_many"], "answers", 0, "stand-in at 30/s"),
    ]
