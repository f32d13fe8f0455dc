"""``import`` and ``parse`` say what every file gave, as text and as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CLIPS = (
    "Book (A)\n- Your Highlight on Location 1-2 | Added on May 1, 2020\n\nOne.\n==========\n"
    "Book (A)\n- Your Highlight on Location 1-2 | Added on May 1, 2020\n\nOne.\n==========\n"
    "Book (A)\n- Your Bookmark on Location 5 | Added on May 1, 2020\n\n\n==========\n"
    "Book (A)\n- Your Highlight on Location 1-2 | Added on May 2, 2020\n\nTwo.\n==========\n"
)


def run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    environ["DATABASE_PATH"] = str(db)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=db.parent,
        timeout=120,
    )


def test_import_json_gives_every_number_per_file_and_in_total(tmp_path: Path) -> None:
    clips = tmp_path / "My Clippings.txt"
    clips.write_text(CLIPS)

    result = run("import", "--json", str(clips), db=tmp_path / "t.db")

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    expected = {
        "parsed": 4,
        "new": 2,
        "updated": 0,
        "unchanged": 0,
        "merged": {"duplicates of earlier clips": 1},
        "skipped": {"bookmarks": 1},
        "failed": [],
    }
    assert summary == {"files": 1, **expected, "per_file": [{"file": str(clips), **expected}]}


def test_import_fails_with_the_line_of_a_clip_it_cannot_read(tmp_path: Path) -> None:
    clips = tmp_path / "My Clippings.txt"
    clips.write_text(CLIPS + "Book (A)\nNo meta line here\n\nLost?\n==========\n")

    result = run("import", str(clips), db=tmp_path / "t.db")

    assert result.returncode == 1
    assert f"failed: {clips}:22: no Kindle meta line: 'no meta line here'" in result.stdout
    assert "0 new" in result.stdout


def test_parse_says_what_it_merged_skipped_or_could_not_read(tmp_path: Path) -> None:
    clips = tmp_path / "My Clippings.txt"
    clips.write_text(CLIPS)

    result = run("parse", "--json", str(clips), db=tmp_path / "t.db")

    assert result.returncode == 0
    assert [item["text"] for item in json.loads(result.stdout)] == ["One.", "Two."]
    assert "2 takeaways; 1 merged (duplicates of earlier clips), 1 skipped (bookmarks)" in (
        result.stderr
    )
    clips.write_text(CLIPS + "Book (A)\n- Your Frob on Location 9 | Added on May 1, 2020\n\nX.\n")
    assert run("parse", str(clips), db=tmp_path / "t.db").returncode == 1
