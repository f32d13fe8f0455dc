"""No default secret anywhere, a webhook secret worth its name, and verifiable installs.

The review found the compose file shipping ``WEBHOOK_SECRET: change-me-...`` under
``environment:``, which wins over ``.env``: everyone who read the repository knew the
secret of every bot set up as documented. And the image installed whatever the index
served for a version number.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TOKEN = "123456789:AAStandinStandinStandinStandin_12345"
GOOD_SECRET = "3f9a" * 16  # 64 characters, like `openssl rand -hex 32`


def run_bot(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    environ.update(DATABASE_PATH=str(tmp_path / "t.db"), BOT_API_URL="http://127.0.0.1:9", **env)
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("wh-secret_9f8e7d6c5b4a", "too short (22 characters)"),
        ("a" * 31, "too short (31 characters)"),
        ("change-me-to-a-long-random-string", "example value"),
        ("CHANGEME" + "0" * 40, "example value"),
        ("x" * 40 + "!", "characters"),
    ],
)
def test_run_refuses_a_weak_webhook_secret_in_one_line(
    tmp_path: Path, secret: str, why: str
) -> None:
    result = run_bot(
        tmp_path,
        BOT_TOKEN=TOKEN,
        WEBHOOK_URL="https://bot.example.com/hook",
        WEBHOOK_SECRET=secret,
    )
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "WEBHOOK_SECRET" in line and why in line, line
    assert secret not in line  # the refusal does not print the secret either


def test_a_random_secret_of_32_or_more_is_accepted() -> None:
    for secret in (GOOD_SECRET, "A1_-" * 8):
        assert Settings(webhook_secret=SecretStr(secret)).webhook_secret is not None
    with pytest.raises(ValidationError):
        Settings(webhook_secret=SecretStr(GOOD_SECRET[:31]))


# --- deploy/: no defaults for secrets --------------------------------------------------------

SECRET_NAMES = ("WEBHOOK_SECRET", "BOT_TOKEN")
REQUIRED = re.compile(r"\$\{(?P<name>[A-Z_]+):\?[^}]+\}")


def secret_assignments(path: Path) -> list[tuple[int, str, str]]:
    """(line, name, value) for every ``NAME: value`` / ``- NAME=value`` of a secret,
    commented-out ones included (a commented service is one uncomment away from running)."""
    found = []
    pattern = re.compile(rf"^[#\s]*(?:-\s*)?({'|'.join(SECRET_NAMES)})\s*[:=]\s*(.*)$")
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = pattern.match(line)
        if match:
            found.append((number, match.group(1), match.group(2).strip()))
    return found


def test_deploy_files_give_no_secret_a_default() -> None:
    composes = sorted(DEPLOY.glob("docker-compose*.yml"))
    assert len(composes) >= 2
    for compose in composes:
        for number, name, value in secret_assignments(compose):
            required = REQUIRED.fullmatch(value)
            where = f"{compose.name}:{number}: {name} {value}"
            assert required and required["name"] == name, where
        assert "change-me" not in compose.read_text().lower()
    # Webhook mode takes its secret from .env, required: compose stops without it.
    webhook = (DEPLOY / "docker-compose.webhook.yml").read_text()
    assert re.search(r"^\s+WEBHOOK_SECRET: \$\{WEBHOOK_SECRET:\?[^}]+\}", webhook, re.M)
    assert re.search(r"^\s+WEBHOOK_URL: \$\{WEBHOOK_URL:\?[^}]+\}", webhook, re.M)
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert not re.search(r"^\s*(ENV|ARG)\b.*\b(WEBHOOK_SECRET|BOT_TOKEN)\b", dockerfile, re.M)


def test_the_secret_scan_catches_a_default(tmp_path: Path) -> None:
    bad = tmp_path / "docker-compose.yml"
    bad.write_text(
        "    environment:\n      WEBHOOK_SECRET: change-me-to-a-long-random-string\n"
        "      BOT_TOKEN: ${BOT_TOKEN:-123:abc}\n  #   WEBHOOK_SECRET: hunter2\n"
    )
    values = [(name, REQUIRED.fullmatch(value)) for _, name, value in secret_assignments(bad)]
    assert [name for name, ok in values if not ok] == [
        "WEBHOOK_SECRET",
        "BOT_TOKEN",
        "WEBHOOK_SECRET",
    ]


# --- the image installs only what the locks' hashes allow -------------------------------------

LOCKS = [DEPLOY / "requirements.lock", DEPLOY / "build-requirements.lock"]


def requirements(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from a pip-compile/uv style lock."""
    text = re.sub(r"\\\n\s*", " ", lock.read_text())
    found = {}
    for line in text.splitlines():
        line = " ".join(line.split("#", 1)[0].split())
        if not line:
            continue
        match = re.fullmatch(
            r"([A-Za-z0-9_.-]+)==(\S+?)(?: ;[^-]*)?((?: --hash=sha256:[0-9a-f]{64})*)", line
        )
        assert match, f"{lock.name}: not an exact pin with hashes: {line[:80]}"
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        found[name] = (match.group(2), match.group(3).split())
    return found


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_every_locked_package_has_hashes(lock: Path) -> None:
    pins = requirements(lock)
    assert pins
    missing = [name for name, (_, hashes) in pins.items() if not hashes]
    assert not missing, f"no --hash for {missing} in {lock.name}"


def test_the_lock_covers_pyprojects_dependencies_and_nothing_unused() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {re.split(r"[\[<>=!~ ;]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    pins = requirements(DEPLOY / "requirements.lock")
    assert wanted <= set(pins), wanted - set(pins)
    assert "tornado" not in pins  # PTB's webhook server is not used (bot/telegram/webhook.py)


def test_the_image_installs_with_require_hashes() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    commands = dockerfile.replace("\\\n", " ").split("&&")
    from_locks = [c for c in commands if "pip install" in c and "-r deploy/" in c]
    assert len(from_locks) == 2, commands
    assert all("--require-hashes" in i for i in from_locks), from_locks
