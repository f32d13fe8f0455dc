"""What an operator reads: start-up lines, one line per failed try while Telegram is out of
reach, one when it is back, and a health check that says which side is at fault.

The outage is the stand-in answering getUpdates with 502 (in process, with the retry
pauses taken on the manual clock) or the same in a real ``takeaways-bot run``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from bot import __version__
from bot.ops import check_health, describe_duration
from bot.settings import Settings
from bot.standin import BotAPIStandin
from bot.store import Store
from bot.store.migrations import MIGRATIONS
from bot.telegram.app import load_collection, unreadable_hint
from bot.telegram.heartbeat import heartbeat_job
from tests.conftest import BotHarness
from tests.reliability.reliability_support import BotProcess, bot_environment, poll

CHAT = 4242


class JobContext:
    """What a PTB job callback reads from its context, for calling the job directly."""

    def __init__(self, bot: BotHarness) -> None:
        self.application = bot.app
        self.bot_data = bot.app.bot_data


def test_durations_read_like_a_person_wrote_them() -> None:
    cases = {0: "0 s", 7: "7 s", 60: "1 min", 134: "2 min 14 s", 3600: "1 h", 3900: "1 h 5 min"}
    for seconds, text in cases.items():
        assert describe_duration(timedelta(seconds=seconds)) == text
    assert describe_duration(timedelta(days=3, hours=2)) == "3 d 2 h"


async def test_an_outage_is_one_line_per_try_and_one_when_it_is_over(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    pulse = bot.app.bot_data["deps"].pulse
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:  # the retry pauses pass on the manual clock
        pauses.append(seconds)
        bot.clock.advance(seconds=seconds)
        await asyncio.sleep(0)

    pulse.sleep = sleep
    await bot.standin.wait_for(lambda: bot.standin.is_polling)
    bot.standin.fail("getUpdates", status=502, times=3)
    await bot.send(CHAT, "/help")  # wakes the waiting long poll; the next three fail
    await bot.standin.wait_for(lambda: len(pauses) == 3 and bot.standin.is_polling, timeout=10)

    # Three minutes later, still nothing from Telegram: health blames Telegram, not the bot.
    bot.clock.advance(minutes=3)
    await heartbeat_job(JobContext(bot))  # type: ignore[arg-type]
    reason = check_health(bot.settings.database_path, bot.clock()) or ""
    assert reason.startswith("Telegram cannot be reached, for 3 min 7 s now (last error 3 min")
    assert "HTTP 502 Bad Gateway" in reason and "The bot is running and retrying" in reason

    await bot.send(CHAT, "/help")  # this poll comes back: Telegram answers again
    await heartbeat_job(JobContext(bot))  # type: ignore[arg-type]
    assert check_health(bot.settings.database_path, bot.clock()) is None

    lines = [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.name == "bot.telegram.heartbeat" or r.levelno >= logging.WARNING
    ]
    assert lines == [
        ("WARNING", "Telegram unreachable (HTTP 502 Bad Gateway); next try in 1 s"),
        ("WARNING", "Telegram unreachable (HTTP 502 Bad Gateway); next try in 2 s"),
        ("WARNING", "Telegram unreachable (HTTP 502 Bad Gateway); next try in 4 s"),
        ("INFO", "Telegram reachable again after 3 min 7 s"),
    ]
    assert not [r for r in caplog.records if r.exc_info]  # no tracebacks
    assert pauses == [1.0, 2.0, 4.0]


async def test_a_stuck_or_stopped_bot_is_told_apart_from_telegram(bot: BotHarness) -> None:
    db = bot.settings.database_path
    bot.app.bot_data["deps"].pulse.beat()
    await heartbeat_job(JobContext(bot))  # type: ignore[arg-type]
    assert check_health(db, bot.clock()) is None
    # Nothing written for five minutes, by a bot that said it was running: stuck or down.
    later = bot.clock() + timedelta(minutes=5)
    assert "stuck or down" in (check_health(db, later) or "")


async def test_start_up_and_outage_lines_of_a_real_run(tmp_path: Path) -> None:
    """A fresh install: empty exports folder, the sample loaded, no warning; then a
    Telegram outage of two failed tries and its recovery, and a clean stop."""
    exports = tmp_path / "exports"
    exports.mkdir()
    database = tmp_path / "data" / "takeaways.db"
    async with BotAPIStandin() as standin:
        environ = bot_environment(standin, database, TAKEAWAYS_PATH=str(exports))
        async with BotProcess(environ, tmp_path / "bot.log") as bot:
            await standin.wait_for(lambda: standin.is_polling, timeout=30)
            await poll(lambda: "next delivery" in bot.log(), timeout=10)
            standin.fail("getUpdates", status=502, times=2)
            standin.user_sends(CHAT, "/random")  # wakes the long poll; the next two fail
            await standin.wait_for_messages(CHAT, timeout=10)
            await poll(lambda: "next try in 2 s" in bot.log(), timeout=10)
            await standin.wait_for(lambda: standin.is_polling, timeout=10)
            standin.user_sends(CHAT, "/random")  # answered: Telegram is back
            await poll(lambda: "reachable again" in bot.log(), timeout=10)
            assert bot.process is not None
            bot.process.send_signal(signal.SIGTERM)
            assert await bot.wait(30) == 0
    log = bot.log()
    messages = [line.split(": ", 1)[1] for line in log.splitlines() if ": " in line]
    assert (
        f"takeaways-bot {__version__} starting: database {database} "
        f"(schema {len(MIGRATIONS)}), mode long polling"
    ) in messages
    assert f"TAKEAWAYS_PATH={exports} has no export files yet" in messages
    assert "collection: 16 takeaways from 1 source" in messages
    assert "@takeaways_bot is running (long polling)" in messages  # no "Ctrl+C": no terminal
    assert any(m.startswith("next delivery: none scheduled yet") for m in messages)
    warnings = [line for line in log.splitlines() if " WARNING " in line or " ERROR " in line]
    assert [w.split(": ", 1)[1] for w in warnings] == [
        "Telegram unreachable (HTTP 502 Bad Gateway); next try in 1 s",
        "Telegram unreachable (HTTP 502 Bad Gateway); next try in 2 s",
    ]
    assert len(re.findall(r"Telegram reachable again after \d+ s", log)) == 1
    assert "Traceback" not in log and "failed" not in log
    assert messages[-1] == "stopped"


async def test_a_fresh_install_is_quiet_and_a_wrong_path_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram.app")
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / ".gitignore").write_text("*\n")  # not an export
    for folder, db in [("exports", "fresh.db"), ("typo", "typo.db")]:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_path=tmp_path / db,
            takeaways_path=tmp_path / folder,
        )
        async with await Store.open(settings.database_path) as store:
            await load_collection(settings, store)
            assert (await store.stats()).takeaways == 16  # the bundled sample either way
    fresh, typo = caplog.records[:2], caplog.records[2:]
    assert [r.levelname for r in fresh] == ["INFO", "INFO"]
    assert fresh[0].getMessage() == f"TAKEAWAYS_PATH={tmp_path / 'exports'} has no export files yet"
    assert "failed" not in " ".join(r.getMessage() for r in fresh)
    warnings = [r.getMessage() for r in typo if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(f"not imported: {tmp_path / 'typo'}")


def test_an_unreadable_export_gets_the_ownership_hint() -> None:
    hint = unreadable_hint("exports/a.md: cannot read file (Permission denied)")
    assert f"the bot runs as uid {os.getuid()} and cannot read it" in hint
    assert "chmod -R a+rX" in hint
    assert unreadable_hint("exports/a.md: line 3: not a Kindle clipping") == ""


async def test_a_reply_lost_to_an_outage_is_one_line_without_a_traceback(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram's trouble is not the bot's bug: no traceback for a reply it could not send."""
    caplog.set_level(logging.INFO)
    bot.standin.fail("sendMessage", chat_id=CHAT, status=502, times=None)
    await bot.send(CHAT, "/random")
    await bot.standin.wait_for(
        lambda: any("could not answer update" in r.getMessage() for r in caplog.records),
        timeout=10,
    )
    lost = [r for r in caplog.records if "could not answer update" in r.getMessage()]
    assert [r.levelname for r in lost] == ["WARNING"]
    assert "Telegram unreachable" in lost[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]
    bot.standin.clear_faults()
    [answer] = await bot.send(CHAT, "/random")  # and the next one is answered
    assert answer.text
