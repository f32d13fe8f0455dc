"""How the bot talks HTTP to the Bot API: aiohttp (the default) or PTB's own httpx.

Why a second transport: PTB's ``HTTPXRequest`` costs about 1.5 ms of CPU per request in
httpx/httpcore (whose pool scans every connection for every queued request), which capped
the bot at a few hundred messages a second; aiohttp's client does the same work for a
thirteenth of that (``transport.cpu_per_request`` in ``bench``). ``HTTP_TRANSPORT=httpx``
keeps PTB's request as it always was.

``AiohttpRequest`` behaves like ``HTTPXRequest`` where the bot can tell:

* **TLS** is verified against certifi's CA bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``
  when set, exactly the CAs httpx trusts.
* **Proxies** come from the environment as httpx reads them: ``HTTP_PROXY`` for http://,
  ``HTTPS_PROXY`` for https://, ``ALL_PROXY`` for either, ``NO_PROXY`` to bypass; the
  proxy itself may be http:// or https://, with ``user:password@`` sent as Basic
  ``Proxy-Authorization``. SOCKS proxies are refused at start-up with a clear message:
  httpx refuses them too unless the optional ``socksio`` package is installed.
* **Timeouts** mean what they mean in httpx: ``connect`` bounds opening a connection (DNS,
  TCP, TLS, proxy CONNECT), ``read`` each wait for the answer's bytes, ``write`` each
  write of the request (uploads use ``media_write_timeout``), ``pool`` the wait for one of
  ``connection_pool_size`` connections. Each raises PTB's ``TimedOut``; any other transport
  failure raises ``NetworkError``. The delivery code tells a request that never left
  (safe to send again) from one that may have arrived by the ``TimedOut``'s cause being
  httpx's ``ConnectTimeout`` or ``PoolTimeout``: this transport raises those same causes
  (chained to aiohttp's own error), so both transports read alike there.
* **Uploads** (``/export``'s document) are multipart/form-data encoded as httpx encodes
  them (HTML5 escaping of names and file names).
* At most ``connection_pool_size`` requests, hence connections, are open at once.
  ``initialize()`` makes the session inside the running loop; ``shutdown()`` closes it
  and every connection; a later ``initialize()`` starts afresh.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import ssl
from typing import Any, Final, Literal
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies

import aiohttp
import certifi
import httpx
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.telegram.formdata import urlencode as form_urlencoded

Transport = Literal["aiohttp", "httpx"]
TRANSPORTS: Final[tuple[Transport, ...]] = ("aiohttp", "httpx")

POOL_TIMEOUT_MESSAGE: Final = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* "
    "sent to Telegram. Consider adjusting the connection pool size or the pool timeout."
)
_FORM: Final = {"Content-Type": "application/x-www-form-urlencoded"}
_CHUNK: Final = 64 * 1024  # aiohttp drains its writer every 64 KiB


def build_request(
    transport: Transport,
    *,
    connection_pool_size: int = 256,
    read_timeout: float | None = 5.0,
    write_timeout: float | None = 5.0,
    connect_timeout: float | None = 5.0,
    pool_timeout: float | None = 1.0,
    media_write_timeout: float | None = 20.0,
) -> BaseRequest:
    """The ``BaseRequest`` for ``HTTP_TRANSPORT``, with PTB's default timeouts."""
    options: dict[str, Any] = {
        "connection_pool_size": connection_pool_size,
        "read_timeout": read_timeout,
        "write_timeout": write_timeout,
        "connect_timeout": connect_timeout,
        "pool_timeout": pool_timeout,
        "media_write_timeout": media_write_timeout,
    }
    if transport == "httpx":
        return HTTPXRequest(**options)
    if transport == "aiohttp":
        return AiohttpRequest(**options)
    raise ValueError(f"unknown HTTP transport {transport!r}; use one of {', '.join(TRANSPORTS)}")


class _WriteTimeout(TimeoutError):
    """A write of the request body stalled for longer than the write timeout."""


class _TimedBody(Payload):
    """A request body written in 64 KiB pieces, each within the write timeout.

    aiohttp has no write timeout of its own (its read timeout starts only once the body
    is out), so a server that stops reading an upload would hold the request forever.
    """

    def __init__(self, body: bytes, content_type: str, write_timeout: float | None) -> None:
        super().__init__(body, content_type=content_type)
        self._body = body
        self._size = len(body)
        self._write_timeout = write_timeout

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self._body.decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        view = memoryview(self._body)[:content_length]
        for start in range(0, len(view), _CHUNK):
            try:
                async with asyncio.timeout(self._write_timeout):
                    await writer.write(view[start : start + _CHUNK])
            except TimeoutError:
                raise _WriteTimeout(f"no write progress for {self._write_timeout} s") from None


_FORM_ESCAPES: Final = {'"': "%22", "\\": "\\\\"} | {
    chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B
}
_FORM_ESCAPE: Final = re.compile("|".join(re.escape(c) for c in _FORM_ESCAPES))


def _form_param(name: str, value: str) -> bytes:
    """``name="value"`` as httpx writes it in a Content-Disposition (HTML5 form escaping)."""
    escaped = _FORM_ESCAPE.sub(lambda m: _FORM_ESCAPES[m.group(0)], value)
    return f'{name}="{escaped}"'.encode()


def multipart_body(request_data: RequestData) -> tuple[bytes, str]:
    """The multipart/form-data body (and its Content-Type) for a request with files."""
    boundary = os.urandom(16).hex()
    dash = f"--{boundary}\r\n".encode("ascii")
    parts: list[bytes] = []
    for name, value in request_data.json_parameters.items():
        parts += [dash, b"Content-Disposition: form-data; ", _form_param("name", name)]
        parts += [b"\r\n\r\n", value.encode(), b"\r\n"]
    for name, (filename, content, mimetype) in (request_data.multipart_data or {}).items():
        data = content if isinstance(content, bytes) else content.read()
        parts += [dash, b"Content-Disposition: form-data; ", _form_param("name", name)]
        parts += [b"; ", _form_param("filename", filename), b"\r\n"]
        parts += [f"Content-Type: {mimetype}\r\n\r\n".encode(), data, b"\r\n"]
    parts.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def tls_context() -> ssl.SSLContext:
    """Certificate checks against the CAs httpx trusts (``SSL_CERT_FILE``/``_DIR`` or certifi)."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    return ssl.create_default_context(cafile=certifi.where())


# The proxy URL, headers for a CONNECT to it, headers for a request forwarded by it.
_Route = tuple[str | None, dict[str, str] | None, dict[str, str] | None]


class ProxyChooser:
    """Which proxy a URL goes through, from ``*_PROXY`` and ``NO_PROXY`` as httpx reads them."""

    def __init__(self, proxies: dict[str, str] | None = None) -> None:
        found = getproxies() if proxies is None else proxies
        self._env = {k: v for k, v in found.items() if k in ("http", "https", "all", "no")}
        self._routes: dict[tuple[str, str], _Route] = {}
        for scheme in ("http", "https", "all"):
            if self._env.get(scheme):
                _route(self._env[scheme])  # refuse a proxy we cannot use now, not later

    def route(self, url: str) -> _Route:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        known = self._routes.get(key)
        if known is not None:
            return known
        proxy = self._env.get(parts.scheme) or self._env.get("all")
        if proxy and _bypassed(parts.hostname or "", self._env.get("no", "")):
            proxy = None
        chosen: _Route = (None, None, None)
        if proxy:
            proxy_url, auth = _route(proxy)
            # aiohttp sends a tunnel's headers with the CONNECT, but a forwarded plain
            # http:// request needs its Proxy-Authorization among its own headers.
            tunnel = parts.scheme == "https"
            chosen = (proxy_url, auth, None) if tunnel else (proxy_url, None, auth)
        self._routes[key] = chosen
        return chosen


def _bypassed(host: str, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` exempts ``host``, read as httpx reads it: ``*`` for every host,
    ``example.com`` for it and its subdomains, ``.example.com`` for subdomains only."""
    host = host.lower()
    for entry in no_proxy.split(","):
        name = entry.strip().lower()
        if "://" in name:
            name = urlsplit(name).hostname or ""
        if name == "*":
            return True
        if name.startswith("."):
            if host.endswith(name):
                return True
        elif name and (host == name.strip("[]") or host.endswith("." + name)):
            return True
    return False


def _route(proxy: str) -> tuple[str, dict[str, str] | None]:
    """A proxy URL (``host:port`` means http://) as aiohttp takes it: credentials moved
    into a Proxy-Authorization header."""
    if "://" not in proxy:
        proxy = f"http://{proxy}"
    parts = urlsplit(proxy)
    if parts.scheme.startswith("socks"):
        raise RuntimeError(
            f"SOCKS proxies ({parts.scheme}://{parts.hostname}) are not supported by "
            "HTTP_TRANSPORT=aiohttp; use an http:// proxy, or HTTP_TRANSPORT=httpx with "
            "the httpx[socks] extra installed"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"unusable proxy URL {parts.scheme}://{parts.hostname}")
    netloc = parts.netloc.rpartition("@")[2]
    headers = None
    if parts.username is not None:
        login = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers = {"Proxy-Authorization": "Basic " + base64.b64encode(login).decode("ascii")}
    return f"{parts.scheme}://{netloc}", headers


class AiohttpRequest(BaseRequest):
    """PTB's ``BaseRequest`` over one ``aiohttp.ClientSession`` (see the module docstring)."""

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy
        self._session: aiohttp.ClientSession | None = None
        self._gate: asyncio.Semaphore | None = None
        self._proxies: ProxyChooser | None = None
        self._timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is not None and not self._session.closed:
            return
        chooser = ProxyChooser(None if self._proxy is None else {"all": self._proxy})
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0, ssl=tls_context())
        self._proxies = chooser
        self._gate = asyncio.Semaphore(self._pool_size)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": self.USER_AGENT},
            trust_env=False,  # proxies are chosen above, once, not per request in a thread
        )

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _timeout(self, connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
        key = (connect, read)
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=None, connect=connect, sock_connect=connect, sock_read=read
            )
            self._timeouts[key] = timeout
        return timeout

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session, gate, proxies = self._session, self._gate, self._proxies
        if session is None or session.closed or gate is None or proxies is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data is not None and bool(request_data.multipart_data)
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = (
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        )
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        write = write_timeout
        if isinstance(write, DefaultValue):
            write = self._media_write_timeout if files else self._write_timeout

        data: bytes | Payload | None = None
        headers: dict[str, str] | None = None
        if request_data is not None and files:
            body, content_type = multipart_body(request_data)
            data = _TimedBody(body, content_type, write)
        elif request_data is not None and request_data.parameters:
            # urlencode(request_data.json_parameters), as url_encoded_parameters(), faster.
            data, headers = form_urlencoded(request_data.json_parameters), _FORM
            if len(data) > _CHUNK:
                data = _TimedBody(data, _FORM["Content-Type"], write)
        proxy, proxy_headers, forwarded = proxies.route(url)
        if forwarded is not None:
            headers = {**(headers or {}), **forwarded}

        if gate.locked():
            try:
                async with asyncio.timeout(pool):
                    await gate.acquire()
            except TimeoutError as err:
                raise TimedOut(POOL_TIMEOUT_MESSAGE) from _never_sent(
                    httpx.PoolTimeout(POOL_TIMEOUT_MESSAGE), err
                )
        else:
            await gate.acquire()
        try:
            async with session.request(
                method,
                url,
                data=data,
                headers=headers,
                proxy=proxy,
                proxy_headers=proxy_headers,
                timeout=self._timeout(connect, read),
            ) as response:
                return response.status, await response.read()
        except _WriteTimeout as err:
            raise TimedOut(f"Timed out writing the request: {err}") from err
        except aiohttp.ConnectionTimeoutError as err:
            message = f"Timed out connecting (connect timeout {connect} s)"
            raise TimedOut(message) from _never_sent(httpx.ConnectTimeout(message), err)
        except TimeoutError as err:
            raise TimedOut from err
        except (aiohttp.ClientError, OSError) as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
        finally:
            gate.release()


def _never_sent(marker: httpx.TimeoutException, cause: BaseException) -> BaseException:
    """httpx's "the request never left" exception, caused by aiohttp's (see module doc)."""
    marker.__cause__ = cause
    return marker
