"""The Bot API stand-in in its own process, driven over stdin/stdout (one JSON object a line).

Benchmarks that send over HTTP run the stand-in here rather than in the bot's process:
it then has a core of its own (this machine has two) instead of competing with the bot
for one, and its bookkeeping stays out of the bot's memory. Everything timed on the
stand-in side (when an update was queued, when the bot's answer arrived) is measured in
this process, on one clock.

Commands (``{"cmd": ..., ...}``; every answer is one JSON object, ``{"error": ...}`` on
failure): ``add_chats`` (first, count), ``configure`` (max_sends_per_second,
flood_retry_after, latency), ``reset``, ``push`` (first, count, text: that many people
each send ``text`` at once), ``stats`` (times: include every send time), ``rss``, ``stop``.
The first line written is ``{"url": ..., "token": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from bench.sysinfo import rss_kib
from bot.standin import BotAPIStandin, BotEvent


class Recorder:
    """What the benchmarks need from the stand-in, without keeping every message."""

    def __init__(self, standin: BotAPIStandin) -> None:
        self.standin = standin
        self.reset()
        standin.add_listener(self.on_event)

    def reset(self) -> None:
        self.sent = 0
        self.send_times: list[float] = []
        self.pushed: dict[int, float] = {}
        self.latencies: dict[int, float] = {}
        self.first_push = 0.0
        self.last_answer = 0.0
        self.too_many = 0
        self.other_failures = 0
        self.standin.failures.clear()

    def on_event(self, event: BotEvent) -> None:
        if event.kind != "sent" or event.chat_id is None:
            return
        now = time.perf_counter()
        self.sent += 1
        self.send_times.append(now)
        chat_id = event.chat_id
        pushed = self.pushed.get(chat_id)
        if pushed is not None and chat_id not in self.latencies:
            self.latencies[chat_id] = now - pushed
            self.last_answer = now
        # The benchmarks never edit or press what was sent: keep memory flat.
        if event.message is not None:
            chat = self.standin._chats.get(chat_id)
            if chat is not None:
                chat.bot_messages.pop(event.message.message_id, None)

    def trim(self) -> None:
        """Drop the stand-in's own records (it keeps every request for tests)."""
        for failure in self.standin.failures:
            if failure.status == 429:
                self.too_many += 1
            else:
                self.other_failures += 1
        self.standin.failures.clear()
        self.standin.sent.clear()
        self.standin.all_requests.clear()
        self.standin.chat_actions.clear()

    def push(self, first: int, count: int, text: str) -> None:
        self.first_push = time.perf_counter()
        for chat_id in range(first, first + count):
            self.standin.user_sends(chat_id, text)
            self.pushed[chat_id] = time.perf_counter()

    def stats(self, times: bool) -> dict[str, Any]:
        self.trim()
        result: dict[str, Any] = {
            "sent": self.sent,
            "too_many": self.too_many,
            "other_failures": self.other_failures,
            "internal_errors": len(self.standin.internal_errors),
            "answered": len(self.latencies),
            "latencies": sorted(self.latencies.values()) if times else [],
            "span": (self.last_answer - self.first_push) if self.latencies else 0.0,
            "first_send": self.send_times[0] if self.send_times else 0.0,
            "last_send": self.send_times[-1] if self.send_times else 0.0,
        }
        if times:
            result["send_times"] = self.send_times
        return result


async def serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout

    def answer(payload: dict[str, Any]) -> None:
        out.write(json.dumps(payload) + "\n")
        out.flush()

    async with BotAPIStandin() as standin:
        recorder = Recorder(standin)
        answer({"url": standin.url, "token": standin.token})

        async def trimmer() -> None:
            while True:
                await asyncio.sleep(0.5)
                recorder.trim()

        trimming = asyncio.create_task(trimmer())
        while True:
            line = await reader.readline()
            if not line:
                break
            request = json.loads(line)
            cmd = request.get("cmd")
            try:
                if cmd == "add_chats":
                    for chat_id in range(request["first"], request["first"] + request["count"]):
                        standin.add_chat(chat_id, first_name=f"Reader{chat_id}")
                    answer({"ok": True})
                elif cmd == "configure":
                    standin.max_sends_per_second = request.get("max_sends_per_second")
                    standin.flood_retry_after = int(request.get("flood_retry_after", 1))
                    standin.latency = float(request.get("latency", 0.0))
                    answer({"ok": True})
                elif cmd == "reset":
                    recorder.trim()
                    recorder.reset()
                    answer({"ok": True})
                elif cmd == "push":
                    recorder.push(request["first"], request["count"], request["text"])
                    answer({"ok": True})
                elif cmd == "stats":
                    answer(recorder.stats(bool(request.get("times"))))
                elif cmd == "rss":
                    answer({"rss_kib": rss_kib()})
                elif cmd == "stop":
                    answer({"ok": True})
                    break
                else:
                    answer({"error": f"unknown command {cmd!r}"})
            except Exception as error:  # report, keep serving
                answer({"error": repr(error)})
        trimming.cancel()


if __name__ == "__main__":
    asyncio.run(serve())
