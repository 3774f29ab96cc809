"""The `archive` spider: pages an earlier crawl archived (WARC), replayed as `Page` items without a request."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy.exceptions import UsageError
from scrapy.http import Headers, TextResponse
from scrapy.responsetypes import responsetypes

from crawler.spiders.news import NewsSpider, decode_response
from model.items import Page
from model.pages import binary_kind
from model.seeds import SiteSeed
from model.warc import ArchivedExchange, Damage

logger = logging.getLogger(__name__)


class ArchiveSpider(NewsSpider):
    """Yield a `Page` for every archived HTML response (`-a seeds=PATH` as for `news`), with the time it was
    fetched, the feed or sitemap dates it was listed with and its place in the archive, so that the stages
    behind it (extract → select → dedup → store) run on it as if it had just been crawled. `scrapy reextract`
    passes the archive as `archive`: the WARC files of past runs, or of another tool (Common Crawl's news
    crawl), read by model.warc. No request is made.

    Stats: crawl/pages/archive; reextract/damaged (a WARC part that could not be read: logged with its file
    and offset), reextract/skipped/<reason> (not_in_seeds, http_<status>, non_html, not_article_url).
    """

    name = "archive"

    def __init__(self, archive: Iterable[ArchivedExchange | Damage] | None = None, *args: Any, **kwargs: Any) -> None:
        if archive is None:  # `scrapy crawl archive`, or scheduled by scrapyd: there is nothing to replay
            raise UsageError("the archive spider replays WARC files: run `scrapy reextract OUTPUT_URI --run RUN_ID`")
        super().__init__(*args, **kwargs)
        self.archive = archive

    async def start(self) -> AsyncIterator[Any]:
        for read in self.archive:
            if isinstance(read, Damage):
                self._inc("reextract/damaged")
                logger.error("Unreadable WARC data in %s at offset %d: %s", read.file, read.offset, read.error)
                continue
            page = self._replayed(read)
            if page is not None:
                yield page

    def _replayed(self, read: ArchivedExchange) -> Page | None:
        exchange, fields = read.exchange, read.exchange.fields
        site = self._site(fields.get("Site"), exchange.url)
        if site is None:
            self._inc("reextract/skipped/not_in_seeds")
            return None
        headers = Headers(exchange.headers)
        response = responsetypes.from_args(headers=headers, url=exchange.url, body=exchange.body)(
            exchange.url, status=exchange.status, headers=headers, body=exchange.body
        )
        reason = None
        if exchange.status != 200:
            reason = f"http_{exchange.status}"
        elif not isinstance(response, TextResponse) or binary_kind(exchange.body) or not exchange.body.strip():
            reason = "non_html"
        elif not self._may_be_article(site, exchange.url):
            reason = "not_article_url"
        if reason:
            self._inc(f"reextract/skipped/{reason}", site.name)
            return None
        self._inc("crawl/pages/archive", site.name)
        assert isinstance(response, TextResponse)
        return Page(
            url=exchange.url, site=site.name, html=decode_response(response)[0].text, fetched_at=exchange.fetched_at,
            listed_in=fields.get("Listed-In"), listed_published=fields.get("Listed-Published"),
            listed_modified=fields.get("Listed-Modified"), warc={"file": read.file, "offset": read.offset},
        )  # fmt: skip

    def _site(self, name: str | None, url: str) -> SiteSeed | None:
        """The seeds' site the archive names, else the one that owns the URL (another tool's archive)."""
        named = next((site for site in self.seeds.sites if site.name == name), None)
        return named or next((site for site in self.seeds.sites if site.owns(url)), None)
