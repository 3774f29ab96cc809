"""Distributed mode: REDIS_URL turns it on, and every component that needs Redis shares one client per crawler.

With REDIS_URL set, N `scrapy crawl news` processes (on any machines) crawl as one: they share the frontier and
the request dupefilter (crawler/queues.py, on scrapy-redis) and the dedup index (pipelines/dedup/redis_index.py).
Without it nothing here is used and a crawl runs in one process, as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from scrapy_redis.connection import get_redis_from_settings

from model.settings import setting

if TYPE_CHECKING:
    from collections.abc import Callable

    import redis
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

NAMESPACE = "newsdedup"

# Redis not answering (refused, reset, timed out, still loading its AOF): worth waiting for, unlike a script error.
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


class RedisOutage(ConnectionError):
    """Redis did not answer for REDIS_OUTAGE_TIMEOUT, or came back without the crawl's state."""


class Outage:
    """One worker's wait for Redis. A component whose call fails with REDIS_DOWN reports it (`failed`) and
    waits (`wait`) before calling again; one probe pings Redis with a bounded back-off until it answers and
    `check` finds the crawl's state still there, or until REDIS_OUTAGE_TIMEOUT has passed. Both failures are
    final: waiters get RedisOutage and `on_fatal(reason, message)` stops the crawl.
    """

    def __init__(self, client: redis.Redis, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self.check: Callable[[], str | None] = lambda: None  # a message when Redis came back without the crawl
        self.on_fatal: Callable[[str, str], None] = lambda reason, message: None
        self.fatal: str | None = None
        self.recovered_at = -float("inf")  # time.monotonic() when Redis last answered again
        self._back: asyncio.Event | None = None
        self._probe: asyncio.Future[None] | None = None

    @property
    def down(self) -> bool:
        return self._probe is not None or self.fatal is not None

    def failed(self, exc: BaseException) -> None:
        """Redis did not answer a call (from the event loop's thread)."""
        if self.down:
            return
        logger.warning("Redis does not answer (%s): waiting for it, up to %g s (REDIS_OUTAGE_TIMEOUT)", exc,
                       self.timeout)  # fmt: skip
        self._back = asyncio.Event()
        self._probe = asyncio.ensure_future(self._wait_for_redis())

    async def wait(self) -> None:
        """Return once Redis answers again; raise RedisOutage when it will not."""
        if self._back is not None and self._probe is not None:
            await self._back.wait()
        if self.fatal is not None:
            raise RedisOutage(self.fatal)

    async def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """`function(*args)`, again each time Redis is back, until it answers or the wait is given up."""
        while True:
            await self.wait()
            try:
                return function(*args)
            except REDIS_DOWN as exc:
                self.failed(exc)

    async def _wait_for_redis(self) -> None:
        began, delay = time.monotonic(), 0.1
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            try:
                await asyncio.to_thread(self.client.ping)
                problem = await asyncio.to_thread(self.check)
            except REDIS_DOWN:
                if time.monotonic() - began < self.timeout:
                    continue
                problem, reason = f"Redis did not answer for {self.timeout:g} s (REDIS_OUTAGE_TIMEOUT)", "redis_failed"
            else:
                reason = "redis_data_lost_failed"
            break
        if problem is None:
            logger.warning("Redis answers again after %.1f s: the crawl goes on", time.monotonic() - began)
            self.recovered_at = time.monotonic()
        else:
            self.fatal = problem
            logger.error("%s: this worker stops", problem)
            self.on_fatal(reason, problem)
        self._probe = None
        assert self._back is not None
        self._back.set()


def crawl_prefix(crawl: str) -> str:
    """Prefix of every key of one crawl; the crawl name is a Redis hash tag, so a crawl's keys share one slot."""
    return f"{NAMESPACE}:{{{crawl}}}"


@dataclass(frozen=True)
class RedisLink:
    """The crawler's Redis client, and the name this process goes by among the crawl's workers."""

    client: redis.Redis
    worker: str
    outage: Outage


_links: weakref.WeakKeyDictionary[Crawler, RedisLink] = weakref.WeakKeyDictionary()


def redis_link(crawler: Crawler) -> RedisLink | None:
    """The one RedisLink of `crawler` (created on first use), or None when REDIS_URL is not set.

    The client comes from scrapy-redis's `get_redis_from_settings` (REDIS_URL, REDIS_PARAMS), so the scheduler,
    the dupefilter and dedup connect the same way. The worker name says where a process runs, for the logs; the
    random part keeps two processes apart even when a pid is reused.
    """
    if not setting(crawler.settings, "REDIS_URL"):
        return None
    if crawler not in _links:
        worker = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        client = get_redis_from_settings(crawler.settings)
        _links[crawler] = RedisLink(client, worker, Outage(client, setting(crawler.settings, "REDIS_OUTAGE_TIMEOUT")))
    return _links[crawler]
