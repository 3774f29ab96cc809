"""Downloader middleware that keeps hostile pages from steering the crawler off the public web."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.stats import count

if TYPE_CHECKING:
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
        if not crawler.settings.getbool("BLOCK_PRIVATE_ADDRESSES"):
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
