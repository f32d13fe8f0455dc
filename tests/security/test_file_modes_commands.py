"""The database, its -wal/-shm files and backups are the owner's alone, whatever the umask.

They hold chat ids, names and search queries. Each command runs as a subprocess with
the common umask 022, under which files used to come out 0644 in a 0755 folder.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from bot.standin import BotAPIStandin

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "bot" / "samples" / "svpino-16-ml-takeaways.md"
UMASK = 0o022


def environ(db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    env["DATABASE_PATH"] = str(db)
    env.update(extra)
    return env


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=environ(db),
        cwd=db.anchor,
        timeout=120,
        umask=UMASK,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` (itself included) with its mode, in octal."""
    found = {".": oct(mode(folder))}
    for path in sorted(folder.rglob("*")):
        found[str(path.relative_to(folder))] = oct(mode(path))
    return found


def assert_private(folder: Path) -> None:
    found = modes(folder)
    assert found["."] == oct(0o700), found
    for name, value in found.items():
        path = folder / name
        if name != "." and path.is_file():
            assert value == oct(0o600), found


def test_import_creates_a_private_database(tmp_path: Path) -> None:
    db = tmp_path / "state" / "data" / "takeaways.db"
    result = cli(db, "import", str(SAMPLE))
    assert result.returncode == 0, result.stderr
    assert_private(db.parent)
    assert mode(db.parent.parent) == 0o700  # made by the bot too
    assert db.exists()


def test_backup_is_private_and_so_is_its_folder(tmp_path: Path) -> None:
    db = tmp_path / "data" / "takeaways.db"
    assert cli(db, "import", str(SAMPLE)).returncode == 0
    target = tmp_path / "backups" / "nightly" / "takeaways.db"
    result = cli(db, "backup", str(target))
    assert result.returncode == 0, result.stderr
    assert_private(target.parent)
    assert mode(target.parent.parent) == 0o700
    assert not target.with_name(target.name + ".partial").exists()


def test_an_older_world_readable_database_is_tightened(tmp_path: Path) -> None:
    """A database (and -wal/-shm) an older version left 0644 is 0600 after the next start."""
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "takeaways.db"
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("CREATE TABLE t (x)")
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        path.touch()
        path.chmod(0o644)
    assert cli(db, "import", str(SAMPLE)).returncode == 0
    for path in folder.iterdir():
        assert mode(path) == 0o600, modes(folder)


async def test_run_keeps_the_database_and_its_side_files_private(tmp_path: Path) -> None:
    db = tmp_path / "data" / "takeaways.db"
    async with BotAPIStandin() as standin:
        env = environ(db, BOT_TOKEN=standin.token, BOT_API_URL=standin.url)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            umask=UMASK,
        )
        try:
            await standin.wait_for(lambda: standin.is_polling, timeout=30)
            standin.user_sends(77, "/start")  # a write: the -wal file is in use
            await standin.wait_for_messages(77, timeout=10)
            while_running = modes(db.parent)
            assert {"takeaways.db", "takeaways.db-wal", "takeaways.db-shm"} <= set(while_running)
            assert_private(db.parent)
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
        assert process.returncode == 0, stderr.decode()
        assert_private(db.parent)
