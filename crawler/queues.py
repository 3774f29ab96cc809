"""The shared frontier of a distributed crawl: scrapy-redis's scheduler and dupefilter, made safe to kill.

scrapy-redis pops a request from Redis and forgets it, so a worker that dies loses the requests it was working
on, and its SCHEDULER_PERSIST=False clears the frontier when the first worker finishes. Here a popped request
moves (atomically, in one Lua script) to the popping worker's own sorted set and stays there while it is in
flight (`InFlight`): until its page is scraped and every item it gave is dropped or durably stored, or its
download failed for good, or a retry or redirect took its place in the queue. A worker shows it is alive with a key that expires after
REDIS_WORKER_TIMEOUT seconds, refreshed from a thread (a reactor busy for a while is not a dead worker); when
one stops answering, another gives its requests back to the queue, after
dedup has forgotten what the dead worker kept but never wrote (`worker_lost`). Workers stay until the whole
crawl is done (no request queued, no other worker busy).

The dupefilter belongs to one *generation* of workers: a worker that joins while no other is alive starts a
new one, with an empty dupefilter, so every run reads its feeds and sitemaps again even when the last run's
workers all died or never left cleanly (what they left queued is crawled too; pages stored meanwhile are
skipped by SkipStored). Workers that join a live generation share its dupefilter: an entry point is fetched
once per run, not once per worker.

Keys, per crawl (the crawl name is a hash tag): `newsdedup:{crawl}:requests` (sorted set, scrapy-redis's
priority queue), `:generation` (string), `:dupefilter:<generation>` (set, scrapy-redis's RFPDupeFilter),
`:workers` (hash), `:busy` (set) and, per worker, `:worker:<id>:alive`, `:worker:<id>:requests`,
`:worker:<id>:reaper`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import secrets
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from redis.exceptions import RedisError
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.python.failure import Failure

from model import crawl_name, events
from model.redis import REDIS_DOWN, crawl_prefix, redis_link
from model.settings import setting

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import redis
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.spiders import Spider

    from model.redis import RedisLink

logger = logging.getLogger(__name__)

# Request meta: the request as it is stored in this worker's set in Redis, to take it out once settled.
FRONTIER_ENTRY = "frontier_entry"


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
    def generation(self) -> str:
        return f"{self.prefix}:generation"

    def dupefilter(self, generation: str) -> str:
        return f"{self.prefix}:dupefilter:{generation}"

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

# KEYS: workers, busy, alive, generation. ARGV: worker, info, ttl (ms), a new generation, alive-key prefix,
# alive-key suffix, dupefilter-key prefix. Joins the live generation, or starts a new one (dropping the last
# one's dupefilter) when no worker is alive. Returns the generation joined.
_JOIN = """
local generation = redis.call('GET', KEYS[4])
local live = false
if generation then
  for _, worker in ipairs(redis.call('HKEYS', KEYS[1])) do
    if redis.call('EXISTS', ARGV[5] .. worker .. ARGV[6]) == 1 then live = true; break end
  end
end
if not live then
  if generation then redis.call('DEL', ARGV[7] .. generation) end
  generation = ARGV[4]
  redis.call('SET', KEYS[4], generation)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
return generation
"""

# KEYS: workers, alive, generation. ARGV: worker, ttl (ms).
_BEAT = """
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
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

# KEYS: the worker's requests, workers, busy, alive, queue, dupefilter, generation. ARGV: worker.
# A worker leaves; the last one out ends the generation. Returns 1 when that also finished the crawl.
_LEAVE = """
redis.call('DEL', KEYS[1], KEYS[4])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('HLEN', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[6], KEYS[7])
  return redis.call('ZCARD', KEYS[5]) == 0 and 1 or 0
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
        if not data:
            return None
        request = self._decode_request(data)
        request.meta[FRONTIER_ENTRY] = data
        return request


class InFlight:
    """What still holds each request this worker popped: its page being scraped, then each item the page gave
    until that item is dropped or its record is durable (`events.records_settled`) or withdrawn. When nothing
    holds a request any more it leaves the worker's set in Redis (`release`), so that set stays as small as
    what is in flight, and a dead worker's requeue is only that. An item that failed in a pipeline and a LOST
    record keep their request held: if the worker stops or dies, the page is fetched again.
    """

    def __init__(self) -> None:
        self.release: Callable[[bytes], None] = lambda entry: None  # the scheduler's, once it joined
        self.holds: Counter[bytes] = Counter()
        self.awaiting: dict[str, list[bytes]] = {}  # page URL -> requests waiting for its record to settle

    @classmethod
    def of(cls, crawler: Crawler) -> InFlight:
        """The crawler's one InFlight, listening to what becomes of items and records."""
        if crawler not in _in_flight:
            tracker = _in_flight[crawler] = cls()
            crawler.signals.connect(tracker.item_dropped, signal=signals.item_dropped)
            crawler.signals.connect(tracker.records_settled, signal=events.records_settled)
            crawler.signals.connect(tracker.record_withdrawn, signal=events.record_withdrawn)
        return _in_flight[crawler]

    def hold(self, entry: bytes) -> None:
        self.holds[entry] += 1

    def let_go(self, entry: bytes) -> None:
        self.holds[entry] -= 1
        if self.holds[entry] <= 0:
            del self.holds[entry]
            self.release(entry)

    def item_given(self, entry: bytes, url: str) -> None:
        self.hold(entry)
        self.awaiting.setdefault(url, []).append(entry)

    def item_dropped(self, response: Response, **kwargs: Any) -> None:
        self._settled(response.url)

    def records_settled(self, records: list[Any], state: str, **kwargs: Any) -> None:
        if state == events.DURABLE:
            for record in records:
                self._settled(record.url)

    def record_withdrawn(self, article: Any, **kwargs: Any) -> None:
        self._settled(article.url)  # its replacement's page holds its own request

    def _settled(self, url: str) -> None:
        waiting = self.awaiting.get(url)
        if not waiting:
            return
        entry = waiting.pop(0)
        if not waiting:
            del self.awaiting[url]
        self.let_go(entry)


_in_flight: weakref.WeakKeyDictionary[Crawler, InFlight] = weakref.WeakKeyDictionary()


class SettleScraped:
    """Spider middleware, outermost (the Distributed add-on sets it): a popped request is held while its
    page's output is handled, and then by every item the page gave."""

    def __init__(self, in_flight: InFlight) -> None:
        self.in_flight = in_flight

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(InFlight.of(crawler))

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        entry = response.meta.get(FRONTIER_ENTRY)
        if entry is None:
            async for output in result:
                yield output
            return
        self.in_flight.hold(entry)
        try:
            async for output in result:
                if not isinstance(output, Request):
                    self.in_flight.item_given(entry, response.url)
                yield output
        finally:
            self.in_flight.let_go(entry)


class SettleFailed:
    """Downloader middleware, outermost (the Distributed add-on sets it): a request whose download failed for
    good (no middleware retried it or answered instead) is settled; its errback gives no items."""

    def __init__(self, in_flight: InFlight) -> None:
        self.in_flight = in_flight

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(InFlight.of(crawler))

    def process_exception(self, request: Request, exception: BaseException) -> None:
        entry = request.meta.get(FRONTIER_ENTRY)
        if entry is not None:
            self.in_flight.hold(entry)
            self.in_flight.let_go(entry)


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
        self.outage = link.outage
        self.ttl_ms = int(worker_timeout * 1000)
        self.keys: FrontierKeys | None = None
        self.generation = ""  # of the dupefilter, set on joining
        self.in_flight = InFlight()
        # What could not reach Redis while it was away, sent once it answers again.
        self._unsent: list[Request] = []
        self._unreleased: list[bytes] = []
        self._stop = threading.Event()
        self._reaper: asyncio.Task[None] | None = None
        self._scripts = {name: link.client.register_script(script) for name, script in (
            ("join", _JOIN), ("beat", _BEAT), ("state", _STATE), ("requeue", _REQUEUE), ("leave", _LEAVE))}  # fmt: skip

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        link = redis_link(crawler)
        if link is None:
            raise ValueError("RedisScheduler needs REDIS_URL")
        scheduler = cls(crawler, link, setting(crawler.settings, "REDIS_WORKER_TIMEOUT"))
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        scheduler.in_flight = InFlight.of(crawler)
        scheduler.in_flight.release = scheduler._release
        return scheduler

    def open(self, spider: Spider) -> None:
        self.spider = spider
        try:
            self.server.ping()
        except RedisError as exc:
            raise RedisUnreachable(f"Redis (REDIS_URL) cannot be reached, nothing crawled: {exc}") from None
        keys = self.keys = FrontierKeys.of(crawl_name(spider))
        self.queue = ReliableQueue(self.server, spider, keys, self.worker)
        info = json.dumps({"started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
        self.generation = self._scripts["join"](
            keys=[keys.workers, keys.busy, keys.worker(self.worker, "alive"), keys.generation],
            args=[self.worker, info, self.ttl_ms, secrets.token_hex(8), f"{keys.prefix}:worker:", ":alive",
                  keys.dupefilter("")],
        ).decode()  # fmt: skip
        self.df = RFPDupeFilter(
            self.server, keys.dupefilter(self.generation), self.crawler.settings.getbool("DUPEFILTER_DEBUG")
        )
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._keep_alive, args=(loop,), name="worker-heartbeat", daemon=True).start()
        self._reaper = asyncio.ensure_future(self._reap_forever())
        self.outage.check, self.outage.on_fatal = self._crawl_state_lost, self._fatal
        logger.info("Worker %s joined crawl %s, generation %s (%d requests queued)", self.worker, keys.prefix,
                    self.generation, len(self.queue))  # fmt: skip

    def close(self, reason: str) -> None:
        """Leave the crawl. Called after the pipelines closed, so every record this worker kept is written."""
        if self.keys is None:  # never joined (Redis unreachable)
            return
        keys = self.keys
        self._stop.set()
        if self._reaper is not None:
            self._reaper.cancel()
        if reason == "redis_data_lost_failed":  # leaving would tell an emptied Redis the crawl is done
            return
        try:
            self._flush()
            self.crawler.signals.send_catch_log(signal=events.worker_finished, worker=self.worker)
            if reason != "finished":  # stopped early: what it holds goes back (pages already stored are skipped)
                logger.info("Stopped (%s): %d requests given back to the queue", reason, self._requeue(self.worker))
            last = self._scripts["leave"](
                keys=[keys.worker(self.worker, "requests"), keys.workers, keys.busy,
                      keys.worker(self.worker, "alive"), keys.requests, keys.dupefilter(self.generation),
                      keys.generation],
                args=[self.worker],
            )  # fmt: skip
        except REDIS_DOWN as exc:
            logger.error("Worker %s could not leave the crawl (%s): once Redis answers, another worker takes it for "
                         "dead and gives its requests back", self.worker, exc)  # fmt: skip
            return
        if last:
            logger.info("Last worker out: crawl %s is done, its dupefilter cleared", keys.prefix)

    def spider_idle(self) -> None:
        """Stay while requests are queued, another worker is busy or a dead one still holds requests."""
        assert self.keys is not None
        keys = self.keys
        if self.outage.fatal:
            return
        if self.outage.down or self._unsent:
            raise DontCloseSpider
        try:
            queued, busy, dead = self._scripts["state"](
                keys=[keys.requests, keys.workers, keys.busy], args=[self.worker, f"{keys.prefix}:worker:", ":alive"]
            )
        except REDIS_DOWN as exc:
            self.outage.failed(exc)
            raise DontCloseSpider from None
        if queued or busy or dead:
            raise DontCloseSpider

    def _crawl_state_lost(self) -> str | None:
        """Why Redis, answering again, cannot be trusted with this crawl: it lost the crawl's state (restarted
        without persistence, a failover to an empty replica). None when the state is there."""
        assert self.keys is not None
        generation = self.server.get(self.keys.generation)
        if generation is None or generation.decode() != self.generation:
            return (f"Redis came back without crawl {self.keys.prefix} (its generation key is gone: Redis lost its "
                    "data); restore it or start a new crawl")  # fmt: skip
        return None

    def _fatal(self, reason: str, message: str) -> None:
        self.stats.set_value("scheduler/redis_stopped", message)
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=reason))

    def _flush(self) -> None:
        """Send what waited for Redis: requests to queue, settled requests to take out of this worker's set."""
        unsent, self._unsent = self._unsent, []
        for request in unsent:
            self.enqueue_request(request)
        unreleased, self._unreleased = self._unreleased, []
        for entry in unreleased:
            self._release(entry)

    def _keep_alive(self, loop: asyncio.AbstractEventLoop) -> None:
        """Refresh this worker's heartbeat, from a thread: a reactor busy for a while is not a dead worker."""
        failing = False
        while not self._stop.wait(self.ttl_ms / 3000):
            try:
                alive = self._beat()
            except RedisError as exc:  # Redis away: try again at the next beat (the outage decides when to stop)
                if not failing:
                    logger.warning("Heartbeat of worker %s failed: %s", self.worker, exc)
                failing = True
                continue
            failing = False
            if alive < 0:
                problem = self._crawl_state_lost()
                if problem:
                    logger.error("%s: this worker stops", problem)
                    loop.call_soon_threadsafe(self._fatal, "redis_data_lost_failed", problem)
                    return
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
                # After an outage every worker's heartbeat may have expired: each gets a timeout's grace to beat.
                if not self.outage.down and time.monotonic() - self.outage.recovered_at > self.ttl_ms / 1000:
                    await self._reap()
            except REDIS_DOWN as exc:
                self.outage.failed(exc)
            except RedisError as exc:
                logger.warning("Could not look for dead workers: %s", exc)
            await asyncio.sleep(self.ttl_ms / 3000)

    def _beat(self) -> int:
        """1: alive; 0: taken for dead by the others; -1: the crawl's state is gone from Redis."""
        assert self.keys is not None
        return int(self._scripts["beat"](
            keys=[self.keys.workers, self.keys.worker(self.worker, "alive"), self.keys.generation],
            args=[self.worker, self.ttl_ms],
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
            answers = await self.crawler.signals.send_catch_log_async(signal=events.worker_lost, worker=worker)
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

    def _release(self, entry: bytes) -> None:
        """A popped request is settled: out of this worker's set (a Redis error leaves it there, as in flight)."""
        assert self.keys is not None
        if self.outage.down:
            self._unreleased.append(entry)
            return
        try:
            self.server.zrem(self.keys.worker(self.worker, "requests"), entry)
        except REDIS_DOWN as exc:
            self.outage.failed(exc)
            self._unreleased.append(entry)

    # scrapy-redis 0.9.1 passes `spider=` to the stats, which Scrapy 2.14 deprecated: the same two methods without it.

    def enqueue_request(self, request: Request) -> bool:
        """Queue a request; one carrying a popped request's entry (a retry, a redirect) takes its place."""
        taken_from = request.meta.pop(FRONTIER_ENTRY, None)
        try:
            if self.outage.down:  # kept here until Redis answers; lost with this process, as is its page's output
                self._unsent.append(request)
                return True
            try:
                if not request.dont_filter and self.df.request_seen(request):
                    self.df.log(request, self.spider)
                    return False
                self.stats.inc_value("scheduler/enqueued/redis")
                self.queue.push(request)
            except REDIS_DOWN as exc:
                self.outage.failed(exc)
                self._unsent.append(request)
            return True
        finally:
            if taken_from is not None and taken_from not in self.in_flight.holds:  # not a page being scraped
                self._release(taken_from)

    def next_request(self) -> Request | None:
        """The next request, or None while Redis is away (the crawl waits, as when the queue is empty)."""
        if self.outage.down:
            return None
        try:
            self._flush()
            request = self.queue.pop()
        except REDIS_DOWN as exc:
            self.outage.failed(exc)
            return None
        if request is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request
