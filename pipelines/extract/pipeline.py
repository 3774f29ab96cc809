"""ExtractPipeline: turns `Page` items into `Article` records in a pool of worker processes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
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

Extract = Callable[[Page, ExtractionOptions], Article]


class ExtractPipeline:
    """Run trafilatura off the event loop, one page per task, in worker processes (one per core), each page
    under a hard time limit.

    The limit is a kernel timer set by the worker before each page: when it fires, SIGALRM at its default
    action ends the worker, even in C code that never returns to Python (a regex or an lxml call stuck on
    a pathological page), which no timeout on the waiting side can do. The pool is then broken, so it is
    replaced: the page that had run out of time is dropped (extract/timeout) and the other pages that were
    in the pool go to the new one. Each worker notes in a shared array when it starts a page, so a page that
    was only waiting in the pool is never blamed. When a worker dies for another reason (a crash), the pages
    that were running are run again one at a time, alone in the pool, and the one that kills its worker
    then is dropped (extract/worker_died). At most two pages per worker are in the pool: every worker stays
    fed while the event loop is busy, and a broken pool sends few pages back.

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
    ) -> None:
        self.stats = stats
        self.options = options
        self.workers = workers or len(os.sched_getaffinity(0))
        self.timeout = timeout
        self.extract = extract
        self._pool: asyncio.Future[ProcessPoolExecutor] | None = None  # a pool, once started
        self._capacity = 2 * self.workers  # pages in the pool at once
        self._slots = asyncio.Semaphore(self._capacity)
        self._alone = asyncio.Lock()  # one page at a time runs alone
        self._free_slots = list(range(self._capacity))
        self._started = _CONTEXT.Array("d", self._capacity, lock=False)  # per slot: when a worker started it

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        options = ExtractionOptions(
            min_words=settings.getint("EXTRACT_MIN_WORDS"),
            min_words_declared=settings.getint("EXTRACT_MIN_WORDS_DECLARED"),
            favor_precision=settings.getbool("EXTRACT_FAVOR_PRECISION"),
        )
        return cls(crawler.stats, options, settings.getint("EXTRACT_WORKERS"), settings.getfloat("EXTRACT_TIMEOUT"))

    async def close_spider(self) -> None:
        if self._pool:
            (await self._pool).shutdown(wait=True, cancel_futures=True)

    def _start_pool(self) -> asyncio.Future[ProcessPoolExecutor]:
        """A new pool, started in a thread: starting a worker waits for the server it forks from, which loads
        extraction's lazy resources first (seconds, see pipelines.extract.preload), and the event loop goes on
        fetching pages meanwhile. Pages wait for the pool in `_extract`; the first page starts it, so a crawl
        that has none (an incremental run with nothing new) starts no process."""
        return asyncio.get_running_loop().run_in_executor(None, self._new_pool)

    def _new_pool(self) -> ProcessPoolExecutor:
        # Workers fork from a server that has this module (trafilatura, Scrapy's exceptions) imported and the
        # lazy resources of extraction loaded, so a replaced pool starts at once.
        _CONTEXT.set_forkserver_preload([__name__, "pipelines.extract.preload"])
        pool = ProcessPoolExecutor(
            self.workers, mp_context=_CONTEXT, initializer=_worker_started, initargs=(self._started,)
        )
        for _ in range(self.workers):  # a pool starts a worker per task until it has them all
            pool.submit(int)
        return pool

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Page):
            return item
        try:
            try:
                result, seconds = await self._extract(item, alone=False)
            except _Suspect:  # its worker or another died while it ran: run it alone to know
                result, seconds = await self._extract(item, alone=True)
        except _Lost as lost:
            raise self._drop(lost.reason, item, lost.detail) from None
        except Exception as exc:  # a trafilatura bug on one page must not stop the crawl
            logger.exception("Extraction failed on %s", item.url)
            raise self._drop("error", item, repr(exc)) from None
        self.stats.inc_value("extract/seconds", seconds)
        if isinstance(result, NotAnArticle):
            raise self._drop(result.reason, item, str(result))
        count(self.stats, "extract/ok", item.site)
        return result

    async def _extract(self, page: Page, alone: bool) -> tuple[Article | NotAnArticle, float]:
        """Extract in the pool (`alone`: with no other page in it). When the pool breaks with the page in it,
        the pool is replaced, and the page is submitted again if it had not started; if it had, it is
        dropped when it ran out of time or ran alone, else it is a suspect (`_Suspect`)."""
        permits = self._capacity if alone else 1
        async with self._alone if alone else contextlib.nullcontext():
            for _ in range(permits):
                await self._slots.acquire()
        slot = self._free_slots.pop()
        try:
            while True:
                if self._pool is None:
                    self._pool = self._start_pool()
                starting = self._pool
                self._started[slot] = 0.0
                try:
                    return await asyncio.get_running_loop().run_in_executor(
                        await starting, _extract_in_worker, self.extract, page, self.options, self.timeout, slot
                    )
                except BrokenProcessPool:
                    self._replace(starting)
                    started = self._started[slot]
                    if not started:  # it was only waiting in the pool
                        continue
                    if self.timeout and time.monotonic() - started >= self.timeout:
                        raise _Lost("timeout", f"over {self.timeout:g} s") from None
                    if alone:
                        raise _Lost("worker_died", "its worker died") from None
                    raise _Suspect from None
        finally:
            self._free_slots.append(slot)
            for _ in range(permits):
                self._slots.release()

    def _replace(self, broken: asyncio.Future[ProcessPoolExecutor]) -> None:
        """A new pool for every page in flight, once per broken pool."""
        if broken is self._pool:
            logger.warning("An extraction worker was stopped (time limit) or died: starting a new pool")
            self._pool = self._start_pool()
            broken.result().shutdown(wait=False, cancel_futures=True)
            self.stats.inc_value("extract/pool_restarts")

    def _drop(self, reason: str, page: Page, detail: str = "") -> Drop:
        count(self.stats, f"extract/{reason}", page.site)
        return Drop(f"extract/{reason}", f"{page.url}: {detail or reason}")


class _Lost(Exception):
    """The page is dropped for `reason`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


class _Suspect(Exception):
    """The pool broke while the page ran beside others: any of them may have killed its worker."""


# Forkserver: forking a process that runs a reactor and threads is unsafe.
_CONTEXT = multiprocessing.get_context("forkserver")
_started: Any = None  # in a worker: the pipeline's shared array of start times, one per slot


def _worker_started(started: Any) -> None:
    """In each worker: keep the start-time array; SIGALRM keeps its default action, ending the process."""
    global _started
    _started = started
    signal.signal(signal.SIGALRM, signal.SIG_DFL)


def _extract_in_worker(
    extract: Extract, page: Page, options: ExtractionOptions, timeout: float, slot: int
) -> tuple[Article | NotAnArticle, float]:
    """Extract one page under a kernel timer that ends this worker after `timeout` seconds (0: no limit);
    returns the article or why there is none, and the CPU time it took."""
    _started[slot] = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process
    signal.setitimer(signal.ITIMER_REAL, timeout)
    start = time.process_time()
    try:
        result: Article | NotAnArticle = extract(page, options)
    except NotAnArticle as exc:
        result = exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return result, time.process_time() - start
