"""Which files an import looks at.

Files named explicitly are taken as they are (the user meant them); folders are
walked for export-like files only, in a stable order so imports are reproducible,
skipping hidden entries (``.obsidian/``, ``.git/``, ``.DS_Store``...). A folder synced
from a KOReader device is one too: its ``book.sdr/metadata.epub.lua`` sidecars are
picked up, its plugins' and settings' other ``.lua`` files are not.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from bot.sources.model import ParseError

SOURCE_SUFFIXES = frozenset(
    {".md", ".markdown", ".txt", ".csv", ".jsonl", ".ndjson", ".json", ".html", ".htm"}
)
# KOReader's sidecars (``book.sdr/metadata.epub.lua``); any other .lua is program code.
_KOREADER_SIDECAR = re.compile(r"metadata\.[A-Za-z0-9]+\.lua", re.IGNORECASE)


def iter_source_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given; folders walked recursively and sorted; a missing path is an error.

    Every path is checked before the first file is yielded, so a typo in the last
    argument fails the import up front instead of after the others were imported.
    """
    given = list(paths)
    for path in given:
        if not path.exists():
            raise ParseError(str(path), "no such file or folder")
    seen: set[str] = set()
    for path in given:
        if path.is_dir():
            yield from _walk(path, seen)
        else:
            yield path


def _walk(folder: Path, seen: set[str]) -> Iterator[Path]:
    """Depth-first in name order; a symlink loop is visited once, not forever."""
    real = os.path.realpath(folder)
    if real in seen:
        return
    seen.add(real)
    try:
        entries = sorted(folder.iterdir(), key=lambda entry: entry.name)
    except OSError as error:
        raise ParseError(str(folder), f"cannot read folder ({error.strerror or error})") from error
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry, seen)
        elif _is_source(entry.name) and entry.is_file():
            yield entry


def _is_source(name: str) -> bool:
    """An export-like file name: a known suffix, or a KOReader sidecar."""
    return Path(name).suffix.lower() in SOURCE_SUFFIXES or bool(_KOREADER_SIDECAR.fullmatch(name))
