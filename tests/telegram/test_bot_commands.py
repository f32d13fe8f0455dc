"""Every command, button and inline query, end to end through PTB and the strict stand-in."""

from __future__ import annotations

import pytest

from bot.sources.model import Takeaway
from tests.conftest import BotHarness

ADA = 501


async def test_command_menu_is_registered(bot: BotHarness) -> None:
    names = [name for name, _ in bot.standin.my_commands()]
    assert {"start", "today", "random", "search", "time", "timezone", "help"} <= set(names)


async def test_start_subscribes_and_names_the_next_delivery(bot: BotHarness) -> None:
    text = await bot.reply_text(ADA, "/start")
    assert "Welcome" in text
    assert "09:00" in text and "today at 09:00 (UTC)" in text  # clock is 06:00 UTC
    for command in ("/random", "/search", "/time", "/help"):
        assert command in text
    chat = await bot.store.db.execute("SELECT subscribed FROM chats WHERE chat_id = ?", (ADA,))
    assert (await chat.fetchone())[0] == 1


async def test_start_with_deep_link_payload_still_subscribes(bot: BotHarness) -> None:
    text = await bot.reply_text(ADA, "/start from_website")
    assert "Welcome" in text


async def test_random_sends_a_takeaway_with_buttons(bot: BotHarness) -> None:
    [message] = await bot.send(ADA, "/random")
    assert "@svpino on Twitter" in message.text
    assert message.parse_mode == "HTML"
    labels = [b["text"] for row in message.buttons for b in row]
    assert labels == ["❤️ Keep", "🚫 Not for me", "🎲 Another one", "🔗 Source"]
    assert message.buttons[1][1]["url"].startswith("https://twitter.com/svpino/status/")
    links = [e for e in message.entities if e.type == "text_link"]
    assert links and links[0].url is not None


async def test_another_one_button_sends_another(bot: BotHarness) -> None:
    [first] = await bot.send(ADA, "/random")
    [second] = await bot.press(ADA, first, "another")
    assert "@svpino on Twitter" in second.text
    assert bot.standin.callback_answers  # the press was answered


async def test_forged_button_gets_a_polite_toast(bot: BotHarness) -> None:
    [first] = await bot.send(ADA, "/random")
    await bot.press(ADA, first, "more:999999:5", forged=True)
    await bot.press(ADA, first, "x" * 64, forged=True)
    answers = [a.text for a in bot.standin.callback_answers.values()]
    assert answers == ["This search has expired. Send /search again.", "This button has expired."]


async def test_today_is_the_same_all_day_and_changes_tomorrow(bot: BotHarness) -> None:
    [one] = await bot.send(ADA, "/today")
    [two] = await bot.send(ADA, "/today")
    assert one.text == two.text
    assert one.text.startswith("☀️ Today's takeaway")
    bot.clock.advance(hours=17)  # 23:00 UTC, same day
    [three] = await bot.send(ADA, "/today")
    assert three.text == one.text
    bot.clock.advance(hours=2)  # next day
    [four] = await bot.send(ADA, "/today")
    assert four.text != one.text


async def test_search_marks_matches_and_names_sources(bot: BotHarness) -> None:
    [message] = await bot.send(ADA, "/search python")
    assert "Python rules" in message.text
    bold = [message.entity_text(e) for e in message.entities if e.type == "bold"]
    assert "Python" in bold
    assert "@svpino on Twitter" in message.text


async def test_search_pages_with_a_more_button(bot: BotHarness) -> None:
    [page1] = await bot.send(ADA, "/search you")
    [more] = [data for data in page1.callback_data if data.startswith("more:")]
    [page2] = await bot.press(ADA, page1, more)
    assert "(6–" in page2.text
    assert page1.text.split("\n")[2:4] != page2.text.split("\n")[2:4]


async def test_search_nothing_found_and_usage(bot: BotHarness) -> None:
    assert "Nothing found for “quantum”" in await bot.reply_text(ADA, "/search quantum")
    assert "/search habits" in await bot.reply_text(ADA, "/search")


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "*",
        "NEAR(",
        "a AND OR NOT",
        "-python",
        "'; DROP TABLE takeaways; --",
        "<b>bold</b> & <script>",
        "🙂🚀",
        "x" * 3000,
        "col:val ^start (paren",
    ],
)
async def test_search_survives_any_text(bot: BotHarness, query: str) -> None:
    messages = await bot.send(ADA, f"/search {query}")
    assert len(messages) == 1
    assert not bot.standin.failures
    count = await bot.store.db.execute("SELECT COUNT(*) FROM takeaways")
    assert (await count.fetchone())[0] == 16


async def test_time_and_timezone(bot: BotHarness) -> None:
    await bot.send(ADA, "/start")
    assert "comes at 07:30" in await bot.reply_text(ADA, "/time 7:30")
    assert "HH:MM" in await bot.reply_text(ADA, "/time 25:00")
    assert "HH:MM" in await bot.reply_text(ADA, "/time soon")
    assert "/time 07:30" in await bot.reply_text(ADA, "/time")
    text = await bot.reply_text(ADA, "/timezone europe/berlin")
    assert "Europe/Berlin" in text
    assert "America/New_York" in await bot.reply_text(ADA, "/timezone Mars/Olympus_Mons")
    assert "America/New_York" in await bot.reply_text(ADA, "/timezone <b>&amp;")
    settings = await bot.reply_text(ADA, "/settings")
    assert "07:30" in settings and "Europe/Berlin" in settings and "on" in settings


async def test_subscribe_unsubscribe_stop(bot: BotHarness) -> None:
    assert "Subscribed" in await bot.reply_text(ADA, "/subscribe")
    assert "already subscribed" in await bot.reply_text(ADA, "/subscribe")
    assert "Unsubscribed" in await bot.reply_text(ADA, "/unsubscribe")
    assert "already off" in await bot.reply_text(ADA, "/stop")
    assert "off" in await bot.reply_text(ADA, "/settings")


async def test_help_unknown_command_and_plain_text(bot: BotHarness) -> None:
    help_text = await bot.reply_text(ADA, "/help")
    for command in ("/today", "/random", "/search", "/time", "/timezone", "/settings"):
        assert command in help_text
    assert "@takeaways_bot" in help_text
    assert "/help" in await bot.reply_text(ADA, "/frobnicate")
    assert "/search" in await bot.reply_text(ADA, "what is this?")


async def test_inline_mode_offers_matches(bot: BotHarness) -> None:
    bot.standin.user_inline_query(ADA, "python")
    answer = await bot.standin.wait_for(lambda: list(bot.standin.inline_answers.values()))
    results = answer[0].results
    assert results and "Python" in results[0]["title"]
    bot.standin.user_inline_query(ADA, "")
    answers = await bot.standin.wait_for(
        lambda: list(bot.standin.inline_answers.values())[1:] or None
    )
    assert answers[0].results


async def test_group_commands_with_botname_and_admin_only_schedule(bot: BotHarness) -> None:
    group, admin, member = -4001, 601, 602
    bot.standin.add_chat(group, type="group", title="Readers")
    bot.standin.set_admins(group, [admin], owner=admin)
    bot.standin.add_member(group, member)
    [message] = await bot.send(group, "/random@takeaways_bot", user_id=member)
    assert "@svpino" in message.text
    refused = await bot.reply_text(group, "/time 08:00", user_id=member)
    assert "Only this group's admins" in refused
    done = await bot.reply_text(group, "/time@takeaways_bot 08:00", user_id=admin)
    assert "comes at 08:00" in done
    assert "Only this group's admins" in await bot.reply_text(group, "/start", user_id=member)
    assert "Welcome" in await bot.reply_text(group, "/start", user_id=admin)
    # Plain chatter, and commands that may be for another bot, get no reply in a group.
    for text in ("nice one", "/weather", "/start@other_bot"):
        bot.standin.user_sends(group, text, user_id=member)
        assert await bot._settle(group) == []
    assert "/help" in await bot.reply_text(group, "/weather@takeaways_bot", user_id=member)


async def test_html_in_takeaways_is_escaped_and_long_ones_split(bot: BotHarness) -> None:
    tricky = Takeaway(
        text="Use <b> & </i> freely " + "word " * 2000,
        title="A <title> & more",
        author="O'Brien & Co",
        url="https://example.com/?a=1&b=<2>",
        note="<note> & stuff",
    )
    await bot.store.import_takeaways([tricky])
    row = await bot.store.db.execute("SELECT id FROM takeaways WHERE text LIKE 'Use <b>%'")
    (takeaway_id,) = await row.fetchone()
    async with bot.store.transaction():
        await bot.store.db.execute("DELETE FROM takeaways WHERE id != ?", (takeaway_id,))
    messages = await bot.send(ADA, "/random")
    assert len(messages) >= 3
    assert all(len(m.text) <= 4096 for m in messages)
    assert messages[0].text.startswith("Use <b> & </i> freely")
    assert "O'Brien & Co" in messages[-1].text and "<note> & stuff" in messages[-1].text
    assert messages[-1].buttons and not messages[0].buttons
    assert not bot.standin.failures


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("utc", "UTC"),
        ("localtime", None),
        ("EST", None),
        ("factory", None),
        ("posixrules", None),
        ("Etc/GMT+5", None),
    ],
)
def test_find_zone_takes_places_only(typed: str, zone: str | None) -> None:
    from bot.telegram.handlers import find_zone

    assert find_zone(typed) == zone


async def test_time_accepts_a_bare_hour(bot: BotHarness) -> None:
    assert "comes at 07:00" in await bot.reply_text(ADA, "/time 7")


async def test_search_results_stay_in_limit_with_huge_titles(bot: BotHarness) -> None:
    items = [
        Takeaway(text=f"needle {i} " + "hay " * 300, title="T" * 1500 + str(i), author="A" * 900)
        for i in range(6)
    ]
    await bot.store.import_takeaways(items)
    [message] = await bot.send(ADA, "/search needle")
    assert len(message.text) <= 4096
    assert not bot.standin.failures


async def test_an_unusable_source_link_drops_the_button_not_the_message(bot: BotHarness) -> None:
    broken = Takeaway(text="Only one here", title="Odd", url="https://exa mple.com/a b")
    await bot.store.import_takeaways([broken])
    async with bot.store.transaction():
        await bot.store.db.execute("DELETE FROM takeaways WHERE text != 'Only one here'")
    [message] = await bot.send(ADA, "/random")
    labels = [b["text"] for row in message.buttons for b in row]
    assert labels == ["❤️ Keep", "🚫 Not for me", "🎲 Another one"]
    assert not bot.standin.failures


async def test_anonymous_group_admin_may_change_the_schedule(bot: BotHarness) -> None:
    group = -4002
    chat = bot.standin.add_chat(group, type="supergroup", title="Quiet readers")
    anonymous = {
        "id": 1087968824,
        "is_bot": True,
        "first_name": "Group",
        "username": "GroupAnonymousBot",
    }
    update_id = bot.standin.push_update(
        {
            "message": {
                "message_id": 1,
                "date": 1772431200,
                "chat": chat,
                "from": anonymous,
                "sender_chat": chat,
                "text": "/time 08:15",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            }
        }
    )
    assert bot.tracker is not None
    await bot.tracker.wait(update_id)
    [reply] = bot.received(group)
    assert "comes at 08:15" in reply.text


async def test_an_edited_command_is_not_run_again(bot: BotHarness) -> None:
    [sent] = await bot.send(ADA, "/random")
    del sent
    chat = {"id": ADA, "type": "private", "first_name": "Ada"}
    update_id = bot.standin.push_update(
        {
            "edited_message": {
                "message_id": 1,
                "date": 1772431200,
                "edit_date": 1772431300,
                "chat": chat,
                "from": {"id": ADA, "is_bot": False, "first_name": "Ada"},
                "text": "/unsubscribe",
                "entities": [{"type": "bot_command", "offset": 0, "length": 12}],
            }
        }
    )
    assert bot.tracker is not None
    await bot.tracker.wait(update_id)
    assert len(bot.received(ADA)) == 1
