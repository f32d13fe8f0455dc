"""Both HTTP transports (``HTTP_TRANSPORT``) against servers that misbehave on purpose.

Every test runs once over aiohttp and once over PTB's httpx request, with real sockets on
127.0.0.1: a small server that answers, stalls, stops reading or resets; a backlog-full
listener for connect timeouts; a local HTTP proxy (forwarding and CONNECT); TLS with a
certificate made for the test. The rest of the suite runs on the default transport.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import socket
import ssl
import struct
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from telegram import Bot, InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.settings import Settings
from bot.standin import BotAPIStandin
from bot.telegram.transport import TRANSPORTS, Transport, build_request

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
OK = b'{"ok":true,"result":true}'


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Transport:
    """Each transport, in an environment with no proxy or CA settings of the machine's."""
    for name in (*PROXY_VARS, "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    value: Transport = request.param
    return value


def never_sent(error: BaseException) -> bool:
    """How ``bot.delivery.daily.classify`` tells a request that never left."""
    return isinstance(error.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)


@dataclass
class Server:
    """An HTTP/1.1 server whose behaviour a test picks: ``answer``, ``stall``,
    ``no_read`` (never reads the request) or ``reset`` (RST once the request is in)."""

    mode: str = "answer"
    delay: float = 0.0
    port: int = 0
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0
    ssl: ssl.SSLContext | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl else "http"
        return f"{scheme}://127.0.0.1:{self.port}/botTOKEN/getMe"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                if self.mode == "no_read":
                    await asyncio.sleep(3600)
                request = await read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                if self.mode == "stall":
                    await asyncio.sleep(3600)
                if self.mode == "reset":
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                await asyncio.sleep(self.delay)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(OK)}\r\n\r\n".encode()
                    + OK
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.open_now -= 1
            writer.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return lines[0], headers, body


@asynccontextmanager
async def serving(server: Server) -> AsyncIterator[Server]:
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await server.handle(reader, writer)
        finally:
            tasks.discard(task)

    listener = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server.ssl)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@asynccontextmanager
async def requester(
    transport: Transport, **options: float | int | None
) -> AsyncIterator[BaseRequest]:
    request = build_request(transport, **options)  # type: ignore[arg-type]
    async with request:
        yield request


async def call(request: BaseRequest, url: str, data: RequestData | None = None) -> object:
    """One POST through PTB's own ``BaseRequest.post`` (error mapping and JSON included)."""
    return await request.post(url, data)


# -- timeouts ------------------------------------------------------------------------------------


async def test_read_timeout_is_timed_out_that_may_have_arrived(transport: Transport) -> None:
    async with (
        serving(Server(mode="stall")) as server,
        requester(transport, read_timeout=0.3) as request,
    ):
        with pytest.raises(TimedOut) as caught:
            await call(request, server.url)
    assert server.requests, "the request reached the server"
    assert not never_sent(caught.value)


async def test_connect_timeout_is_timed_out_never_sent(transport: Transport) -> None:
    # A listener whose accept queue is full: the kernel drops further SYNs, so a connect
    # hangs as it does towards a host that does not answer.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        await asyncio.sleep(0.05)
        async with requester(transport, connect_timeout=0.3) as request:
            with pytest.raises(TimedOut) as caught:
                await call(request, f"http://127.0.0.1:{port}/botTOKEN/getMe")
        assert never_sent(caught.value)
    finally:
        for sock in [*fillers, listener]:
            sock.close()


async def test_pool_timeout_when_every_connection_is_busy(transport: Transport) -> None:
    async with (
        serving(Server(mode="stall")) as server,
        requester(transport, connection_pool_size=1, pool_timeout=0.2, read_timeout=5) as request,
    ):
        first = asyncio.create_task(call(request, server.url))
        await asyncio.sleep(0.2)
        with pytest.raises(TimedOut, match="Pool timeout") as caught:
            await call(request, server.url)
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
    assert never_sent(caught.value)
    assert len(server.requests) == 1


async def test_write_timeout_when_the_server_stops_reading_an_upload(transport: Transport) -> None:
    document = InputFile(b"x" * (32 << 20), filename="big.bin")
    data = RequestData([RequestParameter.from_input("document", document)])
    async with (
        serving(Server(mode="no_read")) as server,
        requester(transport, media_write_timeout=0.5) as request,
    ):
        started = asyncio.get_running_loop().time()
        with pytest.raises(TimedOut):
            await call(request, server.url, data)
        assert asyncio.get_running_loop().time() - started < 5


# -- failures ------------------------------------------------------------------------------------


async def test_reset_is_a_network_error(transport: Transport) -> None:
    async with serving(Server(mode="reset")) as server, requester(transport) as request:
        with pytest.raises(NetworkError) as caught:
            await call(request, server.url)
    assert not isinstance(caught.value, TimedOut)


async def test_refused_connection_is_a_network_error(transport: Transport) -> None:
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()  # nothing listens there now
    async with requester(transport) as request:
        with pytest.raises(NetworkError) as caught:
            await call(request, f"http://127.0.0.1:{port}/botTOKEN/getMe")
    assert not isinstance(caught.value, TimedOut)


# -- pool and lifecycle --------------------------------------------------------------------------


async def test_the_pool_bounds_open_connections(transport: Transport) -> None:
    async with (
        serving(Server(delay=0.05)) as server,
        requester(transport, connection_pool_size=3, pool_timeout=None) as request,
    ):
        results = await asyncio.gather(*(call(request, server.url) for _ in range(20)))
    assert results == [True] * 20
    assert server.most_open <= 3


async def test_shutdown_closes_connections_and_initialize_starts_again(
    transport: Transport,
) -> None:
    async with serving(Server()) as server:
        request = build_request(transport)
        await request.initialize()
        assert await call(request, server.url) is True
        assert server.open_now == 1  # kept alive
        await request.shutdown()
        for _ in range(100):
            if server.open_now == 0:
                break
            await asyncio.sleep(0.01)
        assert server.open_now == 0
        await request.shutdown()  # twice is fine
        await request.initialize()
        assert await call(request, server.url) is True
        await request.shutdown()


# -- uploads -------------------------------------------------------------------------------------


async def test_uploads_arrive_whole_with_their_names(transport: Transport) -> None:
    content = bytes(range(256)) * 1000
    name = 'takeaways "2026" ü.json'
    async with BotAPIStandin() as tg:
        tg.add_chat(42)
        async with Bot(tg.token, base_url=tg.base_url, request=build_request(transport)) as bot:
            await bot.send_document(
                42,
                InputFile(content, filename=name),
                caption="<b>all</b> of them",
                parse_mode="HTML",
            )
        (sent,) = tg.sent
        assert sent.document_bytes == content
        assert sent.document_name == name
        assert sent.text == "all of them"
        assert not tg.internal_errors


# -- proxies -------------------------------------------------------------------------------------


@dataclass
class Proxy:
    """A forwarding (absolute URI) and CONNECT-tunnelling HTTP proxy."""

    port: int = 0
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # request line, auth

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await read_request(reader)
            if request is None:
                return
            line, headers, body = request
            self.seen.append((line, headers.get("proxy-authorization")))
            verb, target, _ = line.split(" ")
            if verb == "CONNECT":
                host, _, port = target.rpartition(":")
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
                return
            url = httpx.URL(target)
            up_reader, up_writer = await asyncio.open_connection(url.host, url.port)
            kept = {k: v for k, v in headers.items() if not k.startswith("proxy-")}
            kept["connection"] = "close"
            head = f"{verb} {url.raw_path.decode()} HTTP/1.1\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in kept.items()
            )
            up_writer.write(head.encode("latin-1") + b"\r\n" + body)
            await pipe(up_reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@asynccontextmanager
async def proxying(tls: ssl.SSLContext | None = None) -> AsyncIterator[Proxy]:
    proxy = Proxy()
    listener = await asyncio.start_server(proxy.handle, "127.0.0.1", 0, ssl=tls)
    proxy.port = listener.sockets[0].getsockname()[1]
    try:
        yield proxy
    finally:
        listener.close()


async def test_http_proxy_from_the_environment(
    transport: Transport, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving(Server()) as server, proxying() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://ada:s%3Acret@127.0.0.1:{proxy.port}")
        async with requester(transport) as request:
            assert await call(request, server.url) is True
    ((line, auth),) = proxy.seen
    assert line.startswith(f"POST http://127.0.0.1:{server.port}/botTOKEN/getMe ")
    assert auth == "Basic " + base64.b64encode(b"ada:s:cret").decode()
    assert server.requests


async def test_all_proxy_and_no_proxy(
    transport: Transport, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving(Server()) as server, proxying() as proxy:
        monkeypatch.setenv("ALL_PROXY", f"127.0.0.1:{proxy.port}")
        async with requester(transport) as request:
            assert await call(request, server.url) is True
        assert len(proxy.seen) == 1
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        async with requester(transport) as request:
            assert await call(request, server.url) is True
        assert len(proxy.seen) == 1, "NO_PROXY bypasses the proxy"
    assert len(server.requests) == 2


async def test_socks_proxies_are_refused_at_start(
    transport: Transport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(RuntimeError, match=r"(?i)socks"):
        request = build_request(transport)
        await request.initialize()


# -- TLS -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    """(CA certificate, server certificate, server key) for 127.0.0.1, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.pem", "k.pem", "c.csr", "c.pem")
    )
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")

    def openssl(*args: str | Path) -> None:
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
            "-days", "2", "-subj", "/CN=takeaways test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
            "-subj", "/CN=127.0.0.1")  # fmt: skip
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", cert, "-days", "2", "-extfile", ext)  # fmt: skip
    yield ca, cert, key


def tls_server(certificate: tuple[Path, Path, Path]) -> Server:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate[1], certificate[2])
    return Server(ssl=context)


async def test_tls_certificates_are_checked(
    transport: Transport, certificate: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving(tls_server(certificate)) as server:
        async with requester(transport) as request:
            with pytest.raises(NetworkError, match=r"(?i)certificate"):
                await call(request, server.url)
        assert not server.requests
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        async with requester(transport) as request:
            assert await call(request, server.url) is True
        assert server.requests


async def test_https_through_a_connect_proxy(
    transport: Transport, certificate: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    async with serving(tls_server(certificate)) as server, proxying() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://ada:pw@127.0.0.1:{proxy.port}")
        async with requester(transport) as request:
            assert await call(request, server.url) is True
    login = "Basic " + base64.b64encode(b"ada:pw").decode()
    assert proxy.seen == [(f"CONNECT 127.0.0.1:{server.port} HTTP/1.1", login)]
    assert server.requests


async def test_an_https_proxy_is_reached_over_checked_tls(
    transport: Transport, certificate: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    tls = tls_server(certificate).ssl
    async with serving(Server()) as server, proxying(tls) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"https://127.0.0.1:{proxy.port}")
        async with requester(transport) as request:
            assert await call(request, server.url) is True
    ((line, _),) = proxy.seen
    assert line.startswith(f"POST http://127.0.0.1:{server.port}/")


# -- the setting -----------------------------------------------------------------------------------


def test_the_setting_picks_the_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_TRANSPORT", "httpx")
    assert Settings(_env_file=None).http_transport == "httpx"  # type: ignore[call-arg]
    monkeypatch.delenv("HTTP_TRANSPORT")
    assert Settings(_env_file=None).http_transport == "aiohttp"  # type: ignore[call-arg]
    monkeypatch.setenv("HTTP_TRANSPORT", "curl")
    with pytest.raises(ValueError, match="aiohttp"):
        Settings(_env_file=None)  # type: ignore[call-arg]
