"""The project's own export: one ``Takeaway.to_json()`` object per line.

It is the lossless format (everything a takeaway knows survives a round trip), so it
is strict: a line that is not a takeaway object is an error naming the line, rather
than silently dropped. A ``.json`` file holding an array of the same objects is read
too, since that is what people get when they save the CLI's output by hand.
"""

from __future__ import annotations

import json
from typing import Any

from bot.sources.model import ParseError, Report, Takeaway
from bot.sources.text import normalise, split_lines

_TEXT_FIELDS = (
    "title",
    "author",
    "url",
    "note",
    "location",
    "highlighted_at",
    "source_url",
    "category",
)


def parse(text: str, name: str, report: Report) -> list[Takeaway]:
    """Takeaways of a JSON Lines file (or a JSON array of takeaway objects)."""
    if text.lstrip("\ufeff \t\r\n").startswith("["):
        return _parse_array(text, name)
    takeaways = []
    for number, line in enumerate(split_lines(text), start=1):
        if line.strip():
            takeaways.append(_takeaway(_load(line, name, number), name, number))
    return takeaways


def _parse_array(text: str, name: str) -> list[Takeaway]:
    data = _load(text, name, None)
    if not isinstance(data, list):
        raise ParseError(name, "expected a JSON array of takeaway objects")
    return [_takeaway(item, name, None, index) for index, item in enumerate(data, start=1)]


def _load(text: str, name: str, line: int | None) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ParseError(name, "not valid JSON", line=line) from error


def _takeaway(data: Any, name: str, line: int | None, item: int | None = None) -> Takeaway:
    """Validate before building, so a wrong type is a line-numbered error, not a crash."""
    where = f"item {item}: " if item is not None else ""
    if not isinstance(data, dict):
        raise ParseError(name, f"{where}not a JSON object", line=line)
    text = data.get("text")
    if not isinstance(text, str) or not normalise(text):
        raise ParseError(name, f'{where}missing or empty "text"', line=line)
    for key in _TEXT_FIELDS:
        if not isinstance(data.get(key), str | None):
            raise ParseError(name, f'{where}"{key}" must be a string or null', line=line)
    tags = data.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise ParseError(name, f'{where}"tags" must be a list of strings', line=line)
    return Takeaway.from_json({**data, "text": normalise(text)})
