"""One figure per line: name, value, unit, target, PASS/MISS (INFO where there is no target)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: float
    unit: str
    target: str  # human form, e.g. ">= 20000"; "" for a figure that is only reported
    passed: bool | None  # None: no target (reported for information)
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "INFO"
        return "PASS" if self.passed else "MISS"

    def line(self) -> str:
        target = f"target {self.target}" if self.target else "(no target)"
        note = f"  # {self.note}" if self.note else ""
        return (
            f"{self.name:<34} {format_value(self.value):>12} {self.unit:<14} "
            f"{target:<24} {self.verdict}{note}"
        )

    def markdown_row(self) -> str:
        target = self.target or "—"
        note = self.note.replace("|", "/")
        return (
            f"| {self.name} | {format_value(self.value)} {self.unit} | {target} | "
            f"{self.verdict} | {note} |"
        )


def format_value(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if value == int(value):
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def at_least(name: str, value: float, unit: str, target: float, note: str = "") -> Figure:
    return Figure(name, value, unit, f">= {format_value(target)}", value >= target, note)


def at_most(name: str, value: float, unit: str, target: float, note: str = "") -> Figure:
    return Figure(name, value, unit, f"<= {format_value(target)}", value <= target, note)


def info(name: str, value: float, unit: str, note: str = "") -> Figure:
    return Figure(name, value, unit, "", None, note)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN when there are none)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]
