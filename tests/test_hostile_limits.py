"""Rate limits and crawler traps, end to end: `scrapy crawl news` over hostile loopback hosts
(tests/support/hostile_limits.py), then what was stored, the stats and the crawl report.

Scrapy's own RetryMiddleware retries a 429 or a 503 at once, three times in all: a host that asks for two
seconds of quiet, or that is down for a few seconds, loses every article. A calendar linking twenty deeper days
from every day is bounded only by DEPTH_LIMIT. Wall time and request counts are printed, not asserted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from model.urls import url_key
from tests.support import hostile_limits
from tests.support.hostile_limits import ARTICLES, WIDTH, LimitsFarm
from tests.test_crawl import CrawlResult, crawl

THROTTLED_HOSTS = ["ratelimit-seconds", "ratelimit-date", "ratelimit-forever", "unavailable"]
CONTENT_FARM_BUDGET = 30


@pytest.fixture(scope="module")
def farm() -> Iterator[LimitsFarm]:
    with hostile_limits.serve() as running:
        yield running


def timed_crawl(farm: LimitsFarm, hosts: list[str], out: Path, seeds: Path, *settings: str) -> CrawlResult:
    started = time.monotonic()
    result = crawl(seeds, out, *settings)
    print(f"\ncrawl of {', '.join(hosts)}: {time.monotonic() - started:.1f} s wall time")
    for host in hosts:
        print(f"  {host}: {farm.requests(host)} requests, statuses {dict(farm.statuses(host))}")
    assert result.returncode == 0, result.log[-3000:]
    return result


@pytest.fixture(scope="module")
def throttled_run(farm: LimitsFarm, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    seeds = farm.write_seeds(tmp_path_factory.mktemp("seeds") / "throttled.yaml", THROTTLED_HOSTS)
    # AutoThrottle on, as the project ships it: its delay must not fall on fast 429s.
    return timed_crawl(farm, THROTTLED_HOSTS, tmp_path_factory.mktemp("out"), seeds, "AUTOTHROTTLE_ENABLED=True")


@pytest.fixture(scope="module")
def trap_run(farm: LimitsFarm, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    hosts = ["calendar", "contentfarm"]
    path = tmp_path_factory.mktemp("seeds") / "traps.yaml"
    seeds = farm.write_seeds(path, hosts, budgets={"contentfarm": CONTENT_FARM_BUDGET})
    return timed_crawl(farm, hosts, tmp_path_factory.mktemp("out"), seeds)


def report(result: CrawlResult) -> dict[str, dict[str, Any]]:
    doc = json.loads(next(result.output.rglob("report.json")).read_text())
    return {source["site"]: source for source in doc["sources"]}


def reasons(source: dict[str, Any], level: str) -> list[str]:
    return [reason["text"] for reason in source["reasons"] if reason["level"] == level]


def stored_keys(result: CrawlResult, site: str) -> set[str]:
    return {url_key(record["url"]) for record in result.records() if record["site"] == site}


@pytest.mark.parametrize("host", ["ratelimit-seconds", "ratelimit-date", "unavailable"])
def test_a_rate_limited_or_unavailable_source_gives_every_article(
    farm: LimitsFarm, throttled_run: CrawlResult, host: str
) -> None:
    assert stored_keys(throttled_run, host) == {url_key(farm.url(host, a)) for a in farm.articles[host]}
    stats = throttled_run.stats
    refused = farm.statuses(host)[503 if host == "unavailable" else 429]
    assert refused > 0
    status = 503 if host == "unavailable" else 429
    assert stats[f"sites/{host}/crawl/throttled/{status}"] == refused, "every throttled answer is counted"
    assert not any(key.startswith(f"sites/{host}/crawl/failed/") for key in stats)
    assert f"sites/{host}/crawl/throttled/gave_up" not in stats
    source = report(throttled_run)[host]
    assert source["verdict"] == "ok", source["reasons"]
    assert source["throttled"]["by_status"] == {str(status): refused}
    assert any(text.startswith(f"throttled (HTTP {status}: {refused})") for text in reasons(source, "note"))


def test_a_source_that_stays_throttled_is_a_warning_naming_it(farm: LimitsFarm, throttled_run: CrawlResult) -> None:
    host = "ratelimit-forever"
    stats = throttled_run.stats
    assert stored_keys(throttled_run, host) == set()
    assert stats[f"sites/{host}/crawl/throttled/gave_up"] == ARTICLES
    assert stats[f"sites/{host}/crawl/throttled/429"] == farm.statuses(host)[429]
    assert stats[f"sites/{host}/crawl/failed/http_429"] == ARTICLES
    warnings = reasons(report(throttled_run)[host], "warning")
    assert any(text.startswith("stays throttled (HTTP 429: ") and f"{ARTICLES} requests still refused" in text
               for text in warnings), warnings  # fmt: skip
    assert f"{host}: warning: stays throttled" in throttled_run.log


def test_a_calendar_trap_is_recognised_and_no_longer_followed(farm: LimitsFarm, trap_run: CrawlResult) -> None:
    assert stored_keys(trap_run, "calendar") == {url_key(farm.url("calendar", a)) for a in farm.articles["calendar"]}
    stats = trap_run.stats
    assert stats["sites/calendar/crawl/traps"] == 1
    assert stats["sites/calendar/crawl/skipped/trap"] > 0
    assert "sites/calendar/crawl/skipped/budget" not in stats
    # DEPTH_LIMIT alone lets WIDTH + WIDTH**2 + WIDTH**3 agenda pages through; the pages fetched before the
    # trap is known are those the downloader fetched while extraction judged the first ones.
    assert farm.requests("calendar") < WIDTH + WIDTH**2 + WIDTH**3
    source = report(trap_run)["calendar"]
    assert source["crawl_limits"]["traps"] == 1
    assert any(text.startswith("1 URL trap (a URL pattern giving only listings) not followed")
               for text in reasons(source, "note"))  # fmt: skip
    host = urlsplit(farm.base_urls["calendar"]).hostname
    assert f"calendar: 20 pages of {host}/agenda/j# were all listings" in trap_run.log


def test_a_site_wider_than_its_budget_gets_exactly_its_budget(farm: LimitsFarm, trap_run: CrawlResult) -> None:
    stats = trap_run.stats
    assert farm.requests("contentfarm") == CONTENT_FARM_BUDGET
    assert stats["sites/contentfarm/crawl/skipped/budget"] > 0
    assert "sites/contentfarm/crawl/traps" not in stats, "article pages are no trap"
    source = report(trap_run)["contentfarm"]
    assert source["crawl_limits"]["budget_requests_skipped"] == stats["sites/contentfarm/crawl/skipped/budget"]
    assert any(text.startswith("request budget reached:") for text in reasons(source, "warning"))
    assert "contentfarm: warning: request budget reached" in trap_run.log
