"""``python -m bench``: generate data, run the benchmarks, print one line per figure."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from bench import (
    b_daily,
    b_fairness,
    b_http,
    b_import,
    b_import_mixed,
    b_memory,
    b_readwise,
    b_store,
)
from bench.report import Figure
from bench.sysinfo import describe
from bench.workspace import FULL, QUICK, Workspace

Benchmark = Callable[[Workspace], Awaitable[list[Figure]]]

BENCHMARKS: dict[str, tuple[Benchmark, str]] = {
    "import": (b_import.run, "parse + store + index exports, then re-import them"),
    "import-mixed": (b_import_mixed.run, "Kindle in six languages + Readwise; summaries add up"),
    "search": (b_store.run_search, "full-text search p50/p99, and a LIKE scan to compare"),
    "pick": (b_store.run_pick, "random and next-in-round picks, small vs large collection"),
    "daily": (b_daily.run, "the daily run's bookkeeping with a no-op send"),
    "standin": (b_http.run_standin, "the stand-in Bot API and PTB's send_message alone"),
    "delivery": (b_http.run_delivery, "the daily run end to end over HTTP, limiter off"),
    "delivery-limited": (b_http.run_delivery_limited, "the same at Telegram's 30/s"),
    "commands": (b_http.run_commands, "people sending /random at once, limiter off"),
    "commands-limited": (b_http.run_commands_limited, "the same with the limiter on"),
    "memory": (b_memory.run, "resident memory of the running bot"),
    "readwise": (b_readwise.run, "a first Readwise sync: time and flat memory"),
    "fairness": (b_fairness.run, "private /random p99 while a group floods at 10x its limit"),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Generate data, run the benchmarks, print name, value, unit, target "
        "and PASS/MISS per figure. Quick sizes unless --full.",
    )
    parser.add_argument("--full", action="store_true", help="the full sizes (takes longer)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        choices=list(BENCHMARKS),
        help="run only this benchmark (repeatable): " + ", ".join(BENCHMARKS),
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="generate data into DIR and keep it (later runs reuse it); default: a temp dir",
    )
    parser.add_argument("--seed", type=int, default=1, help="data generator seed (default 1)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return parser.parse_args(argv)


async def run(names: list[str], ws: Workspace) -> tuple[list[Figure], list[str]]:
    figures: list[Figure] = []
    errors: list[str] = []
    for name in names:
        benchmark, _ = BENCHMARKS[name]
        print(f"[{name}]", flush=True)
        started = time.perf_counter()
        try:
            results = await benchmark(ws)
        except Exception as error:  # one broken benchmark must not hide the others
            traceback.print_exc()
            errors.append(f"{name}: {error!r}")
            print(f"{name:<34} {'ERROR':>12}  {error!r}", flush=True)
            continue
        for figure in results:
            print(figure.line(), flush=True)
        print(f"  .. {name} took {time.perf_counter() - started:.0f} s", flush=True)
        figures += results
    return figures, errors


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, (_, text) in BENCHMARKS.items():
            print(f"{name:<18} {text}")
        return 0
    logging.basicConfig(level=logging.WARNING)
    sizes = FULL if args.full else QUICK
    names = args.only or list(BENCHMARKS)
    root = args.keep or Path(tempfile.mkdtemp(prefix="takeaways-bench-"))
    ws = Workspace(root, args.seed, sizes)
    machine = describe()
    mode = "full" if args.full else "quick"
    print(f"takeaways benchmarks ({mode} sizes, seed {args.seed}); data in {root}")
    for key, value in machine.items():
        print(f"  {key}: {value}")
    started = time.perf_counter()
    try:
        figures, errors = asyncio.run(run(names, ws))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    total = time.perf_counter() - started
    missed = [f for f in figures if f.passed is False]
    print(
        f"{len(figures)} figures in {total:.0f} s: "
        f"{sum(f.passed is True for f in figures)} PASS, {len(missed)} MISS, "
        f"{sum(f.passed is None for f in figures)} INFO, {len(errors)} errors"
    )
    if args.markdown:
        print("\n| figure | value | target | result | notes |\n|---|---|---|---|---|")
        for figure in figures:
            print(figure.markdown_row())
    if args.json:
        payload = {
            "mode": mode,
            "seed": args.seed,
            "command": "python -m bench" + (" --full" if args.full else ""),
            "machine": machine,
            "seconds": round(total, 1),
            "figures": [asdict(f) for f in figures],
            "errors": errors,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    # A MISS is a finding, not a failure of the command; a benchmark that broke is.
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
