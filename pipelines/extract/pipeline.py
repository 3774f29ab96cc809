"""ExtractPipeline: turns `Page` items into `Article` records in a pool of worker processes."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Self

from model.items import Article, Page
from model.settings import setting
from model.stats import count
from pipelines.drops import Drop
from pipelines.extract.core import ExtractionOptions, NotAnArticle, extract_article
from pipelines.extract.pool import Lost, Unavailable, WorkerPool

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

Extract = Callable[[Page, ExtractionOptions], Article]


class ExtractPipeline:
    """Run trafilatura off the event loop, one page per task, in a `WorkerPool` (pipelines.extract.pool): a page
    stuck in extraction or killing its worker is dropped alone. The pool starts with the first page, so a crawl
    that has none (an incremental run with nothing new) starts no process; when it cannot start at all, the
    crawl stops (`extract_pool_failed`).

    Settings: EXTRACT_WORKERS (processes, 0 = one per core), EXTRACT_TIMEOUT (seconds per page, 0 = none),
    EXTRACT_MIN_WORDS, EXTRACT_MIN_WORDS_DECLARED, EXTRACT_FAVOR_PRECISION. Stats: extract/ok,
    extract/<reason> for every drop, extract/seconds (CPU time of extraction in the workers),
    extract/pool_restarts.
    """

    def __init__(
        self,
        stats: StatsCollector,
        options: ExtractionOptions,
        workers: int,
        timeout: float,
        extract: Extract = extract_article,
        stop: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.stats = stats
        self.options = options
        self.extract = extract
        self.stop = stop  # closes the crawl with a reason
        self._stopping: asyncio.Future[None] | None = None
        # Workers fork from a server that has this module (trafilatura, Scrapy's exceptions) imported and the
        # lazy resources of extraction loaded, so a replaced pool starts at once.
        self.pool = WorkerPool(
            workers or len(os.sched_getaffinity(0)),
            timeout,
            preload=[__name__, "pipelines.extract.preload"],
            on_restart=lambda: stats.inc_value("extract/pool_restarts"),
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        options = ExtractionOptions(
            min_words=setting(settings, "EXTRACT_MIN_WORDS"),
            min_words_declared=setting(settings, "EXTRACT_MIN_WORDS_DECLARED"),
            favor_precision=setting(settings, "EXTRACT_FAVOR_PRECISION"),
            max_words=setting(settings, "EXTRACT_MAX_WORDS"),
        )

        def stop(reason: str) -> Awaitable[None]:
            assert crawler.engine is not None  # pages come from a running crawl
            return crawler.engine.close_spider_async(reason=reason)

        workers, timeout = setting(settings, "EXTRACT_WORKERS"), setting(settings, "EXTRACT_TIMEOUT")
        return cls(crawler.stats, options, workers, timeout, stop=stop)

    async def close_spider(self) -> None:
        await self.pool.close()

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Page):
            return item
        try:
            result, seconds = await self.pool.run(_extract, self.extract, item, self.options)
        except Lost as lost:
            raise self._drop(lost.reason, item, lost.detail) from None
        except Unavailable as exc:
            self._stop()
            raise self._drop("pool_failed", item, str(exc)) from None
        except Exception as exc:  # a trafilatura bug on one page must not stop the crawl
            logger.exception("Extraction failed on %s", item.url)
            raise self._drop("error", item, repr(exc)) from None
        self.stats.inc_value("extract/seconds", seconds)
        if isinstance(result, NotAnArticle):
            raise self._drop(result.reason, item, str(result))
        count(self.stats, "extract/ok", item.site)
        return result

    def _stop(self) -> None:
        """No page can be extracted: stop the crawl rather than fetch pages only to drop them."""
        if self._stopping is None and self.stop is not None:
            # Not awaited: closing waits for the items in flight, this one included.
            self._stopping = asyncio.ensure_future(self.stop("extract_pool_failed"))

    def _drop(self, reason: str, page: Page, detail: str = "") -> Drop:
        count(self.stats, f"extract/{reason}", page.site)
        return Drop(f"extract/{reason}", f"{page.url}: {detail or reason}")


def _extract(extract: Extract, page: Page, options: ExtractionOptions) -> Article | NotAnArticle:
    """In a worker: the article, or why there is none."""
    try:
        return extract(page, options)
    except NotAnArticle as exc:
        return exc
