"""The takeaways-bot command, black-box: subprocesses, real files, exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.standin import BotAPIStandin

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "bot" / "samples" / "svpino-16-ml-takeaways.md"


def cli(
    *args: str, db: Path | None = None, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    environ.update(env)
    if db is not None:
        environ["DATABASE_PATH"] = str(db)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=environ,
        cwd=db.parent.parent if db is not None else None,
        timeout=120,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "t.db"


def test_parse_json_gives_the_sixteen(db: Path) -> None:
    result = cli("parse", str(SAMPLE), "--json", db=db)
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert len(items) == 16
    keys = {"text", "title", "author", "url", "note", "tags", "location", "highlighted_at"}
    assert all(keys <= set(item) for item in items)
    assert items[15]["text"] == (
        "Pragmatism is a great trait when building a career centered on providing value."
    )
    assert not db.exists()  # parse touches no database


def test_import_is_idempotent_and_reports(db: Path) -> None:
    first = cli("import", str(SAMPLE), db=db)
    assert first.returncode == 0, first.stderr
    assert "16 new, 0 updated, 0 unchanged, 0 failed" in first.stdout
    again = cli("import", str(SAMPLE.parent), db=db)
    assert "0 new, 0 updated, 16 unchanged, 0 failed" in again.stdout


def test_a_bad_file_is_named_and_the_others_still_import(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "good.txt").write_text("- one idea\n- another idea\n")
    (folder / "broken.csv").write_text('Highlight,Book Title,Book Author\nok,T,A\n"unclosed,y\n')
    (folder / "picture.md").write_bytes(b"\x89PNG\x00\x00binary")
    result = cli("import", str(folder), db=db)
    assert result.returncode == 1
    assert "2 new" in result.stdout
    assert "broken.csv:3:" in result.stdout and "picture.md" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    stats = json.loads(cli("stats", "--json", db=db).stdout)
    assert stats["takeaways"] == 2


def test_search_random_stats_export_round_trip(db: Path, tmp_path: Path) -> None:
    cli("import", str(SAMPLE), db=db)
    found = cli("search", "python", "--limit", "1", db=db)
    assert found.returncode == 0
    assert "**Python**" in found.stdout
    assert cli("search", '"NEAR( *', "AND", "'; DROP TABLE x; --", db=db).returncode == 0
    nothing = cli("search", "quantum", db=db)
    assert nothing.returncode == 0 and "Nothing found" in nothing.stdout
    one = json.loads(cli("random", "--json", db=db).stdout)
    assert one["author"] == "@svpino on Twitter"
    stats = json.loads(cli("stats", "--json", db=db).stdout)
    assert (stats["takeaways"], stats["sources"]) == (16, 1)
    out = tmp_path / "export.jsonl"
    assert cli("export", "--out", str(out), db=db).returncode == 0
    assert len(out.read_text().splitlines()) == 16
    other = tmp_path / "other.db"
    assert "16 new" in cli("import", str(out), db=other).stdout
    assert "16 unchanged" in cli("import", str(SAMPLE), db=other).stdout


def test_bad_arguments_and_settings_get_one_line(db: Path) -> None:
    for args in (["search", "x", "--limit", "0"], ["frobnicate"]):
        result = cli(*args, db=db)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
    bad_zone = cli("stats", db=db, TIMEZONE="Mars/Olympus")
    assert bad_zone.returncode == 2
    assert "TIMEZONE" in bad_zone.stderr and "Traceback" not in bad_zone.stderr
    empty = cli("random", db=db)
    assert empty.returncode == 1 and "import" in empty.stderr


def test_health_without_a_running_bot_says_why(db: Path) -> None:
    missing = cli("health", db=db)
    assert missing.returncode == 1 and "no database" in missing.stderr
    cli("import", str(SAMPLE), db=db)
    never = cli("health", db=db)
    assert never.returncode == 1 and "no heartbeat" in never.stderr
    assert len(never.stderr.strip().splitlines()) == 1


def test_run_refuses_a_webhook_without_a_secret(db: Path) -> None:
    result = cli(
        "run",
        db=db,
        BOT_TOKEN="123456789:AAStandinStandinStandinStandin_12345",
        WEBHOOK_URL="https://bot.example.com/hook",
    )
    assert result.returncode == 2 and "WEBHOOK_SECRET" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        "import",
        "parse",
        "search",
        "random",
        "stats",
        "export",
        "run",
        "console",
        "health",
        "backup",
    ],
)
def test_every_command_has_help(command: str, db: Path) -> None:
    result = cli(command, "--help", db=db)
    assert result.returncode == 0
    assert "usage: takeaways-bot" in result.stdout


@pytest.mark.parametrize("token", ["", "not-a-token"])
def test_run_without_a_valid_token_explains_botfather(db: Path, token: str) -> None:
    result = cli("run", db=db, BOT_TOKEN=token)
    assert result.returncode == 2
    assert "@BotFather" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_console_chats_through_piped_input(db: Path) -> None:
    result = cli("console", db=db, stdin="/start\n/random\n1\n/search python\n/nope\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Welcome" in out
    assert "[1] ❤️ Keep" in out and "[3] 🎲 Another one" in out
    assert "[4] 🔗 Source (https://twitter.com/svpino" in out
    assert "**Python**" in out
    assert "I don't know that command" in out
    assert "Traceback" not in result.stderr


async def test_run_polls_and_stops_cleanly_on_sigterm(db: Path) -> None:
    async with BotAPIStandin() as standin:
        environ = {k: v for k, v in os.environ.items() if not k.isupper() or k == "PATH"}
        environ.update(
            BOT_TOKEN=standin.token,
            BOT_API_URL=standin.url,
            DATABASE_PATH=str(db),
            LOG_LEVEL="DEBUG",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=environ,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await standin.wait_for(lambda: standin.is_polling, timeout=30)
            assert standin.my_commands()  # the menu is registered at start
            standin.user_sends(77, "/random")
            [reply] = await standin.wait_for_messages(77, timeout=10)
            assert "@svpino on Twitter" in reply.text  # bundled sample loaded
            # The heartbeat makes `health` pass while the bot runs (first beat after ~5 s).
            for _ in range(60):
                health = await asyncio.to_thread(cli, "health", db=db)
                if health.returncode == 0:
                    break
                await asyncio.sleep(0.5)
            assert health.returncode == 0, health.stderr
            assert health.stdout.strip() == "healthy"
            backup = await asyncio.to_thread(cli, "backup", str(db.parent / "b.db"), db=db)
            assert backup.returncode == 0 and "16 takeaways, 0 subscribers" in backup.stdout
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
        logs = stderr.decode()
        assert process.returncode == 0, logs
        assert standin.token not in logs
        assert standin.token.split(":")[1] not in logs
        assert "stopped" in logs
