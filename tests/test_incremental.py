"""Scheduled runs fetch only what is new: stored articles are skipped, entry points are re-read conditionally,
entries older than `since` are never fetched, and seen-URL state expires."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from pathlib import Path

import pytest

from model.urls import url_key
from demo.site import serve as serve_demo
from tests.support import newsfarm
from tests.support.servers import RedisServer
from tests.test_crawl import TOPIC, crawl
from tests.test_distributed import distributed, stored_records

SKIP_STORED = (
    'DOWNLOADER_MIDDLEWARES={"crawler.middlewares.PublicAddressesOnly": 50, "crawler.middlewares.SkipStored": 60}'
)


def http_cache(directory: Path) -> list[str]:
    return [
        "HTTPCACHE_ENABLED=True",
        "HTTPCACHE_POLICY=scrapy.extensions.httpcache.RFC2616Policy",
        "HTTPCACHE_IGNORE_RESPONSE_CACHE_CONTROLS=no-cache",
        f"HTTPCACHE_DIR={directory}",
    ]


def test_a_second_run_over_the_demo_site_fetches_no_stored_article_again(tmp_path: Path) -> None:
    output = tmp_path / "out"
    with serve_demo(day=1) as site:
        seeds = site.write_seeds(tmp_path / "demo.yaml", name="demo", keywords=TOPIC, since="2023-01-01")
        first = crawl(seeds, output, SKIP_STORED)
        assert first.returncode == 0, first.log[-3000:]
        before = len(site.request_log)
        second = crawl(seeds, output, SKIP_STORED)
        assert second.returncode == 0, second.log[-3000:]
        again = [url for _, url, _ in site.request_log[before:]]
        entry_points = {url.split("//", 1)[1] for o in site.outlets for url in [*o.feeds, *o.sitemaps, *o.start_urls]}
    kept = {url_key(r[key]) for r in first.records() for key in ("url", "canonical_url")}
    copies = {url_key(entry["url"]) for entry in first.duplicates_log()}
    assert not [url for url in again if url_key(f"http://{url}") in kept | copies], "nothing stored is fetched again"
    assert entry_points <= set(again), "feeds, sitemaps and start pages are read every run"
    assert second.manifest["records"] == 0
    assert second.stats["crawl/skipped/already_stored"] >= len(site.stories)
    assert "dedup/same_url" not in second.stats, "no stored page reached dedup again"


@pytest.mark.parametrize("state", ["file", "redis"])
def test_a_second_run_reads_entry_points_conditionally_and_fetches_no_article(
    state: str, tmp_path: Path, redis_server: RedisServer
) -> None:
    name = f"inc{uuid.uuid4().hex[:8]}"
    settings = [SKIP_STORED, *http_cache(tmp_path / "httpcache")]
    if state == "redis":
        settings = distributed(redis_server.url, *settings)
    output = tmp_path / "out"
    with newsfarm.serve(articles=40, clusters=5) as farm:
        seeds = farm.write_seeds(tmp_path / "farm.yaml", name=name)
        first = crawl(seeds, output, *settings)
        assert first.returncode == 0, first.log[-3000:]
        before = len(farm.request_log)
        second = crawl(seeds, output, *settings)
        assert second.returncode == 0, second.log[-3000:]
        again = farm.request_log[before:]
        entry_points = {f"{base}{path}" for base in farm.base_urls.values() for path in ("/", "/feed/", "/sitemap.xml")}
    assert len(stored_records(output)) == len(farm.distinct) + len(farm.clusters())
    articles = {farm.url(article) for article in farm.articles}
    assert not [url for _, url, _ in again if url in articles], "no article page is fetched again"
    revalidated = {url for _, url, status in again if status == 304}
    assert revalidated == entry_points, "feeds, sitemaps and start pages answer 304 Not Modified"
    assert second.stats["httpcache/revalidate"] >= len(entry_points)
    assert second.stats["crawl/skipped/already_stored"] == len(articles)
    assert second.manifest["records"] == 0


def test_feed_and_sitemap_entries_older_than_since_are_never_fetched(tmp_path: Path) -> None:
    with newsfarm.serve(articles=12, clusters=0, old=12) as farm:
        seeds = farm.write_seeds(tmp_path / "farm.yaml", name="since", since="2024-01-01")
        result = crawl(seeds, tmp_path / "out", SKIP_STORED)
        fetched = farm.fetch_counts()
    assert result.returncode == 0, result.log[-3000:]
    old = [farm.url(article) for article in farm.articles if article.old]
    assert len(old) == 12
    assert not set(old) & set(fetched)
    assert result.stats["crawl/skipped/too_old_entry"] == 2 * len(old), "each is listed in the feed and the sitemap"
    assert len(result.records()) == len(farm.distinct)


def test_url_keys_not_seen_for_the_ttl_are_forgotten_then_remembered_again(tmp_path: Path) -> None:
    output = tmp_path / "out"
    ttl = "DEDUP_URL_TTL_DAYS=30"
    with newsfarm.serve(articles=10, clusters=2) as farm:
        seeds = farm.write_seeds(tmp_path / "farm.yaml", name="ttl")
        assert crawl(seeds, output, SKIP_STORED, ttl).returncode == 0
        days_file = output / "ttl" / "_state" / "url_days.json.gz"
        days = json.loads(gzip.decompress(days_file.read_bytes()))
        article_keys = {url_key(farm.url(article)) for article in farm.articles}
        assert set(days) == article_keys, "every article URL (copies too) has the day it was last seen"
        a_month_ago = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=31)).toordinal()
        days_file.write_bytes(gzip.compress(json.dumps(dict.fromkeys(days, a_month_ago)).encode()))
        before = len(farm.request_log)
        run = crawl(seeds, output, SKIP_STORED, ttl)
        assert run.returncode == 0, run.log[-3000:]
        expired = run.manifest  # each run's own manifest, before the next
        refetched = {url for _, url, _ in farm.request_log[before:]}
        before = len(farm.request_log)
        run = crawl(seeds, output, SKIP_STORED, ttl)
        assert run.returncode == 0, run.log[-3000:]
        later = run.manifest
        fetched_later = {url for _, url, _ in farm.request_log[before:]}
    articles = {farm.url(article) for article in farm.articles}
    assert expired["stats"]["dedup/url_keys_expired"] == len(articles)
    assert articles <= refetched, "forgotten URLs are fetched again"
    assert expired["records"] == 0, "and dropped by their text, which is remembered"
    assert not articles & fetched_later, "then remembered again: the next run skips them"
    assert later["stats"]["crawl/skipped/already_stored"] == len(articles)
