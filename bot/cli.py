"""The ``takeaways-bot`` command: the data commands and the bot itself.

Every command exits 0 on success and non-zero with one clear line on failure: 1 when
the work failed (a file that would not import, a database that cannot be opened), 2
when the command or the configuration is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from bot import __version__
from bot.clock import system_clock
from bot.importer import import_paths
from bot.ops import DEFAULT_MAX_AGE, backup, check_health
from bot.settings import Settings
from bot.sources import iter_source_files, parse_bytes_report, read_path
from bot.sources.model import ParseError
from bot.store import MARK_END, MARK_START, SchemaTooNewError, Stats, Store, StoredTakeaway


class UsageError(Exception):
    """A wrong command or setting: exit code 2 with the message, no traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    settings: Settings | None = None
    try:
        settings = load_settings(args)
        result: int = args.handler(args, settings)
        return result
    except UsageError as error:
        print(f"takeaways-bot: {error}", file=sys.stderr)
        return 2
    except SchemaTooNewError as error:
        print(f"takeaways-bot: {error}", file=sys.stderr)
        return 1
    except (OSError, sqlite3.Error) as error:
        where = settings.database_path if settings is not None else "the database"
        print(f"takeaways-bot: {describe_failure(error, where)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def describe_failure(error: BaseException, database: object) -> str:
    """One line for a file or database problem, naming what could not be used."""
    if isinstance(error, sqlite3.Error):
        return f"cannot use {database} as a database: {error}"
    if isinstance(error, OSError) and error.filename:
        return f"{error.filename}: {error.strerror or error}"
    return str(error)


def load_settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "database", None):
        overrides["database_path"] = args.database
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        raise UsageError(f"bad setting: {problems}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="takeaways-bot",
        description="A Telegram bot that sends one reading takeaway a day from your highlights.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--database", metavar="FILE", help="SQLite file to use (default: $DATABASE_PATH)"
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("import", parents=[db], help="import highlight exports into the database")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("parse", help="parse exports and print the takeaways (no database)")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.set_defaults(handler=cmd_parse)

    p = sub.add_parser("search", parents=[db], help="full-text search the takeaways")
    p.add_argument("query", nargs="+", help="words to look for")
    p.add_argument("--limit", type=positive_int, default=5, metavar="N", help="at most N (5)")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("random", parents=[db], help="print one random takeaway")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_random)

    p = sub.add_parser("stats", parents=[db], help="count takeaways and sources")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_stats)

    p = sub.add_parser("export", parents=[db], help="export every takeaway as JSON Lines")
    p.add_argument("--out", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("run", parents=[db], help="run the bot (long polling)")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser(
        "console", parents=[db], help="chat with the bot in this terminal (no token, no network)"
    )
    p.set_defaults(handler=cmd_console)

    p = sub.add_parser(
        "health", parents=[db], help="exit 0 if the database opens and the bot's heartbeat is fresh"
    )
    p.add_argument(
        "--max-age",
        type=float,
        default=DEFAULT_MAX_AGE,
        metavar="SECONDS",
        help=f"oldest acceptable heartbeat ({DEFAULT_MAX_AGE:.0f})",
    )
    p.set_defaults(handler=cmd_health)

    p = sub.add_parser("backup", parents=[db], help="copy the live database consistently to FILE")
    p.add_argument("file", type=Path, metavar="FILE", help="where to write the copy")
    p.set_defaults(handler=cmd_backup)

    return parser


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


# --- commands -------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        async with await Store.open(settings.database_path) as store:
            summary = await import_paths(store, args.paths, progress=terminal_progress())
        if args.json:
            print(json.dumps(summary.to_json(), ensure_ascii=False, indent=2))
        else:
            print(summary.describe(files_shown=None))
        return 1 if summary.failed else 0

    return asyncio.run(go())


def cmd_parse(args: argparse.Namespace, settings: Settings) -> int:
    items: list[dict[str, Any]] = []
    failed = False
    try:
        files = list(iter_source_files(args.paths))
    except ParseError as error:
        print(f"takeaways-bot: {error}", file=sys.stderr)
        return 1
    for path in files:
        try:
            takeaways, report = parse_bytes_report(read_path(path), str(path))
        except ParseError as error:
            print(f"takeaways-bot: {error}", file=sys.stderr)
            failed = True
            continue
        items.extend(t.to_json() for t in takeaways)
        # What the file held besides these takeaways, so that nothing goes unmentioned.
        for problem in report.unreadable:
            print(f"takeaways-bot: {problem}", file=sys.stderr)
        failed = failed or bool(report.unreadable)
        left_out = [
            f"{count} {label} ({reason})"
            for label, reasons in (("merged", report.merged), ("skipped", report.skipped))
            for reason, count in reasons.items()
        ]
        if left_out:
            print(f"{path}: {len(takeaways)} takeaways; {', '.join(left_out)}", file=sys.stderr)
    if args.json:
        json.dump(items, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        for item in items:
            print(item["text"])
            print(f"  — {describe_source(item)}\n")
    return 1 if failed else 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    query = " ".join(args.query)

    async def go() -> int:
        async with await Store.open(settings.database_path) as store:
            hits = await store.search(query, limit=args.limit)
        if args.json:
            out = [{"id": h.item.id, **h.item.takeaway.to_json(), "rank": h.rank} for h in hits]
            json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
            print()
        elif not hits:
            print(f"Nothing found for {query!r}.")
        for hit in [] if args.json else hits:
            print(marks_for_terminal(hit.marked_text, sys.stdout))
            print(f"  — {describe_source(hit.item.takeaway.to_json())}  [#{hit.item.id}]\n")
        return 0

    return asyncio.run(go())


def cmd_random(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        async with await Store.open(settings.database_path) as store:
            item = await store.random_takeaway()
        if item is None:
            print(
                "No takeaways yet: import some with 'takeaways-bot import PATH'.", file=sys.stderr
            )
            return 1
        print_item(item, as_json=args.json)
        return 0

    return asyncio.run(go())


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        async with await Store.open(settings.database_path) as store:
            stats = await store.stats()
        data = stats_as_dict(stats)
        if args.json:
            print(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            for key, value in data.items():
                if isinstance(value, dict):
                    value = ", ".join(f"{name} {count}" for name, count in value.items()) or "-"
                print(f"{key.replace('_', ' ')}: {value}")
        return 0

    return asyncio.run(go())


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        out: TextIO = sys.stdout
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            out = args.out.open("w", encoding="utf-8")
        count = 0
        try:
            async with await Store.open(settings.database_path) as store:
                async for takeaway in store.export():
                    out.write(json.dumps(takeaway.to_json(), ensure_ascii=False) + "\n")
                    count += 1
        finally:
            if out is not sys.stdout:
                out.close()
        if args.out is not None:
            print(f"Exported {count} takeaways to {args.out}", file=sys.stderr)
        return 0

    return asyncio.run(go())


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.logs import configure_logging
    from bot.settings import TOKEN_PATTERN
    from bot.telegram.app import serve

    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    if not TOKEN_PATTERN.match(token):
        problem = "is not set" if not token else "does not look like a bot token"
        raise UsageError(
            f"BOT_TOKEN {problem}. Get one from @BotFather in Telegram (send /newbot), "
            "then put BOT_TOKEN=<token> in .env or the environment."
        )
    if settings.webhook_url is not None and settings.webhook_secret is None:
        raise UsageError(
            "WEBHOOK_URL is set but WEBHOOK_SECRET is not: set it to a random string "
            "(for example the output of `openssl rand -hex 32`)."
        )
    configure_logging(settings.log_level, settings.secrets, fmt=settings.log_format)
    return asyncio.run(serve(settings))


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    problem = check_health(settings.database_path, system_clock(), args.max_age)
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    print("healthy")
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    try:
        takeaways, subscribers = backup(settings.database_path, args.file)
    except (OSError, sqlite3.Error) as error:
        print(f"takeaways-bot: backup failed: {error}", file=sys.stderr)
        return 1
    print(
        f"Backed up {settings.database_path} to {args.file} "
        f"({takeaways} takeaways, {subscribers} subscribers)"
    )
    return 0


def cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console import run_console

    return asyncio.run(run_console(settings))


# --- output helpers -------------------------------------------------------------------


def stats_as_dict(stats: Stats) -> dict[str, Any]:
    """JSON-ready counts; takeaways with no category are counted as "uncategorised"."""
    data = asdict(stats)
    data["by_category"] = {
        (category or "uncategorised"): count for category, count in stats.by_category.items()
    }
    return data


def describe_source(item: dict[str, Any]) -> str:
    parts = [item.get("author") or "", item.get("title") or ""]
    text = ", ".join(p for p in parts if p) or "unknown source"
    if item.get("url"):
        text += f" <{item['url']}>"
    return text


def print_item(item: StoredTakeaway, *, as_json: bool) -> None:
    data = item.takeaway.to_json()
    if as_json:
        print(json.dumps({"id": item.id, **data}, ensure_ascii=False, indent=2))
        return
    print(data["text"])
    if data.get("note"):
        print(f"  Note: {data['note']}")
    print(f"  — {describe_source(data)}  [#{item.id}]")


def marks_for_terminal(marked: str, stream: TextIO) -> str:
    """Bold on a terminal, ``**word**`` when piped, so matches stand out either way."""
    start, end = ("\033[1m", "\033[0m") if stream.isatty() else ("**", "**")
    return marked.replace(MARK_START, start).replace(MARK_END, end)


def terminal_progress() -> Any:
    """A one-line ``[12/2000] file`` counter, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(index: int, total: int, path: Path) -> None:
        name = str(path)
        if len(name) > 50:
            name = "…" + name[-49:]
        end = "\n" if index == total else ""
        print(f"\r\033[K[{index}/{total}] {name}", end=end, file=sys.stderr, flush=True)

    return show
