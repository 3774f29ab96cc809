"""DedupPipeline: collapses self-repeats, then keeps one copy of every article across the crawl and past runs."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import NotConfigured

from crawler.items import Article
from crawler.stats import count
from crawler.urls import url_key
from pipelines import events
from pipelines.dedup.core import (
    DedupConfig,
    DocInfo,
    Match,
    NearDupIndex,
    StateFormatError,
    collapse_repeats,
    preference_key,
    shingle_hashes,
)
from pipelines.drops import Drop
from pipelines.store import store_from_settings
from pipelines.store.core import Spool, runs_in
from pipelines.text import content_id, words

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from pipelines.store.core import ObjectStore

logger = logging.getLogger(__name__)

STATE_KEY = "_state/dedup.npz"


class DedupPipeline:
    """Drops copies: same URL (after canonicalization), exact text, near-duplicate text (MinHash LSH).

    Which copy is kept follows `preference_key` (earliest published, then the publisher's own page), not
    crawl order: when a preferred copy arrives while the first one is still unwritten, the first is
    withdrawn from the store. A record already written is never replaced; later copies are linked to it.
    Every link goes to the run's duplicates log (via `events.duplicate_found`) and, while it is unwritten,
    into the kept record's `duplicates`.

    Settings: DEDUP_ENABLED, DEDUP_SHINGLE_SIZE, DEDUP_NUM_PERM, DEDUP_BANDS, DEDUP_THRESHOLD,
    DEDUP_PARAGRAPH_SIMILARITY, DEDUP_STATE (persist the index beside the output). Stats: dedup/kept,
    dedup/same_url, dedup/exact, dedup/near_duplicate, dedup/self_repeat_paragraphs, dedup/superseded.
    """

    def __init__(
        self,
        crawler: Crawler,
        config: DedupConfig,
        paragraph_similarity: float,
        state_store: ObjectStore | None,
    ) -> None:
        self.crawler = crawler
        self.stats: StatsCollector = crawler.stats
        self.config = config
        self.paragraph_similarity = paragraph_similarity
        self.state_store = state_store
        self.index = NearDupIndex(config)
        self.kept: dict[str, Article] = {}  # this run's kept records, to link copies into while unwritten
        self.run_prefix: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("DEDUP_ENABLED"):
            raise NotConfigured("DEDUP_ENABLED is off")
        config = DedupConfig(
            shingle_size=settings.getint("DEDUP_SHINGLE_SIZE"),
            num_perm=settings.getint("DEDUP_NUM_PERM"),
            bands=settings.getint("DEDUP_BANDS"),
            threshold=settings.getfloat("DEDUP_THRESHOLD"),
        )
        state_store = store_from_settings(settings) if settings.getbool("DEDUP_STATE") else None
        pipeline = cls(crawler, config, settings.getfloat("DEDUP_PARAGRAPH_SIMILARITY"), state_store)
        crawler.signals.connect(pipeline.run_opened, signal=events.run_opened)
        crawler.signals.connect(pipeline.records_lost, signal=events.records_lost)
        return pipeline

    @property
    def _crawl(self) -> str:
        return getattr(self.crawler.spider, "crawl_name", None) or self.crawler.spider.name

    @property
    def _state_key(self) -> str:
        return f"{self._crawl}/{STATE_KEY}"

    async def open_spider(self) -> None:
        if self.state_store is None:
            return
        data = await asyncio.to_thread(self.state_store.get, self._state_key)
        if data is None:
            logger.info("No dedup state at %s/%s: starting fresh", self.state_store.uri, self._state_key)
        else:
            try:
                self.index = NearDupIndex.from_bytes(data, self.config)
            except StateFormatError as exc:
                raise NotConfigured(
                    f"dedup state {self.state_store.uri}/{self._state_key} cannot be used: {exc}. "
                    "Move it away to start fresh, or restore the settings it was built with."
                ) from exc
            self.stats.set_value("dedup/state_docs_loaded", len(self.index.docs))
            logger.info("Dedup state: %d articles from earlier runs", len(self.index.docs))
        await asyncio.to_thread(self._index_unseen_runs)

    def _index_unseen_runs(self) -> None:
        """Index the stored records of runs the state does not know (killed runs, a state that failed to save).

        The spool is listed before the store: a spooled part that is drained meanwhile is in the store by
        the time the store is listed, so no part is missed.
        """
        assert self.state_store is not None
        spool = Spool(self.crawler.settings.get("STORE_SPOOL_DIR"), self.state_store.uri)
        spooled = {key for key in spool.keys() if key.startswith(f"{self._crawl}/")}
        keys = spooled | set(self.state_store.list(f"{self._crawl}/"))
        for prefix, names in sorted(runs_in(sorted(keys)).items()):
            if prefix in self.index.runs:
                continue
            for name in sorted(n for n in names if n.startswith("part-")):
                key = f"{prefix}/{name}"
                data = (spool.get(key) if key in spooled else None) or self.state_store.get(key)
                for line in gzip.decompress(data or b"").splitlines():
                    self._index_stored(json.loads(line))
            self.index.runs.add(prefix)
            self.stats.inc_value("dedup/runs_reindexed")

    def _index_stored(self, record: dict[str, Any]) -> None:
        keys = [url_key(record["url"]), url_key(record["canonical_url"])]
        shingles = shingle_hashes(record["text"], self.config.shingle_size)
        doc = DocInfo(record["id"], record["url"], record["published"], keys[0] == keys[1])
        if self.index.find_or_add(doc, keys, shingles, self.index.signature(shingles)) is None:
            self.stats.inc_value("dedup/records_reindexed")

    def run_opened(self, run_prefix: str) -> None:
        """The store's key prefix for this run: its records are in the state once the state is saved."""
        self.run_prefix = run_prefix

    def records_lost(self, ids: list[str]) -> None:
        """Forget records whose part neither storage nor the spool took, so their copies are not dropped later."""
        for doc_id in ids:
            self.index.remove(doc_id)
            self.kept.pop(doc_id, None)

    async def close_spider(self) -> None:
        self.stats.set_value("dedup/index_docs", len(self.index.docs))
        if self.state_store is None:
            return
        if self.run_prefix:
            self.index.runs.add(self.run_prefix)
        try:
            await asyncio.to_thread(self.state_store.put, self._state_key, self.index.to_bytes(), "application/x-npz")
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
        doc = DocInfo(item.id, item.url, item.published, keys[0] == keys[1])
        match = self.index.find_or_add(doc, keys, shingles, signature)
        if match is None:
            self._keep(item)
            return item
        if self._prefer(doc, match.kept) and self._withdraw(match.kept.id, item):
            # The new copy is preferred and the old one was not written yet: swap them.
            old = self.kept.pop(match.kept.id)
            self.index.supersede(match.kept.id, doc)
            self.index.add(doc, keys, shingles, signature)
            item.duplicates = [*old.duplicates, self._link(old.url, match)]
            self._keep(item)
            self._announce(item.id, item.url, old.url, old.site, match)
            count(self.stats, "dedup/superseded", old.site)
            return item
        self._link_copy(match, item.url, item.site)
        count(self.stats, f"dedup/{match.reason}", item.site)
        raise Drop(f"dedup/{match.reason}", f"{item.url} duplicates {match.kept.url} ({match.similarity:.2f})")

    def _collapse(self, item: Article) -> None:
        paragraphs = item.text.split("\n")
        kept, dropped = collapse_repeats(paragraphs, self.paragraph_similarity)
        if dropped:
            item.text = "\n".join(kept)
            item.word_count = len(words(item.text))
            item.id = content_id(item.text)
            count(self.stats, "dedup/self_repeat_paragraphs", item.site, dropped)
            count(self.stats, "dedup/self_repeat_pages", item.site)

    def _keep(self, item: Article) -> None:
        self.kept[item.id] = item
        count(self.stats, "dedup/kept", item.site)

    @staticmethod
    def _prefer(new: DocInfo, kept: DocInfo) -> bool:
        return preference_key(new.published, new.self_canonical, new.url) < preference_key(
            kept.published, kept.self_canonical, kept.url
        )

    def _withdraw(self, kept_id: str, replacement: Article) -> bool:
        record = self.kept.get(kept_id)
        if record is None:  # kept in an earlier run: stored data is never rewritten
            return False
        answers = self.crawler.signals.send_catch_log(
            signal=events.record_withdrawn, article=record, replacement=replacement
        )
        return any(answer is True for _, answer in answers)

    @staticmethod
    def _link(url: str, match: Match) -> dict[str, Any]:
        link: dict[str, Any] = {"url": url, "reason": match.reason}
        if match.reason == "near_duplicate":
            link["similarity"] = match.similarity
        return link

    def _link_copy(self, match: Match, copy_url: str, copy_site: str) -> None:
        record = self.kept.get(match.kept.id)
        if record is not None:
            record.duplicates.append(self._link(copy_url, match))
        self._announce(match.kept.id, match.kept.url, copy_url, copy_site, match)

    def _announce(self, kept_id: str, kept_url: str, copy_url: str, copy_site: str, match: Match) -> None:
        """Send the link to the store's duplicates log, the complete and append-only record of copies."""
        link = {"kept_id": kept_id, "kept_url": kept_url, **self._link(copy_url, match), "site": copy_site}
        self.crawler.signals.send_catch_log(signal=events.duplicate_found, link=link)
