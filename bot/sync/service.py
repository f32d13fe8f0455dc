"""The sync as a long-running bot uses it: one at a time, and the token checked first.

The bot syncs at start and then every ``READWISE_SYNC_INTERVAL``, and admins can ask
for one with /sync; this object makes sure two never overlap and remembers whether
Readwise accepted the token, so that a bad token is reported once (one log line, one
message to the admins) instead of at every interval. Each attempt checks again, so a
token fixed in Readwise (or Readwise coming back) resumes syncing by itself.
"""

from __future__ import annotations

import asyncio
import logging

from bot.clock import Clock
from bot.settings import Settings
from bot.store import Store
from bot.sync.client import ReadwiseClient, ReadwiseError, Sleep
from bot.sync.run import Progress, SyncSummary, sync_readwise

log = logging.getLogger(__name__)


class ReadwiseSync:
    def __init__(
        self, settings: Settings, store: Store, clock: Clock, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        if settings.readwise_token is None:
            raise ValueError("READWISE_TOKEN is not set")
        self._token = settings.readwise_token
        self.api_url = settings.readwise_api_url
        self.store = store
        self.clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self.token_ok = False
        # The problem last reported to the log and the admins, so it is reported once.
        self.reported: str | None = None

    @property
    def running(self) -> bool:
        return self._lock.locked()

    def client(self) -> ReadwiseClient:
        return ReadwiseClient(self._token.get_secret_value(), self.api_url, sleep=self._sleep)

    async def attempt(
        self, progress: Progress | None = None
    ) -> tuple[SyncSummary | None, str | None]:
        """Check the token if need be, then sync: (summary, None), or (None, problem)
        when the token check failed. Returns (None, None) if a sync is already running."""
        if self._lock.locked():
            return None, None
        async with self._lock, self.client() as client:
            if not self.token_ok:
                try:
                    await client.check_token()
                except ReadwiseError as error:
                    return None, str(error)
                self.token_ok = True
                if self.reported is not None:
                    log.info("Readwise accepts READWISE_TOKEN again; syncing")
                self.reported = None
            summary = await sync_readwise(self.store, client, self.clock, progress)
            if summary.token_refused:
                self.token_ok = False
            return summary, None

    def first_report(self, problem: str) -> bool:
        """Whether ``problem`` is news (to be logged and sent to admins) or a repeat."""
        if self.reported == problem:
            return False
        self.reported = problem
        return True
