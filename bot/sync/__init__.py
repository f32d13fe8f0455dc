"""Live sync from Readwise's export API (see ``run`` for how a sync goes)."""

from bot.sync.client import ReadwiseClient, ReadwiseError, TokenRefused
from bot.sync.run import SyncSummary, last_summary, sync_readwise
from bot.sync.service import ReadwiseSync

__all__ = [
    "ReadwiseClient",
    "ReadwiseError",
    "ReadwiseSync",
    "SyncSummary",
    "TokenRefused",
    "last_summary",
    "sync_readwise",
]
