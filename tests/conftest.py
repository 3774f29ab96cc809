"""Shared fixtures: paths to the sample articles and the project root."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "demo" / "samples"


@pytest.fixture(scope="session")
def sample_texts() -> list[str]:
    """The five sample articles as scraped (boilerplate and repetitions included)."""
    files = sorted(SAMPLES.glob("*.txt"))
    assert len(files) == 5, f"expected the five sample articles in {SAMPLES}"
    return [path.read_text(encoding="utf-8") for path in files]
