"""The stand-in's own process: ``python -m bot.standin`` and the older ``bot.telegram.standin``.

Operators and the image test start the stand-in by module name, so both names must keep
serving the Bot API, and imports from the old module must be the package's own objects.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest

import bot.standin
import bot.telegram.standin as old_home
from bot.standin import DEFAULT_TOKEN


def test_the_old_module_hands_on_the_package_names() -> None:
    for name in bot.standin.__all__:
        assert getattr(old_home, name) is getattr(bot.standin, name), name


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("module", ["bot.standin", "bot.telegram.standin"])
def test_the_module_serves_the_bot_api(module: str) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner and DEFAULT_TOKEN in banner
        answer = httpx.get(f"http://127.0.0.1:{port}/bot{DEFAULT_TOKEN}/getMe", timeout=5)
        assert answer.json()["result"]["username"] == "takeaways_bot"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
