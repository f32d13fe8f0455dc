"""Health, backup, upgrades from the first schema, and log lines."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.logs import JsonFormatter, RedactingFormatter
from bot.ops import backup, check_health, write_heartbeat
from bot.sources.model import Takeaway
from bot.store import Store
from bot.store.migrations import MIGRATIONS
from tests.conftest import BotHarness
from tests.first_schema import first_schema

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def test_health_reasons(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    assert "no database" in (check_health(db, NOW) or "")
    async with await Store.open(db) as store:
        assert "no heartbeat" in (check_health(db, NOW) or "")
        async with store.transaction():
            await write_heartbeat(store.db, NOW)
        assert check_health(db, NOW + timedelta(seconds=60)) is None
        assert "stuck or down" in (check_health(db, NOW + timedelta(seconds=500)) or "")
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    assert "cannot read" in (check_health(tmp_path / "junk.db", NOW) or "")


async def test_heartbeat_job_writes_only_while_polling_succeeds(bot: BotHarness) -> None:
    from bot.telegram.heartbeat import heartbeat_job

    class Context:
        application = bot.app
        bot_data = bot.app.bot_data

    bot.clock.set(datetime.now(UTC))
    bot.app.bot_data["deps"].pulse.beat()
    await heartbeat_job(Context())  # type: ignore[arg-type]
    assert check_health(bot.settings.database_path, bot.clock()) is None
    bot.clock.advance(minutes=5)  # no successful poll recorded in these five minutes
    await heartbeat_job(Context())  # type: ignore[arg-type]
    reason = check_health(bot.settings.database_path, bot.clock()) or ""
    assert "Telegram has not answered (last successful call 5 min ago" in reason
    assert "the bot is stuck" in reason


async def test_backup_is_consistent_while_the_bot_writes(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    async with await Store.open(db) as store:
        await store.import_takeaways([Takeaway(text=f"idea {i}", title="T") for i in range(500)])
        async with store.transaction():
            await store.db.execute("INSERT INTO search_queries (chat_id, query) VALUES (1, 'x')")
            # A write transaction is open while the backup runs: the copy must not see it.
            takeaways, _ = backup(db, tmp_path / "backups" / "copy.db")
        assert takeaways == 500
        await store.import_takeaways([Takeaway(text="after the backup", title="T")])
    async with await Store.open(tmp_path / "backups" / "copy.db") as restored:
        assert (await restored.stats()).takeaways == 500
        hits = await restored.search("idea 42")
        assert hits[0].item.takeaway.text == "idea 42"
    assert not (tmp_path / "backups" / "copy.db.partial").exists()


def test_backup_of_a_missing_database_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no database"):
        backup(tmp_path / "missing.db", tmp_path / "copy.db")


async def test_a_database_from_the_first_schema_upgrades(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    first_schema(path)
    async with await Store.open(path) as store:
        row = await store.db.execute("PRAGMA user_version")
        assert (await row.fetchone())[0] == len(MIGRATIONS)
        assert [h.item.id for h in await store.search("old idea")] == [1]
        await store.db.execute("SELECT COUNT(*) FROM chats")


def test_log_lines_redact_secrets_in_text_and_json() -> None:
    record = logging.LogRecord(
        "bot", logging.INFO, __file__, 1, "calling %s", ("https://x/bot123:SECRET/getMe",), None
    )
    record.event = "delivery_run"
    record.sent = 3
    text = RedactingFormatter(["123:SECRET"]).format(record)
    assert "SECRET" not in text and "[REDACTED]" in text
    line = JsonFormatter(["123:SECRET"]).format(record)
    data = json.loads(line)
    assert data["event"] == "delivery_run" and data["sent"] == 3
    assert "SECRET" not in line
