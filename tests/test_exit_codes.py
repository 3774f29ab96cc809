"""`scrapy crawl`'s exit code tells cron a crawl that did nothing, or was stopped, from one that did its job."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import yaml

from pipelines.report.commands.crawl import INTERRUPTED_EXIT_CODE, NOTHING_FETCHED_EXIT_CODE, crawl_exit_code, nothing_fetched
from tests.support import newsfarm, querysite
from tests.test_crawl import ROOT, crawl, crawl_command

FINISHED = {"finish_reason": "finished", "scheduler/dequeued": 3, "scheduler/dequeued/memory": 3}


def test_the_exit_code_follows_the_final_stats() -> None:
    fetched = {**FINISHED, "crawl/feeds": 1, "crawl/skipped/already_stored": 2}
    assert crawl_exit_code(fetched, fail_on_unhealthy=False) == 0
    assert crawl_exit_code({**FINISHED, "crawl/failed/http_500": 3}, False) == NOTHING_FETCHED_EXIT_CODE
    assert crawl_exit_code({**FINISHED, "crawl/skipped/private_address": 3}, False) == NOTHING_FETCHED_EXIT_CODE
    assert crawl_exit_code({**fetched, "finish_reason": "shutdown"}, False) == INTERRUPTED_EXIT_CODE
    assert crawl_exit_code({key: v for key, v in fetched.items() if key != "finish_reason"}, False) == INTERRUPTED_EXIT_CODE
    assert crawl_exit_code({**fetched, "finish_reason": "closespider_timeout"}, False) == 0, "a bound the user set"
    assert crawl_exit_code({**fetched, "store/unsent_parts": 1}, False) == 1
    assert crawl_exit_code({**fetched, "finish_reason": "extract_pool_failed"}, False) == 1, "stopped on a failure"
    assert crawl_exit_code({**fetched, "report/verdict": "unhealthy"}, False) == 0
    assert crawl_exit_code({**fetched, "report/verdict": "unhealthy"}, True) == 3


def test_a_distributed_worker_that_found_the_frontier_done_fetched_nothing_wrong() -> None:
    assert not nothing_fetched({"finish_reason": "finished", "scheduler/enqueued/redis": 0})
    assert nothing_fetched({"finish_reason": "finished", "scheduler/dequeued/redis": 4, "crawl/failed/http_404": 4})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_crawl_refused_every_host_exits_non_zero(tmp_path: Path) -> None:
    with querysite.serve() as site:  # on 127.0.0.1
        result = crawl(site.write_seeds(tmp_path / "seeds.yaml"), tmp_path / "out", "BLOCK_PRIVATE_ADDRESSES=True")
        requests = list(site.request_log)
    assert result.returncode == NOTHING_FETCHED_EXIT_CODE, result.log[-3000:]
    assert requests == []
    assert "crawl/skipped/private_address" in result.log


def test_a_crawl_whose_every_source_failed_exits_non_zero(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{free_port()}"  # nothing listens there: every connection is refused
    site = {"name": "gone", "start_urls": [f"{base}/"], "feeds": [f"{base}/feed/"]}
    seeds = tmp_path / "gone.yaml"
    seeds.write_text(yaml.safe_dump({"name": "gone", "sites": [site]}), encoding="utf-8")
    result = crawl(seeds, tmp_path / "out", "RETRY_TIMES=0")
    assert result.returncode == NOTHING_FETCHED_EXIT_CODE, result.log[-3000:]
    assert "crawl/failed/" in result.log


def test_an_incremental_run_that_found_nothing_new_exits_0(tmp_path: Path) -> None:
    with querysite.serve() as site:
        seeds = site.write_seeds(tmp_path / "seeds.yaml")
        first = crawl(seeds, tmp_path / "out")
        second = crawl(seeds, tmp_path / "out")
    assert first.returncode == 0, first.log[-3000:]
    assert second.returncode == 0, second.log[-3000:]
    assert second.stats.get("crawl/skipped/already_stored", 0) > 0 and not second.stats.get("store/records")


def _interrupted_crawl(tmp_path: Path, signals: int) -> tuple[int, str]:
    """Exit code and log of a crawl of a slow site sent SIGTERM `signals` times once it fetches articles."""
    log_path = tmp_path / "crawl.log"
    with newsfarm.serve(articles=120, clusters=0, delay=0.5) as farm, log_path.open("w") as log:
        seeds = farm.write_seeds(tmp_path / "farm.yaml", name="stopped")
        process = subprocess.Popen(
            crawl_command(seeds, tmp_path / "out", "STORE_PART_MAX_RECORDS=4"), cwd=ROOT, stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 120
            while sum(n for url, n in farm.fetch_counts().items() if "/2025/" in url) < 8:
                assert time.monotonic() < deadline and process.poll() is None, log_path.read_text()[-3000:]
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            while signals > 1 and "shutting down gracefully" not in log_path.read_text():
                assert time.monotonic() < deadline and process.poll() is None, log_path.read_text()[-3000:]
                time.sleep(0.05)
            for _ in range(signals - 1):
                process.send_signal(signal.SIGTERM)
            returncode = process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    return returncode, log_path.read_text()


def test_a_crawl_stopped_by_sigterm_exits_non_zero(tmp_path: Path) -> None:
    returncode, log = _interrupted_crawl(tmp_path, signals=1)
    assert "'finish_reason': 'shutdown'" in log
    assert returncode == INTERRUPTED_EXIT_CODE, log[-3000:]


def test_a_forced_stop_two_sigterms_exits_non_zero(tmp_path: Path) -> None:
    returncode, log = _interrupted_crawl(tmp_path, signals=2)
    assert "forcing unclean shutdown" in log
    assert returncode == INTERRUPTED_EXIT_CODE, log[-3000:]
