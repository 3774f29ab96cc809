"""Scrapy alone on the bench site, for `bench.pipeline`: the floor under the crawl's main process.

A SitemapSpider with Scrapy's default settings (none of this project's) fetches every page its sitemaps list
and only decodes it, as the crawl's MetaRefreshMiddleware does, with the crawl's concurrency. Its CPU time from
the first page to the last, per page, is what Scrapy itself costs before any of this project's work.

    python -m bench.bare http://127.0.0.1:PORT/sitemap.xml --concurrency 16   # prints {"pages": …, "cpu": …}
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.spiders import SitemapSpider

from bench.stages import process_cpu


class BareSpider(SitemapSpider):
    name = "bare"

    def __init__(self, sitemap: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sitemap_urls = [sitemap]
        self.pages = 0
        self.first_page_cpu: float | None = None

    def parse(self, response: Response) -> None:
        if self.first_page_cpu is None:
            self.first_page_cpu = process_cpu()
        self.pages += 1
        response.text  # noqa: B018  (decoded, as the crawl decodes every page)

    def closed(self, reason: str) -> None:
        cpu = process_cpu() - (self.first_page_cpu or 0.0)
        print(json.dumps({"pages": self.pages, "cpu": cpu}))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sitemap")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    process = CrawlerProcess(
        {"CONCURRENT_REQUESTS": args.concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
         "LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False}  # fmt: skip
    )
    process.crawl(BareSpider, sitemap=args.sitemap)
    process.start()


if __name__ == "__main__":
    main()
