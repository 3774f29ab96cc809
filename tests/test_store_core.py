"""Storage core without Scrapy: part writer, key layout, local store (S3 is in test_store_s3.py)."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from pathlib import Path

import pytest

from pipelines.store.core import LocalStore, PartWriter, RunLayout, StorageError, open_store


def records(count: int) -> list[dict[str, object]]:
    return [{"id": f"r{i}", "text": f"Texte numéro {i} — accentué", "tags": ["a", "b"]} for i in range(count)]


def test_parts_roll_over_by_record_count_and_round_trip() -> None:
    writer = PartWriter(max_records=3)
    finished = [part for record in records(7) if (part := writer.add(record))]
    last = writer.finish()
    assert last is not None
    parts = [*finished, last]
    assert [p.records for p in parts] == [3, 3, 1]
    assert [p.name for p in parts] == ["part-00000.jsonl.gz", "part-00001.jsonl.gz", "part-00002.jsonl.gz"]
    lines = [json.loads(line) for p in parts for line in gzip.decompress(p.data).decode("utf-8").splitlines()]
    assert lines == records(7)
    assert all(p.sha256 == hashlib.sha256(p.data).hexdigest() for p in parts)
    assert writer.finish() is None  # nothing pending


def test_parts_roll_over_by_size() -> None:
    writer = PartWriter(max_records=10_000, max_bytes=200)
    finished = [part for record in records(20) if (part := writer.add(record))]
    assert finished and all(part.records < 20 for part in finished)


def test_same_records_give_the_same_bytes() -> None:
    def build() -> bytes:
        writer = PartWriter()
        for record in records(5):
            writer.add(record)
        part = writer.finish()
        assert part is not None
        return part.data

    assert build() == build()


def test_run_layout_keys() -> None:
    layout = RunLayout.new("openai", dt.datetime(2026, 11, 23, 8, 30, tzinfo=dt.UTC))
    assert layout.run_prefix.startswith("openai/2026-11-23/20261123T083000Z-")
    writer = PartWriter()
    writer.add({"id": 1})
    part = writer.finish()
    assert part is not None
    assert layout.part_key(part) == f"{layout.run_prefix}/part-00000.jsonl.gz"
    assert layout.manifest_key == f"{layout.run_prefix}/manifest.json"
    assert RunLayout.new("openai").run_id != RunLayout.new("openai").run_id


def test_local_store_writes_whole_objects(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "out")
    store.check()
    store.put("crawl/day/run/part-00000.jsonl.gz", b"data", "application/gzip")
    assert store.get("crawl/day/run/part-00000.jsonl.gz") == b"data"
    assert store.get("missing") is None
    assert store.list("crawl") == ["crawl/day/run/part-00000.jsonl.gz"]
    assert not [p for p in (tmp_path / "out").rglob(".*") if p.is_file()], "no temporary file left behind"


def test_unwritable_local_output_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="cannot write to output directory"):
        LocalStore(blocker / "out").check()


@pytest.mark.parametrize(
    ("uri", "message"),
    [("s3://", "names no bucket"), ("ftp://host/x", "unsupported scheme 'ftp'")],
)
def test_bad_output_uri(uri: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        open_store(uri)


def test_local_paths_and_file_uris(tmp_path: Path) -> None:
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    store = open_store(f"file://{tmp_path}/x")
    assert isinstance(store, LocalStore) and store.root == tmp_path / "x"
