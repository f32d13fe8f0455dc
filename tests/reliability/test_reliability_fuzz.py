"""Every command, button and inline query, fuzzed through the real bot and the stand-in.

Arbitrary unicode, empty and huge arguments, odd first names, forged button data and
takeaways whose text, title, author and links are arbitrary. Wanted for every example:
no unhandled exception (the error handler's "Sorry, something went wrong" reply counts
as one), and every request accepted by the strict stand-in, which refuses malformed HTML
the way Telegram does: so every reply that carries someone's text was escaped.

One bot on one private event loop serves every example (starting one per example would
take most of the time); the manual clock moves a few seconds per example, so the flood
guard never mistakes the fuzzer for a flood.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.clock import ManualClock
from bot.importer import import_paths
from bot.settings import Settings
from bot.sources.model import Takeaway
from bot.standin import BotAPIStandin
from bot.store import Store
from bot.telegram.app import daily_sender
from bot.telegram.handlers import MAX_QUERY
from tests.conftest import BotHarness
from tests.reliability.reliability_support import SAMPLES

ADMIN = 95_000
GROUP, GROUP_ADMIN, GROUP_MEMBER = -95_100, 95_101, 95_102
SORRY = "Sorry, something went wrong"
COMMANDS = [
    "start",
    "help",
    "random",
    "today",
    "search",
    "settings",
    "time",
    "timezone",
    "subscribe",
    "unsubscribe",
    "stop",
    "stats",
    "reload",
    "frobnicate",
]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# What people can type: any character but surrogates, up to Telegram's 4096 per message.
typed = st.text(max_size=60)
huge = st.text(min_size=3_000, max_size=4_000)
tricky = st.sampled_from(
    [
        "",
        " ",
        "<b>",
        "</i>&",
        "&amp;lt;",
        "<a href='javascript:x'>y</a>",
        "%s %d {0} {}",
        "'; DROP TABLE chats; --",
        '"NEAR(',
        "\u202e\u200b\ufeff",
        "🙂" * 500,
        "25:61",
        "٠٧:٣٠",
        "Europe/../../etc/passwd",
        "\x00\x01\x1b[31m",
    ]
)
argument = st.one_of(typed, huge, tricky)


class Fuzzed:
    """The bot, its loop and a counter of fresh ids."""

    def __init__(self, runner: asyncio.Runner, bot: BotHarness) -> None:
        self.runner = runner
        self.bot = bot
        self.ids = itertools.count(96_000)

    def begin(self) -> None:
        """Each example is judged on its own requests."""
        self.bot.standin.failures.clear()
        self.bot.clock.advance(seconds=5)

    def send(self, chat_id: int, text: str, *, user_id: int | None = None) -> list[str]:
        self.begin()
        messages = self.runner.run(self.bot.send(chat_id, text, user_id=user_id))
        return [m.text for m in messages]

    def check(self, replies: list[str]) -> None:
        standin = self.bot.standin
        assert not [r for r in replies if r.startswith(SORRY)], replies
        assert not standin.failures, standin.failures[-3:]
        assert not standin.internal_errors


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "takeaways.db"
    with asyncio.Runner() as runner:
        standin = BotAPIStandin()
        runner.run(standin.start())
        store = runner.run(Store.open(path))
        runner.run(import_paths(store, [SAMPLES]))
        config = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=SecretStr(standin.token),
            bot_api_url=standin.url,
            database_path=path,
            admin_ids=[ADMIN],
            takeaways_path=SAMPLES,
        )
        bot = BotHarness(standin, store, ManualClock(datetime(2026, 3, 2, 6, tzinfo=UTC)), config)
        runner.run(bot.start())
        standin.add_chat(GROUP, type="supergroup", title="Fuzzers <&>")
        standin.set_admins(GROUP, [GROUP_ADMIN], owner=GROUP_ADMIN)
        standin.add_member(GROUP, GROUP_MEMBER)
        try:
            yield Fuzzed(runner, bot)
        finally:
            runner.run(bot.stop())
            runner.run(store.close())
            runner.run(standin.stop())


@FUZZ
@given(
    command=st.sampled_from(COMMANDS),
    arg=argument,
    mention=st.booleans(),
    who=st.sampled_from(["private", "admin", "group-admin", "group-member"]),
)
def test_every_command_survives_any_argument(
    fuzzed: Fuzzed, command: str, arg: str, mention: bool, who: str
) -> None:
    text = f"/{command}{'@takeaways_bot' if mention else ''} {arg}"[:4096]
    if who == "private":
        replies = fuzzed.send(95_001, text)
    elif who == "admin":
        replies = fuzzed.send(ADMIN, text)
    else:
        user = GROUP_ADMIN if who == "group-admin" else GROUP_MEMBER
        replies = fuzzed.send(GROUP, text, user_id=user)
    fuzzed.check(replies)
    if who == "private" and command not in ("stats", "reload"):
        assert replies, text  # nothing a person types in private ends in silence


@FUZZ
@given(text=st.one_of(typed, huge, tricky).filter(lambda t: t.strip() != ""))
def test_plain_text_survives_anything(fuzzed: Fuzzed, text: str) -> None:
    replies = fuzzed.send(95_002, text[:4096])
    fuzzed.check(replies)


@FUZZ
@given(first_name=st.text(min_size=1, max_size=64).filter(lambda t: t.strip() != ""))
def test_any_first_name_is_escaped_in_the_welcome(fuzzed: Fuzzed, first_name: str) -> None:
    user = next(fuzzed.ids)
    fuzzed.bot.standin.add_chat(user, first_name=first_name)
    replies = fuzzed.send(user, "/start")
    fuzzed.check(replies)
    assert replies and replies[0].startswith("Welcome")


@FUZZ
@given(data=st.text(max_size=64).filter(lambda d: len(d.encode()) <= 64 and d != ""))
def test_forged_button_data_gets_a_toast(fuzzed: Fuzzed, data: str) -> None:
    bot = fuzzed.bot
    fuzzed.begin()
    [message] = fuzzed.runner.run(bot.send(95_003, "/random"))
    bot.standin.user_presses(95_003, message.message_id, data, forged=True)
    replies = [m.text for m in fuzzed.runner.run(bot._settle(95_003))]
    fuzzed.check(replies)


@FUZZ
@given(query=st.one_of(st.text(max_size=256), tricky))
def test_inline_queries_survive_anything(fuzzed: Fuzzed, query: str) -> None:
    bot = fuzzed.bot
    fuzzed.begin()
    query_id = bot.standin.user_inline_query(95_004, query)

    async def answered() -> object:
        return await bot.standin.wait_for(lambda: bot.standin.inline_answers.get(query_id))

    fuzzed.runner.run(answered())
    fuzzed.check([])


collection_text = st.text(min_size=1, max_size=5_000).filter(lambda t: t.strip() != "")
maybe = st.one_of(st.none(), st.text(max_size=300), tricky)
links = st.one_of(
    st.none(),
    st.sampled_from(
        [
            'https://example.com/a?b=<c>&d="e"',
            "javascript:alert(1)",
            "http://",
            "ftp://x y",
            "https://exa mple.com",
            "tg://user?id=1",
            "https://例え.jp/パス",
        ]
    ),
    st.text(max_size=80),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=collection_text, title=maybe, author=maybe, url=links, note=maybe)
def test_any_takeaway_renders_in_every_reply(
    fuzzed: Fuzzed,
    text: str,
    title: str | None,
    author: str | None,
    url: str | None,
    note: str | None,
) -> None:
    """Imported text of any kind, shown by /search, /today-style messages and inline mode."""
    bot = fuzzed.bot
    marker = f"zq{next(fuzzed.ids)}x"
    item = Takeaway(
        text=f"{text} {marker}", title=title, author=author, url=url, note=note, source_url=url
    )
    result = fuzzed.runner.run(bot.store.import_takeaways([item]))
    assert result.new + result.updated + result.unchanged == 1
    fuzzed.check(fuzzed.send(95_005, f"/search {marker}"))
    query_id = bot.standin.user_inline_query(95_005, marker[:MAX_QUERY])

    async def inline() -> object:
        return await bot.standin.wait_for(lambda: bot.standin.inline_answers.get(query_id))

    fuzzed.runner.run(inline())
    fuzzed.check([])

    # The daily message format, with buttons: through the daily sender itself.
    async def daily() -> None:
        stored = (await bot.store.search(marker, limit=1))[0].item
        await daily_sender(bot.app.bot)(95_005, [stored])

    fuzzed.runner.run(daily())
    fuzzed.check([])
