#!/usr/bin/env python3
"""Developer tasks that need nothing but Python 3.11+.

``python3 tasks.py demo`` chats with the bot in this terminal; ``python3 tasks.py test``
runs the linters, the type checker and the test suite. Both create ``.venv`` on first
use and reinstall only when ``pyproject.toml`` changes, so a fresh clone just works.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"


def ensure_venv() -> None:
    """Create the virtualenv and install the project with its dev extras, once per pyproject."""
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py may run on an older python3
        sys.exit(f"takeaways needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not (BIN / "python").exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing takeaways and its dev tools into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def run(*cmd: str, env: dict[str, str] | None = None) -> None:
    """Run a tool from the venv; stop at the first failure with its exit code."""
    print("+", " ".join(cmd), flush=True)
    result = subprocess.run([str(BIN / cmd[0]), *cmd[1:]], cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(result.returncode)


def demo(args: list[str]) -> None:
    """Chat with the real bot in this terminal, on a demo database with the sample loaded."""
    env = dict(os.environ)
    env.setdefault("DATABASE_PATH", str(ROOT / "data" / "demo.db"))
    os.execve(str(BIN / "takeaways-bot"), ["takeaways-bot", "console", *args], env)


def test(args: list[str]) -> None:
    """Lint, format check, type check, then the tests (extra args go to pytest)."""
    run("ruff", "check", ".")
    run("ruff", "format", "--check", ".")
    run("mypy")
    run("pytest", *args)


def bench(args: list[str]) -> None:
    """The benchmark suite (quick sizes; pass --full for the full ones)."""
    run("python", "-m", "bench", *args)


TASKS = {"demo": demo, "test": test, "bench": bench}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        sys.exit(f"usage: python3 tasks.py {{{'|'.join(TASKS)}}} [args...]")
    ensure_venv()
    TASKS[sys.argv[1]](sys.argv[2:])
