"""``LOG_LEVEL=DEBUG`` is the bot's own detail, not its libraries'.

At DEBUG, PTB logs every update and API call with its text, and aiosqlite every SQL
statement with its parameters: what people write would end up in the operator's logs
(and log shipper). Libraries stay at INFO unless ``LIBRARY_LOG_LEVEL`` asks for them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import RateLimitFilter, configure_logging
from bot.standin import BotAPIStandin
from tests.reliability.reliability_support import BotProcess, bot_environment

LIBRARIES = ["telegram", "telegram.ext.Updater", "httpx", "httpcore", "aiosqlite"]
LIBRARIES += ["apscheduler", "uvicorn.error", "asyncio", "some.library.added.later"]
PERSON = 64_001
WORDS = "quokka-zebra-7319"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    names = ["bot", *LIBRARIES]
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in names})
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_debug_is_for_the_bot_and_library_debug_must_be_asked_for() -> None:
    configure_logging("DEBUG")
    assert logging.getLogger("bot.telegram.handlers").isEnabledFor(logging.DEBUG)
    for name in LIBRARIES:
        logger = logging.getLogger(name)
        assert not logger.isEnabledFor(logging.DEBUG), name
    assert logging.getLogger("telegram.ext.Application").isEnabledFor(logging.INFO)
    configure_logging("DEBUG", library_level="DEBUG")
    assert all(logging.getLogger(n).isEnabledFor(logging.DEBUG) for n in LIBRARIES)
    # A quieter bot makes quieter libraries too.
    configure_logging("WARNING")
    assert not logging.getLogger("telegram").isEnabledFor(logging.INFO)


def test_the_rate_limit_keeps_a_few_lines_and_counts_the_rest() -> None:
    now = [0.0]
    limit = RateLimitFilter(burst=3, period=60, clock=lambda: now[0])

    def record(client: str) -> logging.LogRecord:
        return logging.LogRecord("w", logging.WARNING, "", 0, "refused %s", (client,), None)

    passed = [limit.filter(record(str(i))) for i in range(1000)]
    assert passed.count(True) == 3
    other = logging.LogRecord("w", logging.WARNING, "", 0, "another kind", (), None)
    assert limit.filter(other)  # each kind of line has its own budget
    now[0] = 61.0
    later = record("x")
    assert limit.filter(later)
    assert later.getMessage() == (
        "refused x (997 more like this were not logged in the 60 s before)"
    )


async def run_at_debug(tmp_path: Path, **extra: str) -> str:
    tmp_path.mkdir()
    async with BotAPIStandin() as standin:
        environ = bot_environment(standin, tmp_path / "takeaways.db", LOG_LEVEL="DEBUG", **extra)
        async with BotProcess(environ, tmp_path / "bot.log") as bot:
            await standin.wait_for(lambda: standin.is_polling, timeout=30)
            standin.user_sends(PERSON, f"/search {WORDS}")
            standin.user_sends(PERSON, f"my secret diary says {WORDS}")
            await standin.wait_for_messages(PERSON, 2, timeout=20)
            assert await bot.terminate() == 0, bot.log()[-2000:]
            return bot.log()


async def test_what_people_write_stays_out_of_debug_logs(tmp_path: Path) -> None:
    quiet = await run_at_debug(tmp_path / "quiet")
    library_debug = [ln for ln in quiet.splitlines() if " DEBUG " in ln and " DEBUG bot." not in ln]
    assert not library_debug, library_debug[:3]
    assert WORDS not in quiet, [line for line in quiet.splitlines() if WORDS in line][:3]
    # The same run with the libraries asked for: their lines carry the words.
    loud = await run_at_debug(tmp_path / "loud", LIBRARY_LOG_LEVEL="DEBUG")
    assert WORDS in loud
    print(
        f"\nLOG_LEVEL=DEBUG: {len(quiet.splitlines())} lines, none with the person's words; "
        f"with LIBRARY_LOG_LEVEL=DEBUG: {len(loud.splitlines())} lines, "
        f"{sum(WORDS in line for line in loud.splitlines())} with them"
    )
