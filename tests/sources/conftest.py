"""Shared fixtures for the parser tests: where the small example exports live."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources"
SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "samples" / "svpino-16-ml-takeaways.md"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def sample() -> Path:
    return SAMPLE
