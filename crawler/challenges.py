"""ChallengePages: a bot challenge is not a page; count it by vendor and never hand it to the spider."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Self

from crawler.middlewares import Refused
from model.stats import count
from model.walls import CHALLENGE_VENDORS, challenge_vendor

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class ChallengePages:
    """Refuse the answers that are a bot challenge (AWS WAF's 202, Cloudflare's "Just a moment…", DataDome,
    captcha pages), whatever their status, before retries and before any callback reads them.

    A downloader middleware, because a 202 challenge would reach the spider as a page (or an empty sitemap)
    and a 403 one only its errback. Its place in DOWNLOADER_MIDDLEWARES is after decompression and redirects
    and before retries: a challenge does not clear on a retry. Stats: crawl/blocked/challenge/<vendor>.
    """

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats
        self.warned: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats)

    def process_response(self, request: Request, response: Response) -> Response:
        headers = {
            name.decode("latin-1").lower(): (response.headers.get(name) or b"").decode("latin-1")
            for name in response.headers
        }
        vendor = challenge_vendor(response.status, headers, response.body)
        if vendor is None:
            return response
        site = request.meta.get("site")
        count(self.stats, f"crawl/blocked/challenge/{vendor}", site)
        if site not in self.warned:
            self.warned.add(site)
            logger.warning("Bot challenge (%s) on %s: HTTP %d; no more will be shown for this source",
                           CHALLENGE_VENDORS[vendor], request.url, response.status)  # fmt: skip
        raise Refused(f"bot challenge ({CHALLENGE_VENDORS[vendor]}): {request.url}")
