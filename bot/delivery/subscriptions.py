"""Subscribing, unsubscribing and changing a chat's time or zone.

Every change recomputes ``next_due`` from the chat's ledger, so changing the time after
today's takeaway arrived never sends a second one today, and changing it before makes
today's arrive at the new time.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.delivery.schedule import local_date, next_delivery
from bot.settings import parse_hhmm
from bot.store import Store
from bot.store import chats as chat_db
from bot.store.chats import Chat


async def _done_through(store: Store, chat_id: int, today: date) -> date | None:
    """Today, if today's takeaway was delivered (or is on its way); else None."""
    entry = await chat_db.get_daily(store.db, chat_id, today)
    if entry is not None and entry.status in ("sending", "sent", "failed"):
        return today
    return None


async def apply_schedule(
    store: Store,
    chat: Chat,
    now: datetime,
    *,
    subscribed: bool,
    delivery_time: str | None = None,
    timezone: str | None = None,
) -> Chat:
    """Store a chat's subscription state and its next delivery instant.

    Today's slot counts only if it is still ahead: nobody expects a takeaway for a time
    that was already over when they subscribed or moved their time.
    """
    at = delivery_time or chat.delivery_time
    zone = timezone or chat.timezone
    next_due: datetime | None = None
    due_date: date | None = None
    if subscribed:
        today = local_date(now, zone)
        done = await _done_through(store, chat.chat_id, today)
        next_due = next_delivery(now, parse_hhmm(at), zone, done_through=done)
        due_date = local_date(next_due, zone)
    async with store.transaction():
        await chat_db.save_schedule(
            store.db,
            chat.chat_id,
            subscribed=subscribed,
            delivery_time=at,
            timezone=zone,
            next_due=next_due,
            due_date=due_date,
        )
    updated = await chat_db.get_chat(store.db, chat.chat_id)
    assert updated is not None
    return updated
