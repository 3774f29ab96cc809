"""ExtractPipeline: turns `Page` items into `Article` records in a pool of worker processes."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Self

from crawler.items import Article, Page
from crawler.stats import count
from pipelines.drops import Drop
from pipelines.extract.core import ExtractionOptions, NotAnArticle, extract_article

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class ExtractPipeline:
    """Run trafilatura off the event loop, one page per task, with a per-page timeout.

    Settings: EXTRACT_WORKERS (processes, 0 = one per core), EXTRACT_TIMEOUT (seconds per page),
    EXTRACT_MIN_WORDS, EXTRACT_MIN_WORDS_DECLARED, EXTRACT_FAVOR_PRECISION. Stats: extract/ok, extract/<reason> for every drop.
    """

    def __init__(self, stats: StatsCollector, options: ExtractionOptions, workers: int, timeout: float) -> None:
        self.stats = stats
        self.options = options
        self.workers = workers or os.cpu_count() or 1
        self.timeout = timeout
        self._pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        options = ExtractionOptions(
            min_words=settings.getint("EXTRACT_MIN_WORDS"),
            min_words_declared=settings.getint("EXTRACT_MIN_WORDS_DECLARED"),
            favor_precision=settings.getbool("EXTRACT_FAVOR_PRECISION"),
        )
        return cls(crawler.stats, options, settings.getint("EXTRACT_WORKERS"), settings.getfloat("EXTRACT_TIMEOUT"))

    def open_spider(self) -> None:
        self._pool = self._new_pool()

    def close_spider(self) -> None:
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _new_pool(self) -> ProcessPoolExecutor:
        # forkserver: forking a process that runs a reactor and threads is unsafe.
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("forkserver"))

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Page):
            return item
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        try:
            article: Article = await asyncio.wait_for(
                loop.run_in_executor(self._pool, extract_article, item, self.options), self.timeout
            )
        except NotAnArticle as exc:
            raise self._drop(exc.reason, item, str(exc)) from None
        except TimeoutError:
            raise self._drop("timeout", item, f"over {self.timeout:g} s") from None
        except BrokenProcessPool:
            logger.error("An extraction worker died on %s; restarting the pool", item.url)
            self._pool = self._new_pool()
            raise self._drop("worker_died", item) from None
        except Exception as exc:  # a trafilatura bug on one page must not stop the crawl
            logger.exception("Extraction failed on %s", item.url)
            raise self._drop("error", item, repr(exc)) from None
        count(self.stats, "extract/ok", item.site)
        return article

    def _drop(self, reason: str, page: Page, detail: str = "") -> Drop:
        count(self.stats, f"extract/{reason}", page.site)
        return Drop(f"extract/{reason}", f"{page.url}: {detail or reason}")
