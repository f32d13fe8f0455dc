"""HTTP plumbing: request parameters decoded the way the Bot API decodes them
(query string, urlencoded, JSON, multipart), and the bytes of an answer.

Kept apart from the server loop so the decoding rules read on their own.
"""

from __future__ import annotations

import contextlib
import json
import re
from http import HTTPStatus
from typing import Any, Final, NamedTuple
from urllib.parse import unquote

from bot.standin.records import ApiError, JSONDict, UploadedFile, bad


class Params:
    """Request parameters, decoded on access the way the Bot API decodes them.

    Form values arrive as strings (python-telegram-bot JSON-encodes non-strings); JSON
    bodies carry typed values. Each accessor accepts both and stores the decoded value
    back, so the recorded request shows ints, dicts and lists for what a method used.
    """

    __slots__ = ("files", "values")

    def __init__(self, values: JSONDict, files: dict[str, UploadedFile] | None = None) -> None:
        self.values = values
        self.files = files or {}

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise bad(f'field "{name}" must be of type String')

    def integer(self, name: str, error: str | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                number = int(value.strip())
                self.values[name] = number
                return number
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad(error or f"invalid {name} specified")

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                number = float(value.strip())
                self.values[name] = number
                return number
        raise bad(f"invalid {name} specified")

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            decoded = value.strip().lower() in ("true", "1")
            self.values[name] = decoded
            return decoded
        return bool(value)

    def obj(self, name: str, error: str) -> Any:
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            decoded = json.loads(value)
        except ValueError:
            raise bad(error) from None
        self.values[name] = decoded
        return decoded


def _parse_form(text: str) -> dict[str, str]:
    """application/x-www-form-urlencoded, strictly UTF-8 (a faster parse_qsl)."""
    values: dict[str, str] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote(name.replace("+", " "), errors="strict")
        if "%" in value or "+" in value:
            value = unquote(value.replace("+", " "), errors="strict")
        values[name] = value
    return values


def decode_params(query: str, content_type: str, body: bytes) -> Params:
    """Query string plus body (urlencoded, JSON or multipart) into parameters."""
    values: JSONDict = {}
    files: dict[str, UploadedFile] = {}
    try:
        if query:
            values.update(_parse_form(query))
        if body:
            media_type, _, options = content_type.partition(";")
            media_type = media_type.strip().lower()
            if media_type in ("application/x-www-form-urlencoded", ""):
                values.update(_parse_form(body.decode("utf-8")))
            elif media_type == "application/json":
                decoded = json.loads(body)
                if not isinstance(decoded, dict):
                    raise bad("the request body must be a JSON object")
                values.update(decoded)
            elif media_type == "multipart/form-data":
                match = re.search(r'boundary="?([^";]+)"?', options)
                if match is None:
                    raise bad("multipart boundary is missing")
                _parse_multipart(body, match.group(1).encode("latin-1"), values, files)
            else:
                raise bad(f"unsupported Content-Type {media_type}")
    except UnicodeDecodeError:
        raise bad("strings must be encoded in UTF-8") from None
    except ValueError as exc:
        if isinstance(exc, ApiError):
            raise
        raise bad("can't parse the request body") from None
    return Params(values, files)


_DISPOSITION_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')
_FORM_ESCAPE = re.compile(r"%(22|[01][0-9A-Fa-f])|\\\\")


def _unescape_form_value(value: str) -> str:
    """Undo the HTML5 form escaping httpx applies to names and filenames."""
    return _FORM_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else "\\", value)


def _parse_multipart(
    body: bytes, boundary: bytes, values: JSONDict, files: dict[str, UploadedFile]
) -> None:
    for part in body.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            raise bad("can't parse a multipart part")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers: dict[str, str] = {}
        for line in head.decode("utf-8").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition: dict[str, str] = {}
        for match in _DISPOSITION_PARAM.finditer(headers.get("content-disposition", "")):
            raw = match.group(2) if match.group(2) is not None else match.group(3)
            disposition[match.group(1).lower()] = raw
        name = _unescape_form_value(disposition.get("name", ""))
        if not name:
            raise bad("a multipart part has no name")
        if "filename*" in disposition:
            filename: str | None = unquote(disposition["filename*"].split("'", 2)[-1])
        elif "filename" in disposition:
            filename = _unescape_form_value(disposition["filename"])
        else:
            filename = None
        if filename is None:
            values[name] = content.decode("utf-8")
        else:
            content_type = headers.get("content-type", "application/octet-stream")
            files[name] = UploadedFile(filename, content, content_type)


_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def json_bytes(payload: Any) -> bytes:
    return _encode_json(payload).encode("utf-8")


def error_body(status: int, description: str, parameters: JSONDict | None = None) -> bytes:
    payload: JSONDict = {"ok": False, "error_code": status, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return json_bytes(payload)


_REASONS: Final = {s.value: s.phrase.encode("ascii") for s in HTTPStatus}


def http_response(status: int, body: bytes, content_type: bytes, keep_alive: bool) -> bytes:
    reason = _REASONS.get(status, b"Unknown")
    return (
        b"HTTP/1.1 %d %s\r\nServer: takeaways-standin\r\nContent-Type: %s\r\n"
        b"Content-Length: %d\r\nConnection: %s\r\n\r\n"
        % (status, reason, content_type, len(body), b"keep-alive" if keep_alive else b"close")
    ) + body


JSON_TYPE: Final = b"application/json"


class Reply(NamedTuple):
    status: int
    body: bytes
    content_type: bytes = JSON_TYPE
    drop: bool = False  # close the connection without answering (an injected fault)


def default_description(status: int, retry_after: int | None) -> str:
    descriptions = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running",
        429: f"Too Many Requests: retry after {retry_after}",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    if status in descriptions:
        return descriptions[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Error"
