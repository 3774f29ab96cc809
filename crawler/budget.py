"""Budgets against crawler traps: a request budget per site, and URL patterns whose pages are only listings.

DEPTH_LIMIT bounds how deep links are followed, not how wide: a calendar whose every day links to the next
twenty, a pagination or a faceted search can cost thousands of requests at depth 3. Each site gets a budget
of requests per run (seeds `max_requests`, else CRAWL_MAX_REQUESTS_PER_SITE), and links of a URL pattern
(`url_template`) are no longer fetched once CRAWL_TRAP_MIN_PAGES of its pages were fetched and none of them
was an article.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.middlewares import Refused
from model.items import Page
from model.settings import setting
from model.stats import count

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

__all__ = ["ListingTraps", "RequestBudget", "TrapDetector", "url_template"]

_DIGITS = re.compile(r"\d+")
# Stages after extraction: an item they drop was an article (off-topic, too old or a copy, but an article).
_ARTICLE_STAGES = ("select/", "dedup/", "store/")


def url_template(url: str) -> str:
    """The pattern a URL shares with its calendar, pagination and faceted-search siblings: digit runs read `#`,
    a path segment of the same shape as the one before it is folded into it (`/agenda/j01/j02` and
    `/agenda/j01` both read `host/agenda/j#`), and any query reads `?`, whatever its parameters."""
    parts = urlsplit(url)
    shapes: list[str] = []
    for segment in parts.path.split("/"):
        shape = _DIGITS.sub("#", segment)
        if shape and (not shapes or shapes[-1] != shape):
            shapes.append(shape)
    return f"{parts.hostname or ''}/{'/'.join(shapes)}{'?' if parts.query else ''}"


class TrapDetector:
    """Per site, the URL patterns that gave only listings: once `min_pages` pages of a pattern were judged and
    none was an article, the pattern is a trap. A pattern that gave one article never is (article URLs that
    differ only by their digits share one)."""

    def __init__(self, min_pages: int) -> None:
        self.min_pages = min_pages
        self.listings: Counter[tuple[str, str]] = Counter()
        self.productive: set[tuple[str, str]] = set()
        self.traps: set[tuple[str, str]] = set()

    def judge(self, site: str, url: str, article: bool) -> str | None:
        """Note whether a page of `site` was an article; returns its pattern when this made the pattern a trap."""
        key = (site, url_template(url))
        if key in self.productive or key in self.traps:
            return None
        if article:
            self.productive.add(key)
            self.listings.pop(key, None)
            return None
        self.listings[key] += 1
        if self.listings[key] < self.min_pages:
            return None
        self.traps.add(key)
        del self.listings[key]
        return key[1]

    def is_trap(self, site: str, url: str) -> bool:
        return (site, url_template(url)) in self.traps


def _followed(response: Response | None) -> bool:
    """Pages found through links are the ones a trap is made of (start pages, feed and sitemap entries are not)."""
    return response is not None and response.meta.get("found_in") == "link" and "site" in response.meta


class ListingTraps:
    """Spider middleware that judges every page found through links, for `TrapDetector`: a page that gave no
    candidate article is a listing at once, a candidate is an article once it passed extraction (the item
    signals tell). RequestBudget refuses the links of a trap. Setting: CRAWL_TRAP_MIN_PAGES (0 = off).
    Stats: crawl/traps (patterns found), crawl/skipped/trap (requests not made, counted by RequestBudget).
    """

    def __init__(self, crawler: Crawler, min_pages: int) -> None:
        self.stats = crawler.stats
        self.detector = TrapDetector(min_pages)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        min_pages = setting(crawler.settings, "CRAWL_TRAP_MIN_PAGES")
        if min_pages <= 0:
            raise NotConfigured("CRAWL_TRAP_MIN_PAGES is 0")
        middleware = cls(crawler, min_pages)
        crawler.signals.connect(middleware.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(middleware.item_dropped, signal=signals.item_dropped)
        return middleware

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        candidate = False
        for output in result:
            candidate = candidate or isinstance(output, Page)
            yield output
        if not candidate:
            self._judge(response, article=False)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        candidate = False
        async for output in result:
            candidate = candidate or isinstance(output, Page)
            yield output
        if not candidate:
            self._judge(response, article=False)

    def item_scraped(self, item: Any, response: Response) -> None:
        self._judge(response, article=True)

    def item_dropped(self, item: Any, response: Response, exception: Exception) -> None:
        self._judge(response, article=str(getattr(exception, "reason", "")).startswith(_ARTICLE_STAGES))

    def _judge(self, response: Response | None, article: bool) -> None:
        if not _followed(response):
            return
        assert response is not None
        site = response.meta["site"]
        pattern = self.detector.judge(site, response.url, article)
        if pattern:
            count(self.stats, "crawl/traps", site)
            logger.warning(
                "%s: %d pages of %s were all listings; its other links are not followed (CRAWL_TRAP_MIN_PAGES)",
                site, self.detector.min_pages, pattern,
            )  # fmt: skip


class RequestBudget:
    """Downloader middleware: no request to a trap pattern (ListingTraps), and at most a budget of requests per
    site and run, retries included (seeds `max_requests`, else CRAWL_MAX_REQUESTS_PER_SITE; 0 = no limit).
    Per process: each worker of a distributed crawl has its own budget. Stats: crawl/skipped/trap,
    crawl/skipped/budget (requests not made).
    """

    def __init__(self, crawler: Crawler, default: int) -> None:
        self.crawler = crawler
        self.default = default
        self.budgets: dict[str, int] = {}
        self.made: Counter[str] = Counter()
        self.traps: TrapDetector | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(crawler, setting(crawler.settings, "CRAWL_MAX_REQUESTS_PER_SITE"))
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        return middleware

    def spider_opened(self, spider: Spider) -> None:
        seeds = getattr(spider, "seeds", None)
        for site in seeds.sites if seeds else ():
            self.budgets[site.name] = self.default if site.max_requests is None else site.max_requests
        traps = self.crawler.get_spider_middleware(ListingTraps)
        self.traps = traps.detector if traps else None

    def process_request(self, request: Request) -> None:
        site = request.meta.get("site")
        if not site:
            return
        stats = self.crawler.stats
        if self.traps and request.meta.get("found_in") == "link" and self.traps.is_trap(site, request.url):
            count(stats, "crawl/skipped/trap", site)
            raise Refused(f"in a URL trap: {request.url}")
        budget = self.budgets.get(site, self.default)
        if budget and self.made[site] >= budget:
            if not stats.get_value(f"sites/{site}/crawl/skipped/budget"):
                logger.warning("%s: request budget of %d reached; its other requests are not made "
                               "(max_requests in the seeds, CRAWL_MAX_REQUESTS_PER_SITE)", site, budget)  # fmt: skip
            count(stats, "crawl/skipped/budget", site)
            raise Refused(f"request budget of {site} reached: {request.url}")
        self.made[site] += 1
