"""The running bot's sign of life, for ``takeaways-bot health``.

A bot is healthy when it is actually talking to Telegram, not merely when its process
exists: the long-poll request records each successful answer, and a job copies the
latest one into the database every 10 seconds. In webhook mode the web server being up
and updates arriving is the sign instead.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram.request import BaseRequest

from bot.ops import write_heartbeat
from bot.telegram.deps import Context, Pulse, deps

INTERVAL = timedelta(seconds=10)
# A long poll answers within its 10 s timeout; three intervals of silence mean trouble.
SILENCE = timedelta(seconds=30)


class PollingRequest(BaseRequest):
    """The getUpdates request (either transport), noting every successful answer."""

    def __init__(self, pulse: Pulse, request: BaseRequest) -> None:
        self.pulse = pulse
        self.request = request

    @property
    def read_timeout(self) -> float | None:
        return self.request.read_timeout

    async def initialize(self) -> None:
        await self.request.initialize()

    async def shutdown(self) -> None:
        await self.request.shutdown()

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await self.request.do_request(*args, **kwargs)
        if 200 <= code < 300:
            self.pulse.beat()
        return code, payload


async def heartbeat_job(context: Context) -> None:
    """Write the heartbeat if the bot heard from Telegram since the last beat."""
    d = deps(context)
    updater = context.application.updater
    if updater is None or not updater.running:
        return
    now = d.clock()
    alive = d.settings.webhook_url is not None or (
        d.pulse.last_ok is not None and now - d.pulse.last_ok <= SILENCE
    )
    if alive:
        async with d.store.transaction():
            await write_heartbeat(d.store.db, now)
