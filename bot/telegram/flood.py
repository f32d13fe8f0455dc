"""Flood control: a person who sends far more than anyone can read is slowed down politely.

One handler in group -1, ahead of every other handler, counts each person's updates
(commands anywhere, anything in a private chat, button presses, inline queries) on the
injected clock. More than ``LIMIT`` within ``WINDOW`` and the update is dropped with
``ApplicationHandlerStop``: the first dropped one gets a short note, the rest silence,
until the person's rate is back under the limit. Dropped updates count too, so a
sustained flood stays silent and costs the bot no Bot API request at all, and the
handler slots it would have held stay free for everyone else. Chatter in groups
(messages that are no command) is neither counted nor dropped. ``ADMIN_IDS`` are exempt:
an admin may well send a folder of exports at once.

``ApplicationHandlerStop`` skips every later handler group, including the epilogue
group where ``UpdateTracker`` (bot/telegram/app.py) notes that the bot is done with an
update; the console and the tests wait on it. So a dropped update is first handed to
the handlers of the groups from ``epilogue_group`` on, exactly as PTB would have run
them: nothing waits forever for an update the guard swallowed.

Groups count as well: every counted update in a group or channel also counts against
the chat, ``CHAT_LIMIT`` within ``CHAT_WINDOW``. The bot may send only 20 messages a
minute into one group, so five members each well within their own limit could pile up
more work for the group than Telegram lets the bot answer; past the chat's limit the
group gets one note and silence, like a person. (Private chats are their person.)

Memory is bounded: a few floats per person and group seen within the window, pruned
when more than ``MAX_PEOPLE`` of either are tracked.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.telegram.deps import Context, deps
from bot.telegram.fairness import tell

log = logging.getLogger(__name__)

GROUP = -1
LIMIT = 20  # updates per person within WINDOW: 2 a second, in bursts of 20
WINDOW = timedelta(seconds=10)
CHAT_LIMIT = 30  # counted updates per group within CHAT_WINDOW: Telegram's 20 a minute, and some
CHAT_WINDOW = timedelta(minutes=1)
MAX_PEOPLE = 50_000
NOTE = "Slow down a little, please 🙂 I'll answer again in a few seconds."


@dataclass(slots=True)
class _Rate:
    """One person's (or group's) latest update times (at most its limit), and whether
    they were told."""

    times: deque[float] = field(default_factory=lambda: deque(maxlen=LIMIT))
    told: bool = False


class _Counter:
    """The latest update times of each person (or chat), bounded in number."""

    def __init__(self, limit: int, window: float, max_keys: int) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.rates: dict[int, _Rate] = {}

    def count(self, key: int, now: float) -> tuple[_Rate, bool]:
        """Count one update now; (the rate, whether it is over the limit)."""
        rate = self.rates.get(key)
        if rate is None:
            if len(self.rates) >= self.max_keys:
                self._prune(now)
            rate = self.rates[key] = _Rate(deque(maxlen=self.limit))
        recent = rate.times
        # A clock set back (tests do; so may an operator) never counts as a flood.
        over = len(recent) == self.limit and 0 <= now - recent[0] < self.window
        recent.append(now)
        if not over:
            rate.told = False
        return rate, over

    def _prune(self, now: float) -> None:
        """Forget keys quiet for a whole window (they are not limited); if all are
        active, forget the oldest half (they get a fresh allowance, nothing worse)."""
        quiet = [
            k for k, r in self.rates.items() if not r.times or now - r.times[-1] >= self.window
        ]
        for key in quiet:
            del self.rates[key]
        if len(self.rates) >= self.max_keys:
            for key in list(self.rates)[: len(self.rates) // 2 + 1]:
                del self.rates[key]


class FloodGuard:
    """Per-person and per-group rate limits on incoming updates; see the module docstring."""

    def __init__(
        self,
        *,
        exempt: Collection[int] = (),
        epilogue_group: int | None = None,
        limit: int = LIMIT,
        window: timedelta = WINDOW,
        max_people: int = MAX_PEOPLE,
        chat_limit: int = CHAT_LIMIT,
        chat_window: timedelta = CHAT_WINDOW,
    ) -> None:
        if limit < 1 or chat_limit < 1:
            raise ValueError("limits must be at least 1")
        self.exempt = frozenset(exempt)
        self.epilogue_group = epilogue_group
        self._people = _Counter(limit, window.total_seconds(), max_people)
        self._chats = _Counter(chat_limit, chat_window.total_seconds(), max_people)
        self.dropped = 0

    @property
    def _rates(self) -> dict[int, _Rate]:
        """Each person's rate (tests look at how many are kept)."""
        return self._people.rates

    def install(self, app: Application) -> None:  # type: ignore[type-arg]
        app.add_handler(TypeHandler(Update, self.check), group=GROUP)

    async def check(self, update: Update, context: Context) -> None:
        """Let the update through, or drop it (``ApplicationHandlerStop``)."""
        person = self.who(update)
        if person is None:
            return
        now = deps(context).clock().timestamp()
        rate, over = self._people.count(person, now)
        chat = update.effective_chat
        who = f"person {person}"
        if chat is not None and chat.type != ChatType.PRIVATE:
            chat_rate, chat_over = self._chats.count(chat.id, now)
            if chat_over and not over:
                rate, over = chat_rate, True  # the group's note, once for all its members
                who = f"chat {chat.id}"
        if not over:
            return
        self.dropped += 1
        if not rate.told:
            rate.told = True
            log.info("%s floods the bot: slowed down", who)
            await tell(update, NOTE)
        await self._epilogue(update, context)
        raise ApplicationHandlerStop

    def who(self, update: Update) -> int | None:
        """The person an update counts against; None for updates that are not counted."""
        if update.callback_query is not None or update.inline_query is not None:
            user = update.effective_user
            return None if user is None else self._unless_exempt(user.id)
        message = update.message
        if message is None:
            return None  # edits, channel posts, membership changes: never dropped
        is_command = bool(message.text and message.text.startswith("/"))
        if not is_command and message.chat.type != ChatType.PRIVATE:
            return None  # group chatter: the bot ignores it anyway
        if message.sender_chat is not None:
            # Anonymous admins and channels: count the chat, not Telegram's shared bot user.
            return message.sender_chat.id
        user = message.from_user
        return None if user is None else self._unless_exempt(user.id)

    def _unless_exempt(self, user_id: int) -> int | None:
        return None if user_id in self.exempt else user_id

    async def _epilogue(self, update: Update, context: Context) -> None:
        """Run the epilogue groups' handlers on the dropped update, one per group as PTB
        does, so what waits for "the bot is done with this update" is not left waiting."""
        if self.epilogue_group is None:
            return
        app: Any = context.application
        for group in sorted(g for g in app.handlers if g >= self.epilogue_group):
            for handler in app.handlers[group]:
                check = handler.check_update(update)
                if check is None or check is False:
                    continue
                try:
                    await handler.handle_update(update, app, check, context)
                except ApplicationHandlerStop:
                    return
                except Exception:
                    log.exception("epilogue handler failed on dropped update %s", update.update_id)
                break


def install(
    app: Application,  # type: ignore[type-arg]
    *,
    exempt: Collection[int] = (),
    epilogue_group: int | None = None,
) -> FloodGuard:
    """Add the flood guard to ``app`` (group -1); returns it (tests look at ``dropped``)."""
    guard = FloodGuard(exempt=exempt, epilogue_group=epilogue_group)
    guard.install(app)
    app.bot_data["flood_guard"] = guard
    return guard
