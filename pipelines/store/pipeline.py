"""StorePipeline: lands records as gzip JSON Lines parts plus one manifest per run, locally or in S3."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import CloseSpider

from crawler.items import Article
from crawler.stats import count
from pipelines import events
from pipelines.store.core import FinishedPart, ObjectStore, PartWriter, RunLayout, S3Options, StorageError, open_store

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

MANIFEST_FORMAT = "newsdedup-manifest/1"


def store_from_settings(settings: BaseSettings) -> ObjectStore:
    """The ObjectStore that OUTPUT_URI names, with the S3_* and AWS_* settings applied."""
    s3 = S3Options(
        endpoint_url=settings.get("S3_ENDPOINT_URL") or None,
        addressing_style=settings.get("S3_ADDRESSING_STYLE", "auto"),
        checksum=settings.get("S3_CHECKSUM", "when_required"),
        access_key_id=settings.get("AWS_ACCESS_KEY_ID"),
        secret_access_key=settings.get("AWS_SECRET_ACCESS_KEY"),
        session_token=settings.get("AWS_SESSION_TOKEN"),
        region_name=settings.get("AWS_REGION_NAME"),
    )
    return open_store(settings.get("OUTPUT_URI"), s3)


class StorePipeline:
    """Buffers records, writes each full part as one object, and a manifest when the run ends.

    Settings: OUTPUT_URI, STORE_PART_MAX_RECORDS, STORE_PART_MAX_BYTES, S3_ENDPOINT_URL, S3_ADDRESSING_STYLE,
    S3_CHECKSUM, AWS_* (else the standard AWS credential chain). Stats: store/records, store/parts,
    store/bytes, store/failed_parts. Writes run in a thread so the crawl's event loop never waits on I/O.
    A record stays withdrawable (see `events.record_withdrawn`) until its part is written.
    """

    def __init__(self, crawler: Crawler, store: ObjectStore, max_records: int, max_bytes: int) -> None:
        self.crawler = crawler
        self.stats: StatsCollector = crawler.stats
        self.store = store
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.writer = PartWriter(max_records=max_records, max_bytes=max_bytes)
        self.pending: dict[str, Article] = {}
        self.pending_bytes = 0
        self.parts: list[dict[str, Any]] = []
        self.failed: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.links_key: str | None = None
        self.layout: RunLayout | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        try:
            store = store_from_settings(settings)
        except StorageError as exc:
            raise CloseSpider(str(exc)) from exc
        pipeline = cls(crawler, store, settings.getint("STORE_PART_MAX_RECORDS"), settings.getint("STORE_PART_MAX_BYTES"))
        crawler.signals.connect(pipeline.withdraw, signal=events.record_withdrawn)
        crawler.signals.connect(pipeline.add_link, signal=events.duplicate_found)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    async def open_spider(self) -> None:
        """Fail before the first request when storage cannot be written."""
        try:
            await asyncio.to_thread(self.store.check)
        except StorageError as exc:
            logger.error("Storage check failed: %s", exc)
            self.stats.set_value("store/error", str(exc))
            raise
        crawl = getattr(self.crawler.spider, "crawl_name", None) or self.crawler.spider.name
        self.layout = RunLayout.new(crawl)
        self.stats.set_value("store/run", f"{self.store.uri.rstrip('/')}/{self.layout.run_prefix}")
        logger.info("Records go to %s/%s", self.store.uri.rstrip("/"), self.layout.run_prefix)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        self.pending[item.id] = item
        self.pending_bytes += len(item.text.encode("utf-8"))
        if len(self.pending) >= self.max_records or self.pending_bytes >= self.max_bytes:
            await self._write_pending()
        return item

    def withdraw(self, article: Article, replacement: Article) -> bool:
        """Take back a record that is not written yet, for the copy dedup prefers; True when it was.

        Links logged against the withdrawn record are re-pointed at its replacement, so the duplicates
        log names only stored records.
        """
        if self.pending.get(article.id) is not article:
            return False
        del self.pending[article.id]
        self.pending_bytes -= len(article.text.encode("utf-8"))
        for link in self.links:
            if link["kept_id"] == article.id:
                link.update(kept_id=replacement.id, kept_url=replacement.url)
        return True

    def add_link(self, link: dict[str, Any]) -> None:
        """Log one dropped copy and the record kept for it (the run's append-only duplicates log)."""
        self.links.append({**link, "found_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})

    async def _write_pending(self) -> None:
        records, self.pending, self.pending_bytes = list(self.pending.values()), {}, 0
        for record in records:
            self.writer.add(dataclasses.asdict(record))
        part = self.writer.finish()
        if part and await self._write_part(part):
            for record in records:
                count(self.stats, "store/records", record.site)

    async def _write_part(self, part: FinishedPart) -> bool:
        """Write one part; False when storage refused it and it was spooled instead."""
        assert self.layout is not None
        key = self.layout.part_key(part)
        try:
            await asyncio.to_thread(self.store.put, key, part.data, "application/gzip")
        except Exception as exc:
            self.failed.append(self._spool(key, part, exc))
            return False
        self.parts.append(part.manifest_entry(key))
        self.stats.inc_value("store/parts")
        self.stats.inc_value("store/bytes", len(part.data))
        return True

    def _spool(self, key: str, part: FinishedPart, exc: Exception) -> dict[str, Any]:
        """Keep a part that could not be written on local disk, so no record is lost, and say so loudly."""
        path = Path(self.crawler.settings.get("STORE_SPOOL_DIR", ".newsdedup-spool")) / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(part.data)
        self.stats.inc_value("store/failed_parts")
        self.stats.inc_value("store/spooled_records", part.records)
        logger.error("Could not write %s (%s); %d records kept in %s", key, exc, part.records, path)
        return {**part.manifest_entry(key), "spooled_to": str(path), "error": str(exc)}

    async def close_spider(self) -> None:
        if self.layout is None:
            return
        await self._write_pending()
        if self.links:
            log = PartWriter(max_records=len(self.links) + 1, max_bytes=1 << 62)
            for link in self.links:
                log.add(link)
            part = log.finish()
            assert part is not None
            try:
                await asyncio.to_thread(self.store.put, self.layout.duplicates_key, part.data, "application/gzip")
                self.links_key = self.layout.duplicates_key
            except Exception as exc:
                self.failed.append(self._spool(self.layout.duplicates_key, part, exc))

    async def spider_closed(self, spider: Any, reason: str) -> None:
        """Write the manifest last: its presence says the run's parts are all written."""
        if self.layout is None:
            return
        finished = dt.datetime.now(dt.UTC)
        stats = {"elapsed_time_seconds": (finished - self.layout.started).total_seconds(), **self.stats.get_stats()}
        manifest = {
            "format": MANIFEST_FORMAT,
            "crawl": self.layout.crawl,
            "run_id": self.layout.run_id,
            "started_at": self.layout.started.isoformat(timespec="seconds"),
            "finished_at": finished.isoformat(timespec="seconds"),
            "finish_reason": reason,
            "seeds": getattr(spider, "seeds_path", None),
            "records": sum(part["records"] for part in self.parts),
            "parts": self.parts,
            "failed_parts": self.failed,
            "duplicates_log": self.links_key,
            "duplicates_logged": len(self.links),
            "stats": {key: value for key, value in stats.items() if isinstance(value, int | float | str)},
        }
        data = json.dumps(manifest, indent=2, ensure_ascii=False, default=str).encode("utf-8")
        try:
            await asyncio.to_thread(self.store.put, self.layout.manifest_key, data, "application/json")
        except Exception as exc:
            self._spool(self.layout.manifest_key, FinishedPart("manifest.json", data, 0, ""), exc)
            return
        await self.crawler.signals.send_catch_log_async(
            signal=events.run_stored, manifest=manifest, store=self.store, run_prefix=self.layout.run_prefix
        )
