"""Kindle's My Clippings.txt: languages, notes, repeats and edited highlights."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sources import (
    ParseError,
    Report,
    Takeaway,
    detect_format,
    parse_path,
    parse_text,
    parse_text_report,
)

PRAGMATIC = "The Pragmatic Programmer (20th Anniversary Edition)"


@pytest.mark.parametrize("language", ["en", "de", "es", "fr"])
def test_every_device_language_reads_the_same(fixtures: Path, language: str) -> None:
    path = fixtures / f"kindle-{language}.txt"

    assert detect_format(path.read_text(encoding="utf-8"), path.name) == "kindle"
    first, second = parse_path(path)

    assert (first.title, first.author) == ("Der Process", "Franz Kafka")
    assert first.text == "Jemand musste Josef K. verleumdet haben."
    assert first.location == "Location 10-12"
    assert first.highlighted_at == "2019-03-05T10:12:00"
    assert first.note == "Berühmter erster Satz."
    assert second.text == "Es ist nicht notwendig, alles für wahr zu halten."
    assert second.location == "Location 100-102"
    assert second.highlighted_at == "2019-03-06T18:00:05"
    assert second.note is None


def test_edits_repeats_bookmarks_and_empty_clips_fold_away(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "kindle-edits.txt")

    assert [t.text for t in takeaways] == [
        "Care about your craft.",
        "Don't live with broken windows. Fix each one as soon as it is discovered.",
        "A clip without an author.",
        "You have power over your mind",
        "Remember this in the morning.",
    ]


def test_extended_highlight_keeps_only_its_latest_version(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "kindle-edits.txt")
    extended = takeaways[1]

    assert extended.location == "Location 300-305"
    assert extended.highlighted_at == "2019-03-06T21:05:00"
    assert sum("broken windows" in t.text for t in takeaways) == 1


def test_shortened_highlight_keeps_only_its_latest_version(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "kindle-edits.txt")

    assert sum("power over your mind" in t.text for t in takeaways) == 1
    assert takeaways[3].location == "Location 1500-1501"


def test_title_splits_at_the_last_parentheses_and_author_may_be_missing(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "kindle-edits.txt")

    assert (takeaways[0].title, takeaways[0].author) == (PRAGMATIC, "David Thomas;Andrew Hunt")
    assert (takeaways[2].title, takeaways[2].author) == ("Personal Notes", None)
    assert takeaways[2].highlighted_at == "2019-03-07T08:05:00"  # day-month order


def test_note_attaches_to_the_highlight_it_was_written_on(fixtures: Path) -> None:
    takeaways = parse_path(fixtures / "kindle-edits.txt")

    assert takeaways[0].note == "Why spend your life developing software unless you care?"
    assert [t.note for t in takeaways[1:]] == [None] * 4


def test_note_without_a_highlight_is_kept_and_bad_dates_are_unknown(fixtures: Path) -> None:
    note = parse_path(fixtures / "kindle-edits.txt")[-1]

    assert (note.title, note.location, note.highlighted_at) == (
        "Meditations",
        "Location 2000",
        None,
    )


def test_note_inside_a_range_attaches_and_ending_there_wins() -> None:
    clips = "\n==========\n".join(
        [
            "Book (A)\n- Your Highlight on Location 10-20 | Added on May 1, 2020\n\nWide.",
            "Book (A)\n- Your Highlight on Location 14-15 | Added on May 1, 2020\n\nNarrow.",
            "Book (A)\n- Your Note on Location 15 | Added on May 1, 2020\n\nOn narrow.",
            "Book (A)\n- Your Note on Location 18 | Added on May 1, 2020\n\nOn wide.",
            "Other (B)\n- Your Note on Location 15 | Added on May 1, 2020\n\nOther book.",
        ]
    )

    wide, narrow, other = parse_text(clips + "\n==========\n", "My Clippings.txt")

    assert (wide.text, wide.note) == ("Wide.", "On wide.")
    assert (narrow.text, narrow.note) == ("Narrow.", "On narrow.")
    assert (other.text, other.title, other.note) == ("Other book.", "Other", None)
    assert wide.highlighted_at == "2020-05-01"


def test_page_only_clips_and_old_abbreviated_ranges() -> None:
    clips = (
        "Scan (X)\n- Your Highlight on page 7 | Added on Monday, June 1, 2020 1:02:03 PM\n\nA.\n"
        "==========\n"
        "Old (Y)\n- Highlight Loc. 2054-56 | Added on Monday, June 1, 2020, 12:05 AM\n\nB.\n"
        "==========\n"
        "Old (Y)\n- Highlight Loc. 2054-58 | Added on Monday, June 1, 2020, 12:06 AM\n\nB. C.\n"
        "==========\n"
    )

    page, old = parse_text(clips, "clips.txt")

    assert (page.location, page.highlighted_at) == ("page 7", "2020-06-01T13:02:03")
    assert (old.text, old.location, old.highlighted_at) == (
        "B. C.",
        "Location 2054-2058",
        "2020-06-01T00:06:00",
    )


def test_same_text_at_another_place_is_not_a_repeat() -> None:
    clip = (
        "Book (A)\n- Your Highlight on Location {} | Added on May 1, 2020\n\nAgain.\n==========\n"
    )

    takeaways = parse_text(clip.format("10-11") + clip.format("90-91"), "c.txt")

    assert [t.location for t in takeaways] == ["Location 10-11", "Location 90-91"]


def test_only_bookmarks_is_reported_not_an_error() -> None:
    """Skips by design are reported, not failures: the summary says "1 bookmarks"."""
    clip = "Book (A)\n- Your Bookmark on Location 5 | Added on May 1, 2020\n\n\n==========\n"

    takeaways, report = parse_text_report(clip, "My Clippings.txt")

    assert takeaways == []
    assert report.skipped == {"bookmarks": 1}
    assert not report.unreadable


def test_many_highlights_of_one_book_stay_fast() -> None:
    clip = "Big (A)\n- Your Highlight on Location {0}-{1} | Added on May 1, 2020\n\nIdea {0}.\n"
    text = "==========\n".join(clip.format(i * 3, i * 3 + 5) for i in range(20_000))

    assert len(parse_text(text, "big.txt")) == 20_000


# --- devices in other languages and firmware generations -------------------------------


def clippings(*clips: str) -> str:
    return "".join(f"{clip}\n==========\n" for clip in clips)


def read(text: str) -> tuple[list[Takeaway], Report]:
    return parse_text_report(text, "My Clippings.txt")


def test_2025_firmware_underline_is_a_highlight() -> None:
    (item,) = parse_text(
        clippings(
            "Book (A)\n- Your Underline on page 33 | Location 490-491 | "
            "Added on Friday, 4 July 2025 08:01:02\n\nUnderlined words."
        ),
        "My Clippings.txt",
    )

    assert (item.text, item.location, item.highlighted_at) == (
        "Underlined words.",
        "Location 490-491",
        "2025-07-04T08:01:02",
    )


def test_chinese_clips_with_location_page_note_and_bookmark() -> None:
    takeaways, report = read(
        clippings(
            "活着 (余华)\n- 您在位置 #1234-1235的标注 | 添加于 2019年3月2日星期六 下午10:08:09\n\n"
            "人是为活着本身而活着的。",
            "活着 (余华)\n- 您在位置 #1235 的笔记 | 添加于 2019年3月2日星期六 下午10:09:00\n\n"
            "好句子",
            "活着 (余华)\n- 您在位置 #1300 的书签 | 添加于 2019年3月2日星期六 下午10:10:00\n\n",
            "活着 (余华)\n- 您在第 12 页（位置 #180-182）的标注 | "
            "添加于 2019年3月3日星期日 上午12:05:00\n\n"
            "少年去游荡，中年想掘藏，老年做和尚。",
            "活着 (余华)\n- 您在第 126-127 页的标注 | 添加于 2019年3月4日星期一 上午9:00:00\n\n"
            "只有页码的标注。",
            "活着 (余华)\n- 您在位置 #2000-2001的标注 | 添加于 2019年3月5日星期二 上午9:00:00\n\n"
            "<您已达到本内容的剪贴上限>",
        )
    )

    first, paged, page_only = takeaways
    assert (first.title, first.author, first.location) == ("活着", "余华", "Location 1234-1235")
    assert (first.highlighted_at, first.note) == ("2019-03-02T22:08:09", "好句子")
    assert (paged.location, paged.highlighted_at) == ("Location 180-182", "2019-03-03T00:05:00")
    assert page_only.location == "page 126-127"
    assert report.skipped == {"bookmarks": 1, "clipping-limit placeholders": 1}
    assert report.merged == {"notes added to their highlight": 1}


def test_japanese_clips_with_and_without_page_and_the_clipping_limit() -> None:
    book = "嫌われる勇気 (岸見 一郎)"
    takeaways, report = read(
        clippings(
            f"{book}\n- 12ページ|位置No. 180-182のハイライト |"
            f"作成日: 2020年5月3日日曜日 10:15:01\n\n"
            "すべての悩みは対人関係の悩みである。",
            f"{book}\n- 12ページ|位置No. 182のメモ |"
            f"作成日: 2020年5月3日日曜日 10:16:00\n\nなるほど",
            f"{book}\n- 位置No. 300-301のハイライト |作成日: 2020年5月4日月曜日 午後1:00:00\n\n"
            "ページのない端末。",
            f"{book}\n- 13ページ|位置No. 400のブックマーク |"
            f"作成日: 2020年5月4日月曜日 13:01:00\n\n",
            f"{book}\n- 位置No. 500-510のハイライト |作成日: 2020年5月5日火曜日 9:00:00\n\n"
            " <このアイテムのクリップの上限に達しました>",
            f"{book}\n- 位置No. 520-530のハイライト |作成日: 2020年5月5日火曜日 9:01:00\n\n"
            "途中で切れた文 <このアイテムのクリップの上限に達しました>",
        )
    )

    paged, plain, cut = takeaways
    assert (paged.location, paged.highlighted_at, paged.note) == (
        "Location 180-182",
        "2020-05-03T10:15:01",
        "なるほど",
    )
    assert (plain.location, plain.highlighted_at) == ("Location 300-301", "2020-05-04T13:00:00")
    assert cut.text == "途中で切れた文"
    assert report.skipped == {"bookmarks": 1, "clipping-limit placeholders": 1}


def test_russian_clips_with_en_dashes() -> None:
    book = "Камо грядеши (Генрик Сенкевич)"
    takeaways, report = read(
        clippings(
            f"{book}\n– Ваш выделенный отрывок в месте 637–640 | "
            "Добавлено: среда, 3 марта 2021 г. в 9:01:02"
            "\n\n– А воздух, — сказал он, — основа всего.",
            f"{book}\n– Ваша заметка в месте 640 | Добавлено: среда, 3 марта 2021 г. в 9:02:00\n\n"
            "Диоген",
            f"{book}\n– Ваша закладка в месте 700 | "
            f"Добавлено: среда, 3 марта 2021 г. в 9:03:00\n\n",
            f"{book}\n- Ваш выделенный отрывок на странице 45 | Местоположение 1234-1236 | "
            "Добавлено: понедельник, 30 декабря 2024 г. в 14:46:33\n\nВторой отрывок.",
        )
    )

    first, second = takeaways
    assert first.text == "– А воздух, — сказал он, — основа всего."
    assert (first.location, first.highlighted_at, first.note) == (
        "Location 637-640",
        "2021-03-03T09:01:02",
        "Диоген",
    )
    assert (second.location, second.highlighted_at) == ("Location 1234-1236", "2024-12-30T14:46:33")
    assert report.skipped == {"bookmarks": 1}


def test_portuguese_in_both_firmware_forms() -> None:
    book = "Crônicas de Nárnia (C.S.Lewis)"
    takeaways, report = read(
        clippings(
            f"{book}\n- Seu destaque ou posição 333-334 | "
            "Adicionado: sábado, 16 de maio de 2015 13:16:48\n\nLembre-se do túnel.",
            f"{book}\n- Sua nota ou posição 334 | "
            f"Adicionado: sábado, 16 de maio de 2015 13:16:50\n\n"
            "Multiversos?",
            f"{book}\n- Seu destaque na página 5 | posição 70-71 | "
            "Adicionado: terça-feira, 10 de outubro de 2023 14:14:00\n\nNa página.",
            f"{book}\n- Seu marcador na página 6 | posição 80 | Adicionado: terça-feira, 10 de "
            "outubro de 2023 14:15:00\n\n",
            f"{book}\n- Seu destaque na página 9 | posição 90-91 | Adicionado: terça-feira, 10 de "
            "outubro de 2023 14:16:00\n\n‹Você alcançou o limite de recortes para este item>",
        )
    )

    old_form, new_form = takeaways
    assert (old_form.location, old_form.note) == ("Location 333-334", "Multiversos?")
    assert old_form.highlighted_at == "2015-05-16T13:16:48"
    assert (new_form.location, new_form.highlighted_at) == (
        "Location 70-71",
        "2023-10-10T14:14:00",
    )
    assert report.skipped == {"bookmarks": 1, "clipping-limit placeholders": 1}


def test_dutch_ranges_and_european_placeholders() -> None:
    takeaways, report = read(
        clippings(
            "Max Havelaar (Multatuli)\n- Je markering op pagina 6 | locatie 36 t/m 40 | "
            "Toegevoegd op maandag 30 september 2019 18:00:39\n\nIk ben makelaar in koffie.",
            "Der Process (Franz Kafka)\n- Ihre Markierung bei Position 10-12 | Hinzugefügt am "
            "Dienstag, 5. März 2019 10:12:00\n\n<Sie haben das Clipping-Limit für diesen "
            "Artikel erreicht>",
        )
    )

    (item,) = takeaways
    assert (item.location, item.highlighted_at) == ("Location 36-40", "2019-09-30T18:00:39")
    assert report.skipped == {"clipping-limit placeholders": 1}


def test_old_devices_abbreviated_ranges_two_digit_years_and_time_zones() -> None:
    (item,) = parse_text(
        clippings(
            "Old Book (Someone)\n- Highlight Loc. 242-43  | Added on Monday, 3 December 12 "
            "19:00:12 Greenwich Mean Time\n\nAn old clip."
        ),
        "My Clippings.txt",
    )

    assert (item.location, item.highlighted_at) == ("Location 242-243", "2012-12-03T19:00:12")


def test_a_note_edited_on_the_device_keeps_its_latest_version() -> None:
    takeaways, report = read(
        clippings(
            "Book (A)\n- Your Note on Location 50 | Added on May 1, 2020\n\nFirst thought",
            "Book (A)\n- Your Note on Location 50 | Added on May 2, 2020"
            "\n\nFirst thought, refined.",
            "Book (A)\n- Your Note on Location 50 | Added on May 3, 2020\n\nAnother note here.",
        )
    )

    assert [t.text for t in takeaways] == ["First thought, refined.", "Another note here."]
    assert report.merged == {"earlier versions of edited notes": 1}


def test_an_extended_highlight_supersedes_one_that_ended_with_a_full_stop() -> None:
    takeaways, report = read(
        clippings(
            "Gewohnheiten (B)\n- Ihre Markierung bei Position 100-101 | Hinzugefügt am Dienstag, "
            "5. März 2019 10:12:00\n\nKleine Gewohnheiten summieren sich.",
            "Gewohnheiten (B)\n- Ihre Markierung bei Position 100-103 | Hinzugefügt am Dienstag, "
            "5. März 2019 10:13:00\n\nKleine Gewohnheiten summieren sich, und kleine Ausreden "
            "auch.",
            "Gewohnheiten (B)\n- Ihre Markierung bei Position 100-101 | Hinzugefügt am Dienstag, "
            "5. März 2019 10:14:00\n\nEin anderer Satz an derselben Stelle.",
        )
    )

    assert [t.text for t in takeaways] == [
        "Kleine Gewohnheiten summieren sich, und kleine Ausreden auch.",
        "Ein anderer Satz an derselben Stelle.",
    ]
    assert report.merged == {"earlier versions of edited highlights": 1}


def test_a_file_mixing_languages_bom_and_newlines_loses_nothing() -> None:
    clips = [
        "Book (A)\n- Your Highlight on Location 1-2 | Added on May 1, 2020\n\nEnglish.",
        "Buch (B)\n- Ihre Markierung bei Position 3-4 | Hinzugefügt am 5. März 2019\n\nDeutsch.",
        "Libro (C)\n- Tu subrayado en la posición 5-6 | Añadido el 12 de enero de 2019\n\nEspañol.",
        "Livre (D)\n- Votre surlignement sur la page 2 | emplacement 7-8 | Ajouté le samedi 12 "
        "janvier 2019 14:30:01\n\nFrançais.",
        "Libro (E)\n- La tua evidenziazione alla posizione 9-10 | Aggiunto in data lunedì 30 "
        "settembre 2019 18:00:39\n\nItaliano.",
        "书 (F)\n- 您在位置 #11-12的标注 | 添加于 2019年3月2日星期六 下午10:08:09\n\n中文。",
        "本 (G)\n- 位置No. 13-14のハイライト |作成日: 2020年5月3日日曜日 10:15:01\n\n日本語。",
        "Книга (H)\n– Ваш выделенный отрывок в месте 15–16 | Добавлено: 3 марта 2021 г.\n\n"
        "Русский.",
        "Livro (I)\n- Seu destaque ou posição 17-18 | Adicionado: 16 de maio de 2015\n\nPortuguês.",
        "Boek (J)\n- Je markering op locatie 19-20 | Toegevoegd op 30 september 2019"
        "\n\nNederlands.",
    ]
    lines = "".join(f"\ufeff{clip}\n==========\n" for clip in clips).split("\n")
    text = "".join(line + ("\r\n" if index % 2 else "\n") for index, line in enumerate(lines))

    takeaways, report = read(text)

    assert [t.text for t in takeaways] == [clip.rsplit("\n", 1)[1] for clip in clips]
    assert all(t.location and t.highlighted_at and t.title for t in takeaways)
    assert (report.merged, report.skipped, report.unreadable) == ({}, {}, [])


def test_a_clip_that_cannot_be_read_is_named_with_its_line() -> None:
    text = clippings(
        "Book (A)\n- Your Highlight on Location 1-2 | Added on May 1, 2020\n\nFine.",
        "Book (A)\n- Something new on Location 3 | Added on May 1, 2020\n\nUnknown kind.",
        "Book (A)\nno meta line at all\n\nBroken.",
    )

    takeaways, report = read(text)

    assert [t.text for t in takeaways] == ["Fine."]
    assert report.unreadable == [
        "My Clippings.txt:7: unknown clip kind: '- something new on location 3"
        " | added on may 1, 2020'",
        "My Clippings.txt:12: no Kindle meta line: 'no meta line at all'",
    ]
    with pytest.raises(ParseError, match=r"My Clippings.txt:7: unknown clip kind.*1 more"):
        parse_text(text, "My Clippings.txt")


def test_the_cut_off_end_of_a_clip_before_the_first_one_is_reported() -> None:
    text = "the end of a clip\n==========\n" + clippings(
        "Book (A)\n- Your Highlight on Location 1-2 | Added on May 1, 2020\n\nFine."
    )

    takeaways, report = read(text)

    assert [t.text for t in takeaways] == ["Fine."]
    assert report.skipped == {"cut-off clip ends at the start of the file": 1}


def test_kindle_clips_without_separators_are_refused_not_read_as_a_list() -> None:
    text = (
        "Book (A)\n- Your Highlight on Location 1-2 | Added on May 1, 2020\n\nOne.\n\n"
        "Book (A)\n- Your Highlight on Location 3-4 | Added on May 1, 2020\n\nTwo.\n"
    )

    with pytest.raises(ParseError, match=r"looks like Kindle clippings.*=========="):
        parse_text(text, "My Clippings.txt")


def test_a_clip_without_a_title_line_and_an_article_clip_are_read() -> None:
    untitled, article = parse_text(
        "\n- Your Highlight on Location 1-2 | Added on May 1, 2020\n\nNo title.\n==========\n"
        "Blog (Web)\n- Clip This Article at Location 850 | Added on Thursday, 27 March 2014 "
        "10:01:23\n\nThe whole article.\n==========\n",
        "My Clippings.txt",
    )

    assert (untitled.title, untitled.text, untitled.location) == (None, "No title.", "Location 1-2")
    assert (article.title, article.text, article.location) == (
        "Blog",
        "The whole article.",
        "Location 850",
    )
