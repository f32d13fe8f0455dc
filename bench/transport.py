"""An experiment, not product code: a minimal HTTP/1.1 transport for python-telegram-bot.

The bot's HTTP figures are bounded by httpx/httpcore's cost per request (about a
millisecond of CPU here). To show how much of a message's cost is the transport, the
HTTP benchmarks also run the same product code (``daily_sender``, ``deliver_due``)
through this ``BaseRequest``: keep-alive connections on asyncio streams, plain HTTP,
form-encoded bodies, nothing else (no TLS, no proxies, no uploads, no redirects). The
stand-in in ``bench.standin_server`` is the only server it has to talk to.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from telegram.request import BaseRequest, RequestData

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class LeanRequest(BaseRequest):
    """Up to ``pool_size`` keep-alive connections to one plain-HTTP host."""

    def __init__(self, pool_size: int = 16, timeout: float = 10.0) -> None:
        self._idle: list[_Connection] = []
        self._gate = asyncio.Semaphore(pool_size)
        self._timeout = timeout

    @property
    def read_timeout(self) -> float:
        return self._timeout

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.multipart_data:
            raise NotImplementedError("the lean transport sends no files")
        parts = urlsplit(url)
        body = b""
        if request_data is not None and request_data.parameters:
            body = request_data.url_encoded_parameters().encode()
        head = (
            f"{method} {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        async with self._gate, asyncio.timeout(self._timeout):
            if self._idle:
                reader, writer = self._idle.pop()
            else:
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            try:
                writer.write(head + body)
                answer = await reader.readuntil(b"\r\n\r\n")
                status = int(answer[9:12])
                length = 0
                keep = True
                for line in answer.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection" and value.strip().lower() == b"close":
                        keep = False
                data = await reader.readexactly(length)
            except BaseException:
                writer.close()
                raise
            if keep:
                self._idle.append((reader, writer))
            else:
                writer.close()
        return status, data
