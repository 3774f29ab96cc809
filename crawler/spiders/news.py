"""The `news` spider: from a seeds file to candidate article pages, via start pages, feeds and sitemaps.

The spider only finds and fetches pages; it yields a `Page` for every HTML page that may be an article.
Deciding what is an article, extracting, filtering, dedup and storage are item pipelines.
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Self

import feedparser
from lxml import etree
from scrapy import Request
from scrapy.exceptions import IgnoreRequest, UsageError
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.spiders import SitemapSpider

from crawler.middlewares import Refused
from model.dates import iso_date
from model.items import Page
from model.pages import Decoded, binary_kind, decode_html, declared_encoding, declared_page_type, is_listing_url
from model.seeds import Seeds, SeedsError, SiteSeed, load_seeds
from model.settings import setting
from model.stats import count
from model.urls import is_http_url, request_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

# Entry points (feeds, sitemaps, start pages) change between runs: with HTTPCACHE_ENABLED (RFC2616Policy) a cached
# copy is always revalidated with its ETag/Last-Modified, never taken as fresh on a heuristic lifetime.
REVALIDATE = {"Cache-Control": "max-age=0"}


class NewsSpider(SitemapSpider):
    """Crawl the outlets of a seeds file (`-a seeds=PATH`, else the NEWS_SEEDS setting).

    Start pages are listings: their same-site links are followed (up to DEPTH_LIMIT) and every page found
    that passes the site's allow/deny regexes and does not look like navigation becomes a `Page` item.
    Feeds (RSS/Atom) and sitemaps (indexes, gzip, Google News) give article URLs directly; entries older
    than the seeds' `since` are skipped before they are fetched, and the pages they list are leaves.
    """

    name = "news"
    sitemap_rules = [("", "parse_page")]

    seeds: Seeds

    def __init__(self, seeds: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seeds_path = seeds

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        path = spider.seeds_path or setting(crawler.settings, "NEWS_SEEDS")
        if not path:
            raise UsageError("no seeds file: run `scrapy crawl news -a seeds=PATH` or set NEWS_SEEDS")
        try:
            spider.seeds = load_seeds(path)
        except SeedsError as exc:
            logger.error("Bad seeds file, nothing crawled: %s", exc)
            raise UsageError(f"bad seeds file: {exc}") from None
        spider.seeds_path = str(path)
        spider.allowed_domains = sorted({domain for site in spider.seeds.sites for domain in site.domains})
        spider.link_extractor = LinkExtractor(unique=True)
        return spider

    @property
    def crawl_name(self) -> str:
        """Names the crawl in output keys (the seeds file's `name`)."""
        return self.seeds.name

    async def start(self) -> AsyncIterator[Any]:
        for site in self.seeds.sites:
            for url in site.sitemaps:
                yield self._entry_point(url, self.parse_sitemap, site, 10)
            for url in site.feeds:
                yield self._entry_point(url, self.parse_feed, site, 10)
            for url in site.start_urls:
                yield self._entry_point(url, self.parse_page, site, 5, found_in="start")

    def _entry_point(self, url: str, callback: Any, site: SiteSeed, priority: int, **meta: Any) -> Request:
        """A sitemap, feed or start page: read every run, revalidated when cached (REVALIDATE)."""
        meta = {"site": site.name, **meta}
        return Request(url, callback, headers=REVALIDATE, errback=self.on_error, meta=meta, priority=priority)

    # -- entry points -------------------------------------------------------------------------------

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        """Sitemaps, sitemap indexes and gzip sitemaps, through SitemapSpider's own parsing."""
        site = self.seeds.site(response.meta["site"])
        self._lastmod: dict[str, str] = {}  # filled by sitemap_filter while _parse_sitemap runs
        try:
            requests = list(self._parse_sitemap(response))
            published = _news_publication_dates(self._get_sitemap_body(response)) if requests else {}
        except (OSError, EOFError, zlib.error, ValueError) as exc:  # corrupt gzip, truncated body
            requests = []
            logger.warning("Ignoring broken sitemap %s: %s", response.url, exc)
        if not requests:
            self._inc("crawl/sitemap/invalid_or_empty", site.name)
            return
        self._inc("crawl/sitemaps", site.name)
        for request in requests:
            if request.callback == self._parse_sitemap:  # a sitemap listed in an index: an entry point too
                yield self._entry_point(request.url, self.parse_sitemap, site, request.priority)
            else:
                key = request_url(request.url)
                dates = {"published": published.get(key), "modified": self._lastmod.get(key)}
                yield from self._article_request(site, request.url, "sitemap", dates)

    def sitemap_filter(self, entries: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Skip sitemap entries last modified before `since`, before fetching them."""
        for entry in entries:
            modified = _parse_iso_date(entry.get("lastmod", ""))
            if self.seeds.since and modified and modified < self.seeds.since:
                self._inc("crawl/skipped/too_old_entry")  # per site: sitemap_filter is not told the site
                continue
            if entry.get("lastmod") and entry.get("loc"):
                self._lastmod[request_url(entry["loc"])] = entry["lastmod"]
            yield entry

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """RSS 2.0 and Atom feeds; broken items and non-http links are counted and skipped."""
        site = self.seeds.site(response.meta["site"])
        feed = feedparser.parse(response.body, response_headers={"content-location": response.url})
        if not feed.entries:
            self._inc("crawl/feed/invalid", site.name)
            logger.warning("Feed %s has no usable entries (%s)", response.url, feed.get("bozo_exception", "empty"))
            return
        self._inc("crawl/feeds", site.name)
        for entry in feed.entries:
            link = entry.get("link")
            if not link or not is_http_url(link):
                self._inc("crawl/feed/bad_entry", site.name)
                continue
            published = entry.get("published_parsed") or entry.get("updated_parsed")
            if self.seeds.since and published and dt.date(*published[:3]) < self.seeds.since:
                self._inc("crawl/skipped/too_old_entry", site.name)
                continue
            dates = {"published": entry.get("published"), "modified": entry.get("updated")}
            yield from self._article_request(site, link, "feed", dates)

    def parse_page(self, response: Response) -> Iterator[Page | Request]:
        """Any HTML page: yield it as a candidate article and, from start pages and the pages found through
        them, follow same-site links. Pages listed in feeds and sitemaps are leaves: they go to extraction
        unparsed (it parses them anyway), and the crawl stays within the entries `since` let through."""
        site = self.seeds.site(response.meta["site"])
        kind = binary_kind(response.body) if isinstance(response, TextResponse) else "non_text"
        if kind or not isinstance(response, TextResponse):
            self._inc(f"crawl/skipped/non_html/{kind or 'non_text'}", site.name)
            return
        if not response.body.strip():
            self._inc("crawl/skipped/empty", site.name)
            return
        decoded, decoding = decode_response(response)
        if decoding.fell_back:
            self._inc("crawl/encoding_fallback", site.name)
        if decoding.replaced:
            count(self.crawler.stats, "crawl/encoding_stray_bytes", site.name, decoding.replaced)
        found_in = response.meta.get("found_in", "link")
        self._inc(f"crawl/pages/{found_in}", site.name)
        if found_in not in _FOLLOWED:
            yield from self._page(site, response.url, decoded.text, response.meta)
            return
        declared = declared_page_type(decoded.selector.root)
        if declared != "listing" and found_in != "start":
            yield from self._page(site, response.url, decoded.text)
        if declared != "article":
            for link in self.link_extractor.extract_links(decoded):
                if site.owns(link.url):
                    yield Request(
                        request_url(link.url), self.parse_page, meta=self._page_meta(site, "link"), errback=self.on_error
                    )

    # -- helpers ------------------------------------------------------------------------------------

    def _article_request(
        self, site: SiteSeed, url: str, source: str, dates: dict[str, str | None]
    ) -> Iterator[Request]:
        """A request for a feed or sitemap entry; the entry's dates, as it writes them, travel in the request's
        meta to the page's record."""
        url = request_url(url)
        if not (site.owns(url) and self._may_be_article(site, url)):
            self._inc(f"crawl/skipped/not_article_url/{source}", site.name)
            return
        meta = self._page_meta(site, source)
        meta.update({f"listed_{name}": value for name, value in dates.items() if value})
        yield Request(url, callback=self.parse_page, meta=meta, errback=self.on_error)

    def _page(self, site: SiteSeed, url: str, html: str, meta: dict[str, Any] | None = None) -> Iterator[Page]:
        """The page as a candidate article, unless its URL names navigation, an author, contact or legal page;
        with the dates of the feed item or sitemap entry that listed it, if any (`meta`)."""
        if self._may_be_article(site, url):
            fetched_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            meta = meta or {}
            yield Page(
                url=url, site=site.name, html=html, fetched_at=fetched_at,
                listed_in=meta["found_in"] if meta.get("found_in") in ("feed", "sitemap") else None,
                listed_published=iso_date(meta.get("listed_published")),
                listed_modified=iso_date(meta.get("listed_modified")),
            )  # fmt: skip

    @staticmethod
    def _page_meta(site: SiteSeed, found_in: str) -> dict[str, Any]:
        """Meta of a request for an article or listing page, found in a feed, a sitemap or a page's links. Only
        entry points (feeds, sitemaps, start pages) go through the HTTP cache, for conditional requests when
        HTTPCACHE_ENABLED: a page is fetched once anyway."""
        return {"site": site.name, "found_in": found_in, "dont_cache": True}

    def _may_be_article(self, site: SiteSeed, url: str) -> bool:
        return site.is_article_url(url) and not is_listing_url(url)

    def on_error(self, failure: Failure) -> None:
        """Count failed requests (HTTP errors, and network errors after retries); the crawl goes on."""
        if failure.check(Refused) or "robots.txt" in str(failure.value):
            return  # counted where refused (crawl/skipped/*, robotstxt/forbidden)
        if failure.check(HttpError):
            reason = f"http_{failure.value.response.status}"
        elif failure.check(IgnoreRequest):
            reason = _IGNORED.get(str(failure.value).split(" ", 1)[0], "ignored")
        else:
            reason = failure.type.__name__ if failure.type else "unknown"
        self._inc(f"crawl/failed/{reason}", failure.request.meta.get("site") if hasattr(failure, "request") else None)
        logger.info("Skipped %s: %s", getattr(failure, "request", "?"), reason)

    def _inc(self, key: str, site: str | None = None) -> None:
        count(self.crawler.stats, key, site)


# Pages whose links are followed (found_in): start pages and the pages found through them.
_FOLLOWED = ("start", "link")
# Why Scrapy ignored a request, from the first word of its message.
_IGNORED = {"max": "redirect_loop", "Ignored": "too_large"}


def decode_response(response: TextResponse) -> tuple[TextResponse, Decoded]:
    """The response whose `text` is the page as `decode_html` decodes it, and how it was decoded.

    Scrapy has most often decoded the body already (MetaRefreshMiddleware reads `response.text`); when it used
    the codec `decode_html` chose and replaced no byte, that text is the one `decode_html` gives, and the
    response itself is returned. Otherwise it is a UTF-8 copy holding `decode_html`'s text.
    """
    declared = declared_encoding(response.body, response.headers.get("Content-Type", b"").decode("latin-1"))
    if declared == "utf-8" == response.encoding and "\ufffd" not in response.text:
        return response, Decoded(response.text, declared, False)
    decoded = decode_html(response.body, declared)
    if decoded.encoding == response.encoding and not decoded.replaced:
        return response, decoded
    return response.replace(body=decoded.text.encode("utf-8"), encoding="utf-8"), decoded


def _news_publication_dates(body: bytes | None) -> dict[str, str]:
    """loc → news:publication_date of a Google News sitemap (Scrapy's Sitemap reads only an entry's direct
    children), parsed as safely as Scrapy parses sitemaps (no entities, no network)."""
    if not body or b"publication_date" not in body:
        return {}
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, remove_comments=True)
    root = etree.fromstring(body, parser=parser)
    dates = {}
    for entry in root.iterfind("{*}url") if root is not None else ():
        loc, published = entry.findtext("{*}loc"), entry.findtext("{*}news/{*}publication_date")
        if loc and published:
            dates[request_url(loc.strip())] = published.strip()
    return dates


def _parse_iso_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None

