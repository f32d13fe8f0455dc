"""Local delivery times to UTC instants, DST-correct, and the delivery time as typed.

A chat's schedule is stored as one UTC instant (``next_due``) so the daily run is a
single indexed range query. The functions here turn "07:30 in Europe/Berlin" into that
instant. Two DST rules, both chosen so a person still gets exactly one takeaway that day:
a time inside the skipped spring hour is sent right after the gap (02:30 -> 03:30), and a
time inside the repeated autumn hour is sent at its first occurrence.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def parse_hhmm(value: str) -> time:
    """``"7:30"``, ``"07.30"``, ``"7"`` -> a time; ValueError with a hint otherwise."""
    match = re.fullmatch(r"\s*(\d{1,2})(?:[:.h](\d{2}))?\s*", value)
    if not match:
        raise ValueError(f"{value!r} is not a time; use HH:MM, for example 07:30")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"{value!r} is not a time of day; use HH:MM between 00:00 and 23:59")
    return time(hour, minute)


# A chat's delivery days: one bit per weekday, Monday = bit 0 (``date.weekday()``).
EVERY_DAY = 0b1111111
WEEKDAYS = 0b0011111
WEEKEND = 0b1100000


def delivers_on_bit(days: int, weekday: int) -> bool:
    return bool(days >> weekday & 1)


def delivers_on(days: int, day: date) -> bool:
    return delivers_on_bit(days, day.weekday())


def next_delivery_day(after: date, days: int) -> date:
    """The first day after ``after`` that is one of ``days`` (every day if none is)."""
    day = after + timedelta(days=1)
    for _ in range(7):
        if delivers_on(days, day):
            return day
        day += timedelta(days=1)
    return after + timedelta(days=1)


def local_date(instant: datetime, zone: str) -> date:
    """The calendar date at ``instant`` in ``zone``."""
    return instant.astimezone(ZoneInfo(zone)).date()


def instant_for(day: date, at: time, zone: str) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``zone``.

    ``fold=0`` gives both DST rules at once: a skipped wall time is read with the offset
    from before the change (so it lands one gap later), a repeated one is its first pass.
    """
    return datetime.combine(day, at).replace(tzinfo=ZoneInfo(zone), fold=0).astimezone(UTC)


def next_delivery(
    now: datetime,
    at: time,
    zone: str,
    *,
    done_through: date | None,
    days: int = EVERY_DAY,
) -> datetime:
    """The next instant to deliver, given the last local date already delivered.

    Today's slot counts only if today's takeaway has not been delivered yet, today is
    one of the chat's ``days`` and the slot is still ahead; otherwise the next such day's.
    A catch-up of a missed slot is the daily run's business (``next_due`` stays in the
    past until it is handled), not this one's.
    """
    today = local_date(now, zone)
    day = today
    if done_through is not None and done_through >= day:
        day = done_through + timedelta(days=1)
    while True:
        if delivers_on(days, day) or not days & EVERY_DAY:
            instant = instant_for(day, at, zone)
            if instant > now:
                return instant
        day += timedelta(days=1)
