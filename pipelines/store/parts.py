"""Records as parts: gzip JSON Lines objects, the same records always giving the same bytes."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FinishedPart:
    """A complete gzip JSON Lines part, ready to be written as one object."""

    name: str
    data: bytes
    records: int
    sha256: str

    def manifest_entry(self, key: str) -> dict[str, Any]:
        return {"key": key, "records": self.records, "bytes": len(self.data), "sha256": self.sha256}


def encode_part(name: str, records: Iterable[dict[str, Any]]) -> FinishedPart:
    """Records as one gzip JSON Lines object; the same records always give the same bytes (mtime=0).

    Level 6, gzip's own default: on article text it compresses as well as the module's default 9, a quarter faster.
    """
    buffer = io.BytesIO()
    count = 0
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
            count += 1
    data = buffer.getvalue()
    return FinishedPart(name, data, count, hashlib.sha256(data).hexdigest())


def read_part(data: bytes) -> list[dict[str, Any]]:
    """The records (or duplicates-log entries) of one gzip JSON Lines part."""
    return [json.loads(line) for line in gzip.decompress(data).splitlines() if line.strip()]


def part_name(index: int) -> str:
    return f"part-{index:05d}.jsonl.gz"


def duplicates_part_name(index: int) -> str:
    return f"duplicates-{index:05d}.jsonl.gz"
