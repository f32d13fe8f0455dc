"""Shared pieces of the security suite: a raw HTTP/1.1 client and process probes.

The attacks need what a well-behaved client will not do (send headers and then
nothing, trickle bytes, lie about a body's length), so they talk HTTP over plain
sockets. Not a test module (no ``test_`` prefix).
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def request_head(
    path: str,
    *,
    secret: str | None = None,
    length: int | None = None,
    chunked: bool = False,
    extra: dict[str, str] | None = None,
) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if secret is not None:
        lines.append(f"{SECRET_HEADER}: {secret}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def post_json(path: str, update: dict[str, object], secret: str | None) -> bytes:
    body = json.dumps(update).encode()
    return request_head(path, secret=secret, length=len(body)) + body


@dataclass
class Answer:
    status: int | None  # None: closed without an answer
    closed: bool  # the server closed the connection afterwards
    seconds: float  # from the end of what we sent to the answer (or the close)


async def read_answer(
    reader: asyncio.StreamReader, started: float, timeout: float, *, until_closed: bool = True
) -> Answer:
    """The status of the first answer, then (``until_closed``) whether the server closes
    the connection within ``timeout``."""
    loop = asyncio.get_running_loop()
    status: int | None = None
    try:
        async with asyncio.timeout(timeout):
            line = await reader.readline()
            if line.startswith(b"HTTP/1.1 "):
                status = int(line.split()[1])
            seconds = loop.time() - started
            if not until_closed:
                return Answer(status, False, seconds)
            while await reader.read(65536):
                pass
        return Answer(status, True, seconds if status is not None else loop.time() - started)
    except TimeoutError:
        return Answer(status, False, loop.time() - started)
    except ConnectionError:
        return Answer(status, True, loop.time() - started)


async def send_and_read(
    port: int, data: bytes, *, timeout: float = 5.0, until_closed: bool = True
) -> Answer:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        started = asyncio.get_running_loop().time()
        return await read_answer(reader, started, timeout, until_closed=until_closed)
    finally:
        writer.close()


async def stream_body(
    port: int, head: bytes, size: int, *, chunked: bool = False, chunk: int = 256 * 1024
) -> Answer:
    """Send ``head`` and then up to ``size`` bytes of body (in chunked framing if
    ``chunked``), as fast as the server takes them, until it answers and closes (a
    refusal) or everything is sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    started = loop.time()
    answer = asyncio.create_task(read_answer(reader, started, 30.0))
    block = b"x" * chunk
    if chunked:
        block = b"%x\r\n%s\r\n" % (chunk, block)
    sent = 0
    try:
        writer.write(head)
        while sent < size and not answer.done():
            writer.write(block)
            await writer.drain()
            sent += len(block)
    except ConnectionError:
        pass
    try:
        return await answer
    finally:
        writer.close()


def process_memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak) of a process, in KiB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))
