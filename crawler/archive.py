"""ArchivePages: the response of every page the spider yields goes into the run's gzip WARC archive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Collection
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import NotConfigured

from model import events
from model.items import Page
from model.settings import setting
from model.stats import count
from model.warc import Exchange, FinishedWarc, WarcFile, warc_name

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Headers, Response

class ArchivePages:
    """Spider middleware (ARCHIVE_ENABLED): writes each page's request and response as WARC records, so that
    a later extractor can be run on what this crawl fetched (`scrapy reextract`), and a record checked against
    its page (its `warc` field: the file's key and the record's offset).

    The file being written is in memory; it is handed to the store (`events.archive_written`) when it reaches
    ARCHIVE_FILE_MAX_BYTES, and earlier when the store is about to write a record whose page is in it
    (`events.archive_needed`): a stored record's page is always in storage or in the spool before the record.
    Stats: archive/pages, archive/seconds (CPU time encoding).
    """

    def __init__(self, crawler: Crawler, max_bytes: int) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.max_bytes = max_bytes
        self.software = f"newsdedup/{version('newsdedup')} scrapy/{version('scrapy')}"
        self.run_prefix: str | None = None
        self.file: WarcFile | None = None
        self.files = 0
        self._writing = asyncio.Lock()  # one page at a time into the file, and no hand-over in the middle of one

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not setting(crawler.settings, "ARCHIVE_ENABLED"):
            raise NotConfigured("ARCHIVE_ENABLED is off")
        middleware = cls(crawler, setting(crawler.settings, "ARCHIVE_FILE_MAX_BYTES"))
        crawler.signals.connect(middleware.run_opened, signal=events.run_opened)
        crawler.signals.connect(middleware.hand_over, signal=events.archive_needed)
        return middleware

    def run_opened(self, run_prefix: str) -> None:
        self.run_prefix = run_prefix

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for output in result:
            if isinstance(output, Page):
                await self._archive(response, output)
            yield output

    async def _archive(self, response: Response, page: Page) -> None:
        if self.run_prefix is None:  # no store in this crawl: nowhere to put the archive
            return
        request = response.request
        listed = {"Listed-In": page.listed_in, "Listed-Published": page.listed_published, "Listed-Modified": page.listed_modified}
        exchange = Exchange(
            url=page.url, status=response.status, headers=_pairs(response.headers), body=response.body,
            fetched_at=page.fetched_at, method=request.method if request else "GET",
            request_headers=_pairs(request.headers) if request else [],
            fields={"Site": page.site, **{name: value for name, value in listed.items() if value}},
        )  # fmt: skip
        async with self._writing:
            if self.file is None:
                self.file = WarcFile(warc_name(self.files), self.software)
                self.files += 1
            file = self.file
            # Compressing and hashing release the GIL: in a thread, they leave the event loop to the crawl.
            offset, seconds = await asyncio.to_thread(_timed, file.add, exchange)
            finished = self._take() if file.size >= self.max_bytes else None
        page.warc = {"file": f"{self.run_prefix}/{file.name}", "offset": offset}
        self.stats.inc_value("archive/seconds", seconds)
        count(self.stats, "archive/pages", page.site)
        if finished is not None:
            await self.crawler.signals.send_catch_log_async(signal=events.archive_written, warc=finished)

    async def hand_over(self, files: Collection[str] | None) -> None:
        """Give the store the file being written, when it is one of `files` (keys) or `files` is None (the
        run ends); a file that is handed over is closed, the next page opens another."""
        async with self._writing:
            if self.file is None or (files is not None and f"{self.run_prefix}/{self.file.name}" not in files):
                return
            finished = self._take()
        await self.crawler.signals.send_catch_log_async(signal=events.archive_written, warc=finished)

    def _take(self) -> FinishedWarc:
        assert self.file is not None
        finished, self.file = self.file.finish(), None
        return finished


def _timed(add: Callable[[Exchange], int], exchange: Exchange) -> tuple[int, float]:
    """`add(exchange)` and the CPU seconds this thread spent in it (archive/seconds)."""
    start = time.thread_time()
    return add(exchange), time.thread_time() - start


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, values in headers.items() for value in values]
