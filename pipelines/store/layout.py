"""Keys of a run under the output URI: `<name>/<crawl date>/<run id>/…`, and the marker of an open run."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from pipelines.store.parts import FinishedPart


@dataclass(frozen=True)
class RunLayout:
    """Keys of one crawl run: `<name>/<crawl date>/<run id>/…` under the output URI."""

    crawl: str
    started: dt.datetime
    run_id: str

    @classmethod
    def new(cls, crawl: str, now: dt.datetime | None = None) -> RunLayout:
        now = now or dt.datetime.now(dt.UTC)
        return cls(crawl, now, f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}")

    @property
    def run_prefix(self) -> str:
        return f"{self.crawl}/{self.started:%Y-%m-%d}/{self.run_id}"

    def part_key(self, part: FinishedPart) -> str:
        return f"{self.run_prefix}/{part.name}"

    @property
    def manifest_key(self) -> str:
        return f"{self.run_prefix}/manifest.json"

    @property
    def open_marker_key(self) -> str:
        return open_marker_key(self.crawl, self.run_id)


def open_marker_key(crawl: str, run_id: str) -> str:
    """A small object that stands while a run is open: the next runs find killed runs without listing history."""
    return f"{crawl}/{OPEN_RUNS}/{run_id}"


OPEN_RUNS = "_state/open-runs"
