"""Storage core without Scrapy: part writer, key layout, local store (S3 is in test_store_s3.py)."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from pathlib import Path

import pytest

from pipelines.store.layout import RunLayout
from pipelines.store.objects import LocalStore, StorageError, open_store
from pipelines.store.parts import encode_part, part_name


def records(count: int) -> list[dict[str, object]]:
    return [{"id": f"r{i}", "text": f"Texte numéro {i} — accentué", "tags": ["a", "b"]} for i in range(count)]


def test_parts_round_trip_with_counts_and_checksums() -> None:
    part = encode_part(part_name(7), records(5))
    assert part.name == "part-00007.jsonl.gz"
    assert part.records == 5
    assert [json.loads(line) for line in gzip.decompress(part.data).decode("utf-8").splitlines()] == records(5)
    assert part.sha256 == hashlib.sha256(part.data).hexdigest()


def test_same_records_give_the_same_bytes() -> None:
    assert encode_part("p", records(5)).data == encode_part("p", iter(records(5))).data


def test_run_layout_keys() -> None:
    layout = RunLayout.new("openai", dt.datetime(2026, 11, 23, 8, 30, tzinfo=dt.UTC))
    assert layout.run_prefix.startswith("openai/2026-11-23/20261123T083000Z-")
    part = encode_part(part_name(0), [{"id": 1}])
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
