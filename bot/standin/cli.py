"""Running the stand-in on its own: ``python -m bot.standin --port 8081``.

So a separately started bot (or a container) can talk to it.
"""

from __future__ import annotations

import asyncio

from bot.standin.records import DEFAULT_TOKEN
from bot.standin.server import BotAPIStandin


async def _serve_forever(host: str, port: int, token: str) -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    standin = BotAPIStandin(token)
    await standin.start(host, port)
    try:
        print(f"Bot API stand-in on {standin.url}  BOT_TOKEN={token}", flush=True)
        await stop.wait()
    finally:
        await standin.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve the stand-in so a separately started bot (or a container) can talk to it."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m bot.standin",
        description="A local stand-in for the Telegram Bot API (for tests and trials).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    asyncio.run(_serve_forever(args.host, args.port, args.token))
    return 0
