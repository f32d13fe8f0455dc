"""The buttons under every takeaway, end to end: keep, not for me, undo, hide for everyone.

Every press must be answered with one toast, redraw the message from the database, and
never end in an error, whatever the callback data says or however stale it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from bot.importer import import_paths
from tests.conftest import SAMPLES, BotHarness
from tests.telegram.personal_support import (
    EXPIRED,
    NOT_FOR_ME,
    ONLY_BOT_ADMINS,
    all_ids,
    assert_buttons_fit,
    assert_no_apology,
    labels,
    mark_all_but,
    pace,
    press,
    random_ids,
    review_id,
    review_ids,
    takeaway_id,
)

ADA, BOB = 501, 502
ADMIN, STRANGER = 900, 901
Make = Callable[..., Awaitable[BotHarness]]

FRESH = ["❤️ Keep", "🚫 Not for me", "🎲 Another one", "🔗 Source"]


async def favorite_ids(bot: BotHarness, chat_id: int) -> set[int]:
    rows = await bot.store.db.execute_fetchall(
        "SELECT takeaway_id FROM favorites WHERE chat_id = ?", (chat_id,)
    )
    return {int(row[0]) for row in rows}


async def discarded_ids(bot: BotHarness, chat_id: int) -> set[int]:
    rows = await bot.store.db.execute_fetchall(
        "SELECT takeaway_id FROM discarded WHERE chat_id = ?", (chat_id,)
    )
    return {int(row[0]) for row in rows}


# --- keep -------------------------------------------------------------------------------


async def test_keep_marks_a_favorite_and_pressing_again_lets_it_go(bot: BotHarness) -> None:
    [message] = await bot.send(ADA, "/random")
    tid = review_id(message)
    assert labels(message) == FRESH
    text = message.text

    toast = await press(bot, ADA, message, f"k:{tid}")
    assert toast == "❤️ Kept. /favorites lists them."
    assert message.edited and message.text == text
    assert labels(message) == ["✅ Kept", "🚫 Not for me", "🎲 Another one", "🔗 Source"]
    assert message.button_data("✅ Kept") == f"uk:{tid}"
    assert await favorite_ids(bot, ADA) == {tid}

    assert await press(bot, ADA, message, f"uk:{tid}") == "Removed from your favorites."
    assert labels(message) == FRESH and message.text == text
    assert await favorite_ids(bot, ADA) == set()
    assert len(bot.received(ADA)) == 1  # all of it by editing, nothing new sent
    assert_no_apology(bot)


async def test_a_kept_takeaway_says_kept_wherever_it_comes_again(bot: BotHarness) -> None:
    python = await takeaway_id(bot, "Python rules")
    [found] = await bot.send(ADA, "/search python")
    await press(bot, ADA, found, f"k:{python}")
    [again] = await bot.send(ADA, "/search python")
    assert labels(again)[0] == "✅ Kept"
    [bobs] = await bot.send(BOB, "/search python")
    assert labels(bobs)[0] == "❤️ Keep"  # kept in ADA's chat only
    for _ in range(300):  # (15/16)^300: never missing by chance
        [other] = await bot.send(ADA, "/random")
        pace(bot)
        if review_id(other) == python:
            break
    else:
        pytest.fail("the kept takeaway never came in 300 /random")
    assert labels(other)[0] == "✅ Kept"


async def test_every_fifth_daily_brings_back_a_favorite(bot: BotHarness) -> None:
    python = await takeaway_id(bot, "Python rules")
    [found] = await bot.send(ADA, "/search python")
    await press(bot, ADA, found, f"k:{python}")
    await bot.send(ADA, "/start")
    for day in range(10):
        bot.clock.set(datetime(2026, 3, 2 + day, 9, tzinfo=UTC))
        await bot.deliver()
    dailies = bot.dailies(ADA)
    assert len(dailies) == 10
    assert review_id(dailies[4]) == python and review_id(dailies[9]) == python
    assert labels(dailies[4])[0] == "✅ Kept"
    assert all(labels(m)[0] == "❤️ Keep" for m in dailies if review_id(m) != python)


# --- not for me and undo ----------------------------------------------------------------


async def test_not_for_me_says_so_and_undo_restores_the_message(bot: BotHarness) -> None:
    [message] = await bot.send(ADA, "/random")
    tid = review_id(message)
    text, buttons, entities = message.text, message.buttons, message.entities
    assert any(e.type == "text_link" for e in entities)

    assert await press(bot, ADA, message, f"n:{tid}") == "🚫 You won't get this one again."
    assert message.text.startswith(text) and message.text.endswith(NOT_FOR_ME)
    assert labels(message) == ["❤️ Keep", "↩️ Undo", "🎲 Another one", "🔗 Source"]
    assert message.button_data("↩️ Undo") == f"u:{tid}"
    assert await discarded_ids(bot, ADA) == {tid}

    assert await press(bot, ADA, message, f"u:{tid}") == "↩️ Undone: it's back in your rounds."
    assert message.text == text and message.buttons == buttons
    assert message.entities == entities  # links and bold survive the round trip
    assert await discarded_ids(bot, ADA) == set()
    assert_no_apology(bot)


async def test_keep_after_not_for_me_takes_the_discard_back(bot: BotHarness) -> None:
    [message] = await bot.send(ADA, "/random")
    tid = review_id(message)
    text = message.text
    await press(bot, ADA, message, f"n:{tid}")
    assert await press(bot, ADA, message, f"k:{tid}") == "❤️ Kept. /favorites lists them."
    assert await discarded_ids(bot, ADA) == set()
    assert await favorite_ids(bot, ADA) == {tid}
    assert labels(message)[:2] == ["✅ Kept", "🚫 Not for me"]
    # The message no longer claims it will never come again.
    assert NOT_FOR_ME not in message.text and message.text == text


async def test_not_for_me_after_keep_lets_the_favorite_go(bot: BotHarness) -> None:
    [message] = await bot.send(ADA, "/random")
    tid = review_id(message)
    await press(bot, ADA, message, f"k:{tid}")
    await press(bot, ADA, message, f"n:{tid}")
    assert await favorite_ids(bot, ADA) == set()
    assert await discarded_ids(bot, ADA) == {tid}
    assert labels(message)[:2] == ["❤️ Keep", "↩️ Undo"]
    assert message.text.endswith(NOT_FOR_ME)


async def test_a_discarded_takeaway_never_comes_back_to_this_chat(bot: BotHarness) -> None:
    ids = sorted(await all_ids(bot))
    last = ids[-1]
    await bot.send(ADA, "/start")
    await bot.send(BOB, "/start")
    discarded = await mark_all_but(bot, ADA, last, "n")
    assert discarded == set(ids) - {last}

    assert set(await random_ids(bot, ADA, 10)) == {last}
    [another] = await bot.send(ADA, "/random")
    for _ in range(3):
        pace(bot)
        [another] = await bot.press(ADA, another, "another")
        assert review_id(another) == last

    for day in range(5):
        bot.clock.set(datetime(2026, 3, 2 + day, 9, tzinfo=UTC))
        await bot.deliver()
    ada_days = [review_id(m) for m in bot.dailies(ADA)]
    bob_days = [review_id(m) for m in bot.dailies(BOB)]
    assert ada_days == [last] * 5
    assert len(bob_days) == 5 and set(bob_days) - {last}  # BOB still gets what ADA dropped
    assert set(await random_ids(bot, BOB, 10)) - {last}
    [today] = await bot.send(ADA, "/today")
    assert review_id(today) == last
    assert_no_apology(bot)


async def test_discarding_everything_is_answered_with_a_hint(bot: BotHarness) -> None:
    ids = await all_ids(bot)
    last = max(ids)
    await mark_all_but(bot, ADA, last, "n")
    [message] = await bot.send(ADA, "/random")
    await press(bot, ADA, message, f"n:{last}")
    assert "Nothing to send" in await bot.reply_text(ADA, "/random")
    assert "Nothing to send" in await bot.reply_text(ADA, "/today")
    await press(bot, ADA, message, "another")
    assert "Nothing to send" in bot.received(ADA)[-1].text
    await press(bot, ADA, message, f"u:{last}")
    assert review_ids((await bot.send(ADA, "/random"))[0]) == [last]


# --- stale presses ----------------------------------------------------------------------


async def test_stale_presses_are_answered_and_change_nothing(bot: BotHarness) -> None:
    [message] = await bot.send(ADA, "/random")
    tid = review_id(message)
    await press(bot, ADA, message, f"k:{tid}")
    kept = labels(message)
    assert await press(bot, ADA, message, f"k:{tid}", forged=True) == "Already in your favorites."
    assert labels(message) == kept and await favorite_ids(bot, ADA) == {tid}

    await press(bot, ADA, message, f"uk:{tid}")
    assert (
        await press(bot, ADA, message, f"uk:{tid}", forged=True)
        == "Not in your favorites any more."
    )
    assert labels(message) == FRESH and await favorite_ids(bot, ADA) == set()

    await press(bot, ADA, message, f"n:{tid}")
    said = message.text
    assert await press(bot, ADA, message, f"n:{tid}", forged=True) == "Already marked: not for you."
    assert message.text == said and message.text.count(NOT_FOR_ME) == 1

    await press(bot, ADA, message, f"u:{tid}")
    plain = message.text
    assert await press(bot, ADA, message, f"u:{tid}", forged=True) == "Already undone."
    assert message.text == plain and labels(message) == FRESH
    assert await discarded_ids(bot, ADA) == set()
    assert_no_apology(bot)


async def test_an_old_message_catches_up_with_a_press_made_elsewhere(bot: BotHarness) -> None:
    [results] = await bot.send(ADA, "/search python")
    [tid] = review_ids(results)
    for _ in range(300):  # (15/16)^300: never missing by chance
        pace(bot)
        [other] = await bot.send(ADA, "/random")
        if review_id(other) == tid:
            break
    else:
        pytest.fail("the takeaway never came in 300 /random")
    await press(bot, ADA, other, f"k:{tid}")
    # The search result still shows "❤️ Keep": pressing it does what it says, once.
    assert labels(results)[0] == "❤️ Keep"
    assert await press(bot, ADA, results, f"k:{tid}") == "Already in your favorites."
    assert labels(results)[0] == "✅ Kept"
    assert await favorite_ids(bot, ADA) == {tid}


# --- forged and malformed data ----------------------------------------------------------


async def test_forged_review_data_gets_polite_toasts(bot: BotHarness) -> None:
    [message] = await bot.send(ADA, "/random")
    tid = review_id(message)
    other = next(i for i in await all_ids(bot) if i != tid)
    before = (message.text, message.buttons)
    forged = {
        f"k:{other}": EXPIRED,  # a takeaway this message is not about
        f"n:{other}": EXPIRED,
        "k:999999999": EXPIRED,
        f"zz:{tid}": EXPIRED,  # unknown verb
        f"k:{tid}:1": EXPIRED,  # wrong arity
        "k:": EXPIRED,
        "k:abc": EXPIRED,
        "k:-1": EXPIRED,
        f"k:-{tid}": EXPIRED,
        "k:" + "9" * 13: EXPIRED,
        "k:" + "1" * 62: EXPIRED,
        "k" * 64: EXPIRED,
        "another:1": EXPIRED,
        " k:1": EXPIRED,
        f"K:{tid}": EXPIRED,
        "🙂": EXPIRED,
        f"h:{tid}": ONLY_BOT_ADMINS,  # a non-admin's own message
        f"sh:{tid}": ONLY_BOT_ADMINS,
        "uh:1:0": ONLY_BOT_ADMINS,
        "hp:0": ONLY_BOT_ADMINS,
    }
    for data, expected in forged.items():
        assert await press(bot, ADA, message, data, forged=True) == expected, data
    assert (message.text, message.buttons) == before
    assert await favorite_ids(bot, ADA) == set() and await discarded_ids(bot, ADA) == set()
    hidden = await bot.store.db.execute_fetchall("SELECT * FROM hidden_takeaways")
    assert list(hidden) == []
    assert len(bot.received(ADA)) == 1
    assert_no_apology(bot)


async def test_a_press_cannot_reach_another_chats_search(bot: BotHarness) -> None:
    [bobs] = await bot.send(BOB, "/search you")
    more = next(d for d in bobs.callback_data if d.startswith("more:"))
    [mine] = await bot.send(ADA, "/random")
    toast = await press(bot, ADA, mine, more, forged=True)
    assert toast == "This search has expired. Send /search again."
    assert len(bot.received(ADA)) == 1


# --- several takeaways in one message ---------------------------------------------------


async def test_search_results_have_a_numbered_row_each(bot: BotHarness) -> None:
    [results] = await bot.send(ADA, "/search you")
    ids = review_ids(results)
    assert len(ids) == 5
    for number, row in enumerate(results.buttons[:5], start=1):
        assert [b["text"] for b in row][:2] == [f"❤️ {number}", f"🚫 {number}"]
    assert [b["text"] for b in results.buttons[5]] == ["🎲 Another one"]
    assert [b["text"] for b in results.buttons[6]] == ["More results ▸"]
    text = results.text

    await press(bot, ADA, results, f"k:{ids[1]}")
    assert await favorite_ids(bot, ADA) == {ids[1]}
    firsts = [row[0]["text"] for row in results.buttons[:5]]
    assert firsts == ["❤️ 1", "✅ 2", "❤️ 3", "❤️ 4", "❤️ 5"]

    await press(bot, ADA, results, f"n:{ids[3]}")
    seconds = [row[1]["text"] for row in results.buttons[:5]]
    assert seconds == ["🚫 1", "🚫 2", "🚫 3", "↩️ 4", "🚫 5"]
    assert results.text == text  # a list's text stays; its row says "undo"
    assert await discarded_ids(bot, ADA) == {ids[3]}

    more = results.button_data("More results ▸")
    [page2] = await bot.press(ADA, results, more)
    assert "(6–" in page2.text and set(review_ids(page2)).isdisjoint(ids)
    assert_no_apology(bot)


# --- admins: hide for everyone ----------------------------------------------------------


async def test_admins_see_hide_and_nobody_else_does(make_bot: Make) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    [mine] = await bot.send(ADMIN, "/random")
    assert labels(mine) == [*FRESH, "🙈 Hide for everyone"]
    [results] = await bot.send(ADMIN, "/search you")
    assert [row[-1]["text"] for row in results.buttons[:5]] == [f"🙈 {n}" for n in range(1, 6)]
    [theirs] = await bot.send(STRANGER, "/random")
    assert labels(theirs) == FRESH
    [searched] = await bot.send(STRANGER, "/search you")
    assert not [d for d in searched.callback_data if d.startswith("h:")]


async def test_hide_needs_an_admin_in_their_own_chat(make_bot: Make) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    [theirs] = await bot.send(STRANGER, "/random")
    tid = review_id(theirs)
    assert await press(bot, STRANGER, theirs, f"h:{tid}", forged=True) == ONLY_BOT_ADMINS

    group = -4100
    bot.standin.add_chat(group, type="group", title="Readers")
    bot.standin.set_admins(group, [ADMIN], owner=ADMIN)
    [in_group] = await bot.send(group, "/random", user_id=ADMIN)
    assert "🙈 Hide for everyone" not in labels(in_group)
    gid = review_id(in_group)
    toast = await press(bot, group, in_group, f"h:{gid}", user_id=ADMIN, forged=True)
    assert toast == ONLY_BOT_ADMINS
    rows = await bot.store.db.execute_fetchall("SELECT * FROM hidden_takeaways")
    assert list(rows) == []
    assert_no_apology(bot)


async def test_hidden_takeaways_leave_search_and_random_and_survive_reimport(
    make_bot: Make,
) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    python = await takeaway_id(bot, "Python rules")
    [found] = await bot.send(ADMIN, "/search python")
    assert review_ids(found) == [python]
    toast = await press(bot, ADMIN, found, f"h:{python}")
    assert toast == "🙈 Hidden for everyone. /hidden lists them."
    assert labels(found)[-1] == "👁 Unhide"
    assert await press(bot, ADMIN, found, f"h:{python}", forged=True) == "Already hidden."
    assert (
        await press(bot, ADMIN, found, f"k:{python}", forged=True)
        == "This takeaway was removed from the collection."
    )

    for who in (ADMIN, STRANGER):
        assert "Nothing found" in await bot.reply_text(who, "/search python")

    summary = await import_paths(bot.store, [SAMPLES])
    assert summary.new == 0
    assert "Nothing found" in await bot.reply_text(STRANGER, "/search python")

    # Hide everything else too: then /random, /today and dailies have one takeaway left.
    last = max(await all_ids(bot))
    if last == python:
        last = min(await all_ids(bot))
    await mark_all_but(bot, ADMIN, last, "h", done=[python])
    await import_paths(bot.store, [SAMPLES])
    assert set(await random_ids(bot, STRANGER, 10)) == {last}
    await bot.send(STRANGER, "/start")
    bot.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    await bot.deliver()
    assert [review_id(m) for m in bot.dailies(STRANGER)] == [last]
    assert_no_apology(bot)


async def test_unhide_from_hidden_brings_it_back_to_search(make_bot: Make) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    python = await takeaway_id(bot, "Python rules")
    [found] = await bot.send(ADMIN, "/search python")
    await press(bot, ADMIN, found, f"h:{python}")
    await import_paths(bot.store, [SAMPLES])

    [listing] = await bot.send(ADMIN, "/hidden")
    assert "Hidden for everyone" in listing.text and "Python rules" in listing.text
    assert labels(listing) == ["👁 Unhide 1"]
    assert await bot.send(STRANGER, "/hidden") == []

    toast = await press(bot, ADMIN, listing, listing.button_data("👁 Unhide 1"))
    assert toast == "👁 Visible to everyone again."
    assert listing.edited and "Nothing is hidden" in listing.text
    [back] = await bot.send(STRANGER, "/search python")
    assert review_ids(back) == [python]

    # The same unhide again (a stale list); the search message still offers its unhide.
    toast = await press(bot, ADMIN, listing, f"uh:{python}:0", forged=True)
    assert toast == "Not hidden any more."
    assert labels(found)[-1] == "👁 Unhide"
    assert await press(bot, ADMIN, found, f"sh:{python}") == "Not hidden."
    assert labels(found)[-1] == "🙈 Hide for everyone"  # caught up
    await press(bot, ADMIN, found, f"h:{python}")
    assert await press(bot, ADMIN, found, f"sh:{python}") == "👁 Visible to everyone again."
    assert labels(found)[-1] == "🙈 Hide for everyone"
    assert_buttons_fit(bot)
    assert_no_apology(bot)


async def test_hidden_pages_past_five(make_bot: Make) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    [results] = await bot.send(ADMIN, "/search you")
    for tid in review_ids(results):
        bot.clock.advance(minutes=1)
        await press(bot, ADMIN, results, f"h:{tid}")
    [page2] = await bot.press(ADMIN, results, results.button_data("More results ▸"))
    bot.clock.advance(minutes=1)
    await press(bot, ADMIN, page2, f"h:{review_ids(page2)[0]}")
    [listing] = await bot.send(ADMIN, "/hidden")
    assert "(1–5 of 6)" in listing.text
    await press(bot, ADMIN, listing, listing.button_data("Next ▸"))
    assert "(6–6 of 6)" in listing.text and listing.edited
    await press(bot, ADMIN, listing, listing.button_data("👁 Unhide 1"))
    # The last page emptied: the list steps back to the page before.
    assert "(1–5 of 5)" in listing.text
    assert len(bot.received(ADMIN)) == 3
    assert_buttons_fit(bot)


async def test_help_for_admins_mentions_hidden(make_bot: Make) -> None:
    bot = await make_bot(admin_ids=[ADMIN])
    assert "/hidden" in await bot.reply_text(ADMIN, "/help")
    assert "/hidden" not in await bot.reply_text(STRANGER, "/help")


async def test_in_a_group_only_admins_keep_or_turn_down(bot: BotHarness) -> None:
    group, owner, member = -4242, 7001, 7002
    bot.standin.add_chat(group, type="group", title="Readers")
    bot.standin.set_admins(group, [owner], owner=owner)
    bot.standin.add_member(group, member)
    [message] = await bot.send(group, "/random", user_id=member)
    takeaway_id = review_id(message)
    refused = "Only this group's admins can change what it gets."
    assert await press(bot, group, message, f"k:{takeaway_id}", user_id=member) == refused
    assert await press(bot, group, message, f"n:{takeaway_id}", user_id=member) == refused
    assert not message.edited
    assert await press(bot, group, message, f"n:{takeaway_id}", user_id=owner) == (
        "🚫 You won't get this one again."
    )
    assert "↩️ Undo" in labels(message)
    assert_no_apology(bot)
