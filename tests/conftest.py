"""Shared fixtures: the sample articles, real S3 (Ceph RGW) and Redis servers, an S3 bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import CephRGW, RedisServer

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "demo" / "samples"


@pytest.fixture(scope="session")
def sample_texts() -> list[str]:
    """The five sample articles as scraped (boilerplate and repetitions included)."""
    files = sorted(SAMPLES.glob("*.txt"))
    assert len(files) == 5, f"expected the five sample articles in {SAMPLES}"
    return [path.read_text(encoding="utf-8") for path in files]


@pytest.fixture(scope="session")
def ceph_rgw() -> Iterator[CephRGW]:
    """One throwaway single-node Ceph cluster + S3 gateway on 127.0.0.1 for the whole session."""
    with CephRGW() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One throwaway redis-server on 127.0.0.1 for the whole session."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def s3_bucket(ceph_rgw: CephRGW) -> str:
    """A fresh, empty bucket on the session's Ceph RGW."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    ceph_rgw.create_bucket(name)
    return name
