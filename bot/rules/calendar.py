"""Which local date a due chat is delivered for, and where its schedule moves next.

The daily run decides this for a few hundred chats per batch that share a handful of
zones, times and days, so ``Calendar`` memoises the arithmetic for one instant. Plain
values in (zone name, "HH:MM", dates, the day bits), plain values out: the store applies
it while it claims, and a crash's leftovers are judged by it when they are taken up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.rules.schedule import delivers_on, instant_for, local_date, next_delivery_day, parse_hhmm

# A slot just before local midnight whose chat is claimed just after it is still delivered.
MIDNIGHT_GRACE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Slot:
    """A due chat's delivery: the local date, and the slot on the next delivery day."""

    day: date  # the local date being delivered
    next_due: datetime  # the slot on the next delivery day after it
    next_date: date
    delivers: bool = True  # False: not one of the chat's days, only the schedule moves


class Calendar:
    """A batch's time arithmetic at one instant, memoised."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._times: dict[str, time] = {}
        self._todays: dict[str, date] = {}
        self._slots: dict[tuple[date, str, str], datetime] = {}
        self._dues: dict[tuple[str, str, date | None, int], Slot | None] = {}

    def today(self, zone: str) -> date:
        today = self._todays.get(zone)
        if today is None:
            today = self._todays[zone] = local_date(self.now, zone)
        return today

    def slot(self, day: date, at: str, zone: str) -> datetime:
        key = (day, at, zone)
        instant = self._slots.get(key)
        if instant is None:
            parsed = self._times.get(at)
            if parsed is None:
                parsed = self._times[at] = parse_hhmm(at)
            instant = self._slots[key] = instant_for(day, parsed, zone)
        return instant

    def due(self, zone: str, at: str, due_date: date | None, days: int) -> Slot | None:
        """The chat's delivery and where its schedule moves; None if its day is over.

        A slot from a past local day still counts within ``MIDNIGHT_GRACE`` (a run that
        was busy at 23:59 claims that chat at 00:01); older, the day was missed while the
        bot was down, and today's slot counts if it has come, else nothing yet. A day
        that is not one of the chat's delivery days (it changed /days since) is no
        delivery: the schedule just moves on to the next one. ValueError or LookupError
        for a time or zone that cannot be read.
        """
        key = (zone, at, due_date, days)
        if key in self._dues:  # chats of one batch mostly share all four
            return self._dues[key]
        slot = self._dues[key] = self._due(zone, at, due_date, days)
        return slot

    def _due(self, zone: str, at: str, due_date: date | None, days: int) -> Slot | None:
        today = self.today(zone)
        day = due_date or today
        if day < today and self.slot(day, at, zone) < self.now - MIDNIGHT_GRACE:
            if self.slot(today, at, zone) > self.now:
                return None
            day = today
        else:
            self.slot(day, at, zone)  # an unreadable time fails here
        following = next_delivery_day(day, days)
        return Slot(day, self.slot(following, at, zone), following, delivers_on(days, day))

    def over(self, day: date, at: str, zone: str) -> bool:
        """Whether the delivery for local ``day`` can no longer be made (its slot is past
        ``MIDNIGHT_GRACE`` and the day is behind us); True if the zone or time is unreadable."""
        try:
            return day < self.today(zone) and self.slot(day, at, zone) < (self.now - MIDNIGHT_GRACE)
        except (ValueError, LookupError):
            return True
