"""Security review, as tests: who reaches what, the webhook secret, secrets in logs, SQL.

Every HTML reply being escaped is held by the fuzz tests (test_reliability_fuzz.py):
the stand-in refuses malformed HTML as Telegram does, and arbitrary text goes into
every reply that echoes a person's or the collection's words.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bot.clock import ManualClock
from bot.settings import Settings
from bot.standin import BotAPIStandin
from bot.store import Store
from bot.telegram.app import build_application, start_bot, stop_bot
from tests.conftest import BotHarness
from tests.reliability.reliability_support import ROOT, BotProcess, bot_environment, poll

ADMIN, STRANGER = 97_001, 97_002
GROUP, OWNER, GROUP_ADMIN, MEMBER = -97_100, 97_101, 97_102, 97_103
CHANNEL = -1_009_710_000
WEBHOOK_SECRET = "wh-secret_9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c"
Make = Callable[..., Awaitable[BotHarness]]


async def chat_row(bot: BotHarness, chat_id: int) -> tuple[object, ...] | None:
    async with bot.store.db.execute(
        "SELECT subscribed, delivery_time, timezone FROM chats WHERE chat_id = ?", (chat_id,)
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else tuple(row)


# --- admin tools: ADMIN_IDS only ------------------------------------------------------------


@pytest.mark.parametrize("admins", [[ADMIN], []])
async def test_only_admin_ids_reach_admin_tools(make_bot: Make, admins: list[int]) -> None:
    bot = await make_bot(admin_ids=admins)
    for user in (STRANGER, ADMIN) if not admins else (STRANGER,):
        for command in ("/stats", "/reload", "/stats@takeaways_bot"):
            assert await bot.send(user, command) == [], (user, command)
        bot.standin.user_sends_document(user, "ideas.txt", b"- Sneaky idea\n")
        [hint] = await bot._settle(user)
        assert hint.text.startswith("Send /random")
    # An edited message cannot become an admin command either (new messages only).
    bot.standin.push_update(
        {
            "edited_message": {
                "message_id": 1,
                "date": 0,
                "edit_date": 1,
                "chat": {"id": STRANGER, "type": "private", "first_name": "S"},
                "from": {"id": STRANGER, "is_bot": False, "first_name": "S"},
                "text": "/stats",
            }
        }
    )
    assert await bot._settle(STRANGER) == []
    assert not bot.standin.calls("getFile")
    if admins:
        assert "Bot statistics" in await bot.reply_text(ADMIN, "/stats")


# --- groups: only the group's admins change its schedule ------------------------------------

SCHEDULE_COMMANDS = [
    "/start",
    "/time 06:15",
    "/timezone Asia/Tokyo",
    "/subscribe",
    "/unsubscribe",
    "/stop",
]


@pytest.fixture
def group(bot: BotHarness) -> BotHarness:
    bot.standin.add_chat(GROUP, type="supergroup", title="Readers")
    bot.standin.set_admins(GROUP, [GROUP_ADMIN], owner=OWNER)
    bot.standin.add_member(GROUP, MEMBER)
    return bot


async def test_members_cannot_change_a_groups_schedule(group: BotHarness) -> None:
    bot = group
    assert "Welcome" in await bot.reply_text(GROUP, "/start", user_id=GROUP_ADMIN)
    before = await chat_row(bot, GROUP)
    for command in SCHEDULE_COMMANDS:
        refused = await bot.reply_text(GROUP, command, user_id=MEMBER)
        assert "Only this group's admins" in refused, command
    assert await chat_row(bot, GROUP) == before
    # Reading is for everyone.
    assert "@svpino" in await bot.reply_text(GROUP, "/random", user_id=MEMBER)


async def test_owner_admin_and_anonymous_admin_may_change_it(group: BotHarness) -> None:
    bot = group
    assert "06:15" in await bot.reply_text(GROUP, "/time 06:15", user_id=OWNER)
    assert "Asia/Tokyo" in await bot.reply_text(GROUP, "/timezone Asia/Tokyo", user_id=GROUP_ADMIN)
    # An anonymous admin speaks as the group itself (sender_chat is the group).
    anonymous = {
        "message_id": 9_001,
        "date": 0,
        "chat": {"id": GROUP, "type": "supergroup", "title": "Readers"},
        "from": {
            "id": 1_087_968_824,
            "is_bot": True,
            "first_name": "Group",
            "username": "GroupAnonymousBot",
        },
        "sender_chat": {"id": GROUP, "type": "supergroup", "title": "Readers"},
        "text": "/time 07:45",
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
    }
    bot.standin.push_update({"message": anonymous})
    [done] = await bot._settle(GROUP)
    assert "07:45" in done.text
    assert await chat_row(bot, GROUP) == (0, "07:45", "Asia/Tokyo")  # never /start-ed


async def test_a_channel_posting_in_the_group_or_a_failed_check_is_refused(
    group: BotHarness,
) -> None:
    bot = group
    await bot.send(GROUP, "/start", user_id=OWNER)
    before = await chat_row(bot, GROUP)
    # Someone posting "as" their own channel: sender_chat is not the group.
    as_channel = {
        "message_id": 9_002,
        "date": 0,
        "chat": {"id": GROUP, "type": "supergroup", "title": "Readers"},
        "from": {
            "id": 136_817_688,
            "is_bot": True,
            "first_name": "Channel",
            "username": "Channel_Bot",
        },
        "sender_chat": {"id": CHANNEL, "type": "channel", "title": "Elsewhere"},
        "text": "/unsubscribe",
        "entities": [{"type": "bot_command", "offset": 0, "length": 12}],
    }
    bot.standin.push_update({"message": as_channel})
    [refused] = await bot._settle(GROUP)
    assert "Only this group's admins" in refused.text
    # Telegram cannot say who is an admin right now: refused, not allowed.
    bot.standin.fail("getChatMember", status=500, times=None)
    assert "Only this group's admins" in await bot.reply_text(GROUP, "/stop", user_id=GROUP_ADMIN)
    bot.standin.clear_faults()
    assert await chat_row(bot, GROUP) == before


# --- the webhook secret ------------------------------------------------------------------------


async def test_webhook_requests_without_the_secret_reach_no_handler(
    standin: BotAPIStandin,
    store: Store,
    clock: ManualClock,
    settings: Settings,
    unused_tcp_port: int,
) -> None:
    webhook = settings.model_copy(
        update={
            "webhook_url": "https://bot.example.com/telegram/hook",
            "webhook_listen": "127.0.0.1",
            "webhook_port": unused_tcp_port,
            "webhook_secret": SecretStr(WEBHOOK_SECRET),
        }
    )
    app = build_application(webhook, store, clock=clock, rate_limit=False, jobs=False)
    await start_bot(app)
    url = f"http://127.0.0.1:{unused_tcp_port}/telegram/hook"
    try:
        standin.user_sends(STRANGER, "/start")
        [update] = standin.take_updates()
        attempts = {
            "none": {},
            "empty": {"X-Telegram-Bot-Api-Secret-Token": ""},
            "wrong": {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET[:-1] + "d"},
            "prefix": {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET[:-1]},
            "longer": {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET + "x"},
            "case": {"x-telegram-bot-api-secret-token": WEBHOOK_SECRET.upper()},
        }
        async with httpx.AsyncClient() as client:
            codes = {
                name: (await client.post(url, json=update, headers=headers)).status_code
                for name, headers in attempts.items()
            }
            garbage = await client.post(url, content=b"\x00not json", headers={})
            other_path = await client.post(
                f"http://127.0.0.1:{unused_tcp_port}/", json=update, headers={}
            )
        assert set(codes.values()) == {403}, codes
        assert garbage.status_code == 403
        assert other_path.status_code in (403, 404, 405)
        await asyncio.sleep(0.2)
        assert standin.messages(STRANGER) == []
        async with store.db.execute("SELECT COUNT(*) FROM chats") as cursor:
            assert (await cursor.fetchone()) == (0,)  # no handler ran: /start made no row
    finally:
        await stop_bot(app)


# --- secrets never in logs, errors or replies --------------------------------------------------


@dataclass
class Run:
    logs: str
    replies: list[str]
    token: str


async def run_and_provoke(tmp_path: Path, *, webhook: bool, port: int) -> Run:
    """A ``takeaways-bot run`` at DEBUG (libraries too) that meets errors on every path."""
    database = tmp_path / "takeaways.db"
    async with BotAPIStandin() as standin:
        extra = {"LOG_LEVEL": "DEBUG", "LIBRARY_LOG_LEVEL": "DEBUG"}
        if webhook:
            extra.update(
                WEBHOOK_URL="https://bot.example.com/hook",
                WEBHOOK_LISTEN="127.0.0.1",
                WEBHOOK_PORT=str(port),
                WEBHOOK_SECRET=WEBHOOK_SECRET,
                LOG_FORMAT="json",
            )
        process = BotProcess(bot_environment(standin, database, **extra), tmp_path / "bot.log")
        async with process:
            if webhook:
                await standin.wait_for(lambda: standin.webhook, timeout=30)
            else:
                await standin.wait_for(lambda: standin.is_polling, timeout=30)
                standin.fail("getUpdates", status=502, times=2)  # polling errors, logged
            standin.fail("sendMessage", chat_id=STRANGER, status=500, times=1)  # handler error
            standin.fail("sendMessage", chat_id=ADMIN, status=400, description="Bad Request: x")
            for user, text in [(STRANGER, "/random"), (ADMIN, "/random"), (STRANGER, "/help")]:
                standin.user_sends(user, text)
            if webhook:
                url = f"http://127.0.0.1:{port}/hook"
                async with httpx.AsyncClient() as client:
                    for update in standin.take_updates():
                        await client.post(url, json=update)  # no secret: refused, logged?
                        await client.post(
                            url,
                            json=update,
                            headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
                        )
            await poll(lambda: len(standin.sent) >= 2, timeout=30)
            await asyncio.sleep(0.5)
            assert await process.terminate() == 0, process.log()
        replies = [m.text for m in standin.sent]
        return Run(process.log(), replies, standin.token)


@pytest.mark.parametrize("webhook", [False, True], ids=["polling-text", "webhook-json"])
async def test_the_token_and_secret_never_appear_in_logs_errors_or_replies(
    tmp_path: Path, unused_tcp_port: int, webhook: bool
) -> None:
    run = await run_and_provoke(tmp_path, webhook=webhook, port=unused_tcp_port)
    secrets = [run.token, run.token.split(":", 1)[1], WEBHOOK_SECRET]
    assert "DEBUG" in run.logs or '"level": "DEBUG"' in run.logs
    assert "error" in run.logs.lower()  # the errors were provoked and logged
    for secret in secrets:
        assert secret not in run.logs
        assert all(secret not in reply for reply in run.replies)
    assert "[REDACTED]" in run.logs or webhook  # httpx/PTB lines carried the token
    mode = "webhook" if webhook else "polling"
    lines, redacted = len(run.logs.splitlines()), run.logs.count("[REDACTED]")
    print(f"\n{mode} at DEBUG: {lines} log lines, {redacted} redactions, no secret")


# --- every SQL statement parameterised ---------------------------------------------------------

EXECUTE = {"execute", "executemany", "executescript", "execute_fetchall", "execute_insert"}
# (file, the first argument as written, why it is safe). Each must still exist (no stale ones).
ALLOWED = {
    (
        "bot/store/migrations.py",
        "f'PRAGMA user_version = {version + 1:d}'",
        "PRAGMA takes no parameters; an int the code computed, formatted with :d",
    ),
    (
        "bot/store/migrations.py",
        "statement",
        "the migration scripts: module constants, split by split_statements()",
    ),
}


@dataclass(frozen=True)
class _Each:
    """What a ``for`` loop variable holds: an item of ``iterable``."""

    iterable: ast.expr


@dataclass(frozen=True)
class SqlCall:
    path: str
    line: int
    source: str
    safe: bool


class _Sql(ast.NodeVisitor):
    """Finds execute() calls and decides whether their SQL is built from constants only."""

    def __init__(self, path: str, tree: ast.Module) -> None:
        self.path = path
        self.calls: list[SqlCall] = []
        self.module = self._assignments(tree.body)
        self.scopes: list[dict[str, list[ast.expr | _Each | None]]] = []

    @staticmethod
    def _assignments(body: list[ast.stmt]) -> dict[str, list[ast.expr | _Each | None]]:
        found: dict[str, list[ast.expr | _Each | None]] = {}
        for node in (n for stmt in body for n in ast.walk(stmt)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node not in body:
                continue
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found.setdefault(target.id, []).append(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                found.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                value = node.value if isinstance(node.op, ast.Add) else None
                found.setdefault(node.target.id, []).append(value)
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                if isinstance(node.target, ast.Name):  # each item of what is iterated
                    found.setdefault(node.target.id, []).append(_Each(node.iter))
                    continue
                for name in ast.walk(node.target):
                    if isinstance(name, ast.Name):
                        found.setdefault(name.id, []).append(None)  # anything at all
        return found

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        scope = self._assignments(node.body)
        for arg in [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs]:
            scope.setdefault(arg.arg, []).append(None)  # a parameter: anything
        self.scopes.append(scope)
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in EXECUTE and node.args:
            sql = node.args[0]
            self.calls.append(
                SqlCall(self.path, node.lineno, ast.unparse(sql), self.constant(sql, set()))
            )
        self.generic_visit(node)

    def constant(self, expr: ast.expr | _Each | None, seen: set[str]) -> bool:
        if expr is None:
            return False
        if isinstance(expr, _Each):  # an item of a tuple or list of constants
            items = expr.iterable
            if isinstance(items, ast.Name):
                values = self.module.get(items.id) or []
                return bool(values) and all(self._each_constant(v, seen) for v in values)
            return self._each_constant(items, seen)
        if isinstance(expr, ast.Constant):
            return isinstance(expr.value, str)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self.constant(expr.left, seen) and self.constant(expr.right, seen)
        if isinstance(expr, ast.JoinedStr):  # f-strings: only of module-level constants
            return all(
                isinstance(part, ast.Constant)
                or (
                    isinstance(part, ast.FormattedValue)
                    and isinstance(part.value, ast.Name)
                    and part.value.id in self.module
                    and self.constant(part.value, seen)
                )
                for part in expr.values
            )
        if isinstance(expr, ast.Name):
            if expr.id in seen:
                return True
            scope = self.scopes[-1] if self.scopes else {}
            values = scope.get(expr.id) or self.module.get(expr.id) or []
            if not values:
                return False
            return all(self.constant(v, seen | {expr.id}) for v in values)
        return False  # calls (str.format, join ...), % formatting, subscripts, attributes

    def _each_constant(self, items: ast.expr | _Each | None, seen: set[str]) -> bool:
        return isinstance(items, (ast.Tuple, ast.List)) and all(
            self.constant(item, seen) for item in items.elts
        )


def sql_calls() -> Iterator[SqlCall]:
    for path in sorted((ROOT / "bot").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), relative)
        finder = _Sql(relative, tree)
        finder.visit(tree)
        yield from finder.calls


def test_every_sql_statement_is_a_constant_with_parameters() -> None:
    calls = list(sql_calls())
    allowed = {(path, source) for path, source, _ in ALLOWED}
    unsafe = [c for c in calls if not c.safe and (c.path, c.source) not in allowed]
    used = {(c.path, c.source) for c in calls if (c.path, c.source) in allowed}
    print(f"\nSQL: {len(calls)} execute calls in bot/, {len(allowed)} allow-listed")
    assert len(calls) > 40  # the scan does find the store's statements
    assert not unsafe, "\n".join(f"{c.path}:{c.line}: {c.source}" for c in unsafe)
    assert used == allowed, f"stale allow-list entries: {allowed - used}"
    assert not [c for c in calls if "executescript" in c.source]


def test_the_sql_scan_catches_what_it_should() -> None:
    """The checker itself, on code that builds SQL the wrong ways."""
    bad = """
async def f(db, name, ids):
    await db.execute(f"SELECT * FROM t WHERE name = '{name}'")
    await db.execute("SELECT * FROM t WHERE name = '%s'" % name)
    await db.execute("SELECT * FROM t WHERE name = '{}'".format(name))
    await db.execute("SELECT * FROM t WHERE name = '" + name + "'")
    sql = "SELECT * FROM t"
    sql += " WHERE name = " + name
    await db.execute(sql)
    await db.execute(",".join(ids))
"""
    good = """
COLUMNS = "a, b"
async def f(db, name):
    await db.execute("SELECT * FROM t WHERE name = ?", (name,))
    await db.execute(f"SELECT {COLUMNS} FROM t WHERE name = ?", (name,))
    sql = "SELECT * FROM t WHERE a = ?"
    sql += " AND b = ?"
    await db.execute(sql, (1, 2))
"""
    good += """
PRAGMAS = ("PRAGMA a = 1", "PRAGMA b = 2")
async def g(db):
    for pragma in PRAGMAS:
        await db.execute(pragma)
"""
    bad += """
async def g(db, names):
    for name in names:
        await db.execute(name)
"""
    for source, expected in ((bad, False), (good, True)):
        tree = ast.parse(source)
        finder = _Sql("example.py", tree)
        finder.visit(tree)
        assert finder.calls and {c.safe for c in finder.calls} == {expected}, finder.calls
