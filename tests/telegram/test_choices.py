"""What a chat chooses, end to end: /favorites, /export, /sources, /days, /count, /help.

Lists page in place (their buttons edit the message they are under), settings buttons
redraw their own message, and every choice changes the very next /random or delivery.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.importer import import_upload
from bot.sources import parse_text
from bot.sources.model import Takeaway
from bot.standin import SentMessage
from tests.conftest import BotHarness
from tests.telegram.personal_support import (
    EXPIRED,
    ONLY_GROUP_ADMINS,
    assert_buttons_fit,
    assert_no_apology,
    import_books,
    labels,
    pace,
    press,
    random_ids,
    review_id,
    review_ids,
    takeaway_id,
)

ADA, BOB = 501, 502
GROUP, OWNER, MEMBER = -4200, 611, 612
NOTHING_LEFT = "Nothing to send: every source is off for this chat"
SAMPLE_TITLE = "16 Key Takeaways"


async def keep_found(bot: BotHarness, chat_id: int, word: str) -> int:
    """Keep the one takeaway ``/search word`` finds; its id."""
    pace(bot)
    [found] = await bot.send(chat_id, f"/search {word}")
    tid = review_id(found)
    assert await press(bot, chat_id, found, f"k:{tid}") == "❤️ Kept. /favorites lists them."
    return tid


def favorite_words(message_text: str) -> list[str]:
    """The ``favNN`` words of a favorites page, top to bottom."""
    return re.findall(r"\bfav\d\d\b", message_text)


async def twelve_favorites(bot: BotHarness) -> None:
    """fav01..fav12 kept in that order (a minute apart); odd ones are about gardens.
    Three more takeaways about gardens are in the collection but nobody keeps them."""
    await bot.store.import_takeaways(
        [
            Takeaway(
                text=f"Idea fav{n:02d} about {'gardens' if n % 2 else 'rivers'}.",
                title=f"Book {n % 3}",
                author="Some Writer",
            )
            for n in range(1, 13)
        ]
        + [Takeaway(text=f"Not kept: gardens idea {n}.", title="Elsewhere") for n in range(3)]
    )
    for n in range(1, 13):
        bot.clock.advance(minutes=1)
        await keep_found(bot, ADA, f"fav{n:02d}")


def source_button(message: SentMessage, title: str) -> str:
    """The toggle data of the source whose label contains ``title``."""
    for row in message.buttons:
        for key in row:
            if title in key["text"] and key.get("callback_data", "").startswith("st:"):
                return str(key["callback_data"])
    raise KeyError(title)


# --- /favorites ---------------------------------------------------------------------------


async def test_favorites_page_newest_first_five_at_a_time(bot: BotHarness) -> None:
    await twelve_favorites(bot)
    [page] = await bot.send(ADA, "/favorites")
    sent = len(bot.received(ADA))
    assert "(1–5 of 12)" in page.text
    assert favorite_words(page.text) == ["fav12", "fav11", "fav10", "fav09", "fav08"]
    assert "Book 0" in page.text and "Some Writer" in page.text  # each with its source
    assert labels(page) == ["Next ▸"]

    await press(bot, ADA, page, page.button_data("Next ▸"))
    assert page.edited and "(6–10 of 12)" in page.text
    assert favorite_words(page.text) == ["fav07", "fav06", "fav05", "fav04", "fav03"]
    assert labels(page) == ["◂ Back", "Next ▸"]

    await press(bot, ADA, page, page.button_data("Next ▸"))
    assert "(11–12 of 12)" in page.text
    assert favorite_words(page.text) == ["fav02", "fav01"]
    assert labels(page) == ["◂ Back"]

    await press(bot, ADA, page, page.button_data("◂ Back"))
    assert "(6–10 of 12)" in page.text
    assert len(bot.received(ADA)) == sent  # paging never sends a new message
    assert_buttons_fit(bot)
    assert_no_apology(bot)


async def test_favorites_search_keeps_its_words_while_paging(bot: BotHarness) -> None:
    await twelve_favorites(bot)
    [page] = await bot.send(ADA, "/favorites gardens")
    assert "matching “gardens”" in page.text and "(1–5 of 6)" in page.text
    assert favorite_words(page.text) == ["fav11", "fav09", "fav07", "fav05", "fav03"]
    assert "Not kept" not in page.text
    [following] = page.callback_data
    assert following.startswith("fq:")

    await press(bot, ADA, page, following)
    assert "matching “gardens”" in page.text and "(6–6 of 6)" in page.text
    assert favorite_words(page.text) == ["fav01"]
    await press(bot, ADA, page, page.button_data("◂ Back"))
    assert "(1–5 of 6)" in page.text

    # Another chat cannot page through ADA's search, even with its button data.
    [bobs] = await bot.send(BOB, "/favorites")
    assert "No favorites yet" in bobs.text
    [bob_random] = await bot.send(BOB, "/random")
    shown = bob_random.text
    toast = await press(bot, BOB, bob_random, following, forged=True)
    assert toast == "This search has expired. Send /favorites again."
    assert bob_random.text == shown and not bob_random.edited
    assert_buttons_fit(bot)


async def test_favorites_when_there_are_none_or_none_match(bot: BotHarness) -> None:
    assert "No favorites yet" in await bot.reply_text(ADA, "/favorites")
    python = await keep_found(bot, ADA, "python")
    text = await bot.reply_text(ADA, "/favorites")
    assert "Python rules" in text and "(1–1 of 1)" in text and "/export" in text
    assert "No favorites matching “quantum”" in await bot.reply_text(ADA, "/favorites quantum")
    assert "/favorites habits" in await bot.reply_text(ADA, '/favorites "')
    # Letting go takes it off the list.
    [found] = await bot.send(ADA, "/search python")
    await press(bot, ADA, found, f"uk:{python}")
    assert "No favorites yet" in await bot.reply_text(ADA, "/favourites")


async def test_a_favorites_page_past_the_end_is_answered(bot: BotHarness) -> None:
    await keep_found(bot, ADA, "python")
    [page] = await bot.send(ADA, "/favorites")
    assert await press(bot, ADA, page, "fp:40", forged=True) is None
    assert "No more favorites" in page.text
    for data in ("fp:-1", "fp:1000000", "fp:1:2", "fq:1", "fp:"):
        assert await press(bot, ADA, page, data, forged=True) == EXPIRED
    assert await press(bot, ADA, page, "fq:987654:0", forged=True) == (
        "This search has expired. Send /favorites again."
    )
    assert_no_apology(bot)


# --- /export ------------------------------------------------------------------------------

EXPORTED = [
    Takeaway(
        text="First exportone idea, plainly said.",
        title="Exported Book",
        author="Writer One",
        note="My note on it",
        tags=("focus", "habits"),
    ),
    Takeaway(
        text="Second exporttwo idea\nwith a second line.",
        title="Exported Book",
        author="Writer One",
        url="https://example.com/highlights/2",
        location="Location 42",
    ),
    Takeaway(
        text="Third exportthree idea from elsewhere.",
        title="Other Article",
        author="Someone Else",
        note="Line one of a note",
        tags=("work",),
    ),
]


def shape(item: Takeaway) -> tuple[object, ...]:
    return (item.text, item.title, item.author, item.note, item.tags, item.url, item.location)


async def test_export_sends_the_favorites_as_markdown_the_importer_reads(
    bot: BotHarness,
) -> None:
    assert "No favorites to export yet" in await bot.reply_text(ADA, "/export")
    await bot.store.import_takeaways(EXPORTED)
    for word in ("exportone", "exporttwo", "exportthree", "python"):
        bot.clock.advance(minutes=1)
        await keep_found(bot, ADA, word)
    python = await bot.store.get_takeaway(await takeaway_id(bot, "Python rules"))
    assert python is not None

    [document] = await bot.send(ADA, "/export")
    assert document.document_name == "takeaways-favorites.md"
    assert document.document_bytes is not None
    assert "4 favorites" in document.text
    parsed = parse_text(document.document_bytes.decode("utf-8"), document.document_name)
    # The sample's tweets hold two takeaways each: a link two takeaways share is left
    # out (the importer tells them apart by their order), so the source's link stands in.
    shared = replace(python.takeaway, url=python.takeaway.source_url)
    expected = [*EXPORTED, shared]
    assert sorted(map(shape, parsed)) == sorted(map(shape, expected))
    # Read back into the same bot: nothing of the collection changes.
    summary = await import_upload(bot.store, document.document_bytes, "favorites.md")
    assert summary.updated == 0 and not summary.failed
    assert (await bot.store.get_takeaway(python.id)) == python
    # Another chat's export is its own.
    assert "No favorites to export yet" in await bot.reply_text(BOB, "/export")
    assert_no_apology(bot)


# --- /sources -----------------------------------------------------------------------------


async def test_sources_are_listed_with_counts_and_paged(bot: BotHarness) -> None:
    titles = [f"Book {letter}" for letter in "ABCDEFGHI"]
    await import_books(bot, titles, per_book=2)
    [listing] = await bot.send(ADA, "/sources")
    assert "10 of 10 on" in listing.text and "(1–8 shown)" in listing.text
    assert f"✅ {SAMPLE_TITLE}" in listing.text and "(16)" in listing.text
    assert "✅ Book A — Author of Book A (2)" in listing.text
    assert "Book H" not in listing.text
    assert len(listing.buttons) == 9 and labels(listing)[-1] == "Next ▸"

    await press(bot, ADA, listing, listing.button_data("Next ▸"))
    assert listing.edited and "(9–10 shown)" in listing.text
    assert "Book H" in listing.text and "Book I" in listing.text and "Book A" not in listing.text
    assert labels(listing)[-1] == "◂ Back"

    # A toggle on page 2 redraws page 2.
    assert await press(bot, ADA, listing, source_button(listing, "Book I")) == (
        "Turned off: you won't get takeaways from it."
    )
    assert "⬜ Book I" in listing.text and "9 of 10 on" in listing.text
    assert "(9–10 shown)" in listing.text
    assert len(bot.received(ADA)) == 1
    assert_buttons_fit(bot)


async def test_source_toggles_change_the_very_next_random_and_today(bot: BotHarness) -> None:
    await import_books(bot, ["Book A"], per_book=3)
    book_a = {await takeaway_id(bot, f"bookword0x{j}") for j in range(3)}
    [listing] = await bot.send(ADA, "/sources")
    toast = await press(bot, ADA, listing, source_button(listing, SAMPLE_TITLE))
    assert toast == "Turned off: you won't get takeaways from it."
    assert f"⬜ {SAMPLE_TITLE}" in listing.text and "1 of 2 on" in listing.text
    assert set(await random_ids(bot, ADA, 8)) <= book_a
    [today] = await bot.send(ADA, "/today")
    assert set(review_ids(today)) <= book_a
    assert set(await random_ids(bot, BOB, 8)) - book_a  # BOB's sources are all on

    toast = await press(bot, ADA, listing, source_button(listing, "Book A"))
    assert toast == "Every source is off: nothing will be sent until you turn one on."
    assert "Every source is off" in listing.text and "0 of 2 on" in listing.text
    assert NOTHING_LEFT in await bot.reply_text(ADA, "/random")
    bot.clock.set(datetime(2026, 3, 3, 6, tzinfo=UTC))  # a new day: /today picks again
    assert NOTHING_LEFT in await bot.reply_text(ADA, "/today")

    assert await press(bot, ADA, listing, source_button(listing, SAMPLE_TITLE)) == "Turned on."
    assert "Every source is off" not in listing.text
    assert not set(await random_ids(bot, ADA, 8)) & book_a
    assert_no_apology(bot)


async def test_source_toggles_change_the_next_daily(bot: BotHarness) -> None:
    await import_books(bot, ["Book A"], per_book=3)
    book_a = {await takeaway_id(bot, f"bookword0x{j}") for j in range(3)}
    await bot.send(ADA, "/start")
    [listing] = await bot.send(ADA, "/sources")
    await press(bot, ADA, listing, source_button(listing, SAMPLE_TITLE))
    for day in range(3):
        bot.clock.set(datetime(2026, 3, 2 + day, 9, tzinfo=UTC))
        await bot.deliver()
    assert {review_id(m) for m in bot.dailies(ADA)} == book_a
    await press(bot, ADA, listing, source_button(listing, SAMPLE_TITLE))
    await press(bot, ADA, listing, source_button(listing, "Book A"))
    bot.clock.set(datetime(2026, 3, 5, 9, tzinfo=UTC))
    await bot.deliver()
    assert review_id(bot.dailies(ADA)[-1]) not in book_a

    await press(bot, ADA, listing, source_button(listing, SAMPLE_TITLE))  # all off
    bot.clock.set(datetime(2026, 3, 6, 9, tzinfo=UTC))
    await bot.deliver()
    assert len(bot.dailies(ADA)) == 4


async def test_forged_source_and_page_data_is_answered(bot: BotHarness) -> None:
    [listing] = await bot.send(ADA, "/sources")
    text = listing.text
    assert await press(bot, ADA, listing, "st:999999:0", forged=True) == (
        "This source is no longer in the collection."
    )
    for data in ("st:-1:0", "st:1", "st:1:1000000", "sp:-8", "sp:x", "st:1:2:3"):
        assert await press(bot, ADA, listing, data, forged=True) == EXPIRED, data
    assert listing.text == text
    # A page past the end shows the last page there is.
    await press(bot, ADA, listing, "sp:800", forged=True)
    assert "(1–1 shown)" in listing.text
    assert_no_apology(bot)


async def test_in_a_group_only_admins_change_sources_days_and_count(bot: BotHarness) -> None:
    bot.standin.add_chat(GROUP, type="group", title="Readers")
    bot.standin.set_admins(GROUP, [OWNER], owner=OWNER)
    bot.standin.add_member(GROUP, MEMBER)
    [listing] = await bot.send(GROUP, "/sources", user_id=MEMBER)  # looking is fine
    text = listing.text
    toggle = source_button(listing, SAMPLE_TITLE)
    assert await press(bot, GROUP, listing, toggle, user_id=MEMBER) == ONLY_GROUP_ADMINS
    assert listing.text == text and not listing.edited
    assert ONLY_GROUP_ADMINS in await bot.reply_text(GROUP, "/days weekdays", user_id=MEMBER)
    assert ONLY_GROUP_ADMINS in await bot.reply_text(GROUP, "/count 2", user_id=MEMBER)
    [days] = await bot.send(GROUP, "/days", user_id=MEMBER)
    assert await press(bot, GROUP, days, "d:31", user_id=MEMBER) == ONLY_GROUP_ADMINS
    [count] = await bot.send(GROUP, "/count", user_id=MEMBER)
    assert await press(bot, GROUP, count, "c:2", user_id=MEMBER) == ONLY_GROUP_ADMINS
    settings = await bot.reply_text(GROUP, "/settings", user_id=MEMBER)
    assert "Days: every day" in settings and "Takeaways per delivery: 1" in settings

    assert await press(bot, GROUP, listing, toggle, user_id=OWNER) == (
        "Every source is off: nothing will be sent until you turn one on."
    )
    await press(bot, GROUP, days, "d:31", user_id=OWNER)
    await press(bot, GROUP, count, "c:2", user_id=OWNER)
    settings = await bot.reply_text(GROUP, "/settings", user_id=MEMBER)
    assert "Days: on weekdays (Mon–Fri)" in settings and "Takeaways per delivery: 2" in settings
    assert NOTHING_LEFT in await bot.reply_text(GROUP, "/random", user_id=MEMBER)
    assert_no_apology(bot)


# --- /days --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("weekdays", "on weekdays (Mon–Fri)"),
        ("mon wed fri", "on Mon, Wed, Fri"),
        ("Mon, Wed and Fri", "on Mon, Wed, Fri"),
        ("mon-fri", "on weekdays (Mon–Fri)"),
        ("fri-mon", "on Mon, Fri, Sat, Sun"),
        ("weekends", "on weekends"),
        ("every day", "every day"),
        ("sunday", "on Sun"),
    ],
)
async def test_days_takes_words(bot: BotHarness, typed: str, said: str) -> None:
    text = await bot.reply_text(ADA, f"/days {typed}")
    assert text.startswith(f"Done: 📅 Takeaways come {said} at 09:00.")
    assert f"Days: {said}" in await bot.reply_text(ADA, "/settings")


@pytest.mark.parametrize("typed", ["nonsense", "mon blursday", "mon-", "-fri", "8", "mon--fri"])
async def test_days_that_are_no_days_get_a_one_line_hint(bot: BotHarness, typed: str) -> None:
    [reply] = await bot.send(ADA, f"/days {typed}")
    assert reply.text.startswith("I can't read") and "/days mon wed fri" in reply.text
    assert "\n" not in reply.text
    assert "Days: every day" in await bot.reply_text(ADA, "/settings")


async def test_days_keyboard_toggles_one_day_at_a_time(bot: BotHarness) -> None:
    [days] = await bot.send(ADA, "/days")
    assert "Takeaways come every day at 09:00" in days.text
    assert labels(days) == [
        *[f"✅ {day}" for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")],
        "Every day",
        "Weekdays",
    ]
    await press(bot, ADA, days, days.button_data("Weekdays"))
    assert "on weekdays (Mon–Fri)" in days.text and days.edited
    assert labels(days)[5:7] == ["⬜ Sat", "⬜ Sun"]
    toast = await press(bot, ADA, days, days.button_data("⬜ Sat"))
    assert toast == "Takeaways come on Mon, Tue, Wed, Thu, Fri, Sat."
    assert labels(days)[5] == "✅ Sat"
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        await press(bot, ADA, days, days.button_data(f"✅ {day}"))
    assert "on Sat" in days.text
    # The last day on cannot be turned off: its button would mean "no days".
    assert await press(bot, ADA, days, days.button_data("✅ Sat")) == (
        "Pick at least one day (or /unsubscribe to stop)."
    )
    assert "on Sat" in days.text
    for forged in ("d:0", "d:128", "d:255"):
        assert await press(bot, ADA, days, forged, forged=True) == (
            "Pick at least one day (or /unsubscribe to stop)."
        )
    for forged in ("d:-1", "d:", "d:1:2"):
        assert await press(bot, ADA, days, forged, forged=True) == EXPIRED
    assert "Days: on Sat" in await bot.reply_text(ADA, "/settings")
    assert len(bot.received(ADA)) == 2
    assert_buttons_fit(bot)
    assert_no_apology(bot)


async def test_days_decide_which_days_bring_a_delivery(bot: BotHarness) -> None:
    await bot.send(ADA, "/start")
    await bot.send(ADA, "/days mon wed fri")
    per_day = []
    for day in range(14):  # Mon 2 March to Sun 15 March
        before = len(bot.dailies(ADA))
        for hour in (9, 15):
            bot.clock.set(datetime(2026, 3, 2 + day, hour, tzinfo=UTC))
            await bot.deliver()
        per_day.append(len(bot.dailies(ADA)) - before)
    assert per_day == [1, 0, 1, 0, 1, 0, 0] * 2


# --- /count -------------------------------------------------------------------------------


async def test_count_takes_one_to_three(bot: BotHarness) -> None:
    [count] = await bot.send(ADA, "/count")
    assert "Each delivery holds 1 takeaway," in count.text
    assert labels(count) == ["✅ 1", "2", "3"]
    reply = await bot.reply_text(ADA, "/count 2")
    assert reply.startswith("Done: 🔢 Each delivery holds 2 takeaways")
    for typed in ("0", "x", "4", "-1", "2.5", "99999999999999999999", "²"):
        assert await bot.reply_text(ADA, f"/count {typed}") == (
            "Use a number from 1 to 3, for example: /count 2"
        )
    assert "Takeaways per delivery: 2" in await bot.reply_text(ADA, "/settings")

    assert await press(bot, ADA, count, "c:3") == "3 per delivery."
    assert "holds 3 takeaways" in count.text and labels(count) == ["1", "2", "✅ 3"]
    for forged in ("c:4", "c:0"):
        assert await press(bot, ADA, count, forged, forged=True) == "Use a number from 1 to 3."
    assert await press(bot, ADA, count, "c:-1", forged=True) == EXPIRED
    assert "Takeaways per delivery: 3" in await bot.reply_text(ADA, "/settings")
    assert_no_apology(bot)


async def test_count_fills_each_delivery_in_one_message(bot: BotHarness) -> None:
    await bot.send(ADA, "/start")
    await bot.send(ADA, "/count 2")
    bot.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    await bot.deliver()
    [daily] = bot.dailies(ADA)
    assert daily.text.startswith("☀️ Today's takeaways")
    first, second = review_ids(daily)
    assert first != second
    assert [row[0]["text"] for row in daily.buttons[:2]] == ["❤️ 1", "❤️ 2"]
    [today] = await bot.send(ADA, "/today")
    assert review_ids(today) == [first, second]  # /today is the day's delivery

    await press(bot, ADA, daily, f"k:{second}")
    assert [row[0]["text"] for row in daily.buttons[:2]] == ["❤️ 1", "✅ 2"]
    await bot.send(ADA, "/count 3")
    bot.clock.set(datetime(2026, 3, 3, 9, tzinfo=UTC))
    await bot.deliver()
    assert len(review_ids(bot.dailies(ADA)[-1])) == 3
    assert_no_apology(bot)


# --- /help and the command menu -----------------------------------------------------------


async def test_help_and_menu_list_every_new_command(bot: BotHarness) -> None:
    help_text = await bot.reply_text(ADA, "/help")
    for command in ("/favorites", "/export", "/sources", "/days", "/count"):
        assert command in help_text
    assert "/favorites words" in help_text  # searching within them
    assert "Not for me" in help_text and "Keep" in help_text
    assert "every 5th delivery begins with one of your favorites" in help_text
    menu = {name for name, _ in bot.standin.my_commands()}
    assert {"favorites", "export", "sources", "days", "count"} <= menu
