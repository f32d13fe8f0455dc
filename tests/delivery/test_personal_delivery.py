"""The personal stream over simulated days: delivery days, counts, sources, favorites,
"not for me" and admin hides, with the real bot, the stand-in and a manual clock."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.delivery.picker import FAVORITE_EVERY
from bot.importer import import_paths
from bot.sources.model import Takeaway
from bot.standin import SentMessage
from bot.store import chats as chat_db
from tests.conftest import SAMPLES, BotHarness

ADA, BEN, CAL = 601, 602, 603
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


def ids_in(message: SentMessage) -> list[int]:
    """The takeaways a message is about, from its review buttons (Keep / Kept)."""
    ids = []
    for data in message.callback_data:
        verb, _, rest = data.partition(":")
        if verb in ("k", "uk") and int(rest) not in ids:
            ids.append(int(rest))
    return ids


def dailies(bot: BotHarness, chat_id: int) -> list[SentMessage]:
    return [m for m in bot.received(chat_id) if m.text.startswith("☀️ Today's takeaway")]


async def setup(bot: BotHarness, chat_id: int, *commands: str) -> None:
    for command in ("/start", *commands):
        await bot.send(chat_id, command)


async def run_hours(bot: BotHarness, start: datetime, days: int) -> dict[tuple[int, int], datetime]:
    """The delivery job, ticking every 15 minutes for ``days`` days from ``start``;
    returns when (on the bot's clock) each (chat, message id) was sent."""
    sent_at: dict[tuple[int, int], datetime] = {}
    when = start
    while when < start + timedelta(days=days):
        bot.clock.set(when)
        await bot.deliver()
        for message in bot.standin.sent:
            sent_at.setdefault((message.chat_id, message.message_id), when)
        when += timedelta(minutes=15)
    return sent_at


async def add_source(bot: BotHarness, title: str, count: int) -> None:
    await bot.store.import_takeaways(
        [
            Takeaway(text=f"{title} idea number {n}", title=title, author="Someone")
            for n in range(count)
        ]
    )


async def only_long_takeaways(bot: BotHarness, body: str) -> None:
    """Three long takeaways ("0 ...", "1 ...", "2 ...") in their own source, the only one
    Ada has on, and three takeaways a delivery for her."""
    await bot.store.import_takeaways(
        [Takeaway(text=f"{n} {body.strip()}", title="Long", author="Someone") for n in range(3)]
    )
    await setup(bot, ADA, "/count 3", "/sources")
    [sources] = bot.received(ADA)[-1:]
    [thread] = [
        b["callback_data"] for row in sources.buttons for b in row if "Long" not in b["text"]
    ]
    await bot.press(ADA, sources, thread)


async def source_of(bot: BotHarness, takeaway_id: int) -> str | None:
    item = await bot.store.get_takeaway(takeaway_id)
    assert item is not None
    return item.takeaway.title


# --- days and counts over two weeks with DST in between -------------------------------------


async def test_days_and_counts_over_two_weeks_across_dst(bot: BotHarness) -> None:
    """Europe changes to summer time on Sunday 29 March 2026: a Berlin chat on Mon/Wed/Fri
    with two takeaways, a New York chat on weekdays with three, a default chat daily."""
    bot.clock.set(datetime(2026, 3, 22, 12, tzinfo=UTC))  # a Sunday
    await setup(bot, ADA, "/timezone Europe/Berlin", "/time 07:30", "/days mon wed fri", "/count 2")
    await setup(bot, BEN, "/timezone America/New_York", "/time 06:45", "/days weekdays", "/count 3")
    await setup(bot, CAL)
    sent_at = await run_hours(bot, datetime(2026, 3, 22, 12, tzinfo=UTC), days=14)

    def local(message: SentMessage, zone: ZoneInfo) -> datetime:
        return sent_at[message.chat_id, message.message_id].astimezone(zone)

    ada = dailies(bot, ADA)
    assert [local(m, BERLIN).strftime("%a %H:%M") for m in ada] == [
        day for _ in range(2) for day in ("Mon 07:30", "Wed 07:30", "Fri 07:30")
    ]
    assert [local(m, BERLIN).date() for m in ada][2:4] == [date(2026, 3, 27), date(2026, 3, 30)]
    assert all(len(ids_in(m)) == 2 and "Today's takeaways" in m.text for m in ada)
    ben = dailies(bot, BEN)
    assert len(ben) == 10
    assert {local(m, NEW_YORK).strftime("%a %H:%M") for m in ben} == {
        f"{d} 06:45" for d in ("Mon", "Tue", "Wed", "Thu", "Fri")
    }
    assert all(len(ids_in(m)) == 3 for m in ben)
    assert len(dailies(bot, CAL)) == 14
    # Sixteen takeaways: Ada's 12 and Ben's first 15 picks hold no repeat (one round).
    assert len({i for m in ada for i in ids_in(m)}) == 12
    ben_ids = [i for m in ben for i in ids_in(m)]
    assert len(set(ben_ids[:15])) == 15
    for chat in (ADA, BEN, CAL):  # exactly one ledger row per delivery day
        ledger = await bot.store.db.execute_fetchall(
            "SELECT local_date FROM daily WHERE chat_id = ?", (chat,)
        )
        assert len(ledger) == len(dailies(bot, chat))


async def test_changing_days_moves_the_next_delivery(bot: BotHarness) -> None:
    bot.clock.set(datetime(2026, 3, 2, 6, tzinfo=UTC))  # Monday
    await setup(bot, ADA, "/days sat sun")
    chat = await chat_db.get_chat(bot.store.db, ADA)
    assert chat is not None and chat.next_due == datetime(2026, 3, 7, 9, tzinfo=UTC)
    reply = await bot.reply_text(ADA, "/days every")
    assert "today at 09:00" in reply
    await run_hours(bot, datetime(2026, 3, 2, 6, tzinfo=UTC), days=7)
    assert len(dailies(bot, ADA)) == 7


async def test_a_long_delivery_is_split_cleanly_and_sent_once(bot: BotHarness) -> None:
    await only_long_takeaways(bot, "A sentence that goes on. " * 150)
    before = len(bot.received(ADA))
    bot.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    await bot.deliver()
    await bot.deliver()
    sent = bot.received(ADA)[before:]
    assert 2 <= len(sent) <= 4 and all(len(m.text) <= 4096 for m in sent)
    assert sent[0].text.startswith("☀️ Today's takeaways")
    assert sent[-1].buttons and all(not m.buttons for m in sent[:-1])
    assert len(ids_in(sent[-1])) == 3


# --- sources, not for me, favorites, hides ---------------------------------------------------


async def test_a_source_turned_off_is_gone_from_the_very_next_delivery(bot: BotHarness) -> None:
    await add_source(bot, "Second book", 10)
    await setup(bot, ADA, "/sources")
    page = bot.received(ADA)[-1]
    toggles = [d for d in page.callback_data if d.startswith("st:")]
    assert len(toggles) == 2
    await bot.press(ADA, page, toggles[0])  # the thread sorts first
    titles = []
    for n in range(8):
        bot.clock.set(datetime(2026, 3, 2 + n, 9, tzinfo=UTC))
        await bot.deliver()
        [message] = dailies(bot, ADA)[-1:]
        titles.append(await source_of(bot, ids_in(message)[0]))
    assert set(titles) == {"Second book"}
    assert len(dailies(bot, ADA)) == 8


async def test_every_source_off_sends_nothing_until_one_is_on(bot: BotHarness) -> None:
    await setup(bot, ADA, "/sources")
    page = bot.received(ADA)[-1]
    [toggle] = [d for d in page.callback_data if d.startswith("st:")]
    await bot.press(ADA, page, toggle)
    assert "Every source is off" in bot.standin.messages(ADA)[-1].text
    for n in range(3):
        bot.clock.set(datetime(2026, 3, 2 + n, 9, tzinfo=UTC))
        assert (await bot.deliver()).sent == 0
    assert dailies(bot, ADA) == []
    assert "every source is off" in (await bot.reply_text(ADA, "/today")).lower()
    page = bot.standin.messages(ADA)[-2]
    await bot.press(ADA, page, toggle.replace("st:", "st:"))
    bot.clock.set(datetime(2026, 3, 5, 9, tzinfo=UTC))
    assert (await bot.deliver()).sent == 1


async def test_not_for_me_leaves_the_rounds_for_good(bot: BotHarness) -> None:
    await setup(bot, ADA)
    await setup(bot, BEN)
    discarded: set[int] = set()
    for n in range(40):
        bot.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(days=n))
        await bot.deliver()
        [message] = dailies(bot, ADA)[-1:]
        [takeaway_id] = ids_in(message)
        assert takeaway_id not in discarded
        if len(discarded) < 12:
            await bot.press(ADA, message, f"n:{takeaway_id}")
            discarded.add(takeaway_id)
    ada = Counter(i for m in dailies(bot, ADA) for i in ids_in(m))
    assert len(ada) == 16 and all(ada[i] == 1 for i in discarded)
    # The four left come round again and again; Ben still gets all sixteen.
    assert sum(c for i, c in ada.items() if i not in discarded) == 40 - 12
    assert len({i for m in dailies(bot, BEN) for i in ids_in(m)}) == 16


async def test_favorites_come_back_every_few_deliveries(bot: BotHarness) -> None:
    await setup(bot, ADA)
    bot.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    await bot.deliver()
    [first] = dailies(bot, ADA)
    [favorite] = ids_in(first)
    await bot.press(ADA, first, f"k:{favorite}")
    for n in range(1, 3 * FAVORITE_EVERY):
        bot.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(days=n))
        await bot.deliver()
    picks = [ids_in(m)[0] for m in dailies(bot, ADA)]
    turns = [n for n, i in enumerate(picks) if i == favorite]
    assert turns[0] == 0
    assert [n for n in turns[1:]] == [
        n - 1 for n in range(FAVORITE_EVERY, 3 * FAVORITE_EVERY + 1, FAVORITE_EVERY)
    ]
    # The favorite's buttons say so when it comes back.
    assert "✅ Kept" in [b["text"] for row in dailies(bot, ADA)[turns[1]].buttons for b in row]
    others = [i for i in picks if i != favorite]
    assert len(others) == len(set(others))  # the round itself never repeats


async def test_a_hidden_takeaway_stays_hidden_after_a_reimport(make_bot) -> None:  # type: ignore[no-untyped-def]
    bot: BotHarness = await make_bot(admin_ids=[ADA])
    await setup(bot, ADA)
    await setup(bot, BEN)
    [answer] = await bot.send(ADA, "/random")
    [takeaway_id] = ids_in(answer)
    await bot.press(ADA, answer, f"h:{takeaway_id}")
    summary = await import_paths(bot.store, [SAMPLES])
    assert summary.unchanged == 16
    for n in range(20):
        bot.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(days=n))
        await bot.deliver()
    for chat in (ADA, BEN):
        seen = {i for m in dailies(bot, chat) for i in ids_in(m)}
        assert takeaway_id not in seen and len(seen) == 15
    hits = await bot.store.search(answer.text.split("\n")[0][:40])
    assert takeaway_id not in {hit.item.id for hit in hits}


# --- a delivery picked earlier, and one that went out in part --------------------------------


async def test_turned_down_after_today_is_not_sent_at_the_slot(make_bot) -> None:  # type: ignore[no-untyped-def]
    bot: BotHarness = await make_bot(admin_ids=[BEN])
    bot.clock.set(datetime(2026, 3, 2, 7, tzinfo=UTC))
    await setup(bot, ADA)
    await setup(bot, BEN)
    [ada_today] = (await bot.send(ADA, "/today"))[-1:]
    [ben_today] = (await bot.send(BEN, "/today"))[-1:]
    [discarded] = ids_in(ada_today)
    [hidden] = ids_in(ben_today)
    await bot.press(ADA, ada_today, f"n:{discarded}")
    await bot.press(BEN, ben_today, f"h:{hidden}")
    bot.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    assert (await bot.deliver()).sent == 2
    [ada_daily] = dailies(bot, ADA)[-1:]
    [ben_daily] = dailies(bot, BEN)[-1:]
    assert ids_in(ada_daily) not in ([discarded], [hidden])
    assert ids_in(ben_daily) != [hidden]
    # /today now shows what was sent, and the day is done.
    assert ids_in((await bot.send(ADA, "/today"))[-1]) == ids_in(ada_daily)
    assert (await bot.deliver()).due == 0


async def test_today_counts_as_a_delivery_for_the_favorite_turn(bot: BotHarness) -> None:
    bot.clock.set(datetime(2026, 3, 2, 7, tzinfo=UTC))
    await setup(bot, ADA)
    [first] = (await bot.send(ADA, "/today"))[-1:]
    [favorite] = ids_in(first)
    await bot.press(ADA, first, f"k:{favorite}")
    picks = []
    for n in range(2 * FAVORITE_EVERY):
        bot.clock.set(datetime(2026, 3, 2, 7, tzinfo=UTC) + timedelta(days=n))
        [today] = (await bot.send(ADA, "/today"))[-1:]
        bot.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(days=n))
        await bot.deliver()
        [daily] = dailies(bot, ADA)[-1:]
        assert ids_in(daily) == ids_in(today)
        picks.append(ids_in(daily)[0])
    assert [n for n, i in enumerate(picks) if i == favorite] == [
        0,
        FAVORITE_EVERY - 1,
        2 * FAVORITE_EVERY - 1,
    ]


async def test_a_delivery_cut_short_sends_only_the_rest_later(bot: BotHarness) -> None:
    await only_long_takeaways(bot, "A sentence that goes on and on. " * 120)
    before = len(bot.received(ADA))

    def fail_after_the_first(event: object) -> None:
        if getattr(event, "kind", None) == "sent" and len(bot.received(ADA)) == before + 1:
            bot.standin.fail("sendMessage", chat_id=ADA, status=502)

    bot.standin.add_listener(fail_after_the_first)
    bot.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    report = await bot.deliver()
    assert report.retried == 1 and len(bot.received(ADA)) == before + 1
    bot.clock.set(datetime(2026, 3, 2, 9, 2, tzinfo=UTC))
    assert (await bot.deliver()).sent == 1
    sent = bot.received(ADA)[before:]
    texts = [m.text for m in sent]
    assert len(texts) == len(set(texts)) >= 3  # every part once, none again
    assert sent[0].text.startswith("☀️ Today's takeaways") and sent[-1].buttons
    for n in range(3):  # each takeaway's start arrived exactly once
        assert sum(m.text.count(f"{n} A sentence") for m in sent) == 1


async def test_today_says_so_when_its_delivery_was_set_aside(bot: BotHarness) -> None:
    await setup(bot, ADA)
    bot.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    await bot.deliver()
    [daily] = dailies(bot, ADA)
    [takeaway_id] = ids_in(daily)
    await bot.press(ADA, daily, f"n:{takeaway_id}")
    assert "you set today's takeaway aside" in await bot.reply_text(ADA, "/today")
    assert "@svpino" in await bot.reply_text(ADA, "/random")  # the rest is still there
