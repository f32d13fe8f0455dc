"""Subscribing, unsubscribing and changing a chat's time, zone or delivery days.

Every change recomputes ``next_due`` from the chat's ledger, so changing the time after
today's takeaway arrived never sends a second one today, and changing it before makes
today's arrive at the new time. The read, the computation and the write happen in one
transaction: two commands from the same chat processed at once both take effect.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.rules.schedule import local_date, next_delivery, parse_hhmm
from bot.store import Store
from bot.store import chats as chat_db
from bot.store.chats import Chat

# Ledger states that mean "today's takeaway has been handled" (sent, or possibly sent).
_DONE = ("sending", "sent", "failed")


async def apply_schedule(
    store: Store,
    chat_id: int,
    now: datetime,
    *,
    subscribed: bool | None = None,
    delivery_time: str | None = None,
    timezone: str | None = None,
    days: int | None = None,
) -> Chat:
    """Change what is given (``None`` keeps the stored value) and reschedule the chat.

    Today's slot counts only if it is still ahead: nobody expects a takeaway for a time
    that was already over when they subscribed or moved their time.
    """
    async with store.transaction():
        chat = await chat_db.get_chat(store.db, chat_id)
        if chat is None:
            raise LookupError(f"unknown chat {chat_id}")
        on = chat.subscribed if subscribed is None else subscribed
        at = delivery_time or chat.delivery_time
        zone = timezone or chat.timezone
        weekdays = chat.days if days is None else days
        next_due: datetime | None = None
        due_date: date | None = None
        if on:
            today = local_date(now, zone)
            entry = await chat_db.get_daily(store.db, chat_id, today)
            done = today if entry is not None and entry.status in _DONE else None
            next_due = next_delivery(now, parse_hhmm(at), zone, done_through=done, days=weekdays)
            due_date = local_date(next_due, zone)
        await chat_db.save_schedule(
            store.db,
            chat_id,
            subscribed=on,
            delivery_time=at,
            timezone=zone,
            days=weekdays,
            next_due=next_due,
            due_date=due_date,
        )
        updated = await chat_db.get_chat(store.db, chat_id)
    assert updated is not None
    return updated
