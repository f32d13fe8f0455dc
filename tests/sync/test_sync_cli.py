"""``takeaways-bot sync`` black-box: a subprocess, the fake Readwise, a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings, parse_interval
from tests.sync.readwise_fake import FakeBook, FakeReadwise


def cli(*args: str, db: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    environ.update(env, DATABASE_PATH=str(db))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=db.parent,
        timeout=120,
    )


@pytest.fixture
def readwise() -> Iterator[FakeReadwise]:
    with FakeReadwise(lambda: datetime.now(UTC)) as fake:
        book = fake.add_book(FakeBook(user_book_id=1, title="Book", asin="B000000001"))
        fake.highlight(book, 1, "One idea worth keeping.", location=10)
        fake.highlight(book, 2, "Another idea worth keeping.", location=20)
        yield fake


def test_sync_prints_a_summary_and_json(readwise: FakeReadwise, tmp_path: Path) -> None:
    env = {"READWISE_TOKEN": readwise.token, "READWISE_API_URL": readwise.url}
    first = cli("sync", db=tmp_path / "t.db", **env)
    assert first.returncode == 0, first.stderr
    assert "2 new, 0 updated, 0 deleted, 0 unchanged" in first.stdout
    assert readwise.token not in first.stdout + first.stderr

    readwise.delete(2)
    second = cli("sync", "--json", db=tmp_path / "t.db", **env)
    assert second.returncode == 0, second.stderr
    data = json.loads(second.stdout)
    assert (data["ok"], data["full"], data["deleted"], data["new"]) == (True, False, 1, 0)


def test_sync_without_a_token_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("sync", db=tmp_path / "t.db")
    assert result.returncode == 2
    assert "READWISE_TOKEN is not set" in result.stderr


def test_a_refused_token_fails_with_one_line_and_no_token(
    readwise: FakeReadwise, tmp_path: Path
) -> None:
    secret = "not-the-right-token-0042"
    result = cli("sync", db=tmp_path / "t.db", READWISE_TOKEN=secret, READWISE_API_URL=readwise.url)
    assert result.returncode == 1
    assert "Readwise refused READWISE_TOKEN (HTTP 401)" in result.stdout
    assert secret not in result.stdout + result.stderr


def test_sync_interval_takes_seconds_or_units() -> None:
    assert parse_interval("3600") == 3600
    assert parse_interval("30m") == 1800
    assert parse_interval("1h") == 3600
    assert parse_interval("1h30m") == 5400
    assert parse_interval(" 90s ") == 90
    for bad in ("", "h", "1x", "1.5h", "-5m"):
        with pytest.raises(ValueError):
            parse_interval(bad)
    settings = Settings(_env_file=None, readwise_sync_interval="2h")  # type: ignore[call-arg]
    assert settings.readwise_sync_interval == 7200
    assert Settings(_env_file=None).readwise_sync_interval == 3600  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="http"):
        Settings(_env_file=None, readwise_api_url="readwise.io")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="once a minute"):
        Settings(_env_file=None, readwise_sync_interval="30")  # type: ignore[call-arg]


def test_the_token_is_a_secret_for_the_logs() -> None:
    settings = Settings(_env_file=None, readwise_token="rw-secret-1234")  # type: ignore[call-arg]
    assert "rw-secret-1234" in settings.secrets
    assert "rw-secret-1234" not in repr(settings)
    assert Settings(_env_file=None, readwise_token="").readwise_token is None  # type: ignore[call-arg]


def test_a_sync_interval_past_a_week_is_one_line_not_a_crash() -> None:
    with pytest.raises(ValidationError, match="at least once a week"):
        Settings(readwise_sync_interval="99999999999d")  # type: ignore[arg-type]
