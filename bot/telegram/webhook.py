"""The webhook server: Telegram posts each update to us, through the operator's TLS proxy.

PTB's built-in webhook server (tornado) cannot be made safe from outside: it reads a
whole body (up to 100 MB) before it looks at the secret, compares the secret with
``!=``, keeps an idle connection for an hour and accepts connections until the process
runs out of file descriptors. So this is PTB's documented custom-webhook pattern
(``Application`` with ``updater=None``; updates go into ``application.update_queue``)
served by uvicorn with a small Starlette app.

What a request must pass, in this order, before a single byte of its body is read:
the path and method (404/405), exactly one ``X-Telegram-Bot-Api-Secret-Token`` header
equal to the secret (compared in constant time; 403), a ``Content-Length`` of at most
``Limits.max_body`` or a chunked body (413/411). Only then is the body read, as a
stream that stops at ``max_body`` (413) and at ``body_timeout`` (408). Every refusal
answers with ``Connection: close``, so an unread body is never read afterwards.

What a connection must do: send its request within ``idle_timeout`` of connecting or of
its previous answer, or be closed (slowloris, idle sockets). At most ``max_connections``
are open at once; one more closes the connection that has been idle the longest, so a
flood of idle sockets cannot lock Telegram out. Refusals are logged through a
rate-limited logger (bot/logs.py), so an attack costs a few log lines a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

import h11
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from telegram import Update
from telegram.ext import Application, ExtBot
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.logs import limit_rate

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
# Telegram keeps at most this many connections to a webhook (setWebhook max_connections).
TELEGRAM_CONNECTIONS = 40


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request and the server as a whole may cost. Updates are a few KB."""

    max_body: int = 1024 * 1024
    body_timeout: float = 5.0
    idle_timeout: float = 5.0
    max_connections: int = 100
    max_header_bytes: int = 16 * 1024
    backlog: int = 64


@dataclass
class WebhookStats:
    """What the server saw; the health check and the tests read it."""

    received: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    closed_idle: int = 0
    evicted: int = 0


Deliver = Callable[[dict[str, Any]], Awaitable[None]]

# One template per reason: the rate limit counts each kind of refusal separately.
_REFUSALS = {
    "secret": "webhook: refused a request from %s without the right secret token (403)",
    "too_large": "webhook: refused a body over the size limit from %s (413)",
    "no_length": "webhook: refused a request from %s without a Content-Length (411)",
    "slow_body": "webhook: gave up on a body from %s that came too slowly (408)",
    "not_json": "webhook: refused a body from %s that is not a JSON object (400)",
    "not_update": "webhook: refused a JSON object from %s that is not an update (400)",
}


class _TooLarge(Exception):
    pass


def secret_matches(values: Iterable[str], secret: bytes) -> bool:
    """Exactly one header, equal to the secret: compared in constant time."""
    values = list(values)
    if len(values) != 1:
        return False
    return hmac.compare_digest(values[0].encode("latin-1"), secret)


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, or _TooLarge as soon as more than ``limit`` bytes have come."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def build_asgi_app(
    path: str, secret: str, deliver: Deliver, limits: Limits, stats: WebhookStats
) -> ASGIApp:
    """The Starlette app: one route, every check before the body (module docstring)."""
    expected = secret.encode("latin-1")

    def refuse(request: Request, reason: str, status: int) -> Response:
        stats.refused[reason] += 1
        log.warning(_REFUSALS[reason], _client(request))
        return Response(status_code=status)

    async def receive_update(request: Request) -> Response:
        if not secret_matches(request.headers.getlist(SECRET_HEADER), expected):
            return refuse(request, "secret", 403)
        length = request.headers.get("content-length")
        chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
        if length is None and not chunked:
            return refuse(request, "no_length", 411)
        if length is not None and (not length.isdigit() or int(length) > limits.max_body):
            return refuse(request, "too_large", 413)
        try:
            async with asyncio.timeout(limits.body_timeout):
                body = await read_capped(request, limits.max_body)
        except _TooLarge:
            return refuse(request, "too_large", 413)
        except TimeoutError:
            return refuse(request, "slow_body", 408)
        except ClientDisconnect:
            return Response(status_code=400)
        try:
            data = json.loads(body)
        except ValueError:
            return refuse(request, "not_json", 400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return refuse(request, "not_update", 400)
        try:
            await deliver(data)
        except Exception:
            # Only a holder of the secret gets here: Telegram sending something PTB cannot
            # read. 400 as PTB's own server answers; Telegram retries it later.
            log.exception("webhook: an update with the right secret could not be read")
            return Response(status_code=400)
        stats.received += 1
        return Response(status_code=200)

    app = Starlette(routes=[Route(path, receive_update, methods=["POST"])])
    return _close_after_refusal(app)


def _close_after_refusal(app: ASGIApp) -> ASGIApp:
    """Every answer of 400 and up carries ``Connection: close``: uvicorn then closes the
    connection instead of reading (and discarding) the rest of a refused body."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            # uvicorn may have answered 400 to a malformed request already and be closing
            # the connection; without this, every such request logs a traceback.
            with contextlib.suppress(h11.LocalProtocolError):
                await send(message)

        await app(scope, receive, send_closing)

    return wrapped


class ConnectionGuard:
    """The server's open connections, oldest first; enforces the idle time and the cap."""

    def __init__(self, limits: Limits, stats: WebhookStats) -> None:
        self.limits = limits
        self.stats = stats
        self.open: dict[GuardedProtocol, None] = {}  # insertion order: oldest first

    def opened(self, connection: GuardedProtocol) -> None:
        self.open[connection] = None
        if len(self.open) <= self.limits.max_connections:
            return
        victim = next((c for c in self.open if not c.busy), connection)
        # Closing takes the victim out at once; its connection_lost comes later.
        self.stats.evicted += 1
        log.warning(
            "webhook: more than %d connections open; closed the longest idle one",
            self.limits.max_connections,
        )
        victim.close()

    def closed(self, connection: GuardedProtocol) -> None:
        self.open.pop(connection, None)


class GuardedProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request and a connection cap.

    uvicorn closes a connection that idles *after* an answer (``timeout_keep_alive``),
    but not one that never sends a request or sends it a byte at a time; this closes
    either after ``idle_timeout``. The subclass is made per server by
    ``protocol_for(guard)``, because uvicorn builds protocols from a class.
    """

    guard: ConnectionGuard
    _deadline: asyncio.TimerHandle | None = None

    @property
    def busy(self) -> bool:
        """A request is being answered (its body read with its own timeout)."""
        return self.cycle is not None and not self.cycle.response_complete

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()
        self.guard.opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self.guard.closed(self)
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self.guard.limits.idle_timeout, self._expired)

    def _expired(self) -> None:
        self._deadline = None
        if self.busy or self.transport.is_closing():
            return
        self.guard.stats.closed_idle += 1
        log.info("webhook: closed a connection that sent no complete request in time")
        self.close()

    def close(self) -> None:
        self.guard.closed(self)
        if self.transport.is_closing():
            return
        with contextlib.suppress(h11.LocalProtocolError):
            self.conn.send(h11.ConnectionClosed())
        self.transport.close()


def protocol_for(guard: ConnectionGuard) -> type[GuardedProtocol]:
    return type("WebhookProtocol", (GuardedProtocol,), {"guard": guard})


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our own event loop: the bot handles SIGTERM, not uvicorn."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class WebhookServer:
    """Serves ``path`` on ``listen``:``port`` and feeds updates into ``application``."""

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        *,
        listen: str,
        port: int,
        path: str,
        secret: str,
        limits: Limits | None = None,
    ) -> None:
        self.application = application
        self.listen = listen
        self.port = port
        self.path = "/" + path.lstrip("/")
        self.limits = limits or Limits()
        self.stats = WebhookStats()
        self.guard = ConnectionGuard(self.limits, self.stats)
        app = build_asgi_app(self.path, secret, self._deliver, self.limits, self.stats)
        self._config = uvicorn.Config(
            app,
            http=protocol_for(self.guard),
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_keep_alive=max(1, round(self.limits.idle_timeout)),
            timeout_graceful_shutdown=5,
            h11_max_incomplete_event_size=self.limits.max_header_bytes,
            backlog=self.limits.backlog,
        )
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    _KEY = "webhook-server"

    @classmethod
    def of(cls, application: Application) -> WebhookServer | None:  # type: ignore[type-arg]
        """The server ``attach`` gave this application, if any (webhook mode)."""
        server = application.bot_data.get(cls._KEY)
        return server if isinstance(server, cls) else None

    def attach(self) -> WebhookServer:
        self.application.bot_data[self._KEY] = self
        return self

    async def _deliver(self, data: dict[str, Any]) -> None:
        bot = self.application.bot
        update = Update.de_json(data, bot)
        if isinstance(bot, ExtBot):
            bot.insert_callback_data(update)
        await self.application.update_queue.put(update)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Bind (an OSError here is a clear "port in use"), then serve in the background."""
        limit_rate(log.name, "uvicorn.error", "asyncio")
        family = socket.AF_INET6 if ":" in self.listen else socket.AF_INET
        self._socket = socket.create_server(
            (self.listen, self.port), family=family, backlog=self.limits.backlog
        )
        self._server = _EmbeddedServer(self._config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        async with asyncio.timeout(10):
            while not self._server.started:
                if self._task.done():
                    await self._task  # raises what stopped it
                    raise RuntimeError("the webhook server stopped while starting")
                await asyncio.sleep(0.01)
        log.info(
            "webhook server listening on %s:%d%s (at most %d connections, bodies up to %d KiB)",
            self.listen,
            self.port,
            self.path,
            self.limits.max_connections,
            self.limits.max_body // 1024,
        )

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._server = None
        self._task = None
