"""Downloader middlewares: keep hostile pages from steering the crawler off the public web; skip what is stored."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured

from model import events
from model.settings import setting
from model.stats import count
from model.urls import url_key

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(IgnoreRequest):
    """A request this middleware refused; already counted, so errbacks need not count it again."""


def is_public(address: Address) -> bool:
    """False for loopback, private, link-local (cloud metadata), multicast, reserved and unspecified addresses."""
    return address.is_global and not address.is_multicast


async def resolve(host: str) -> list[Address]:
    """Every address `host` resolves to (an IP literal is its own address)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = await asyncio.to_thread(socket.getaddrinfo, host, None, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


class PublicAddressesOnly:
    """Refuse requests that are not http(s), or whose host resolves to a non-public address.

    A page can link anywhere: `file:///etc/passwd`, `http://169.254.169.254/` (cloud metadata) or an
    intranet name. Setting: BLOCK_PRIVATE_ADDRESSES (on by default; the tests and the demo, which serve
    on loopback, turn it off). Stats: crawl/skipped/not_http, crawl/skipped/private_address. A host is
    refused when any of its addresses is not public, so a name with one private record cannot slip through.
    """

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats
        self.verdicts: dict[str, bool] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not setting(crawler.settings, "BLOCK_PRIVATE_ADDRESSES"):
            raise NotConfigured("BLOCK_PRIVATE_ADDRESSES is off")
        return cls(crawler.stats)

    async def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        site = request.meta.get("site")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            count(self.stats, "crawl/skipped/not_http", site)
            raise Refused(f"not an http(s) URL: {request.url}")
        host = parts.hostname
        if host not in self.verdicts:
            try:
                self.verdicts[host] = all(is_public(address) for address in await resolve(host))
            except OSError:
                return  # unresolvable: let the download fail and be counted like any DNS error
        if not self.verdicts[host]:
            count(self.stats, "crawl/skipped/private_address", site)
            logger.warning("Refused %s: %s is not a public address (BLOCK_PRIVATE_ADDRESSES)", request.url, host)
            raise Refused(f"{host} is not a public address")


class SkipStored:
    """Do not fetch again a page whose article an earlier run stored (or dropped as a copy of a stored one).

    A scheduled crawl then fetches only what is new: feeds, sitemaps and start pages are read every run, and
    the pages they lead to are skipped when their URL key (`model.urls.url_key`: AMP, print and tracking
    variants included) is in the dedup state of earlier runs, beside the output or in Redis. The stage that
    knows it (dedup) hands over its lookup with `events.stored_lookup`; without one nothing is skipped.
    Setting: CRAWL_SKIP_STORED. Stats: crawl/skipped/already_stored.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.is_stored: Callable[[str], bool] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not setting(crawler.settings, "CRAWL_SKIP_STORED"):
            raise NotConfigured("CRAWL_SKIP_STORED is off")
        middleware = cls(crawler)
        crawler.signals.connect(middleware.stored_lookup, signal=events.stored_lookup)
        return middleware

    def stored_lookup(self, lookup: Callable[[str], bool]) -> None:
        self.is_stored = lookup

    def process_request(self, request: Request) -> None:
        if self.is_stored is not None and self.is_stored(url_key(request.url)):
            count(self.crawler.stats, "crawl/skipped/already_stored", request.meta.get("site"))
            raise Refused(f"stored by an earlier run: {request.url}")
