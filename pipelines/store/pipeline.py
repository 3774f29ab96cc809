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

from model import crawl_name, events
from model.items import Article
from model.settings import setting
from model.stats import count
from model.warc import FinishedWarc
from pipelines.store.layout import RunLayout
from pipelines.store.objects import ObjectStore, S3Options, StorageError, content_type, open_store
from pipelines.store.parts import duplicates_part_name, encode_part, part_name
from pipelines.store.runs import MANIFEST_FORMAT, open_runs, recover_run
from pipelines.store.spool import Spool

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


def store_from_settings(settings: BaseSettings) -> ObjectStore:
    """The ObjectStore that OUTPUT_URI names, with the S3_* and AWS_* settings applied."""
    s3 = S3Options(
        endpoint_url=setting(settings, "S3_ENDPOINT_URL") or None,
        addressing_style=setting(settings, "S3_ADDRESSING_STYLE"),
        checksum=setting(settings, "S3_CHECKSUM"),
        access_key_id=settings.get("AWS_ACCESS_KEY_ID"),
        secret_access_key=settings.get("AWS_SECRET_ACCESS_KEY"),
        session_token=settings.get("AWS_SESSION_TOKEN"),
        region_name=settings.get("AWS_REGION_NAME"),
    )
    return open_store(setting(settings, "OUTPUT_URI"), s3)


class StorePipeline:
    """Buffers records and duplicates-log entries, writes each full batch as a records part and a duplicates
    part, rewrites the run's manifest after each batch, and writes the final manifest when the run ends.

    Nothing is lost when storage fails: an object it refuses is kept in the local spool (STORE_SPOOL_DIR,
    checked at start like storage) and written before anything else as soon as storage answers again, in this
    run or the next. If the spool itself cannot be written (disk full), the crawl stops. A run is marked open
    in `_state/open-runs/` until its final manifest is stored; a killed run gets a manifest from a later run
    (finish_reason `interrupted`) once it has written nothing for STORE_RECOVER_AFTER seconds.

    What became of each batch is told through `events.records_settled`; a record can be withdrawn
    (`events.record_withdrawn`) until its batch is WRITING. Writes run in a thread so the event loop never
    waits on I/O. Settings: OUTPUT_URI, STORE_PART_MAX_RECORDS, STORE_PART_MAX_BYTES, STORE_SPOOL_DIR,
    STORE_RECOVER_AFTER, S3_*, AWS_*. Stats: store/records, store/parts, store/bytes, store/duplicates_parts,
    store/spooled_parts, store/unsent_parts, store/lost_records, store/lost_objects, store/recovered_runs,
    store/seconds (CPU time encoding and writing); archive/files, archive/bytes, archive/lost_files for the WARC
    files of the run's pages (crawler/archive.py), written and spooled the same way and listed in `warc_files`.
    """

    def __init__(self, crawler: Crawler, store: ObjectStore, spool: Spool) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats: StatsCollector = crawler.stats
        self.store = store
        self.spool = spool
        self.max_records = setting(settings, "STORE_PART_MAX_RECORDS")
        self.max_bytes = setting(settings, "STORE_PART_MAX_BYTES")
        self.recover_after = dt.timedelta(seconds=setting(settings, "STORE_RECOVER_AFTER"))
        self.pending: list[Article] = []
        self.pending_bytes = 0
        self.links: list[dict[str, Any]] = []  # duplicates-log entries not written yet
        self.parts: list[dict[str, Any]] = []
        self.duplicates_parts: list[dict[str, Any]] = []
        self.warc_files: list[dict[str, Any]] = []
        self.batches = 0
        self.layout: RunLayout | None = None
        self.closing = False
        self._closing: asyncio.Future[None] | None = None
        self._link_flushes: set[asyncio.Task[None]] = set()
        self._archive_writes: set[asyncio.Task[None]] = set()
        self._drain_lock = asyncio.Lock()
        self._manifest_lock = asyncio.Lock()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        try:
            store = store_from_settings(settings)
        except StorageError as exc:
            raise CloseSpider(str(exc)) from exc
        pipeline = cls(crawler, store, Spool(setting(settings, "STORE_SPOOL_DIR"), store.uri))
        crawler.signals.connect(pipeline.withdraw, signal=events.record_withdrawn)
        crawler.signals.connect(pipeline.add_link, signal=events.duplicate_found)
        crawler.signals.connect(pipeline.write_archive, signal=events.archive_written)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    # -- lifecycle --------------------------------------------------------------------------------

    async def open_spider(self) -> None:
        """Fail before the first request when storage or the spool cannot be written; then finish earlier runs'
        business and mark this run open."""
        try:
            await asyncio.to_thread(self.store.check)
            await asyncio.to_thread(self.spool.check)
        except StorageError as exc:
            logger.error("Storage check failed: %s", exc)
            raise
        self.layout = RunLayout.new(crawl_name(self.crawler.spider))
        self.crawler.signals.send_catch_log(signal=events.run_opened, run_prefix=self.layout.run_prefix)
        await self._drain_spool()
        await asyncio.to_thread(self._recover_interrupted_runs)
        await self._write(self.layout.open_marker_key, self.layout.run_prefix.encode())
        self.stats.set_value("store/run", f"{self.store.uri.rstrip('/')}/{self.layout.run_prefix}")
        logger.info("Records go to %s/%s", self.store.uri.rstrip("/"), self.layout.run_prefix)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        self.pending.append(item)
        self.pending_bytes += len(item.text.encode("utf-8"))
        if len(self.pending) >= self.max_records or self.pending_bytes >= self.max_bytes:
            await self._write_batch()
        return item

    async def close_spider(self) -> None:
        self.closing = True
        if self.layout is None:
            return
        await asyncio.gather(*self._link_flushes)
        await self.crawler.signals.send_catch_log_async(signal=events.archive_needed, files=None)
        await self._write_batch()

    async def spider_closed(self, spider: Any, reason: str) -> None:
        """Write the final manifest last: its finish reason says every object of the run is written."""
        if self.layout is None:
            return
        async with self._manifest_lock:
            manifest = self._manifest(reason)
            stored = await self._write(self.layout.manifest_key, _encode(manifest)) == "stored"
        unsent = len(self.spool.keys())
        if unsent:
            self.stats.set_value("store/unsent_parts", unsent)
            logger.error(
                "Storage %s did not take %d objects; they are kept in %s and will be written by the next run",
                self.store.uri, unsent, self.spool.dir,
            )  # fmt: skip
        if not stored:
            return
        try:
            await asyncio.to_thread(self.store.delete, self.layout.open_marker_key)
        except Exception as exc:  # the next run sees a final manifest and removes the marker
            logger.warning("Run %s is complete but still marked open: %s", self.layout.run_prefix, exc)
        await self.crawler.signals.send_catch_log_async(
            signal=events.run_stored, manifest=manifest, store=self.store, run_prefix=self.layout.run_prefix
        )

    # -- dedup's notifications --------------------------------------------------------------------

    def withdraw(self, article: Article, replacement: Article) -> None:
        """Drop a record that is not written yet, for the copy dedup prefers.

        Links logged against the withdrawn record are re-pointed at its replacement, with the reason and similarity
        of the replacement's own `duplicates` entry for that copy, so the duplicates log names only stored records
        and says what the record says.
        """
        for position, record in enumerate(self.pending):
            if record is article:
                del self.pending[position]
                self.pending_bytes -= len(article.text.encode("utf-8"))
                break
        else:  # dedup withdraws only what it was not told is written: this is a bug, and both copies land
            count(self.stats, "store/withdraw_missed", article.site)
            logger.error("Record %s was to be withdrawn for %s but is not pending", article.url, replacement.url)
        relinked = {link["url"]: link for link in replacement.duplicates}
        for link in self.links:
            if link["kept_id"] == article.id:
                if link["url"] in relinked:
                    link.pop("similarity", None)
                    link.update(relinked[link["url"]])
                link.update(kept_id=replacement.id, kept_url=replacement.url)

    def add_link(self, link: dict[str, Any]) -> None:
        """Log one dropped copy and the record kept for it; a run that finds only copies writes them in batches."""
        self.links.append({**link, "found_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
        if len(self.links) >= self.max_records and self.layout is not None and not self.closing:
            task = asyncio.ensure_future(self._write_batch())
            self._link_flushes.add(task)
            task.add_done_callback(self._link_flushes.discard)

    # -- writing ----------------------------------------------------------------------------------

    async def _write_batch(self) -> None:
        """Write the pending records and links as one batch (a records part and a duplicates part)."""
        assert self.layout is not None
        records, self.pending, self.pending_bytes = self.pending, [], 0
        links, self.links = self.links, []
        if not records and not links:
            return
        batch = self.batches
        self.batches += 1
        self._settle(records, links, events.WRITING)
        archived = {record.warc["file"] for record in records if record.warc}
        if archived:  # their pages land first: the file being written, and any still on its way
            await self.crawler.signals.send_catch_log_async(signal=events.archive_needed, files=archived)
            await asyncio.gather(*self._archive_writes)
        state = events.DURABLE
        if records and not await self._write_part(part_name(batch), [dataclasses.asdict(r) for r in records], self.parts):
            state = events.LOST
            count(self.stats, "store/lost_records", None, len(records))
        if links and not await self._write_part(duplicates_part_name(batch), links, self.duplicates_parts):
            self.stats.inc_value("store/lost_links", len(links))
        self._settle(records, links, state)
        if state == events.DURABLE:
            self.stats.inc_value("store/parts")
            for record in records:
                count(self.stats, "store/records", record.site)
        await self._write_progress()

    async def write_archive(self, warc: FinishedWarc) -> None:
        """Write a WARC file of the run's pages like a part: spooled when storage is down, listed in the manifest."""
        task = asyncio.ensure_future(self._write_archive(warc))
        self._archive_writes.add(task)
        task.add_done_callback(self._archive_writes.discard)
        await task

    async def _write_archive(self, warc: FinishedWarc) -> None:
        assert self.layout is not None
        key = f"{self.layout.run_prefix}/{warc.name}"
        if await self._write(key, warc.data) == "lost":
            self.stats.inc_value("archive/lost_files")
            return
        self.warc_files.append(warc.manifest_entry(key))
        self.stats.inc_value("archive/files")
        self.stats.inc_value("archive/bytes", len(warc.data))

    async def _write_part(self, name: str, rows: list[dict[str, Any]], written: list[dict[str, Any]]) -> bool:
        """Encode and write one part; False when neither storage nor the spool took it."""
        assert self.layout is not None
        start = time.thread_time()
        part = encode_part(name, rows)
        self.stats.inc_value("store/seconds", time.thread_time() - start)
        key = f"{self.layout.run_prefix}/{part.name}"
        if await self._write(key, part.data) == "lost":
            return False
        written.append(part.manifest_entry(key))
        self.stats.inc_value("store/bytes", len(part.data))
        return True

    def _settle(self, records: list[Article], links: list[dict[str, Any]], state: str) -> None:
        self.crawler.signals.send_catch_log(signal=events.records_settled, records=records, links=links, state=state)

    async def _write_progress(self) -> None:
        """Rewrite the manifest with the parts written so far, so readers see a killed run's records. While
        storage is down (objects wait in the spool) it waits too: the final manifest is the one that must land."""
        assert self.layout is not None
        async with self._manifest_lock:
            if self.spool.keys():
                return
            try:
                await asyncio.to_thread(self.store.put, self.layout.manifest_key, _encode(self._manifest(None)), "application/json")
            except Exception as exc:  # the next batch, or the final manifest, says it again
                logger.warning("Progress manifest of %s not written: %s", self.layout.run_prefix, exc)

    async def _write(self, key: str, data: bytes) -> str:
        """Write one object after anything still spooled: 'stored', 'spooled' (storage down) or 'lost'."""
        try:
            await self._drain_spool()
            seconds = await asyncio.to_thread(_cpu_seconds, self.store.put, key, data, content_type(key))
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
        """Write spooled objects (earlier runs' too), one drain at a time; their manifests get the parts that
        are now stored."""
        async with self._drain_lock:
            if self.spool.keys():
                written = await asyncio.to_thread(self.spool.drain, self.store, _manifest_with_parts_stored)
                self.stats.inc_value("store/unspooled_objects", len(written))
                logger.info("Wrote %d spooled objects to %s", len(written), self.store.uri)

    def _recover_interrupted_runs(self) -> None:
        assert self.layout is not None
        idle_since = self.layout.started - self.recover_after
        for prefix in open_runs(self.store, self.layout.crawl):
            manifest = recover_run(self.store, prefix, idle_since, recovered_by=self.layout.run_id)
            if manifest is not None:
                self.stats.inc_value("store/recovered_runs")
                logger.warning("Run %s was interrupted: wrote its manifest (%d records)", prefix, manifest["records"])

    def _manifest(self, reason: str | None) -> dict[str, Any]:
        """The run's manifest; `reason` None while the run goes on."""
        assert self.layout is not None
        now = dt.datetime.now(dt.UTC)
        stats = {"elapsed_time_seconds": (now - self.layout.started).total_seconds(), **self.stats.get_stats()}
        return {
            "format": MANIFEST_FORMAT,
            "crawl": self.layout.crawl,
            "run_id": self.layout.run_id,
            "started_at": self.layout.started.isoformat(timespec="seconds"),
            "updated_at": now.isoformat(timespec="seconds"),
            "finished_at": now.isoformat(timespec="seconds") if reason else None,
            "finish_reason": reason,
            "seeds": getattr(self.crawler.spider, "seeds_path", None),
            "sites": [site.name for site in seeds.sites] if (seeds := getattr(self.crawler.spider, "seeds", None)) else [],
            "records": sum(part["records"] for part in self.parts),
            "parts": self.parts,
            "failed_parts": [key for key in self.spool.keys() if key.startswith(f"{self.layout.run_prefix}/")],
            "duplicates_parts": self.duplicates_parts,
            "duplicates_logged": sum(part["records"] for part in self.duplicates_parts),
            "warc_files": self.warc_files,
            "stats": {key: value for key, value in stats.items() if isinstance(value, int | float | str)},
        }


def _encode(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=2, ensure_ascii=False, default=str).encode("utf-8")


def _cpu_seconds(call: Callable[..., object], *args: Any) -> float:
    """Run `call` and return the CPU time this thread spent in it (for store/seconds)."""
    start = time.thread_time()
    call(*args)
    return time.thread_time() - start


def _manifest_with_parts_stored(data: bytes) -> bytes:
    """A spooled manifest is written after its parts: none of them is failed any more."""
    manifest = json.loads(data)
    manifest["failed_parts"] = []
    return json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
