"""``takeaways-bot console``: chat with the real bot in a terminal.

The same application, handlers and database as ``run``, but talking to the in-process
Bot API stand-in instead of Telegram: no token, no network. Typed lines become messages
from one private user; a number presses the button with that number under the latest
message; replies are printed as a person would see them.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import TextIO

from pydantic import SecretStr

from bot.logs import configure_logging
from bot.settings import Settings
from bot.standin import BotAPIStandin, BotEvent, Entity, SentMessage
from bot.store import Store
from bot.telegram.app import UpdateTracker, build_application, load_collection, start_bot, stop_bot

CHAT_ID = 1001
BOLD, ITALIC, UNDERLINE, RESET = "\033[1m", "\033[3m", "\033[4m", "\033[0m"


class Screen:
    """Prints the bot's messages and remembers the buttons a number can press."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.styled = out.isatty()
        self.buttons: list[tuple[int, dict[str, str]]] = []  # (message_id, button)

    def show(self, event: BotEvent) -> None:
        if event.kind == "callback_answer" and event.callback_answer is not None:
            if event.callback_answer.text:
                self.write(f"  ({event.callback_answer.text})")
            return
        if event.message is None or event.kind not in ("sent", "edited"):
            return
        message = event.message
        prefix = "(edited) " if event.kind == "edited" else ""
        text = render(message, styled=self.styled)
        if message.document_name:
            text = f"📎 {message.document_name}" + (f"\n{text}" if text else "")
        self.write(prefix + text)
        labels = self.remember_buttons(message)
        if labels:
            self.write("   ".join(labels))
        self.write("")

    def remember_buttons(self, message: SentMessage) -> list[str]:
        if not message.buttons:
            return []
        self.buttons = [(message.message_id, b) for row in message.buttons for b in row]
        labels = []
        for number, (_, button) in enumerate(self.buttons, start=1):
            label = f"[{number}] {button.get('text', '')}"
            if "url" in button:
                label += f" ({button['url']})"
            labels.append(label)
        return labels

    def write(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def render(message: SentMessage, *, styled: bool) -> str:
    """Plain text with its entities shown: bold as bold, links with their URL."""
    encoded = message.text.encode("utf-16-le")
    inserts: list[tuple[int, int, str]] = []  # (utf16 position, order, text)
    for entity in message.entities:
        start, end = entity.offset, entity.offset + entity.length
        if entity.type == "text_link" and entity.url:
            inserts.append((end, 0, f" ({entity.url})"))
        if styled and entity.type in ("bold", "italic", "underline"):
            style = {"bold": BOLD, "italic": ITALIC, "underline": UNDERLINE}[entity.type]
            inserts.append((start, 1, style))
            inserts.append((end, -1, RESET))
        elif entity.type == "bold" and not is_whole_line(message.text, entity):
            # Piped output has no styles: mark bold words (search matches) like Markdown.
            inserts.append((start, 1, "**"))
            inserts.append((end, -1, "**"))
    out, last = [], 0
    for position, _, text in sorted(inserts):
        out.append(encoded[2 * last : 2 * position].decode("utf-16-le"))
        out.append(text)
        last = position
    out.append(encoded[2 * last :].decode("utf-16-le"))
    return "".join(out)


def is_whole_line(text: str, entity: Entity) -> bool:
    """Headings are whole bold lines; starring them too would only add noise."""
    encoded = text.encode("utf-16-le")
    before = encoded[: 2 * entity.offset].decode("utf-16-le")
    after = encoded[2 * (entity.offset + entity.length) :].decode("utf-16-le")
    return before.endswith("\n") or (not before.strip(" ☀️🔎") and after.startswith("\n"))


def start_reader(queue: asyncio.Queue[str | None], asked: threading.Event) -> None:
    """Feed stdin lines into ``queue`` from a daemon thread (None at end of input).

    A daemon thread, not the default executor: a pending ``readline`` must not keep the
    process alive after Ctrl+C. It reads the next line only when ``asked``, so what the
    person types never interleaves with the bot's replies.
    """
    loop = asyncio.get_running_loop()

    def pump() -> None:
        while True:
            asked.wait()
            asked.clear()
            line = sys.stdin.readline()
            loop.call_soon_threadsafe(queue.put_nowait, line if line else None)
            if not line:
                return

    threading.Thread(target=pump, name="console-stdin", daemon=True).start()


async def run_console(settings: Settings) -> int:
    configure_logging("WARNING")
    interactive = sys.stdin.isatty()
    screen = Screen(sys.stdout)
    async with BotAPIStandin() as standin:
        standin.add_chat(CHAT_ID, type="private", first_name="You", username="you")
        standin.add_listener(screen.show)
        # Offline by design: the stand-in's token and URL, long polling, no channels, no
        # Readwise sync.
        offline = {
            "bot_token": SecretStr(standin.token),
            "bot_api_url": standin.url,
            "readwise_token": None,
        }
        settings = settings.model_copy(update={**offline, "webhook_url": None, "channel_ids": []})
        async with await Store.open(settings.database_path) as store:
            await load_collection(settings, store)
            app = build_application(settings, store, rate_limit=False, flood_guard=False)
            tracker = UpdateTracker(app)
            await start_bot(app)
            if interactive:
                screen.write(
                    "You are chatting with the bot as a Telegram user would. "
                    "Try /start, /random, /search python, /help. "
                    "A number presses a button. Ctrl+D quits.\n"
                )
            lines: asyncio.Queue[str | None] = asyncio.Queue()
            asked = threading.Event()
            start_reader(lines, asked)
            try:
                while True:
                    if interactive:
                        print("> ", end="", flush=True)
                    asked.set()
                    line = await lines.get()
                    if line is None:
                        if interactive:
                            print()
                        break
                    text = line.strip()
                    if not text:
                        continue
                    if not interactive:
                        screen.write(f"> {text}")
                    update_id = act(standin, screen, text)
                    if update_id is not None:
                        await tracker.wait(update_id, timeout=30)
            finally:
                await stop_bot(app)
    return 0


def act(standin: BotAPIStandin, screen: Screen, text: str) -> int | None:
    """Send the typed text, or press the numbered button; the update id to wait for."""
    if text.isdigit() and screen.buttons:
        number = int(text)
        if not 1 <= number <= len(screen.buttons):
            screen.write(f"  (there is no button {number})\n")
            return None
        message_id, button = screen.buttons[number - 1]
        if "url" in button:
            screen.write(f"  (opens {button['url']})\n")
            return None
        standin.user_presses(CHAT_ID, message_id, str(button["callback_data"]))
        # Nothing awaited since the press: its update is still the newest queued one.
        return int(standin.pending_updates[-1]["update_id"])
    return standin.user_sends(CHAT_ID, text)
