"""The HTTP server and the routing of Bot API calls to the methods that answer them.

:class:`BotAPIStandin` is the whole stand-in: the world, the people, what the bot did
and the faults come from its mixins, each Bot API method from the ``methods`` modules
(grouped as Telegram's docs group them). Here: lifecycle, one keep-alive connection
at a time, and one call from decoding to answer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import unquote

from bot.standin.methods.bot import BotMethods
from bot.standin.methods.editing import EditingMethods
from bot.standin.methods.files import FileMethods
from bot.standin.methods.queries import QueryMethods
from bot.standin.methods.updates import UpdateMethods
from bot.standin.people import People
from bot.standin.records import MAX_BODY, ApiError, ClientGone, Failure
from bot.standin.watch import Watching
from bot.standin.wire import (
    JSON_TYPE,
    Params,
    Reply,
    decode_params,
    error_body,
    http_response,
    json_bytes,
)

_log = logging.getLogger(__name__)

_METHODS: Final = (
    "getMe", "logOut", "close", "getUpdates", "setWebhook", "deleteWebhook",
    "getWebhookInfo", "sendMessage", "editMessageText", "editMessageReplyMarkup",
    "deleteMessage", "answerCallbackQuery", "answerInlineQuery", "sendDocument",
    "getFile", "getChat", "getChatMember", "getChatAdministrators",
    "getChatMemberCount", "sendChatAction", "setMyCommands", "getMyCommands",
    "deleteMyCommands", "setChatMenuButton", "getChatMenuButton", "setMyDescription",
    "getMyDescription", "setMyShortDescription", "getMyShortDescription", "setMyName",
    "getMyName",
)  # fmt: skip


class BotAPIStandin(
    People, Watching, UpdateMethods, BotMethods, FileMethods, EditingMethods, QueryMethods
):
    """The Telegram Bot API for one bot, on 127.0.0.1, with a simulated world.

    Typical test use::

        async with BotAPIStandin() as tg:
            tg.add_chat(42, first_name="Ada")
            app = Application.builder().token(tg.token).base_url(tg.base_url)...
            tg.user_sends(42, "/start")
            [reply] = await tg.wait_for_messages(42)

    ``url`` (after :meth:`start`) is what the BOT_API_URL setting takes; python-telegram-bot
    wants ``base_url=f"{url}/bot"`` and ``base_file_url=f"{url}/file/bot"``
    (:attr:`base_url`, :attr:`base_file_url`).
    """

    @functools.cached_property
    def _handlers(self) -> dict[str, tuple[str, Callable[[Params], Any]]]:
        """The routing table: every Bot API method the stand-in answers, by lower-case name."""
        return {name.lower(): (name, getattr(self, "_api_" + name)) for name in _METHODS}

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port (0: any free port) and set :attr:`url`."""
        self._server = await asyncio.start_server(self._serve, host, port, limit=1 << 16)
        bound = self._server.sockets[0].getsockname()
        self.url = f"http://{host}:{bound[1]}"

    async def stop(self) -> None:
        """Stop listening and drop every open connection (pending long polls included)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> BotAPIStandin:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``base_url`` for python-telegram-bot (it appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """``base_file_url`` for python-telegram-bot (it appends the token)."""
        return f"{self.url}/file/bot"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One keep-alive connection: requests are answered one after another."""
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                except asyncio.LimitOverrunError:
                    writer.write(http_response(431, b"", b"text/plain", False))
                    return
                lines = head[:-4].decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    writer.write(http_response(400, b"", b"text/plain", False))
                    return
                verb, target, version = parts
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    key, _, value = line.partition(":")
                    headers[key.strip().lower()] = value.strip()
                connection = headers.get("connection", "").lower()
                keep_alive = connection != "close" and (
                    version == "HTTP/1.1" or connection == "keep-alive"
                )
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                try:
                    body = await self._read_body(reader, headers)
                except ApiError as exc:
                    payload = error_body(exc.status, exc.description)
                    writer.write(http_response(exc.status, payload, JSON_TYPE, False))
                    return
                except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                    return
                reply = await self._dispatch(verb, target, headers, body, reader)
                if reply.drop:
                    return
                writer.write(
                    http_response(reply.status, reply.body, reply.content_type, keep_alive)
                )
                if writer.transport.get_write_buffer_size() > 1 << 16:
                    await writer.drain()
                if not keep_alive:
                    return
        except ConnectionError:
            return
        except asyncio.CancelledError:
            # stop() cancels connections; ending quietly instead of re-raising keeps
            # Python 3.11's start_server done-callback from logging the cancellation.
            return
        finally:
            self._connections.discard(task)
            writer.close()

    async def _read_body(self, reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            size_total = 0
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while await reader.readuntil(b"\r\n") != b"\r\n":
                        pass  # trailers
                    return b"".join(chunks)
                size_total += size
                if size_total > MAX_BODY:
                    raise ApiError(413, "Request Entity Too Large")
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
        length = int(headers.get("content-length", "0") or "0")
        if length > MAX_BODY:
            raise ApiError(413, "Request Entity Too Large")
        return await reader.readexactly(length) if length else b""

    async def _dispatch(
        self,
        verb: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        reader: asyncio.StreamReader | None = None,
    ) -> Reply:
        path, _, query = target.partition("?")
        if "%" in path:
            path = unquote(path)  # httpx sends the ":" of the token as %3A in file URLs
        if path.startswith("/bot"):
            token, sep, method = path[4:].partition("/")
            if not sep or not method or "/" in method:
                return Reply(404, error_body(404, "Not Found"))
            if token != self.token:
                entry = self._handlers.get(method.lower())
                name = entry[0] if entry is not None else method
                self.failures.append(Failure(name, {}, 401, "Unauthorized"))
                return Reply(401, error_body(401, "Unauthorized"))
            return await self._call(method, query, headers.get("content-type", ""), body, reader)
        if path.startswith("/file/bot") and verb in ("GET", "HEAD"):
            token, sep, file_path = path[9:].partition("/")
            if token != self.token:
                return Reply(401, error_body(401, "Unauthorized"))
            stored = self._files_by_path.get(file_path)
            if stored is None:
                return Reply(404, error_body(404, "Not Found"))
            content = stored.content if verb == "GET" else b""
            return Reply(200, content, stored.mime_type.encode("latin-1", "replace"))
        return Reply(404, error_body(404, "Not Found"))

    async def _call(
        self,
        method: str,
        query: str,
        content_type: str,
        body: bytes,
        reader: asyncio.StreamReader | None = None,
    ) -> Reply:
        """One Bot API call: decode, record, inject faults, run the method, answer."""
        entry = self._handlers.get(method.lower())
        name = entry[0] if entry is not None else method
        try:
            params = decode_params(query, content_type, body)
        except ApiError as exc:
            self.all_requests.append((name, {}))
            self.failures.append(Failure(name, {}, exc.status, exc.description))
            self._changed()
            return Reply(exc.status, error_body(exc.status, exc.description))
        for key, upload in params.files.items():
            params.values.setdefault(key, upload)
        self.all_requests.append((name, params.values))
        try:
            if entry is None:
                _log.warning("the stand-in has no Bot API method %r", method)
                raise ApiError(404, "Not Found")
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            if self._faults:
                fault = self._take_fault(name.lower(), params)
                if fault is not None:
                    if fault.drop_connection:
                        return Reply(0, b"", drop=True)
                    raise ApiError(fault.status, fault.description, fault.parameters)
            if entry[0] == "getUpdates":
                result = await self._get_updates(params, reader)
            else:
                result = entry[1](params)
            return Reply(200, json_bytes({"ok": True, "result": result}))
        except ApiError as exc:
            self.failures.append(Failure(name, params.values, exc.status, exc.description))
            return Reply(exc.status, error_body(exc.status, exc.description, exc.parameters))
        except ClientGone:
            return Reply(0, b"", drop=True)
        except Exception as exc:
            _log.exception("the stand-in failed on %s", name)
            self.internal_errors.append(exc)
            description = f"Internal Server Error: stand-in bug: {exc!r}"
            self.failures.append(Failure(name, params.values, 500, description))
            return Reply(500, error_body(500, description))
        finally:
            self._changed()
