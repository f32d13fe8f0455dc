"""The benchmark suite, run at a tiny size so its code cannot rot.

Only the shape and correctness of what it produces are checked (the generated exports
parse to the takeaways they claim, figures are well formed); never a speed: timing
belongs to ``python -m bench``, not to the test suite.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import b_daily, b_import, cli, gen
from bench.report import Figure
from bench.sysinfo import thread_cpu_seconds
from bench.workspace import Sizes, Workspace
from bot.sources import detect_format, iter_source_files, parse_path

TINY = Sizes(
    import_highlights=60,
    import_files=5,
    collection=300,
    small_collection=100,
    search_queries=10,
    like_queries=2,
    picks=10,
    daily_subscribers=150,
    delivery_messages=10,
    limited_messages=10,
    command_users=5,
    limited_users=5,
    memory_subscribers=10,
)


def check_figures(figures: list[Figure], names: list[str]) -> None:
    assert [f.name for f in figures] == names
    for figure in figures:
        assert math.isfinite(figure.value) and figure.value >= 0
        assert figure.unit
        assert figure.verdict in {"PASS", "MISS", "INFO"}
        assert (figure.passed is None) == (figure.target == "")
        line = figure.line()
        assert line.startswith(figure.name) and line.endswith(
            (figure.verdict, figure.verdict + f"  # {figure.note}")
        )


def test_generated_exports_hold_exactly_the_takeaways_they_claim(tmp_path: Path) -> None:
    exports = gen.write_exports(tmp_path / "a", highlights=60, files=5, seed=3)
    files = sorted(iter_source_files([exports.folder]))
    assert len(files) == exports.files == 5
    formats = {detect_format(path.read_text(encoding="utf-8"), path.name) for path in files}
    assert formats == {"readwise-logseq", "readwise-markdown", "kindle"}
    assert sum(len(parse_path(path)) for path in files) == exports.highlights == 60
    # Seeded: the same arguments write the same bytes.
    again = gen.write_exports(tmp_path / "b", highlights=60, files=5, seed=3)
    for path in files:
        twin = again.folder / path.relative_to(exports.folder)
        assert twin.read_bytes() == path.read_bytes()


async def test_tiny_import_benchmark_end_to_end(tmp_path: Path) -> None:
    figures = await b_import.run(Workspace(tmp_path, 1, TINY, verbose=False))
    check_figures(figures, ["import.rate", "import.first_s", "import.reimport_speedup"])


async def test_tiny_daily_benchmark_end_to_end(tmp_path: Path) -> None:
    """Generated collection and subscribers, the real daily run with a no-op send."""
    figures = await b_daily.run(Workspace(tmp_path, 1, TINY, verbose=False))
    # Each thread's CPU is read from /proc, where there is one.
    threads = (
        ["daily.loop_thread_cpu", "daily.sqlite_thread_cpu", "daily.threads_overlap"]
        if thread_cpu_seconds()
        else []
    )
    check_figures(
        figures,
        [
            "daily.bookkeeping_total",
            "daily.bookkeeping_rate",
            "daily.bookkeeping_cpu",
            *threads,
            "daily.claims_alone",
            "daily.claims_alone_cpu",
            "daily.peak_rss_growth",
            "daily.bookkeeping_total_claims_500",
        ],
    )


def test_the_command_lists_every_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(cli.BENCHMARKS)
