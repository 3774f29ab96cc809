"""The shared benchmark data (`../shared/` beside the checkout, as CI places it, or NEWSDEDUP_SHARED)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("NEWSDEDUP_SHARED", Path(__file__).resolve().parents[3] / "shared"))


def benchmark_set(name: str) -> Path:
    """A benchmark folder of ../shared/bench/extraction; the test is skipped, saying why, when it is not there."""
    path = SHARED / "bench" / "extraction" / name
    if not (path / "ground-truth.json").is_file():
        pytest.skip(f"benchmark data {path} not found (CI places shared/ beside the checkout; or set NEWSDEDUP_SHARED)")
    return path
