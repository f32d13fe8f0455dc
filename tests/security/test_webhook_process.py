"""The webhook attacks at full size, against a real ``takeaways-bot run`` process.

The process gets the file-descriptor limit of a default container (1,024), as in the
review that found the holes: a 95 MiB body without the secret grew memory by 174 MiB
(eight at once left 782 MiB), and 1,100 idle connections exhausted the descriptors, so
that a real update timed out and the log grew by 107 MB in 15 s. The figures this run
measures are printed (``pytest -s``) and quoted in docs/security.md.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from bot.standin import BotAPIStandin
from bot.telegram.webhook import Limits
from tests.reliability.reliability_support import BotProcess, bot_environment, poll
from tests.security.security_support import (
    open_fds,
    post_json,
    process_memory,
    request_head,
    send_and_read,
    stream_body,
)

PATH = "/telegram/hook"
SECRET = secrets.token_hex(32)
MiB = 1024 * 1024
BIG = 95 * MiB
IDLE = 1_100
PERSON = 62_001
LIMITED = (
    "import resource\n"
    "resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))\n"
    "from bot.cli import main\n"
    "raise SystemExit(main(['run']))\n"
)


async def sample_fds(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], open_fds(pid))
        await asyncio.sleep(0.01)


async def test_big_bodies_and_idle_floods_against_a_running_bot(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    port, limits = unused_tcp_port, Limits()
    async with BotAPIStandin() as standin:
        environ = bot_environment(
            standin,
            tmp_path / "takeaways.db",
            WEBHOOK_URL=f"https://bot.example.com{PATH}",
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
            WEBHOOK_SECRET=SECRET,
        )
        async with BotProcess(environ, tmp_path / "bot.log", code=LIMITED) as bot:
            assert bot.process is not None
            pid = bot.process.pid
            await standin.wait_for(lambda: standin.webhook, timeout=30)
            before, fds_before = process_memory(pid), open_fds(pid)
            lines_before = len(bot.log().splitlines())

            # 1. 95 MiB without the secret, once and then eight at once.
            loop = asyncio.get_running_loop()
            started = loop.time()
            one = await stream_body(port, request_head(PATH, length=BIG), BIG)
            eight = await asyncio.gather(
                *(stream_body(port, request_head(PATH, length=BIG), BIG) for _ in range(8))
            )
            chunked = await stream_body(port, request_head(PATH, chunked=True), BIG, chunked=True)
            big_seconds = loop.time() - started
            # Closing on a client still sending resets the connection, which may
            # swallow the 403 on its way: refused and closed is what counts.
            refusals = [one, *eight, chunked]
            assert {a.status for a in refusals} <= {403, None} and all(a.closed for a in refusals)
            assert "without the right secret token (403)" in bot.log()
            after = process_memory(pid)
            peak_growth = (after["VmHWM"] - before["VmHWM"]) / 1024
            rss_growth = (after["VmRSS"] - before["VmRSS"]) / 1024
            assert peak_growth < 8, f"peak memory grew by {peak_growth:.1f} MiB"

            # 2. 1,100 idle connections, then a real update.
            stop, peak = asyncio.Event(), [0]
            sampler = asyncio.create_task(sample_fds(pid, peak, stop))
            idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(IDLE)]
            await asyncio.sleep(0.3)
            standin.user_sends(PERSON, "/start")
            [update] = standin.take_updates()
            started = loop.time()
            answer = await send_and_read(port, post_json(PATH, update, SECRET), until_closed=False)
            [welcome] = await standin.wait_for_messages(PERSON, timeout=10)
            real_seconds = loop.time() - started
            assert answer.status == 200 and answer.seconds < 1 and "Welcome" in welcome.text
            # Every idle one is closed: evicted by newer ones, or after the idle time.
            async with asyncio.timeout(limits.idle_timeout + 5):
                for reader, _ in idle:
                    await reader.read()
            stop.set()
            await sampler
            for _, writer in idle:
                writer.close()
            # asyncio accepts up to a backlog's worth per loop turn, and a connection is
            # counted (and an idle one evicted) a turn or two later: the cap plus a few
            # backlogs in flight, far below the process's 1,024.
            fds_cap = fds_before + limits.max_connections + 4 * limits.backlog
            assert peak[0] <= fds_cap, f"{peak[0]} descriptors open (cap {fds_cap})"

            await poll(lambda: open_fds(pid) <= fds_before + 2, timeout=5)
            log_lines = len(bot.log().splitlines()) - lines_before
            assert log_lines <= 30, bot.log()[-3000:]
            assert "Traceback" not in bot.log()
            assert await bot.terminate() == 0, bot.log()[-3000:]
    print(
        f"\nwebhook process: 10 bodies of 95 MiB without the secret refused in "
        f"{big_seconds:.2f} s, peak memory +{peak_growth:.1f} MiB (RSS +{rss_growth:.1f} MiB); "
        f"{IDLE} idle connections: peak {peak[0]} descriptors (before {fds_before}, "
        f"RLIMIT 1024), a real update answered in {answer.seconds:.3f} s "
        f"(and replied to in {real_seconds:.2f} s); "
        f"{log_lines} log lines for all of it"
    )
