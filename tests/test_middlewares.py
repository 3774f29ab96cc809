"""The public-addresses-only guard: hostile links cannot reach local files, loopback, intranet or metadata."""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.test import get_crawler

from crawler.middlewares import PublicAddressesOnly


def guard(enabled: bool = True) -> tuple[PublicAddressesOnly, object]:
    crawler = get_crawler(Spider, {"BLOCK_PRIVATE_ADDRESSES": enabled})
    return PublicAddressesOnly.from_crawler(crawler), crawler


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/admin",
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/iam/",  # cloud metadata endpoint
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://[::1]/",
        "http://[fd00::1]/",
        "http://0.0.0.0/",
    ],
)
def test_non_public_hosts_are_refused_and_counted(url: str) -> None:
    middleware, crawler = guard()
    with pytest.raises(IgnoreRequest, match="not a public address"):
        asyncio.run(middleware.process_request(Request(url, meta={"site": "x"})))
    assert crawler.stats.get_value("crawl/skipped/private_address") == 1
    assert crawler.stats.get_value("sites/x/crawl/skipped/private_address") == 1


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "data:text/html,<p>x</p>"])
def test_only_http_urls_are_fetched(url: str) -> None:
    middleware, crawler = guard()
    with pytest.raises(IgnoreRequest, match="not an http"):
        asyncio.run(middleware.process_request(Request(url)))
    assert crawler.stats.get_value("crawl/skipped/not_http") == 1


def test_public_addresses_pass() -> None:
    middleware, _ = guard()
    assert asyncio.run(middleware.process_request(Request("https://93.184.215.14/article"))) is None


def test_the_guard_can_be_turned_off() -> None:
    with pytest.raises(NotConfigured):
        guard(enabled=False)
