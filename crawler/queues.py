"""The shared frontier of a distributed crawl: scrapy-redis's scheduler and dupefilter, made safe to kill.

scrapy-redis pops a request from Redis and forgets it, so a worker that dies loses the requests it was working
on, and its SCHEDULER_PERSIST=False clears the frontier when the first worker finishes. Here a popped request
moves (atomically, in one Lua script) to the popping worker's own sorted set and stays there until that worker
has finished its run and written its records. A worker shows it is alive with a key that expires after
REDIS_WORKER_TIMEOUT seconds, refreshed from a thread (a reactor busy for a while is not a dead worker); when
one stops answering, another gives its requests back to the queue, after
dedup has forgotten what the dead worker kept but never wrote (`worker_lost`). Workers stay until the whole
crawl is done (no request queued, no other worker busy), and the last one to leave clears the dupefilter, so
the next scheduled run reads its feeds and sitemaps again.

Keys, per crawl (the crawl name is a hash tag): `newsdedup:{crawl}:requests` (sorted set, scrapy-redis's
priority queue), `:dupefilter` (set, scrapy-redis's RFPDupeFilter), `:workers` (hash), `:busy` (set) and, per
worker, `:worker:<id>:alive`, `:worker:<id>:requests`, `:worker:<id>:reaper`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from redis.exceptions import RedisError
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.python.failure import Failure

from crawler import crawl_name
from crawler.redis import crawl_prefix, redis_link

if TYPE_CHECKING:
    import redis
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.spiders import Spider

    from crawler.redis import RedisLink

logger = logging.getLogger(__name__)

# Sent, and awaited, before a dead worker's requests go back to the queue. Argument: `worker`. Dedup forgets
# the articles that worker kept but never wrote, so that their pages, fetched again, are kept again.
worker_lost = object()

# Sent when a worker leaves after its pipelines closed, everything it kept being written. Argument: `worker`.
worker_finished = object()


class RedisUnreachable(ConnectionError):
    """REDIS_URL is set but Redis does not answer: the crawl stops before its first request."""


@dataclass(frozen=True)
class FrontierKeys:
    """Redis key names of one crawl's frontier."""

    prefix: str

    @classmethod
    def of(cls, crawl: str) -> FrontierKeys:
        return cls(crawl_prefix(crawl))

    @property
    def requests(self) -> str:
        return f"{self.prefix}:requests"

    @property
    def dupefilter(self) -> str:
        return f"{self.prefix}:dupefilter"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def busy(self) -> str:
        return f"{self.prefix}:busy"

    def worker(self, worker: str, what: str) -> str:
        """`alive` (heartbeat), `requests` (popped, not yet finished) or `reaper` (who gives them back)."""
        return f"{self.prefix}:worker:{worker}:{what}"


# KEYS: queue, this worker's requests, busy. ARGV: worker. Pop the first request and keep it as this worker's.
_POP = """
local popped = redis.call('ZPOPMIN', KEYS[1])
if popped[1] == nil then return false end
redis.call('ZADD', KEYS[2], popped[2], popped[1])
redis.call('SADD', KEYS[3], ARGV[1])
return popped[1]
"""

# KEYS: workers, busy, alive. ARGV: worker, info, ttl (ms).
_JOIN = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
"""

# KEYS: workers, alive. ARGV: worker, ttl (ms). False when another worker took this one for dead.
_BEAT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 1
"""

# KEYS: queue, workers, busy. ARGV: worker, alive-key prefix, alive-key suffix.
# Marks this worker idle; returns {requests queued, other workers busy, workers dead and not yet reaped}.
_STATE = """
redis.call('SREM', KEYS[3], ARGV[1])
local busy, dead = 0, 0
for _, worker in ipairs(redis.call('HKEYS', KEYS[2])) do
  if worker ~= ARGV[1] then
    if redis.call('EXISTS', ARGV[2] .. worker .. ARGV[3]) == 0 then
      dead = dead + 1
    elseif redis.call('SISMEMBER', KEYS[3], worker) == 1 then
      busy = busy + 1
    end
  end
end
return {redis.call('ZCARD', KEYS[1]), busy, dead}
"""

# KEYS: the worker's requests, queue, workers, busy, alive, reaper. ARGV: worker.
# Gives the worker's requests back to the queue (each at its own priority) and forgets the worker.
_REQUEUE = """
local count = redis.call('ZCARD', KEYS[1])
if count > 0 then
  redis.call('ZUNIONSTORE', KEYS[2], 2, KEYS[2], KEYS[1], 'AGGREGATE', 'MIN')
end
redis.call('DEL', KEYS[1], KEYS[5], KEYS[6])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
return count
"""

# KEYS: the worker's requests, workers, busy, alive, queue, dupefilter. ARGV: worker.
# A worker leaves; the last one out of a finished crawl clears its dupefilter. Returns 1 when it did.
_LEAVE = """
redis.call('DEL', KEYS[1], KEYS[4])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('HLEN', KEYS[2]) == 0 and redis.call('ZCARD', KEYS[5]) == 0 then
  redis.call('DEL', KEYS[6])
  return 1
end
return 0
"""


class ReliableQueue(PriorityQueue):
    """scrapy-redis's priority queue whose `pop` moves the request to this worker's own sorted set, in one
    Lua script, instead of dropping it: a request is never only in the memory of a process that may die."""

    def __init__(self, server: redis.Redis, spider: Spider, keys: FrontierKeys, worker: str) -> None:
        super().__init__(server, spider, keys.requests)
        self.keys = keys
        self.worker = worker
        self._pop = server.register_script(_POP)

    def pop(self, timeout: int = 0) -> Request | None:
        """The request of highest priority, or None at once when the queue is empty (never blocks the reactor)."""
        mine = self.keys.worker(self.worker, "requests")
        data = self._pop(keys=[self.key, mine, self.keys.busy], args=[self.worker])
        return self._decode_request(data) if data else None


class RedisScheduler(Scheduler):
    """scrapy-redis's Scheduler over a ReliableQueue and an RFPDupeFilter, both namespaced by the crawl's name
    (every crawl runs the same spider), for workers that may join late and die at any time.

    Enabled by `crawler.redis.Distributed` when REDIS_URL is set. Settings: REDIS_URL, REDIS_PARAMS,
    REDIS_WORKER_TIMEOUT (seconds without a heartbeat after which a worker is taken for dead), DUPEFILTER_DEBUG.
    Stats: scheduler/enqueued/redis, scheduler/dequeued/redis, scheduler/requeued_from_dead_workers.
    """

    def __init__(self, crawler: Crawler, link: RedisLink, worker_timeout: float) -> None:
        super().__init__(link.client, persist=True)
        self.crawler = crawler
        self.stats = crawler.stats
        self.worker = link.worker
        self.ttl_ms = int(worker_timeout * 1000)
        self.keys: FrontierKeys | None = None
        self._stop = threading.Event()
        self._reaper: asyncio.Task[None] | None = None
        self._scripts = {name: link.client.register_script(script) for name, script in (
            ("join", _JOIN), ("beat", _BEAT), ("state", _STATE), ("requeue", _REQUEUE), ("leave", _LEAVE))}  # fmt: skip

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        link = redis_link(crawler)
        if link is None:
            raise ValueError("RedisScheduler needs REDIS_URL")
        scheduler = cls(crawler, link, crawler.settings.getfloat("REDIS_WORKER_TIMEOUT", 60.0))
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        return scheduler

    def open(self, spider: Spider) -> None:
        self.spider = spider
        try:
            self.server.ping()
        except RedisError as exc:
            raise RedisUnreachable(f"Redis (REDIS_URL) cannot be reached, nothing crawled: {exc}") from None
        keys = self.keys = FrontierKeys.of(crawl_name(spider))
        self.queue = ReliableQueue(self.server, spider, keys, self.worker)
        self.df = RFPDupeFilter(self.server, keys.dupefilter, self.crawler.settings.getbool("DUPEFILTER_DEBUG"))
        info = json.dumps({"started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
        self._scripts["join"](
            keys=[keys.workers, keys.busy, keys.worker(self.worker, "alive")], args=[self.worker, info, self.ttl_ms]
        )
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._keep_alive, args=(loop,), name="worker-heartbeat", daemon=True).start()
        self._reaper = asyncio.ensure_future(self._reap_forever())
        logger.info("Worker %s joined crawl %s (%d requests queued)", self.worker, keys.prefix, len(self.queue))

    def close(self, reason: str) -> None:
        """Leave the crawl. Called after the pipelines closed, so every record this worker kept is written."""
        if self.keys is None:  # never joined (Redis unreachable)
            return
        keys = self.keys
        self._stop.set()
        if self._reaper is not None:
            self._reaper.cancel()
        self.crawler.signals.send_catch_log(signal=worker_finished, worker=self.worker)
        if reason != "finished":  # stopped early: what it took goes back (pages whose records are written are skipped)
            logger.info("Stopped (%s): %d requests given back to the queue", reason, self._requeue(self.worker))
        last = self._scripts["leave"](
            keys=[keys.worker(self.worker, "requests"), keys.workers, keys.busy, keys.worker(self.worker, "alive"),
                  keys.requests, keys.dupefilter],
            args=[self.worker],
        )  # fmt: skip
        if last:
            logger.info("Last worker out: crawl %s is done, its dupefilter cleared", keys.prefix)

    def spider_idle(self) -> None:
        """Stay while requests are queued, another worker is busy or a dead one still holds requests."""
        assert self.keys is not None
        keys = self.keys
        queued, busy, dead = self._scripts["state"](
            keys=[keys.requests, keys.workers, keys.busy], args=[self.worker, f"{keys.prefix}:worker:", ":alive"]
        )
        if queued or busy or dead:
            raise DontCloseSpider

    def _keep_alive(self, loop: asyncio.AbstractEventLoop) -> None:
        """Refresh this worker's heartbeat, from a thread: a reactor busy for a while is not a dead worker."""
        while not self._stop.wait(self.ttl_ms / 3000):
            try:
                alive = self._beat()
            except RedisError as exc:  # Redis away for a moment: try again at the next beat
                logger.warning("Heartbeat of worker %s failed: %s", self.worker, exc)
                continue
            if not alive:
                logger.error("Worker %s was taken for dead by the others: stopping", self.worker)
                loop.call_soon_threadsafe(self._stop_crawl)
                return

    def _stop_crawl(self) -> None:
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="worker_timeout"))

    async def _reap_forever(self) -> None:
        """Give back the requests of workers that stopped answering, at every heartbeat."""
        while True:
            try:
                await self._reap()
            except RedisError as exc:
                logger.warning("Could not look for dead workers: %s", exc)
            await asyncio.sleep(self.ttl_ms / 3000)

    def _beat(self) -> bool:
        assert self.keys is not None
        return bool(self._scripts["beat"](
            keys=[self.keys.workers, self.keys.worker(self.worker, "alive")], args=[self.worker, self.ttl_ms]
        ))  # fmt: skip

    async def _reap(self) -> None:
        assert self.keys is not None
        keys = self.keys
        for name in self.server.hkeys(keys.workers):
            worker = name.decode()
            if worker == self.worker or self.server.exists(keys.worker(worker, "alive")):
                continue
            if not self.server.set(keys.worker(worker, "reaper"), self.worker, nx=True, px=self.ttl_ms):
                continue  # another worker is on it
            answers = await self.crawler.signals.send_catch_log_async(signal=worker_lost, worker=worker)
            if any(isinstance(answer, Failure) for _, answer in answers):
                continue  # dedup could not settle its records yet; the claim expires and someone tries again
            requeued = self._requeue(worker)
            self.stats.inc_value("scheduler/requeued_from_dead_workers", requeued)
            logger.warning("Worker %s stopped answering: %d of its requests are back in the queue", worker, requeued)

    def _requeue(self, worker: str) -> int:
        """Give `worker`'s requests back to the queue, each at its own priority, and forget the worker."""
        assert self.keys is not None
        keys = self.keys
        return int(self._scripts["requeue"](
            keys=[keys.worker(worker, "requests"), keys.requests, keys.workers, keys.busy,
                  keys.worker(worker, "alive"), keys.worker(worker, "reaper")],
            args=[worker],
        ))  # fmt: skip

    # scrapy-redis 0.9.1 passes `spider=` to the stats, which Scrapy 2.14 deprecated: the same two methods without it.

    def enqueue_request(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> Request | None:
        request = self.queue.pop()
        if request is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request
