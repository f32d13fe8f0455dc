"""``kill -9`` during a daily run, then a restart: nobody loses their day, few get two.

A real ``takeaways-bot run`` subprocess (real clock, the real rate limiter) delivers to
subscribers inserted in bulk, due at the real now, through the stand-in Bot API. Each test
kills it at one moment of a run, restarts it, lets the catch-up finish and counts per chat
what the stand-in received. The promise (README, "How delivery works"; docs/reliability.md):
after any crash every due subscriber gets that day's takeaway (at least once), and the
duplicates are at most the requests in flight at the kill: the ledger rows whose request
was marked and whose answer was not recorded, never more than the send concurrency.

The moments: inside a claim transaction; while most sends wait for the rate limiter;
with many requests in flight (slow answers); between the messages of multi-part
deliveries; and in a big run (5,000 subscribers at full size). Where a test needs a moment the real
clock would not give reliably, its subprocess changes one thing of ours (pauses a claim,
slows or speeds the limiter) before starting the bot; PTB itself is untouched.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.delivery.daily import CONCURRENCY
from bot.sources.model import Takeaway
from bot.standin import BotAPIStandin
from bot.store import Store
from bot.telegram.format import delivery_messages
from bot.telegram.handlers import today_header
from tests.reliability.reliability_support import (
    FULL,
    BotProcess,
    bot_environment,
    due_now,
    insert_subscribers,
    integrity,
    ledger,
    poll,
    seed_database,
)

FIRST_CHAT = 10_000_001
# The big run: with TAKEAWAYS_FULL_RELIABILITY=1, 5,000 subscribers at Telegram's 30 a
# second, as in production (about four minutes); otherwise 1,000 with the limiter at 600 a
# second (about 15 s), where every sender is busy at every moment: the heaviest load on the
# ledger's marks. (5,000 at 600 a second: about a minute; the figures are in the docs.)
BIG_RUN = 5_000 if FULL else 1_000
FAST_RATE = None if FULL else 600


def _bot_code(*, rate: int | None = None, pause_in_claim: int | None = None) -> str | None:
    """The subprocess's program: ``takeaways-bot run``, after changing one of our knobs."""
    lines = ["import asyncio, pathlib, sys"]
    if rate is not None:
        lines += [
            "from bot.telegram import limiter",
            f"limiter.WindowRateLimiter.__init__.__defaults__ = ({rate}, 1.0, 3)",
        ]
    if pause_in_claim is not None:
        # The claim's picks are made and written, its transaction not yet committed.
        lines += [
            "from bot.delivery import daily",
            "real, calls = daily._claim_due, []",
            "async def claim_then_hang(*args, **kwargs):",
            "    result = await real(*args, **kwargs)",
            "    calls.append(1)",
            f"    if len(calls) == {pause_in_claim}:",
            "        pathlib.Path('claiming').touch()",
            "        await asyncio.sleep(3600)",
            "    return result",
            "daily._claim_due = claim_then_hang",
        ]
    if len(lines) == 1:
        return None
    lines += ["from bot.cli import main", "sys.exit(main(['run']))"]
    return "\n".join(lines)


@dataclass
class AtKill:
    """What the database and the stand-in held at the kill."""

    delivered: int  # chats whose whole delivery had reached the stand-in
    claimed_never_requested: int  # "sending", no request marked beyond what is out
    requested_no_answer: int  # "sending", a request marked, its answer not recorded
    between_parts: int  # "sending" with some messages out and some not
    unanswered_requests: int  # sendMessage requests the stand-in had not answered yet


def unanswered_requests(standin: BotAPIStandin) -> int:
    """sendMessage requests the stand-in has received and not yet answered (it holds each
    for its latency, then records the message and answers)."""
    received = sum(1 for method, _ in list(standin.all_requests) if method == "sendMessage")
    failed = sum(1 for f in standin.failures if f.method == "sendMessage")
    return received - len(standin.sent) - failed


def _sending_rows(database: Path) -> list[tuple[int, int]]:
    with sqlite3.connect(database, timeout=10) as db:
        rows = db.execute(
            "SELECT requested, parts_sent FROM daily WHERE status = 'sending'"
        ).fetchall()
    return [(int(r), int(p)) for r, p in rows]


async def _expected_parts(database: Path) -> dict[int, int]:
    """How many messages each chat's delivery for today has (the ledger's takeaways,
    formatted as the daily run formats them)."""
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT chat_id, takeaway_id, more_ids FROM daily").fetchall()
    async with await Store.open(database) as store:
        parts = {}
        for chat_id, first, more in rows:
            ids = [int(first), *(int(i) for i in re.findall(r"\d+", more or ""))]
            found = await store.get_takeaways(ids)
            items = [found[i] for i in ids]
            parts[int(chat_id)] = len(delivery_messages(items, header=today_header(len(items))))
    return parts


async def kill_and_restart(
    tmp_path: Path,
    chats: Sequence[int],
    *,
    kill_when: Callable[[BotAPIStandin, Path], bool],
    latency: float,
    first_code: str | None = None,
    second_code: str | None = None,
    catch_up_timeout: float = 120,
) -> dict[str, int]:
    """Run, kill -9 once ``kill_when`` holds, restart, wait until every chat's day is
    recorded as sent, and count per chat what arrived. The database is seeded already."""
    database = tmp_path / "takeaways.db"
    wanted = set(chats)
    async with BotAPIStandin() as standin:
        for chat in chats:
            standin.add_chat(chat)
        environ = bot_environment(standin, database)

        first = BotProcess(environ, tmp_path / "first.log", code=first_code)
        async with first:
            # Slow answers only once it runs: a start-up slower than a second would miss
            # the delivery job's first tick and wait 20 s for the next.
            await poll(lambda: "is running" in first.log(), timeout=60, every=0.02)
            standin.latency = latency
            await poll(lambda: kill_when(standin, database), timeout=120, every=0.02)
            unanswered = unanswered_requests(standin)
            assert await first.kill() == -9
        standin.latency = 0.05  # the catch-up need not be slow
        rows = _sending_rows(database)
        with sqlite3.connect(database, timeout=10) as db:
            claimed_at_kill = int(db.execute("SELECT count(*) FROM daily").fetchone()[0])
        delivered_at_kill = len({m.chat_id for m in standin.sent if m.chat_id in wanted})
        assert integrity(database) == "ok"

        second = BotProcess(environ, tmp_path / "second.log", code=second_code)
        async with second:
            await poll(
                lambda: ledger(database) == {"sent": len(chats)},
                timeout=catch_up_timeout,
                every=0.2,
            )
            assert await second.terminate() == 0, second.log()
        assert not standin.internal_errors
        received = Counter(m.chat_id for m in standin.sent if m.chat_id in wanted)
        distinct = {c: len({m.text for m in standin.messages(c)}) for c in chats}
    assert integrity(database) == "ok"
    at_kill = AtKill(
        delivered=delivered_at_kill,
        claimed_never_requested=sum(1 for r, p in rows if r <= p),
        requested_no_answer=sum(1 for r, p in rows if r > p),
        between_parts=sum(1 for _, p in rows if p > 0),
        unanswered_requests=unanswered,
    )
    expected = await _expected_parts(database)
    resent = re.findall(r"resent_after_crash=(\d+)", second.log())
    figures = {
        "subscribers": len(chats),
        "claimed_before_kill": claimed_at_kill,
        "delivered_before_kill": at_kill.delivered,
        "claimed_never_requested_at_kill": at_kill.claimed_never_requested,
        "requested_no_answer_at_kill": at_kill.requested_no_answer,
        "between_parts_at_kill": at_kill.between_parts,
        "unanswered_requests_at_kill": at_kill.unanswered_requests,
        "without_their_day": sum(1 for c in chats if distinct[c] < expected[c]),
        "duplicate_messages": sum(received[c] - distinct[c] for c in chats),
        "chats_with_a_duplicate": sum(1 for c in chats if received[c] > distinct[c]),
        "logged_resent_after_crash": sum(int(n) for n in resent),
    }
    print(f"\nkill -9: {figures}")
    return figures


def assert_promise(figures: dict[str, int]) -> None:
    assert figures["without_their_day"] == 0
    assert figures["duplicate_messages"] <= figures["requested_no_answer_at_kill"] <= CONCURRENCY
    assert figures["logged_resent_after_crash"] == figures["requested_no_answer_at_kill"]


async def seed_due(tmp_path: Path, count: int) -> list[int]:
    chats = list(range(FIRST_CHAT, FIRST_CHAT + count))
    await seed_database(tmp_path / "takeaways.db", due_now(chats, datetime.now(UTC)))
    return chats


def sent_to(standin: BotAPIStandin) -> int:
    return len({m.chat_id for m in standin.sent})


async def test_a_kill_inside_a_claim_loses_nobody(tmp_path: Path) -> None:
    """The claim transaction never commits: those chats are simply still due.

    The run claims while it sends, so the kill inside the third claim finds the first
    two claimed (in the ledger, some of them out) and the third's chats not at all;
    the hung claim holds the write lock, so nothing more is requested meanwhile."""
    chats = await seed_due(tmp_path, 160)
    figures = await kill_and_restart(
        tmp_path,
        chats,
        kill_when=lambda standin, db: (tmp_path / "claiming").exists(),
        latency=0.05,
        first_code=_bot_code(pause_in_claim=3),
    )
    assert figures["claimed_before_kill"] == 2 * CONCURRENCY  # the third never committed
    assert figures["delivered_before_kill"] <= 2 * CONCURRENCY
    assert_promise(figures)


async def test_a_kill_while_sends_wait_for_the_limiter_sends_them_on_restart(
    tmp_path: Path,
) -> None:
    """The limiter lets 5 a second through (so most of a batch waits for it): the claimed
    deliveries that never got past it are sent on restart, not counted as resent."""
    chats = await seed_due(tmp_path, 160)

    def waiting(standin: BotAPIStandin, database: Path) -> bool:
        rows = _sending_rows(database)
        return sent_to(standin) >= 10 and sum(1 for r, p in rows if r <= p) >= 20

    figures = await kill_and_restart(
        tmp_path, chats, kill_when=waiting, latency=0.05, first_code=_bot_code(rate=5)
    )
    assert figures["claimed_never_requested_at_kill"] >= 20
    assert_promise(figures)


async def test_a_kill_with_requests_in_flight_resends_only_those(tmp_path: Path) -> None:
    """Answers take a second: at the kill up to 30 requests are out with no answer. Those
    are sent again (at least once); nothing else is sent twice."""
    chats = await seed_due(tmp_path, 160)

    def in_flight(standin: BotAPIStandin, database: Path) -> bool:
        return sent_to(standin) >= 30 and unanswered_requests(standin) >= 20

    figures = await kill_and_restart(tmp_path, chats, kill_when=in_flight, latency=1.0)
    assert figures["unanswered_requests_at_kill"] >= 20
    assert figures["requested_no_answer_at_kill"] >= figures["unanswered_requests_at_kill"]
    assert_promise(figures)


async def test_a_kill_between_the_parts_of_long_deliveries_resends_only_what_may_be_missing(
    tmp_path: Path,
) -> None:
    """Deliveries of three long takeaways (three messages each, /count 3): killed while
    some are part-way, each chat ends with every message, the ones out before the kill
    not repeated."""
    database = tmp_path / "takeaways.db"
    chats = list(range(FIRST_CHAT, FIRST_CHAT + 96))
    body = "A sentence that goes on and on. " * 90
    async with await Store.open(database) as store:
        await store.import_takeaways(
            [Takeaway(text=f"{n} {body}", title="Long", author="Someone") for n in range(12)]
        )
        await insert_subscribers(store, due_now(chats, datetime.now(UTC)))
        async with store.transaction() as db:
            await db.execute("UPDATE chats SET per_delivery = 3")

    def part_way(standin: BotAPIStandin, database: Path) -> bool:
        rows = _sending_rows(database)
        return len(standin.sent) >= 40 and sum(1 for _, p in rows if p > 0) >= 10

    figures = await kill_and_restart(tmp_path, chats, kill_when=part_way, latency=0.2)
    assert min((await _expected_parts(database)).values()) >= 2
    assert figures["between_parts_at_kill"] >= 10
    assert_promise(figures)


async def test_a_kill_in_a_big_run_costs_nobody_their_day(tmp_path: Path) -> None:
    """``BIG_RUN`` subscribers, killed a quarter of the way through (at a moment when the
    stand-in holds a request: between two batches nothing is in flight)."""
    chats = await seed_due(tmp_path, BIG_RUN)
    code = _bot_code(rate=FAST_RATE)
    figures = await kill_and_restart(
        tmp_path,
        chats,
        kill_when=lambda standin, db: (
            sent_to(standin) >= BIG_RUN // 4 and unanswered_requests(standin) > 0
        ),
        latency=0.05,
        first_code=code,
        second_code=code,
        catch_up_timeout=60 + BIG_RUN / (20 if FULL else 50),
    )
    assert_promise(figures)
