"""The bot as ``takeaways-bot run`` runs it, in its own process, for the memory benchmark.

``python -m bench.botproc DATABASE API_URL TOKEN``: same start-up (open, import step,
handlers, the delivery and heartbeat jobs, long polling) and the same clean stop on
SIGTERM, with two differences that only make the run shorter: the clock is fixed at
``bench.gen.BENCH_NOW`` (so the generated subscribers are due) and the rate limiter is
off (100,000 deliveries at 30/s would take an hour).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from pydantic import SecretStr

from bench.gen import BENCH_NOW
from bot.clock import ManualClock
from bot.logs import configure_logging
from bot.settings import Settings
from bot.store import Store
from bot.telegram.app import (
    build_application,
    load_collection,
    settle_memory,
    start_bot,
    stop_bot,
)


async def main(database: Path, api_url: str, token: str) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=SecretStr(token),
        bot_api_url=api_url,
        database_path=database,
    )
    configure_logging("WARNING", [token])
    async with await Store.open(settings.database_path) as store:
        await load_collection(settings, store)
        app = build_application(settings, store, clock=ManualClock(BENCH_NOW), rate_limit=False)
        await start_bot(app)
        settle_memory()
        print("running", flush=True)
        await stop.wait()
        await stop_bot(app)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3])))
