"""Import: parse + store + index of generated exports, then the same files again."""

from __future__ import annotations

import time

from bench import gen
from bench.report import Figure, at_least, info
from bench.workspace import Workspace
from bot.importer import import_paths
from bot.store import Store


async def run(ws: Workspace) -> list[Figure]:
    sizes = ws.sizes
    folder = ws.root / f"exports-{sizes.import_highlights}-seed{ws.seed}"
    if not folder.exists():
        ws.say(f"writing {sizes.import_highlights:,} highlights in {sizes.import_files:,} files")
        gen.write_exports(folder, sizes.import_highlights, sizes.import_files, ws.seed)
    path = ws.root / "import.db"
    ws.remove(path)
    async with await Store.open(path) as store:
        started = time.perf_counter()
        first = await import_paths(store, [folder])
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = await import_paths(store, [folder])
        again_s = time.perf_counter() - started
    ws.remove(path)
    if first.failed or first.new != sizes.import_highlights:
        raise AssertionError(f"import went wrong: {first.describe()}")
    if again.unchanged != sizes.import_highlights or again.new or again.updated:
        raise AssertionError(f"re-import changed something: {again.describe()}")
    size = f"{sizes.import_highlights:,} highlights in {sizes.import_files:,} files"
    return [
        at_least("import.rate", first.new / first_s, "takeaways/s", 20_000, size),
        info("import.first_s", first_s, "s", size),
        at_least(
            "import.reimport_speedup", first_s / again_s, "x", 5, f"re-import {again_s:.2f} s"
        ),
    ]
