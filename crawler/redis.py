"""Distributed mode: REDIS_URL turns it on, and every component that needs Redis shares one client per crawler.

With REDIS_URL set, N `scrapy crawl news` processes (on any machines) crawl as one: they share the frontier and
the request dupefilter (crawler/queues.py, on scrapy-redis) and the dedup index (pipelines/dedup/redis_index.py).
Without it nothing here is used and a crawl runs in one process, as before.
"""

from __future__ import annotations

import os
import secrets
import socket
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy_redis.connection import get_redis_from_settings

if TYPE_CHECKING:
    import redis
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

NAMESPACE = "newsdedup"


def crawl_prefix(crawl: str) -> str:
    """Prefix of every key of one crawl; the crawl name is a Redis hash tag, so a crawl's keys share one slot."""
    return f"{NAMESPACE}:{{{crawl}}}"


@dataclass(frozen=True)
class RedisLink:
    """The crawler's Redis client, and the name this process goes by among the crawl's workers."""

    client: redis.Redis
    worker: str


_links: weakref.WeakKeyDictionary[Crawler, RedisLink] = weakref.WeakKeyDictionary()


def redis_link(crawler: Crawler) -> RedisLink | None:
    """The one RedisLink of `crawler` (created on first use), or None when REDIS_URL is not set.

    The client comes from scrapy-redis's `get_redis_from_settings` (REDIS_URL, REDIS_PARAMS), so the scheduler,
    the dupefilter and dedup connect the same way. The worker name says where a process runs, for the logs; the
    random part keeps two processes apart even when a pid is reused.
    """
    if not crawler.settings.get("REDIS_URL"):
        return None
    if crawler not in _links:
        worker = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        _links[crawler] = RedisLink(get_redis_from_settings(crawler.settings), worker)
    return _links[crawler]


class Distributed:
    """Scrapy add-on: with REDIS_URL set, schedule requests through the crawl's shared Redis frontier.

    An add-on because `-s REDIS_URL=…` on the command line must be able to switch the scheduler, which a
    settings module cannot see. Dedup needs no switch: its pipeline asks `redis_link` itself.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        if settings.get("REDIS_URL"):
            settings.set("SCHEDULER", "crawler.queues.RedisScheduler", "addon")
