"""The parent's side of ``bench.standin_server``: a stand-in Bot API in a child process."""

from __future__ import annotations

import asyncio
import json
import sys
from types import TracebackType
from typing import Any


class RemoteStandin:
    """``async with RemoteStandin() as tg: await tg.call("add_chats", first=1, count=10)``."""

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self.url = ""
        self.token = ""

    async def __aenter__(self) -> RemoteStandin:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.standin_server",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 26,
        )
        hello = await self._read()
        self.url, self.token = str(hello["url"]), str(hello["token"])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            try:
                await asyncio.wait_for(self.call("stop"), 5)
                await asyncio.wait_for(proc.wait(), 5)
            except (TimeoutError, ConnectionError, RuntimeError):
                proc.kill()
                await proc.wait()
        self._proc = None

    @property
    def pid(self) -> int:
        """The stand-in process's id (for its CPU time)."""
        assert self._proc is not None
        return self._proc.pid

    async def _read(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        line = await self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the stand-in process ended")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        """Send one command and return its answer; RuntimeError if the child refused it."""
        assert self._proc is not None and self._proc.stdin is not None
        async with self._lock:
            self._proc.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())
            await self._proc.stdin.drain()
            answer = await self._read()
        if "error" in answer:
            raise RuntimeError(f"stand-in: {cmd}: {answer['error']}")
        return answer

    async def wait_answered(self, count: int, timeout: float) -> dict[str, Any]:
        """Poll until ``count`` pushed updates were answered (or ``timeout`` passed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            stats = await self.call("stats")
            if stats["answered"] >= count or loop.time() > deadline:
                return await self.call("stats", times=True)
            await asyncio.sleep(0.05)
