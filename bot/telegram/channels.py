"""Channels from ``CHANNEL_IDS`` get the daily takeaway like a subscriber.

They are ordinary rows in ``chats`` (kind "channel") at the bot's default time and zone,
so the daily run's once-a-day guarantee covers them unchanged. ``@names`` are resolved
to ids once at start; a channel dropped from the setting stops receiving.
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import TelegramError

from bot.clock import Clock
from bot.delivery.subscriptions import apply_schedule
from bot.settings import Settings
from bot.store import Store
from bot.store import chats as chat_db

log = logging.getLogger(__name__)


async def resolve(bot: Bot, channel: int | str) -> tuple[int, str | None] | None:
    try:
        chat = await bot.get_chat(channel)
    except TelegramError as error:
        log.error("channel %s: cannot use it (%s); is the bot an admin there?", channel, error)
        return None
    return chat.id, chat.title or chat.username


async def sync_channels(bot: Bot, store: Store, settings: Settings, clock: Clock) -> list[int]:
    """Subscribe every configured channel, unsubscribe channels no longer configured."""
    wanted: list[int] = []
    for channel in settings.channel_ids:
        resolved = await resolve(bot, channel)
        if resolved is None:
            continue
        chat_id, title = resolved
        async with store.transaction():
            chat = await chat_db.ensure_chat(
                store.db,
                chat_id,
                kind="channel",
                title=title,
                delivery_time=settings.delivery_time,
                timezone=settings.timezone,
            )
        if not chat.subscribed or (chat.delivery_time, chat.timezone) != (
            settings.delivery_time,
            settings.timezone,
        ):
            await apply_schedule(
                store,
                chat_id,
                clock(),
                subscribed=True,
                delivery_time=settings.delivery_time,
                timezone=settings.timezone,
            )
        wanted.append(chat_id)
        log.info(
            "channel %s (%s) gets the daily takeaway at %s", chat_id, title, settings.delivery_time
        )
    for chat_id in await chat_db.subscribed_channels(store.db):
        if chat_id not in wanted:
            await apply_schedule(store, chat_id, clock(), subscribed=False)
            log.info("channel %s is no longer in CHANNEL_IDS: unsubscribed", chat_id)
    return wanted
