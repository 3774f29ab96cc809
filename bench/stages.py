"""Probes for `bench.pipeline`, loaded into the crawl with `-s ITEM_PROCESSOR=bench.stages.StageClock`.

Extraction and storage time themselves (`extract/seconds` in the workers, `store/seconds`), since their work
runs in other processes and threads. The stages that run synchronously on the event loop (select, dedup) are
timed here from outside, so the production adapters carry no profiling code; so are the crawl's span (first
request to the moment every record is stored) and the main process's CPU time over that span.
"""

from __future__ import annotations

import inspect
import json
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.pipelines import ItemPipelineManager

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


def process_cpu() -> float:
    """CPU seconds this process has used, user and system (its threads included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class StageClock(ItemPipelineManager):
    """The item pipeline manager, plus `<stage>/seconds` (CPU time of this thread) for every synchronous
    `process_item`, and `bench/crawl_seconds`, `bench/main_cpu_seconds` written with all stats to the JSON
    file named by the BENCH_STATS_FILE setting when the spider closes (after the last part is written)."""

    def __init__(self, *middlewares: Any, crawler: Crawler | None = None) -> None:
        self._started: tuple[float, float] | None = None  # (wall, process CPU) at the first request
        super().__init__(*middlewares, crawler=crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        manager = super().from_crawler(crawler)
        crawler.signals.connect(manager._first_request, signal=signals.request_reached_downloader)
        crawler.signals.connect(manager._closed, signal=signals.spider_closed)
        return manager

    def _add_middleware(self, mw: Any) -> None:
        super()._add_middleware(mw)
        method = getattr(mw, "process_item", None)
        if method is not None and not inspect.iscoroutinefunction(method):
            stage = type(mw).__module__.split(".")[1]  # pipelines.dedup.pipeline -> dedup
            self.methods["process_item"][-1] = self._timed(method, f"{stage}/seconds")

    def _timed(self, method: Callable[[Any], Any], key: str) -> Callable[[Any], Any]:
        def process_item(item: Any) -> Any:
            start = time.thread_time()
            try:
                return method(item)
            finally:
                assert self.crawler is not None and self.crawler.stats is not None
                self.crawler.stats.inc_value(key, time.thread_time() - start)

        return process_item

    def _first_request(self) -> None:
        if self._started is None:
            self._started = (time.perf_counter(), process_cpu())

    def _closed(self) -> None:
        assert self.crawler is not None and self.crawler.stats is not None
        stats = self.crawler.stats
        if self._started is not None:
            wall, cpu = self._started
            stats.set_value("bench/crawl_seconds", time.perf_counter() - wall)
            stats.set_value("bench/main_cpu_seconds", process_cpu() - cpu)
        stats.set_value("bench/main_max_rss_bytes", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        path = self.crawler.settings.get("BENCH_STATS_FILE")
        if path:
            Path(path).write_text(json.dumps(stats.get_stats(), default=str), encoding="utf-8")
