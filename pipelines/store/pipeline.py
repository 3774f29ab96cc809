"""StorePipeline: lands records as gzip JSON Lines parts plus one manifest per run, locally or in S3."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import CloseSpider

from crawler import crawl_name
from crawler.items import Article
from crawler.stats import count
from pipelines import events
from pipelines.store.core import (
    MANIFEST_FORMAT,
    ObjectStore,
    RunLayout,
    S3Options,
    Spool,
    encode_part,
    StorageError,
    interrupted_runs,
    open_store,
    part_name,
    recovered_manifest,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


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

    Nothing is lost when storage fails: an object it refuses is kept in the local spool
    (STORE_SPOOL_DIR) and written before anything else as soon as storage answers again, in this run or
    the next. If the spool itself cannot be written (disk full), the crawl stops. Runs that were killed
    get a manifest from the next run (finish_reason `interrupted`) once they are older than
    STORE_RECOVER_AFTER seconds, so no stored part is left unlisted.

    Settings: OUTPUT_URI, STORE_PART_MAX_RECORDS, STORE_PART_MAX_BYTES, STORE_SPOOL_DIR, STORE_RECOVER_AFTER,
    S3_ENDPOINT_URL, S3_ADDRESSING_STYLE, S3_CHECKSUM, AWS_*. Stats: store/records, store/parts, store/bytes,
    store/spooled_parts, store/unsent_parts, store/recovered_runs, store/seconds (CPU time encoding and writing
    parts). Writes run in a thread so the event loop never waits on I/O. A record stays withdrawable
    (`events.record_withdrawn`) until its part is written.
    """

    def __init__(self, crawler: Crawler, store: ObjectStore, spool: Spool) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats: StatsCollector = crawler.stats
        self.store = store
        self.spool = spool
        self.max_records = settings.getint("STORE_PART_MAX_RECORDS")
        self.max_bytes = settings.getint("STORE_PART_MAX_BYTES")
        self.recover_after = dt.timedelta(seconds=settings.getfloat("STORE_RECOVER_AFTER"))
        self.pending: dict[str, Article] = {}
        self.pending_bytes = 0
        self.parts: list[dict[str, Any]] = []
        self.part_count = 0
        self.links: list[dict[str, Any]] = []
        self.layout: RunLayout | None = None
        self._closing: asyncio.Future[None] | None = None
        self.closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        try:
            store = store_from_settings(settings)
        except StorageError as exc:
            raise CloseSpider(str(exc)) from exc
        pipeline = cls(crawler, store, Spool(settings.get("STORE_SPOOL_DIR"), store.uri))
        crawler.signals.connect(pipeline.withdraw, signal=events.record_withdrawn)
        crawler.signals.connect(pipeline.add_link, signal=events.duplicate_found)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    # -- lifecycle --------------------------------------------------------------------------------

    async def open_spider(self) -> None:
        """Fail before the first request when storage cannot be written; then finish earlier runs' business."""
        try:
            await asyncio.to_thread(self.store.check)
        except StorageError as exc:
            logger.error("Storage check failed: %s", exc)
            raise
        self.layout = RunLayout.new(crawl_name(self.crawler.spider))
        self.crawler.signals.send_catch_log(signal=events.run_opened, run_prefix=self.layout.run_prefix)
        await self._drain_spool()
        await asyncio.to_thread(self._recover_interrupted_runs)
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

    async def close_spider(self) -> None:
        self.closing = True
        if self.layout is None:
            return
        await self._write_pending()
        if self.links:
            await self._write(self.layout.duplicates_key, encode_part("duplicates", self.links).data)

    async def spider_closed(self, spider: Any, reason: str) -> None:
        """Write the manifest last: its presence says every part of the run is written."""
        if self.layout is None:
            return
        manifest = self._manifest(reason)
        data = json.dumps(manifest, indent=2, ensure_ascii=False, default=str).encode("utf-8")
        stored = await self._write(self.layout.manifest_key, data) == "stored"
        unsent = len(self.spool.keys())
        if unsent:
            self.stats.set_value("store/unsent_parts", unsent)
            logger.error(
                "Storage %s did not take %d objects; they are kept in %s and will be written by the next run",
                self.store.uri, unsent, self.spool.dir,
            )  # fmt: skip
        if stored:
            await self.crawler.signals.send_catch_log_async(
                signal=events.run_stored, manifest=manifest, store=self.store, run_prefix=self.layout.run_prefix
            )

    # -- dedup's hooks ----------------------------------------------------------------------------

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

    # -- writing ----------------------------------------------------------------------------------

    async def _write_pending(self) -> None:
        assert self.layout is not None
        records, self.pending, self.pending_bytes = list(self.pending.values()), {}, 0
        if not records:
            return
        self.crawler.signals.send_catch_log(signal=events.records_written, ids=[record.id for record in records])
        start = time.thread_time()
        part = encode_part(part_name(self.part_count), (dataclasses.asdict(record) for record in records))
        self.stats.inc_value("store/seconds", time.thread_time() - start)
        self.part_count += 1
        key = self.layout.part_key(part)
        if await self._write(key, part.data) == "lost":
            count(self.stats, "store/lost_records", None, len(records))
            self.crawler.signals.send_catch_log(signal=events.records_lost, ids=[r.id for r in records])
            return
        self.parts.append(part.manifest_entry(key))
        self.stats.inc_value("store/parts")
        self.stats.inc_value("store/bytes", len(part.data))
        for record in records:
            count(self.stats, "store/records", record.site)

    async def _write(self, key: str, data: bytes) -> str:
        """Write one object after anything still spooled: 'stored', 'spooled' (storage down) or 'lost'."""
        try:
            if self.spool.keys():
                await self._drain_spool()
            seconds = await asyncio.to_thread(_cpu_seconds, self.store.put, key, data, _content_type(key))
            self.stats.inc_value("store/seconds", seconds)
            return "stored"
        except Exception as exc:  # storage down: keep the object, the crawl goes on
            return "spooled" if await self._keep_in_spool(key, data, exc) else "lost"

    async def _keep_in_spool(self, key: str, data: bytes, error: Exception) -> bool:
        """Spool an object storage refused; when even that fails (disk full), stop the crawl cleanly."""
        try:
            path = await asyncio.to_thread(self.spool.keep, key, data)
        except OSError as exc:
            logger.critical("Storage refused %s (%s) and the spool cannot keep it (%s): stopping the crawl", key, error, exc)
            self.stats.inc_value("store/lost_objects")
            if self._closing is None and not self.closing:
                # Not awaited: closing waits for the items in flight, this one included.
                self._closing = asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="spool_failed"))
            return False
        self.stats.inc_value("store/spooled_parts")
        logger.error("Storage refused %s (%s); kept in %s until it answers again", key, error, path)
        return True

    async def _drain_spool(self) -> None:
        """Write spooled objects (earlier runs' too); their manifests get the parts that are now stored."""
        if self.spool.keys():
            written = await asyncio.to_thread(self.spool.drain, self.store, _manifest_with_parts_stored)
            self.stats.inc_value("store/unspooled_objects", len(written))
            logger.info("Wrote %d spooled objects to %s", len(written), self.store.uri)

    def _recover_interrupted_runs(self) -> None:
        assert self.layout is not None
        started_before = self.layout.started - self.recover_after
        for prefix in interrupted_runs(self.store, self.layout.crawl, started_before):
            manifest = recovered_manifest(self.store, prefix, recovered_by=self.layout.run_id)
            self.store.put(f"{prefix}/manifest.json", json.dumps(manifest, indent=2).encode(), "application/json")
            self.stats.inc_value("store/recovered_runs")
            logger.warning("Run %s was interrupted: wrote its manifest (%d records)", prefix, manifest["records"])

    def _manifest(self, reason: str) -> dict[str, Any]:
        assert self.layout is not None
        finished = dt.datetime.now(dt.UTC)
        stats = {"elapsed_time_seconds": (finished - self.layout.started).total_seconds(), **self.stats.get_stats()}
        return {
            "format": MANIFEST_FORMAT,
            "crawl": self.layout.crawl,
            "run_id": self.layout.run_id,
            "started_at": self.layout.started.isoformat(timespec="seconds"),
            "finished_at": finished.isoformat(timespec="seconds"),
            "finish_reason": reason,
            "seeds": getattr(self.crawler.spider, "seeds_path", None),
            "sites": [site.name for site in seeds.sites] if (seeds := getattr(self.crawler.spider, "seeds", None)) else [],
            "records": sum(part["records"] for part in self.parts),
            "parts": self.parts,
            "failed_parts": [key for key in self.spool.keys() if key.startswith(self.layout.run_prefix)],
            "duplicates_log": self.layout.duplicates_key if self.links else None,
            "duplicates_logged": len(self.links),
            "stats": {key: value for key, value in stats.items() if isinstance(value, int | float | str)},
        }


def _cpu_seconds(call: Callable[..., object], *args: Any) -> float:
    """Run `call` and return the CPU time this thread spent in it (for store/seconds)."""
    start = time.thread_time()
    call(*args)
    return time.thread_time() - start


def _content_type(key: str) -> str:
    return "application/json" if key.endswith(".json") else "application/gzip"


def _manifest_with_parts_stored(data: bytes) -> bytes:
    """A spooled manifest is written after its parts: none of them is failed any more."""
    manifest = json.loads(data)
    manifest["failed_parts"] = []
    return json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
