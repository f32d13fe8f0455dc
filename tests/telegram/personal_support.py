"""Shared helpers of the personal-stream tests (review buttons, /favorites, /sources, ...).

Not a test module (no ``test_`` prefix); ``test_review_buttons`` and ``test_choices``
import it as ``tests.telegram.personal_support``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from bot.sources.model import Takeaway
from bot.standin import SentMessage
from tests.conftest import BotHarness

APOLOGY = "Sorry, something went wrong"
EXPIRED = "This button has expired."
ONLY_BOT_ADMINS = "Only the bot's admins can do that."
ONLY_GROUP_ADMINS = "Only this group's admins can change its daily takeaway."
NOT_FOR_ME = "Not for me: you won't get this one again."

_REVIEW = re.compile(r"(?:k|uk|n|u|h|sh):(\d+)")


def labels(message: SentMessage) -> list[str]:
    """Every button label on the message, row by row."""
    return [str(button["text"]) for row in message.buttons for button in row]


def review_ids(message: SentMessage) -> list[int]:
    """The takeaway ids the message's review buttons are about, in order."""
    ids: list[int] = []
    for data in message.callback_data:
        match = _REVIEW.fullmatch(data)
        if match and int(match.group(1)) not in ids:
            ids.append(int(match.group(1)))
    return ids


def review_id(message: SentMessage) -> int:
    """The one takeaway a single-takeaway message is about."""
    [takeaway_id] = review_ids(message)
    return takeaway_id


def toasts(bot: BotHarness) -> list[str | None]:
    """The text of every answerCallbackQuery, oldest first (None: answered silently)."""
    return [call.get("text") for call in bot.standin.calls("answerCallbackQuery")]


def pace(bot: BotHarness) -> None:
    """A second passes: a person pressing a lot never trips the flood guard (20 per 10 s)."""
    bot.clock.advance(seconds=1)


async def press(
    bot: BotHarness, chat_id: int, message: SentMessage, data: str, **kw: Any
) -> str | None:
    """Press a button; it must be answered exactly once. The toast it got."""
    pace(bot)
    before = len(bot.standin.calls("answerCallbackQuery"))
    await bot.press(chat_id, message, data, **kw)
    answers = toasts(bot)[before:]
    assert len(answers) == 1, f"{data!r} was answered {len(answers)} times: {answers}"
    return answers[0]


def assert_no_apology(bot: BotHarness) -> None:
    """No "Sorry, something went wrong" anywhere (the error handler never ran)."""
    assert not [m.text for m in bot.standin.sent if APOLOGY in m.text]


def _markups(bot: BotHarness) -> list[Any]:
    found = []
    for method in ("sendMessage", "editMessageText", "editMessageReplyMarkup", "sendDocument"):
        for call in bot.standin.calls(method):
            markup = call.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            if markup:
                found.append(markup)
    return found


def all_callback_data(bot: BotHarness) -> list[str]:
    """Every callback_data the bot ever put on a keyboard (sent or edited in)."""
    return [
        str(key["callback_data"])
        for markup in _markups(bot)
        for row in markup.get("inline_keyboard", [])
        for key in row
        if "callback_data" in key
    ]


def assert_buttons_fit(bot: BotHarness) -> None:
    """Telegram's limit: callback data of 1 to 64 bytes, on every keyboard ever sent."""
    everything = all_callback_data(bot)
    assert everything
    too_long = [d for d in everything if not 1 <= len(d.encode()) <= 64]
    assert not too_long


async def takeaway_id(bot: BotHarness, fragment: str) -> int:
    """The id of the one takeaway whose text contains ``fragment``."""
    rows = list(
        await bot.store.db.execute_fetchall(
            "SELECT id FROM takeaways WHERE text LIKE ?", (f"%{fragment}%",)
        )
    )
    assert len(rows) == 1, f"{len(rows)} takeaways contain {fragment!r}"
    return int(rows[0][0])


async def all_ids(bot: BotHarness) -> list[int]:
    rows = await bot.store.db.execute_fetchall("SELECT id FROM takeaways ORDER BY id")
    return [int(row[0]) for row in rows]


async def import_books(bot: BotHarness, titles: list[str], per_book: int = 2) -> None:
    """Extra sources: ``per_book`` takeaways each, with the word ``book<i>x<j>`` in them."""
    await bot.store.import_takeaways(
        [
            Takeaway(
                text=f"Idea {j} of {title}: bookword{i}x{j} makes the point.",
                title=title,
                author=f"Author of {title}",
            )
            for i, title in enumerate(titles)
            for j in range(per_book)
        ]
    )


async def random_ids(bot: BotHarness, chat_id: int, times: int, **kw: Any) -> list[int]:
    """The takeaways of ``times`` /random replies."""
    ids = []
    for _ in range(times):
        pace(bot)
        [message] = await bot.send(chat_id, "/random", **kw)
        ids.append(review_id(message))
    return ids


async def mark_all_but(
    bot: BotHarness, chat_id: int, keep: int, verb: str, *, done: Iterable[int] = ()
) -> set[int]:
    """Through /random, press ``verb`` (``n`` or ``h``) on every takeaway but ``keep``
    (and those ``done`` already); all that are then marked."""
    everything = set(await all_ids(bot))
    marked = set(done)
    for _ in range(400):
        if marked == everything - {keep}:
            return marked
        pace(bot)
        [message] = await bot.send(chat_id, "/random")
        shown = review_id(message)
        assert shown not in marked, f"{shown} came back after {verb!r}"
        if shown != keep:
            await press(bot, chat_id, message, f"{verb}:{shown}")
            marked.add(shown)
    raise AssertionError(f"only {len(marked)} marked")
