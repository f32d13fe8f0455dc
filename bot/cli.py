"""The ``takeaways-bot`` command: the data commands and the bot itself.

Every command exits 0 on success and non-zero with one clear line on failure: 1 when
the work failed (a file that would not import, a database that cannot be opened), 2
when the command or the configuration is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from bot import __version__
from bot.clock import system_clock
from bot.importer import import_paths
from bot.ops import DEFAULT_MAX_AGE, Restored, RestoreError, backup, check_health, restore
from bot.settings import Settings
from bot.sources import iter_source_files, parse_bytes_report, read_path
from bot.sources.model import ParseError
from bot.store import (
    MARK_END,
    MARK_START,
    MIGRATIONS,
    SchemaTooNewError,
    Stats,
    Store,
    StoredTakeaway,
)


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
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__} (database schema {len(MIGRATIONS)})",
    )
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

    p = sub.add_parser(
        "sync", parents=[db], help="sync once from Readwise (READWISE_TOKEN) and summarise"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=cmd_sync)

    p = sub.add_parser(
        "run", parents=[db], help="run the bot (long polling, or a webhook when WEBHOOK_URL is set)"
    )
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
    p.add_argument("file", type=Path, metavar="FILE", help="where to write the copy (-: to stdout)")
    p.set_defaults(handler=cmd_backup)

    p = sub.add_parser(
        "restore",
        parents=[db],
        help="replace the database with a backup, after checking it (stop the bot first)",
    )
    p.add_argument("file", metavar="FILE", help="the backup to restore (-: read it from stdin)")
    p.add_argument(
        "--force",
        action="store_true",
        help="restore even though the bot's heartbeat says it is running",
    )
    p.set_defaults(handler=cmd_restore)

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


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    """One Readwise sync: 0 when it went to the end, 1 when Readwise failed it."""
    from bot.logs import configure_logging
    from bot.sync import ReadwiseClient, sync_readwise

    if settings.readwise_token is None:
        raise UsageError(
            "READWISE_TOKEN is not set. Get yours at https://readwise.io/access_token, "
            "then put READWISE_TOKEN=<token> in .env or the environment."
        )
    # Warnings (retries) and errors on stderr, secrets redacted; progress has its own line.
    configure_logging("WARNING", settings.secrets, fmt=settings.log_format)
    token = settings.readwise_token.get_secret_value()

    async def go() -> int:
        async with (
            await Store.open(settings.database_path) as store,
            ReadwiseClient(token, settings.readwise_api_url) as client,
        ):
            progress = sync_progress()
            summary = await sync_readwise(store, client, system_clock, progress)
            if progress is not None:
                print(file=sys.stderr)
        if args.json:
            print(json.dumps(summary.to_json(), ensure_ascii=False, indent=2))
        else:
            print(summary.describe())
        return 0 if summary.ok else 1

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
    configure_logging(
        settings.log_level,
        settings.secrets,
        fmt=settings.log_format,
        library_level=settings.library_log_level,
    )
    return asyncio.run(serve(settings))


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    problem = check_health(settings.database_path, system_clock(), args.max_age)
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    print("healthy")
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    to_stdout = str(args.file) == "-"
    if to_stdout and sys.stdout.isatty():
        raise UsageError("backup -: writes the database to stdout; redirect it: > FILE")
    try:
        if to_stdout:
            takeaways, subscribers = backup_to_stdout(settings.database_path)
        else:
            takeaways, subscribers = backup(settings.database_path, args.file)
    except (OSError, sqlite3.Error) as error:
        print(f"takeaways-bot: backup failed: {error}", file=sys.stderr)
        return 1
    print(
        f"Backed up {settings.database_path} to {'stdout' if to_stdout else args.file} "
        f"({takeaways} takeaways, {subscribers} subscribers)",
        file=sys.stderr if to_stdout else sys.stdout,
    )
    return 0


def backup_to_stdout(database: Path) -> tuple[int, int]:
    """A checked backup written to stdout, so it can leave a container through
    ``exec -T`` (no ``cp`` needed, which podman-compose lacks). The copy is made next
    to the database first: /tmp in the container is a small in-memory tmpfs."""
    handle, name = tempfile.mkstemp(prefix=".backup-", suffix=".db", dir=database.parent)
    os.close(handle)
    copy = Path(name)
    try:
        counts = backup(database, copy)
        with copy.open("rb") as file:
            shutil.copyfileobj(file, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    finally:
        copy.unlink(missing_ok=True)
    return counts


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    database = settings.database_path
    if args.file != "-":
        return report_restore(
            restore_file(Path(args.file), database, args.force), args.file, database
        )
    if sys.stdin.isatty():
        raise UsageError("restore -: reads the backup from stdin; redirect it: < FILE")
    # Streamed in (e.g. through `compose run -T`): kept next to the database while it
    # is checked and copied, then removed.
    database.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".restore-", suffix=".db", dir=database.parent)
    received = Path(name)
    try:
        with os.fdopen(handle, "wb") as file:
            shutil.copyfileobj(sys.stdin.buffer, file)
        result = restore_file(received, database, args.force, label="stdin")
        return report_restore(result, "stdin", database)
    finally:
        received.unlink(missing_ok=True)


def restore_file(
    source: Path, database: Path, force: bool, label: str | None = None
) -> Restored | str:
    try:
        return restore(source, database, system_clock(), force=force, label=label)
    except RestoreError as error:
        return str(error)


def report_restore(result: Restored | str, name: str, database: Path) -> int:
    if isinstance(result, str):
        print(f"takeaways-bot: restore refused: {result}", file=sys.stderr)
        return 1
    known = len(MIGRATIONS)
    schema = (
        f"schema {result.schema}"
        if result.schema == known
        else f"schema {result.schema}, upgraded to {known} when the bot starts"
    )
    kept = f"; the database it replaced is kept as {result.kept}" if result.kept else ""
    print(
        f"Restored {name} into {database} ({result.takeaways} takeaways, "
        f"{result.subscribers} subscribers, {schema}){kept}. Start the bot now."
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


def sync_progress() -> Any:
    """A one-line bar of books synced, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int | None, summary: Any) -> None:
        if total:
            filled = min(20, 20 * done // max(total, 1))
            bar = f"[{'#' * filled}{'.' * (20 - filled)}] {done}/{total} books"
        else:
            bar = f"{done} books"
        print(f"\r\033[K{bar}: {summary.counts()}", end="", file=sys.stderr, flush=True)

    return show
