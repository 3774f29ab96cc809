"""DedupPipeline: collapses self-repeats, then keeps one copy of every article across the crawl and past runs."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gzip
import json
import logging
from collections.abc import Container, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, TypeGuard

from scrapy.exceptions import NotConfigured

from model import crawl_name, events, text
from model.items import Article
from model.redis import REDIS_DOWN, RedisOutage, crawl_prefix, redis_link
from model.settings import setting
from model.stats import count
from model.text import content_id, word_count
from model.urls import url_key
from pipelines.dedup import kernels
from pipelines.dedup.index import (
    DedupConfig,
    DocInfo,
    Match,
    NearDupIndex,
    Page,
    StateFormatError,
    preferred,
    relation,
)
from pipelines.dedup.redis_index import RedisNearDupIndex
from pipelines.dedup.repeats import collapse_repeats
from pipelines.dedup.shingles import shingle_hashes
from pipelines.drops import Drop
from pipelines.store import store_from_settings
from pipelines.store.runs import stored_runs, unseen_runs_prefixes
from pipelines.store.spool import Spool

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from model.redis import RedisLink
    from pipelines.store.objects import ObjectStore

logger = logging.getLogger(__name__)

STATE_KEY = "_state/dedup.npz"
URL_DAYS_KEY = "_state/url_days.json.gz"  # when each URL key was last seen (DEDUP_URL_TTL_DAYS), beside the state


class DedupPipeline:
    """Drops copies: same URL (after canonicalization), exact text, near-duplicate text (MinHash LSH).

    Which copy is kept follows `preference_key` (the publisher's own page, the earliest trusted date), not
    crawl order: when a preferred copy arrives while the first one is still unwritten, the first is
    withdrawn from the store. A record already written is never replaced; later copies are linked to it.
    Every link goes to the run's duplicates log (via `events.duplicate_found`) and, while it is unwritten,
    into the kept record's `duplicates`. The store says what became of each record (`events.records_settled`),
    and the state is saved beside the output only once the run's final manifest is stored (`events.run_stored`),
    so it never claims a record that did not land; a state that cannot be read stops the crawl and is left as
    it is.

    A dropped copy's URL keys are indexed for the article kept, so no later run fetches the copy again
    (`is_stored`, handed to crawler.middlewares.SkipStored with `events.stored_lookup`). URL keys not seen for
    DEDUP_URL_TTL_DAYS are forgotten. With REDIS_URL the index is a RedisNearDupIndex shared by every worker of
    the crawl; the articles a worker keeps stay *pending* until it has written them, and when it dies
    (`worker_lost`) the ones it never wrote are forgotten before its requests go back to the queue.

    Settings: DEDUP_ENABLED, DEDUP_SHINGLE_SIZE, DEDUP_NUM_PERM, DEDUP_BANDS, DEDUP_THRESHOLD,
    DEDUP_PARAGRAPH_SIMILARITY, DEDUP_STATE (persist the index beside the output), DEDUP_URL_TTL_DAYS,
    REDIS_URL. Stats: dedup/kept, dedup/same_url, dedup/exact, dedup/near_duplicate,
    dedup/self_repeat_paragraphs, dedup/superseded, dedup/url_keys_expired, dedup/unwritten_forgotten,
    dedup/state_not_saved, dedup/redis_unavailable (pages not deduplicated when Redis was given up).
    """

    def __init__(
        self,
        crawler: Crawler,
        config: DedupConfig,
        paragraph_similarity: float,
        state_store: ObjectStore | None,
        url_ttl_days: int = 0,
        redis: RedisLink | None = None,
    ) -> None:
        self.crawler = crawler
        self.stats: StatsCollector = crawler.stats
        self.config = config
        self.paragraph_similarity = paragraph_similarity
        self.state_store = state_store
        self.url_ttl_days = url_ttl_days
        self.redis = redis
        self.index: NearDupIndex | RedisNearDupIndex = (
            NearDupIndex(config) if redis is None
            else RedisNearDupIndex(redis.client, crawl_prefix(self._crawl), config, url_ttl_days)
        )  # fmt: skip
        self.unwritten: dict[str, _Unwritten] = {}  # this run's kept records not written yet, to link copies into
        self.stored_keys: frozenset[str] = frozenset()  # URL keys of articles stored by earlier runs (file state)
        self.url_days: dict[str, int] = {}  # URL key -> day last seen, with DEDUP_URL_TTL_DAYS (file state)
        self.ready = False  # the state was read whole: only then may it be saved

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not setting(settings, "DEDUP_ENABLED"):
            raise NotConfigured("DEDUP_ENABLED is off")
        config = DedupConfig(
            shingle_size=setting(settings, "DEDUP_SHINGLE_SIZE"),
            num_perm=setting(settings, "DEDUP_NUM_PERM"),
            bands=setting(settings, "DEDUP_BANDS"),
            threshold=setting(settings, "DEDUP_THRESHOLD"),
        )
        link = redis_link(crawler)
        # With Redis the state is in Redis, but a dead worker's run is still read back from the store.
        state_store = store_from_settings(settings) if setting(settings, "DEDUP_STATE") or link else None
        pipeline = cls(
            crawler, config, setting(settings, "DEDUP_PARAGRAPH_SIMILARITY"), state_store,
            setting(settings, "DEDUP_URL_TTL_DAYS"), link,
        )  # fmt: skip
        crawler.signals.connect(pipeline.records_settled, signal=events.records_settled)
        crawler.signals.connect(pipeline.run_stored, signal=events.run_stored)
        if link is not None:
            crawler.signals.connect(pipeline.run_opened, signal=events.run_opened)
            crawler.signals.connect(pipeline.worker_lost, signal=events.worker_lost)
            crawler.signals.connect(pipeline.worker_finished, signal=events.worker_finished)
        return pipeline

    @property
    def _crawl(self) -> str:
        return crawl_name(self.crawler.spider)

    @property
    def _state_key(self) -> str:
        return f"{self._crawl}/{STATE_KEY}"

    @property
    def _url_days_key(self) -> str:
        return f"{self._crawl}/{URL_DAYS_KEY}"

    async def open_spider(self) -> None:
        text.prepare()
        kernels.compile_all()
        if isinstance(self.index, RedisNearDupIndex):
            assert self.redis is not None and self.state_store is not None
            self.stats.set_value("dedup/state_docs_loaded", len(self.index.docs))
            await asyncio.to_thread(self._index_unseen_runs)
            self.index = self.index.owned_by(self.redis.worker)  # from now on, kept articles are pending
            self._ready()
            return
        if self.state_store is None:
            return
        where = f"{self.state_store.uri}/{self._state_key}"
        try:
            data = await asyncio.to_thread(self.state_store.get, self._state_key)
        except Exception as exc:  # boto3 has retried already
            logger.error("Dedup state %s could not be read (%s): the crawl stops and the state is left as it is", where, exc)
            raise DedupStateError(f"dedup state {where} could not be read: {exc}") from exc
        if data is None:
            logger.info("No dedup state at %s: starting fresh", where)
        else:
            try:
                self.index = NearDupIndex.from_bytes(data, self.config)
            except StateFormatError as exc:
                message = (
                    f"dedup state {where} cannot be used: {exc}. "
                    "Move it away to start fresh, or restore the settings it was built with."
                )
                logger.error("%s", message)
                raise DedupStateError(message) from exc
            self.stats.set_value("dedup/state_docs_loaded", len(self.index.docs))
            logger.info("Dedup state: %d articles from earlier runs", len(self.index.docs))
        await asyncio.to_thread(self._index_unseen_runs)
        if self.url_ttl_days:
            self._expire_url_keys(await asyncio.to_thread(self.state_store.get, self._url_days_key))
        assert isinstance(self.index, NearDupIndex)
        self.stored_keys = frozenset(self.index.url_keys)
        self._ready()

    def _ready(self) -> None:
        """The state is read whole: from now on it may be saved, and the crawl may skip what it says is stored."""
        self.ready = True
        self.crawler.signals.send_catch_log(signal=events.stored_lookup, lookup=self.is_stored)

    def _index_unseen_runs(self) -> None:
        """Index the stored records of runs the state does not know (killed runs, a state that failed to save),
        listing only the days since the newest run it knows (store.runs.unseen_runs_prefixes)."""
        known = set(self.index.runs)
        today = dt.datetime.now(dt.UTC).date()
        runs = (run for under in unseen_runs_prefixes(self._crawl, known, today) for run in self._stored_runs(under, known))
        for prefix, records in runs:
            entries = [self._entry(record) for record in records]
            matches = (
                self.index.find_or_add_many(entries) if isinstance(self.index, RedisNearDupIndex)
                else [self.index.find_or_add(*entry) for entry in entries]
            )  # fmt: skip
            self.stats.inc_value("dedup/records_reindexed", sum(match is None for match in matches))
            self.index.runs.add(prefix)
            self.stats.inc_value("dedup/runs_reindexed")

    def _stored_runs(self, under: str, skip: Container[str] = ()) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        assert self.state_store is not None
        spool = Spool(setting(self.crawler.settings, "STORE_SPOOL_DIR"), self.state_store.uri)
        return stored_runs(self.state_store, spool, under, skip)

    def _entry(self, record: dict[str, Any]) -> tuple[DocInfo, list[str], Any, Any]:
        """What the index takes for a stored record: DocInfo, URL keys, shingles, signature."""
        keys = [url_key(record["url"]), url_key(record["canonical_url"])]
        shingles = shingle_hashes(record["text"], self.config.shingle_size)
        doc = DocInfo.of(record["id"], record["url"], record["canonical_url"], record["published"],
                         record.get("published_source"))  # fmt: skip
        return doc, keys, shingles, self.index.signature(shingles)

    def _expire_url_keys(self, data: bytes | None) -> None:
        """Forget URL keys not seen for DEDUP_URL_TTL_DAYS (keys saved before their day was recorded start today)."""
        assert isinstance(self.index, NearDupIndex)
        seen: dict[str, int] = json.loads(gzip.decompress(data)) if data else {}
        today = _today()
        self.url_days = {key: seen.get(key, today) for key in self.index.url_keys}
        for key, day in list(self.url_days.items()):
            if today - day > self.url_ttl_days:
                del self.index.url_keys[key], self.url_days[key]
                self.stats.inc_value("dedup/url_keys_expired")

    def is_stored(self, key: str) -> bool:
        """Whether an earlier run stored the article (or dropped a copy) at this URL key, so the crawl need not
        fetch it again; that counts as seeing the key again for DEDUP_URL_TTL_DAYS."""
        if isinstance(self.index, RedisNearDupIndex):
            assert self.redis is not None
            try:
                return self.index.is_stored(key)
            except REDIS_DOWN as exc:  # fetched then, and dropped by dedup, which waits for Redis, if it was stored
                self.redis.outage.failed(exc)
                return False
        if key not in self.stored_keys:
            return False
        if self.url_ttl_days:
            self.url_days[key] = _today()
        return True

    def run_opened(self, run_prefix: str) -> None:
        """Where this worker's records go, so that when it dies the others can tell which of them landed."""
        assert self.redis is not None and isinstance(self.index, RedisNearDupIndex)
        self.index.open_run(self.redis.worker, run_prefix)

    async def worker_lost(self, worker: str) -> None:
        """A worker of this crawl died: forget the articles it kept but never wrote, so they are kept again when
        its requests are fetched again; mark the ones it wrote as stored."""
        await asyncio.to_thread(self._settle_worker, worker)

    def _settle_worker(self, worker: str) -> None:
        assert isinstance(self.index, RedisNearDupIndex)
        run = self.index.run_of(worker)
        written = {record["id"] for _, records in self._stored_runs(f"{run}/") for record in records} if run else set()
        pending = self.index.pending(worker)
        self.index.confirm([doc_id for doc_id in pending if doc_id in written])
        for doc_id in pending:
            if doc_id not in written:
                self.index.remove(doc_id)
                self.stats.inc_value("dedup/unwritten_forgotten")
        if run:
            self.index.runs.add(run)
        self.index.forget_writer(worker)
        logger.warning("Worker %s died: %d of its articles were written, %d forgotten", worker,
                       len(set(pending) & written), len(set(pending) - written))  # fmt: skip

    def worker_finished(self, worker: str) -> None:
        """This worker leaves the crawl with its records written (or in the spool): none is pending any more."""
        assert isinstance(self.index, RedisNearDupIndex)
        try:
            self.index.confirm(self.index.pending(worker))
            self.index.forget_writer(worker)
        except REDIS_DOWN as exc:  # the worker that takes this one for dead settles them from the stored run
            logger.error("Dedup could not confirm the articles worker %s wrote: %s", worker, exc)

    def records_settled(self, records: list[Article], links: list[dict[str, Any]], state: str) -> None:
        """What became of records dedup kept: once WRITING they can no longer be withdrawn, so they are let go
        (memory does not grow with the run); DURABLE ones are no longer pending for other workers; LOST ones are
        forgotten, so that later copies of those articles are kept rather than dropped for them."""
        del links
        ids = [record.id for record in records]
        if state == events.WRITING:
            for doc_id in ids:
                self.unwritten.pop(doc_id, None)
        elif state == events.LOST:
            for doc_id in ids:
                self.index.remove(doc_id)
        elif isinstance(self.index, RedisNearDupIndex):
            try:
                self.index.confirm(ids)
            except REDIS_DOWN as exc:  # left pending: confirmed when the worker leaves, or settled if it dies
                assert self.redis is not None
                self.redis.outage.failed(exc)

    async def close_spider(self) -> None:
        try:
            self.stats.set_value("dedup/index_docs", len(self.index.docs))
        except REDIS_DOWN as exc:
            logger.warning("Dedup index size unknown: %s", exc)

    async def run_stored(self, manifest: dict[str, Any], store: ObjectStore, run_prefix: str) -> None:
        """The run's records have landed and its final manifest is stored: now the state may say so."""
        del manifest, store
        if self.state_store is None or not self.ready:
            return
        self.index.runs.add(run_prefix)
        if isinstance(self.index, RedisNearDupIndex):
            return  # the state is in Redis already
        try:
            await asyncio.to_thread(self.state_store.put, self._state_key, self.index.to_bytes(), "application/x-npz")
            if self.url_ttl_days:
                days = {key: self.url_days.get(key, _today()) for key in self.index.url_keys}
                data = gzip.compress(json.dumps(days).encode())
                await asyncio.to_thread(self.state_store.put, self._url_days_key, data, "application/gzip")
        except Exception as exc:  # the next run rebuilds what is missing from the stored parts
            self.stats.inc_value("dedup/state_not_saved")
            logger.error("Dedup state not saved to %s/%s: %s", self.state_store.uri, self._state_key, exc)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        self._collapse(item)
        keys = [url_key(item.url), url_key(item.canonical_url)]
        shingles = shingle_hashes(item.text, self.config.shingle_size)
        signature = self.index.signature(shingles)
        doc = DocInfo.of(item.id, item.url, item.canonical_url, item.published, item.published_source)
        page = Page(item.url, frozenset(keys), item.id, shingles)
        if isinstance(self.index, RedisNearDupIndex):
            return self._process_shared(item, page, doc, signature)  # a coroutine, which Scrapy awaits
        match = self._related(page, self.index.find_or_add(doc, keys, shingles, signature))
        self._seen(keys)
        if self._replaces(match, doc):
            self.index.supersede(match.kept.id, doc)
            self.index.add(doc, keys, shingles, signature)
            return self._superseded(item, page, match)
        return self._decided(item, page, match)

    async def _process_shared(self, item: Article, page: Page, doc: DocInfo, signature: Any) -> Any:
        """process_item with the index in Redis: each call waits out a Redis outage and is made again.

        A swap withdraws the kept record before Redis is told, since while a call is awaited the store may take
        that record for writing. If Redis is then given up, neither copy lands in this run: the new one's request
        stays in flight, so the next run fetches it again and keeps it.
        """
        assert self.redis is not None and isinstance(self.index, RedisNearDupIndex)
        outage = self.redis.outage
        keys = list(page.keys)
        try:
            match = await outage.call(self.index.find_or_add, doc, keys, page.shingles, signature)
            if match is not None and match.kept.id == doc.id and doc.id not in self.unwritten:
                if await outage.call(self.index.pending_owner, doc.id) == self.redis.worker:
                    match = None  # this worker's own add, made again after Redis dropped the connection's answer
            match = self._related(page, match)
            if self._replaces(match, doc):
                self._superseded(item, page, match)
                try:
                    await outage.call(self.index.supersede_and_add, match.kept.id, doc, keys, page.shingles, signature)
                except RedisOutage:
                    del self.unwritten[item.id]  # dropped below: later copies must not be linked to it
                    raise
                return item
        except RedisOutage as exc:  # the worker stops; its page stays in its in-flight set for the next run
            count(self.stats, "dedup/redis_unavailable", item.site)
            raise Drop("dedup/redis_unavailable", f"{item.url} not deduplicated: {exc}") from None
        return self._decided(item, page, match)

    def _related(self, page: Page, match: Match | None) -> Match | None:
        """The match, with how the page relates to the kept record itself when that record is still here."""
        unwritten = self.unwritten.get(match.kept.id) if match is not None else None
        if match is None or unwritten is None:
            return match
        reason, similarity = relation(page, unwritten.page)
        return dataclasses.replace(match, reason=reason, similarity=similarity)

    def _replaces(self, match: Match | None, doc: DocInfo) -> TypeGuard[Match]:
        """The new copy is preferred to the kept record, which is not written yet (stored data is never rewritten)."""
        return match is not None and match.kept.id in self.unwritten and preferred(doc, match.kept, match.reason == "same_url")

    def _superseded(self, item: Article, page: Page, match: Match) -> Article:
        """Keep `item` instead of the unwritten record: that record and its copies are linked to `item`, each by how
        it relates to `item`, and the store withdraws the record and re-points its logged links."""
        old = self.unwritten.pop(match.kept.id)
        copies = [*old.copies, old.page]
        item.duplicates = [_link(copy.url, *relation(copy, page)) for copy in copies]
        self.crawler.signals.send_catch_log(signal=events.record_withdrawn, article=old.article, replacement=item)
        self._keep(item, page, copies)
        self._announce(item.id, item.url, item.duplicates[-1], old.article.site)
        count(self.stats, "dedup/superseded", old.article.site)
        return item

    def _decided(self, item: Article, page: Page, match: Match | None) -> Article:
        if match is None:
            self._keep(item, page, [])
            return item
        link = _link(item.url, match.reason, match.similarity)
        unwritten = self.unwritten.get(match.kept.id)
        if unwritten is not None:
            unwritten.article.duplicates.append(link)
            unwritten.copies.append(page)
        self._announce(match.kept.id, match.kept.url, link, item.site)
        count(self.stats, f"dedup/{match.reason}", item.site)
        raise Drop(f"dedup/{match.reason}", f"{item.url} duplicates {match.kept.url} ({match.similarity:.2f})")

    def _collapse(self, item: Article) -> None:
        paragraphs = item.text.split("\n")
        kept, dropped = collapse_repeats(paragraphs, self.paragraph_similarity)
        if dropped:
            item.text = "\n".join(kept)
            item.word_count = word_count(item.text)
            item.id = content_id(item.text)
            count(self.stats, "dedup/self_repeat_paragraphs", item.site, dropped)
            count(self.stats, "dedup/self_repeat_pages", item.site)

    def _seen(self, keys: list[str]) -> None:
        if self.url_ttl_days and isinstance(self.index, NearDupIndex):
            self.url_days.update(dict.fromkeys(keys, _today()))

    def _keep(self, item: Article, page: Page, copies: list[Page]) -> None:
        self.unwritten[item.id] = _Unwritten(item, page, copies)
        count(self.stats, "dedup/kept", item.site)

    def _announce(self, kept_id: str, kept_url: str, link: dict[str, Any], copy_site: str) -> None:
        """Send the link to the store's duplicates log, the complete and append-only record of copies."""
        entry = {"kept_id": kept_id, "kept_url": kept_url, **link, "site": copy_site}
        self.crawler.signals.send_catch_log(signal=events.duplicate_found, link=entry)


@dataclass
class _Unwritten:
    """A kept record the store has not started writing, and the pages of the copies dropped for it: when a
    preferred copy replaces it, they are all linked again, to the replacement."""

    article: Article
    page: Page
    copies: list[Page]


def _link(url: str, reason: str, similarity: float) -> dict[str, Any]:
    """A record's `duplicates` entry for one copy."""
    link: dict[str, Any] = {"url": url, "reason": reason}
    if reason == "near_duplicate":
        link["similarity"] = similarity
    return link


class DedupStateError(RuntimeError):
    """The stored dedup state cannot be read or used: the crawl stops before its first request."""


def _today() -> int:
    return dt.datetime.now(dt.UTC).date().toordinal()
