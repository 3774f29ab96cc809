"""Distributed mode under failures, against real redis-server processes: workers killed, Redis stopped,
restarted or come back empty. Helpers are tests/test_distributed.py's."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support import newsfarm
from tests.support.servers import RedisServer, free_port
from tests.test_distributed import (
    assert_stored_once,
    distributed,
    manifests_stats,
    start_workers,
    stored_records,
    wait,
)

pytestmark = pytest.mark.redis


def entry_points(farm: newsfarm.NewsFarm) -> list[str]:
    return [f"{base}{path}" for base in farm.base_urls.values() for path in ("/", "/feed/", "/sitemap.xml")]


def wait_until(condition: object, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_run_after_every_worker_died_reads_its_entry_points_again(redis_server: RedisServer, tmp_path: Path) -> None:
    """All workers SIGKILLed mid-crawl (nobody left, nobody cleared anything): the next run fetches every feed,
    sitemap and start page again, and finishes the crawl with every article stored once across both runs."""
    crawl = f"stale{uuid.uuid4().hex[:8]}"
    client = redis_server.client()
    prefix = f"newsdedup:{{{crawl}}}"
    output = tmp_path / "out"
    with newsfarm.serve(articles=60, clusters=6, delay=0.05) as farm:
        seeds = farm.write_seeds(tmp_path / "farm.yaml", name=crawl)
        settings = distributed(redis_server.url, "STORE_PART_MAX_RECORDS=4")
        first = start_workers(2, seeds, output, settings)
        try:
            wait_until(lambda: len(stored_records(output)) >= 4 and all(w.poll() is None for w in first),
                       "the first run stores some articles")  # fmt: skip
        finally:
            for worker in first:
                worker.send_signal(signal.SIGKILL)
        wait(first)
        before = farm.fetch_counts()
        stored_before = len(stored_records(output))
        assert all(before[url] >= 1 for url in entry_points(farm)), "the first run read its entry points"
        wait_until(lambda: not list(client.scan_iter(f"{prefix}:worker:*:alive")), "the dead workers' leases end")
        codes = wait(start_workers(1, seeds, output, settings, first=2))
        after = farm.fetch_counts()
    log = (tmp_path / "logs" / "worker-2.log").read_text()
    assert codes == [0], log[-3000:]
    again = Counter({url: after[url] - before[url] for url in entry_points(farm)})
    print(f"first run stored {stored_before}; entry points fetched again by the new run: {sum(again.values())}")
    assert all(again[url] >= 1 for url in entry_points(farm)), [url for url in entry_points(farm) if not again[url]]
    assert_stored_once(farm, stored_records(output))


def test_a_workers_request_set_holds_only_what_is_in_flight(redis_server: RedisServer, tmp_path: Path) -> None:
    """A request leaves its worker's set in Redis once its page is handled and its record durable: the set
    shrinks during the crawl instead of keeping every request the worker ever popped."""
    crawl = f"inflight{uuid.uuid4().hex[:8]}"
    client = redis_server.client()
    prefix = f"newsdedup:{{{crawl}}}"
    output = tmp_path / "out"
    sizes: list[int] = []
    with newsfarm.serve(articles=60, clusters=6, delay=0.02) as farm:
        seeds = farm.write_seeds(tmp_path / "farm.yaml", name=crawl)
        worker = start_workers(1, seeds, output, distributed(redis_server.url, "STORE_PART_MAX_RECORDS=4"))[0]
        wait_until(lambda: client.hlen(f"{prefix}:workers") or worker.poll() is not None, "the worker joins")
        names = [name.decode() for name in client.hkeys(f"{prefix}:workers")]
        while worker.poll() is None and names:
            if client.hexists(f"{prefix}:workers", names[0]):
                sizes.append(client.zcard(f"{prefix}:worker:{names[0]}:requests"))
            time.sleep(0.01)
        codes = wait([worker])
    assert codes == [0], (tmp_path / "logs" / "worker-0.log").read_text()[-3000:]
    assert_stored_once(farm, stored_records(output))
    dequeued = manifests_stats(output)["scheduler/dequeued/redis"]
    held = [size for size in sizes if size]
    print(f"{dequeued} requests popped; the worker's set held at most {max(held)}, {len(held)} samples")
    assert any(later < earlier for earlier, later in zip(held, held[1:])), "the set shrinks as pages are handled"
    assert max(held) < dequeued


class PersistentRedis:
    """A redis-server with an append-only file, on one port, that a test can stop and start again."""

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(self.root), "--daemonize", "no"],
            stdout=(self.root / "redis.log").open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until(self._answers, "redis-server answers", timeout=15)

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file and exits."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def __enter__(self) -> PersistentRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


def outage_crawl(
    tmp_path: Path, server: PersistentRedis, farm: newsfarm.NewsFarm, outage: Any, *settings: str
) -> tuple[list[int], str]:
    """Three workers on the farm; `outage(server)` runs once they have stored 20 records. Exit codes and logs."""
    output = tmp_path / "out"
    seeds = farm.write_seeds(tmp_path / "farm.yaml", name=f"outage{uuid.uuid4().hex[:8]}")
    workers = start_workers(3, seeds, output, distributed(server.url, "STORE_PART_MAX_RECORDS=4", *settings))
    try:
        wait_until(lambda: len(stored_records(output)) >= 20 or any(w.poll() is not None for w in workers),
                   "the workers store some articles")  # fmt: skip
        assert all(w.poll() is None for w in workers), "no worker ended before the outage"
        began = time.monotonic()
        outage(server)
        codes = wait(workers)
        print(f"workers ended {time.monotonic() - began:.1f} s after the outage began")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    return codes, "".join(path.read_text() for path in sorted((tmp_path / "logs").glob("worker-*.log")))


def test_redis_restarted_mid_crawl_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    """Redis stopped for 3 s under three workers, then started again with its data: the workers wait for it,
    go on, and every article is stored exactly once; no page is dropped for a Redis error."""

    def restart(server: PersistentRedis) -> None:
        server.stop()
        time.sleep(3)
        server.start()

    with PersistentRedis(tmp_path / "redis") as server, newsfarm.serve(articles=300, clusters=30, delay=0.02) as farm:
        codes, logs = outage_crawl(tmp_path, server, farm, restart)
    assert codes == [0, 0, 0], logs[-4000:]
    assert "Redis answers again" in logs
    assert "Error processing" not in logs
    assert_stored_once(farm, stored_records(tmp_path / "out"))


def test_redis_gone_stops_the_workers_and_the_next_run_finishes_the_crawl(tmp_path: Path) -> None:
    """Redis gone for longer than REDIS_OUTAGE_TIMEOUT: each worker stops (exit 1) with what it held written,
    instead of hanging; once Redis is back (with its data), a new run stores the rest, each article once."""
    with PersistentRedis(tmp_path / "redis") as server, newsfarm.serve(articles=300, clusters=30, delay=0.02) as farm:
        codes, logs = outage_crawl(tmp_path, server, farm, PersistentRedis.stop, "REDIS_OUTAGE_TIMEOUT=5")
        assert codes == [1, 1, 1], logs[-4000:]
        assert "Redis did not answer for 5 s (REDIS_OUTAGE_TIMEOUT): this worker stops" in logs
        stored_before = len(stored_records(tmp_path / "out"))
        server.start()
        again = start_workers(1, tmp_path / "farm.yaml", tmp_path / "out", distributed(server.url), first=3)
        assert wait(again) == [0], (tmp_path / "logs" / "worker-3.log").read_text()[-4000:]
    print(f"{stored_before} articles stored when Redis went away; the next run stored the rest")
    assert_stored_once(farm, stored_records(tmp_path / "out"))


def test_redis_back_empty_stops_every_worker_with_a_clear_error(tmp_path: Path) -> None:
    """Redis restarted without its data mid-crawl: no worker starts the crawl over nor takes itself for the
    last one out; each stops with exit 1 and says why."""

    def restart_empty(server: PersistentRedis) -> None:
        server.stop()
        for path in server.root.iterdir():
            if path.name != "redis.log":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        server.start()

    with PersistentRedis(tmp_path / "redis") as server, newsfarm.serve(articles=300, clusters=30, delay=0.02) as farm:
        codes, logs = outage_crawl(tmp_path, server, farm, restart_empty)
        left = redis.Redis(port=server.port).keys("newsdedup:*")
    assert codes == [1, 1, 1], logs[-4000:]
    assert logs.count("(its generation key is gone: Redis lost its data); restore it or start a new crawl") >= 3
    assert "Last worker out" not in logs
    print(f"keys left in the emptied Redis: {len(left)}")
