"""Thirty simulated days of daily delivery across 20 time zones and four DST changes.

The real bot and the stand-in, driven by the manual clock in steps of at most 10 minutes
(and onto every due instant, as the 20-second production tick would be) from
6 March to 6 April 2026: America's spring change (8 March), Europe's (29 March), and the
southern autumn changes of 4-5 April (Santiago, Sydney, Adelaide, Auckland, Chatham)
that repeat an hour. Delivery times sit inside the skipped and the repeated hours.
Each chat must get exactly one takeaway per local date, at its documented instant
(README: a skipped time arrives one hour later, a repeated one at its first pass), and
no takeaway twice within a round. The collection is the 16-takeaway sample plus 7
generated ones, so the 30 days wrap into a second round.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.delivery.daily import deliver_due
from bot.rules.schedule import instant_for
from bot.sources.model import Takeaway
from bot.standin import MESSAGE_LIMIT, format_text
from bot.store import Store, StoredTakeaway
from bot.telegram.format import TODAY_HEADER, takeaway_messages
from tests.conftest import BotHarness
from tests.reliability.reliability_support import FULL, Subscriber, insert_subscribers

# 1,000 subscribers is the soak's full size (about 40 s); CI runs 200 (10 per zone).
SUBSCRIBERS = 1_000 if FULL else 200
FIRST_CHAT = 40_001
STEP = timedelta(minutes=10)
FIRST_DAY = date(2026, 3, 7)
DAYS = 30
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)  # 5 April
EXTRA_TAKEAWAYS = 7
ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Helsinki",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Havana",  # springs forward at midnight: 00:30 does not exist on 8 March
    "America/Santiago",  # falls back at midnight: 23:00-24:00 on 4 April twice
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Pacific/Auckland",
    "Pacific/Chatham",  # +13:45 -> +12:45
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Pacific/Kiritimati",  # +14: the first to reach each date
    "Pacific/Pago_Pago",  # -11: the last
]


@dataclass(frozen=True, slots=True)
class Change:
    """A DST change: the wall-clock hour that is skipped (spring) or repeated (autumn)."""

    zone: str
    day: date
    start: time
    end: time  # exclusive
    skipped: bool

    def times_inside(self) -> list[str]:
        """The first minute, the middle and the last minute of the odd hour."""
        first = datetime.combine(self.day, self.start)
        span = datetime.combine(self.day, self.end) - first
        if span <= timedelta(0):
            span += timedelta(days=1)
        picks = [first, first + span / 2, first + span - timedelta(minutes=1)]
        return [f"{p:%H:%M}" for p in picks]


def dst_changes(zone: str) -> list[Change]:
    """Offset changes of ``zone`` in the window, found by stepping through UTC."""
    info = ZoneInfo(zone)
    changes = []
    at = datetime.combine(FIRST_DAY - timedelta(days=2), time(0), UTC)
    end = datetime.combine(LAST_DAY + timedelta(days=2), time(0), UTC)
    before = at.astimezone(info).utcoffset()
    while at < end:
        at += timedelta(minutes=15)
        after = at.astimezone(info).utcoffset()
        if after != before:
            assert before is not None and after is not None
            wall_before, wall_after = at + before, at + after
            skipped = after > before
            start, stop = (wall_before, wall_after) if skipped else (wall_after, wall_before)
            changes.append(Change(zone, wall_after.date(), start.time(), stop.time(), skipped))
        before = after
    return changes


def schedule(count: int) -> list[tuple[int, str, str]]:
    """(chat id, zone, HH:MM): every zone equally; in zones with a change, the first
    subscribers get times inside its odd hour, the others any minute of the day."""
    rng = random.Random(20260307)
    rows = []
    per_zone: dict[str, int] = defaultdict(int)
    odd = {zone: [t for c in dst_changes(zone) for t in c.times_inside()] for zone in ZONES}
    for index in range(count):
        zone = ZONES[index % len(ZONES)]
        nth = per_zone[zone]
        per_zone[zone] += 1
        if nth < len(odd[zone]):
            at = odd[zone][nth]
        elif nth % 7 == 0:
            at = rng.choice(["00:00", "23:59", "12:00", "00:01"])
        else:  # on a 10-minute grid, so most slots fall on a clock step (fewer extra ticks)
            at = f"{rng.randrange(24):02d}:{rng.randrange(6) * 10:02d}"
        rows.append((FIRST_CHAT + index, zone, at))
    return rows


async def next_slot(store: Store, now: datetime) -> datetime:
    """The earliest delivery still ahead. The production job ticks every 20 s, so a slot
    is handled within 20 s of its minute; 10-minute steps alone would reach a 23:55 slot
    only after local midnight (see the midnight test below for what that costs)."""
    async with store.db.execute(
        "SELECT MIN(next_due) FROM chats WHERE subscribed = 1 AND next_due > ?",
        (int(now.timestamp()),),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None or row[0] is None:
        return datetime.max.replace(tzinfo=UTC)
    return datetime.fromtimestamp(int(row[0]), UTC)


def test_the_window_has_changes_in_both_directions() -> None:
    changes = [c for zone in ZONES for c in dst_changes(zone)]
    assert {c.skipped for c in changes} == {True, False}
    assert {c.zone for c in changes if c.skipped} >= {"America/New_York", "Europe/Berlin"}
    assert {c.zone for c in changes if not c.skipped} >= {"Australia/Sydney", "America/Santiago"}
    assert all(FIRST_DAY <= c.day <= LAST_DAY for c in changes)
    # The README's two rules, as instants: after the gap, and the first pass.
    berlin = instant_for(date(2026, 3, 29), time(2, 30), "Europe/Berlin")
    sydney = instant_for(date(2026, 4, 5), time(2, 30), "Australia/Sydney")
    assert berlin == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert sydney == datetime(2026, 4, 4, 15, 30, tzinfo=UTC)  # 02:30 AEDT, not AEST


async def test_thirty_days_one_takeaway_a_day_no_repeats_within_a_round(
    store: Store, clock: ManualClock
) -> None:
    extra = [
        Takeaway(text=f"Generated takeaway {n}: small steps, every day.", title="Soak notes")
        for n in range(EXTRA_TAKEAWAYS)
    ]
    await store.import_takeaways(extra)
    collection = 16 + EXTRA_TAKEAWAYS
    rows = schedule(SUBSCRIBERS)
    zone_of = {chat: zone for chat, zone, _ in rows}
    time_of = {chat: time.fromisoformat(at) for chat, _, at in rows}
    await insert_subscribers(
        store,
        [
            Subscriber(chat, zone, at, instant_for(FIRST_DAY, time_of[chat], zone), FIRST_DAY)
            for chat, zone, at in rows
        ],
    )
    received: dict[int, list[tuple[datetime, int, list[str]]]] = defaultdict(list)

    async def send(chat_id: int, items: Sequence[StoredTakeaway]) -> None:
        """The daily message as the bot builds it, parsed by the stand-in as sendMessage
        would (HTTP itself is exercised by every other test; 6,000 round trips would be
        most of this one's time)."""
        [item] = items
        messages = takeaway_messages(item, header=TODAY_HEADER)
        texts = [format_text(m, "HTML", None, limit=MESSAGE_LIMIT)[0] for m in messages]
        received[chat_id].append((clock(), item.id, texts))

    # Drive: every chat's last slot of the window is before `end` (Pago Pago, UTC-11).
    start = datetime(2026, 3, 6, 9, tzinfo=UTC)
    end = datetime.combine(LAST_DAY + timedelta(days=1), time(11, 10), UTC)
    rng = random.Random(30)
    clock.set(start)
    ticks = 0
    while clock() < end:
        await deliver_due(store, send, clock, rng=rng)
        ticks += 1
        clock.set(min(clock() + STEP, await next_slot(store, clock())))

    async with store.db.execute(
        "SELECT chat_id, local_date, takeaway_id, status FROM daily ORDER BY chat_id, local_date"
    ) as cursor:
        ledger = list(await cursor.fetchall())
    days: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for chat_id, local_date, takeaway_id, status in ledger:
        assert status == "sent", (chat_id, local_date, status)
        days[int(chat_id)].append((date.fromisoformat(local_date), int(takeaway_id)))
    texts = {i.id: i.takeaway.text for i in (await store.get_takeaways(range(1, 24))).values()}

    window = [FIRST_DAY + timedelta(days=n) for n in range(DAYS)]
    late = []
    for chat, _, _ in rows:
        zone, at = zone_of[chat], time_of[chat]
        entries = days[chat]
        dates = [d for d, _ in entries]
        # Exactly one per local date of the window (and on, for dates whose slot came
        # before `end`: Kiritimati, UTC+14, reaches 7 April first).
        assert dates[:DAYS] == window, (chat, zone, at, dates)
        assert dates == [FIRST_DAY + timedelta(days=n) for n in range(len(dates))]
        assert all(instant_for(d, at, zone) < end for d in dates[DAYS:])
        # Each sent once, at its instant (within one clock step), and what was sent is
        # what the ledger says.
        got = received[chat]
        assert [tid for _, tid, _ in got] == [tid for _, tid in entries]
        for (day, tid), (when, _, sent_texts) in zip(entries, got, strict=True):
            due = instant_for(day, at, zone)
            assert due <= when < due + STEP, (chat, zone, at, day, due, when)
            assert texts[tid] in "\n".join(sent_texts)
            late.append((when - due).total_seconds())
        # No takeaway twice within a round (rounds wrap after `collection` days).
        picks = [takeaway for _, takeaway in entries]
        for first in range(0, len(picks), collection):
            chunk = picks[first : first + collection]
            assert len(set(chunk)) == len(chunk), (chat, chunk)
    in_window = sum(1 for c in days.values() for d, _ in c if d <= LAST_DAY)
    print(
        f"\nsoak: {SUBSCRIBERS} chats, {len(ZONES)} zones, {ticks} ticks (steps of at most "
        f"{STEP}); {in_window} deliveries in the window ({DAYS} each), {len(ledger)} in all; "
        f"at most {max(late):.0f} s after the slot"
    )


async def test_a_run_that_crosses_midnight_still_delivers_the_slots_before_it(
    bot: BotHarness,
) -> None:
    """200 chats at 23:59 UTC, sent at 2 a second in batches of 20 (scaled down from
    batches of 500 at Telegram's 30 a second, i.e. 2,000 or more chats at 23:59)."""
    chats = list(range(50_001, 50_201))
    slot = datetime(2026, 3, 2, 23, 59, tzinfo=UTC)
    await insert_subscribers(
        bot.store, [Subscriber(c, "UTC", "23:59", slot, slot.date()) for c in chats]
    )
    sent: list[int] = []

    async def slow_send(chat_id: int, item: object) -> None:
        sent.append(chat_id)
        bot.clock.advance(seconds=0.5)

    bot.clock.set(slot)
    report = await deliver_due(bot.store, slow_send, bot.clock, rng=bot.rng, batch_size=20)
    print(
        f"\nrun across midnight: {len(sent)} of {len(chats)} sent, "
        f"{report.skipped} skipped; ended {bot.clock():%H:%M:%S}"
    )
    assert len(sent) == len(chats)
