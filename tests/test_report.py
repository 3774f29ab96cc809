"""Crawl report: health rules and report building on hand-made runs, the HTML page (escaping, bounded size),
the extension in a real crawl of the demo site, and `scrapy report` on a local output with two runs."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from demo.site import DemoSite, serve
from pipelines.report.core import (
    UNHEALTHY_EXIT_CODE,
    HealthRules,
    Limits,
    RunData,
    build_report,
    exit_code,
    verdict_lines,
)
from pipelines.report.html import render_html
from pipelines.report.reader import find_runs, load_run
from pipelines.store.layout import RunLayout
from pipelines.store.objects import LocalStore, ObjectStore, S3Options, open_store
from pipelines.store.parts import duplicates_part_name, encode_part, part_name
from tests.support.servers import CephRGW
from tests.test_crawl import TOPIC, crawl

ROOT = Path(__file__).resolve().parent.parent


def record(site: str, n: int, **fields: Any) -> dict[str, Any]:
    """A stored record as the parts hold it (text included; the report drops it)."""
    return {
        "id": f"{site}-{n}", "url": f"https://{site}.example/{n}/", "canonical_url": f"https://{site}.example/{n}/",
        "site": site, "title": f"Headline {n} of {site}", "authors": ["A. Writer"], "published": "2025-02-11",
        "language": "fr", "description": None, "tags": [], "text": "word " * (100 + n), "word_count": 100 + n,
        "fetched_at": "2025-02-12T08:00:00+00:00", "duplicates": [], **fields,
    }  # fmt: skip


def stats_for(site: str, **counters: int) -> dict[str, int]:
    """Per-source counters as `crawler.stats.count` writes them, plus the run-wide ones."""
    stats: dict[str, int] = {}
    for key, value in counters.items():
        name = key.replace("__", "/")
        stats[f"sites/{site}/{name}"] = value
        stats[name] = stats.get(name, 0) + value
    return stats


def run_data(records: list[dict[str, Any]], stats: dict[str, Any], run_id: str = "20250212T080000Z-aaaaaa",
             links: list[dict[str, Any]] | None = None, sites: tuple[str, ...] = (), **manifest: Any) -> RunData:
    return RunData(
        manifest={"crawl": "story", "run_id": run_id, "started_at": f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T08:00:00+00:00",
                  "finish_reason": "finished", "stats": stats, **manifest},
        prefix=f"story/{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}/{run_id}",
        records=records, links=links or [], sites=sites,
    )  # fmt: skip


# Counters a crawl emits (the last test checks they are among a real crawl's): 1 start page, 19 pages found through
# links, 12 through the feed.
HEALTHY = stats_for("techvibe", crawl__pages__start=1, crawl__pages__link=19, crawl__pages__feed=12, crawl__feeds=1,
                    crawl__sitemaps=3, extract__ok=12, select__off_topic=4, dedup__near_duplicate=1, dedup__kept=7)  # fmt: skip


def by_site(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {source["site"]: source for source in report["sources"]}


# -- the report builder ----------------------------------------------------------------------------


def test_a_healthy_source_has_its_counts_drops_and_metadata_shares() -> None:
    records = [record("techvibe", n) for n in range(6)] + [record("techvibe", 6, authors=[])]
    report = build_report([run_data(records, HEALTHY, sites=("techvibe",))])
    source = by_site(report)["techvibe"]
    assert report["verdict"] == source["verdict"] == "ok"
    assert (source["pages_fetched"], source["html_pages"], source["articles_extracted"], source["stored"]) == (36, 32, 12, 7)
    assert source["drops"]["off_topic"] == 4 and source["drops"]["near_duplicate"] == 1
    assert source["median_words"] == 103
    assert source["fields"] == {"title": 1.0, "author": 0.857, "date": 1.0, "language": 1.0}
    assert source["reasons"] == []
    assert exit_code(report["verdict"], fail_on_unhealthy=True) == 0


def test_broken_sources_are_unhealthy_with_the_reason_and_listed_first() -> None:
    stats = {
        **HEALTHY,
        **stats_for("listing-only", crawl__pages__start=1, crawl__pages__link=39, crawl__feeds=1),
        **stats_for("down", crawl__failed__http_503=3),
        **stats_for("undated", crawl__pages__sitemap=12, extract__ok=10),
        **stats_for("flaky", crawl__pages__feed=10, extract__ok=10, crawl__failed__http_500=4),
    }
    records = [record("techvibe", 1)] + [record("undated", n, published=None) for n in range(9)]
    records.append(record("undated", 9))
    sites = ("techvibe", "listing-only", "down", "undated", "flaky", "silent")
    report = build_report([run_data(records, stats, sites=sites)])
    sources = by_site(report)
    assert [s["site"] for s in report["sources"]] == ["down", "listing-only", "silent", "flaky", "undated", "techvibe"]
    assert sources["listing-only"]["reasons"] == [
        {"level": "unhealthy", "text": "0 articles from 40 pages: extraction or article detection broke"}
    ]
    assert sources["down"]["reasons"][0] == {"level": "unhealthy", "text": "all 3 requests failed (HTTP 503: 3)"}
    assert sources["silent"]["verdict"] == "unhealthy"
    assert sources["silent"]["reasons"][0]["text"].startswith("nothing fetched")
    assert sources["undated"]["reasons"] == [{"level": "warning", "text": "date missing on 90% of 10 records"}]
    assert sources["flaky"]["reasons"][0] == {"level": "warning", "text": "4 of 14 requests failed (HTTP 500: 4)"}
    assert report["verdict"] == "unhealthy"
    assert report["totals"]["sources"] == {"unhealthy": 3, "warning": 2, "ok": 1}
    lines = verdict_lines(report)
    assert lines[0] == "Crawl health: unhealthy (1 sources ok, 2 with warnings, 3 unhealthy)"
    assert "  listing-only: unhealthy: 0 articles from 40 pages: extraction or article detection broke" in lines
    assert exit_code(report["verdict"], fail_on_unhealthy=True) == UNHEALTHY_EXIT_CODE
    assert exit_code(report["verdict"], fail_on_unhealthy=False) == 0


def test_pages_skipped_as_off_topic_before_extraction_are_not_a_broken_extraction() -> None:
    """A source whose pages all lack the seeds' keywords gave pages, none on topic: a note, not "extraction broke";
    one whose pages with keywords all fail extraction is still unhealthy."""
    off_topic = stats_for("offtopic", crawl__pages__start=1, crawl__pages__link=19, crawl__feeds=1,
                          select__off_topic_prefiltered=20)  # fmt: skip
    broken = stats_for("broken", crawl__pages__start=1, crawl__pages__link=19, crawl__feeds=1,
                       select__off_topic_prefiltered=10, extract__not_article=10)  # fmt: skip
    sources = by_site(build_report([run_data([], {**off_topic, **broken}, sites=("offtopic", "broken"))]))
    assert sources["offtopic"]["verdict"] != "unhealthy" and sources["offtopic"]["drops"]["off_topic"] == 20
    assert sources["broken"]["verdict"] == "unhealthy"
    assert "0 articles from 10 pages" in sources["broken"]["reasons"][0]["text"]


def test_thresholds_come_from_the_rules() -> None:
    stats = stats_for("small", crawl__pages__link=3)
    assert build_report([run_data([], stats)])["sources"][0]["verdict"] == "warning", "too few pages to call it broken"
    strict = build_report([run_data([], stats)], rules=HealthRules(min_pages=3))
    assert strict["sources"][0]["verdict"] == "unhealthy"


def test_an_empty_run_is_unhealthy_and_still_renders() -> None:
    report = build_report([run_data([], {})])
    assert report["verdict"] == "unhealthy"
    assert report["reasons"] == [{"level": "unhealthy", "text": "the run fetched nothing"}]
    assert report["sources"] == [] and report["coverage"]["outlets"] == [] and report["clusters"]["items"] == []
    page = render_html(report)
    assert "No article stored" in page and "No copy was dropped" in page


def test_spooled_or_missing_objects_and_an_early_end_are_run_level_reasons() -> None:
    spooled = "story/2025-02-12/20250212T080000Z-aaaaaa/part-00001.jsonl.gz"
    run = run_data([record("techvibe", 1)], HEALTHY, finish_reason="closespider_timeout", failed_parts=[spooled])
    run.missing_parts += [spooled, "story/2025-02-12/20250212T080000Z-aaaaaa/part-00002.jsonl.gz"]
    report = build_report([run])
    assert report["reasons"] == [
        {"level": "unhealthy", "text": "storage refused 1 object: kept in the local spool, the next run writes them"},
        {"level": "unhealthy", "text": "1 object named in the manifest missing from storage"},
        {"level": "warning", "text": "the crawl ended early (closespider_timeout)"},
    ]  # fmt: skip
    assert report["verdict"] == "unhealthy" and by_site(report)["techvibe"]["verdict"] == "ok"


def test_a_run_recovered_without_stats_shows_its_records_without_judging_its_sources() -> None:
    run = run_data([record("techvibe", 1)], {}, finish_reason="interrupted", recovered_by="20250213T080000Z-cccccc")
    del run.manifest["stats"]  # type: ignore[attr-defined]
    report = build_report([run])
    assert report["sources"] == [] and report["totals"]["stored"] == 1
    assert [reason["level"] for reason in report["reasons"]] == ["warning", "note"]
    assert report["verdict"] == "warning"


def test_duplicate_clusters_name_each_copy_outlet_and_who_copied_whom() -> None:
    original = record("techvibe", 1, duplicates=[{"url": "https://aggregator.example/a", "reason": "near_duplicate",
                                                  "similarity": 0.85}])  # fmt: skip
    links = [
        {"kept_id": original["id"], "kept_url": original["url"], "url": "https://aggregator.example/a",
         "reason": "near_duplicate", "similarity": 0.85},
        {"kept_id": original["id"], "kept_url": original["url"], "url": "https://techvibe.example/1/amp/",
         "reason": "same_url"},
        {"kept_id": "from-an-earlier-run", "kept_url": "https://blog.example/old/", "url": "https://mirror.example/old",
         "reason": "exact"},
    ]  # fmt: skip

    def owner(url: str) -> str | None:
        return "aggregator" if "aggregator.example" in url else None

    report = build_report([run_data([original], HEALTHY, links=links)], owner=owner)
    first, second = report["clusters"]["items"]
    assert first["kept"]["site"] == "techvibe" and first["copies"]["total"] == 2
    assert [(c["site"], c["reason"], c["similarity"]) for c in first["copies"]["items"]] == [
        ("aggregator", "near_duplicate", 0.85), ("techvibe", "same_url", None)
    ]  # fmt: skip
    assert second["kept"] == {"id": "from-an-earlier-run", "url": "https://blog.example/old/", "site": "blog.example",
                              "title": None, "published": None, "earlier_run": True}  # fmt: skip
    assert second["copies"]["items"][0]["similarity"] == 1.0
    assert {(p["copier"], p["original"]) for p in report["copying"]["items"]} == {
        ("aggregator", "techvibe"), ("techvibe", "techvibe"), ("mirror.example", "blog.example")
    }  # fmt: skip


def test_a_range_of_runs_shows_the_latest_verdict_the_history_and_summed_counts() -> None:
    first = run_data([record("techvibe", 1)], HEALTHY, run_id="20250210T080000Z-aaaaaa")
    broken = stats_for("techvibe", crawl__pages__link=30)
    second = run_data([], broken, run_id="20250211T080000Z-bbbbbb")
    report = build_report([second, first])
    source = report["sources"][0]
    assert [run["run_id"] for run in report["runs"]] == ["20250210T080000Z-aaaaaa", "20250211T080000Z-bbbbbb"]
    assert source["history"] == ["ok", "unhealthy"] and source["verdict"] == report["verdict"] == "unhealthy"
    assert source["html_pages"] == 32 + 30 and source["stored"] == 1


def test_the_timeline_is_binned_to_a_bounded_number_of_columns() -> None:
    start = dt.date(2023, 1, 1)
    records = [record(f"site{n % 7}", n, published=(start + dt.timedelta(days=n)).isoformat()) for n in range(700)]
    timeline = build_report([run_data(records, HEALTHY)])["coverage"]["timeline"]
    assert timeline["unit"] == "week" and timeline["bins"] <= 120
    assert sum(cell["count"] for cell in timeline["cells"]) == 700
    assert all(len(cell["titles"]) <= 3 for cell in timeline["cells"])


# -- the page --------------------------------------------------------------------------------------


def test_page_derived_text_is_escaped_and_hostile_urls_are_not_links() -> None:
    hostile = record(
        "techvibe", 1, title='<script>alert("t")</script><img src=x onerror=alert(1)>',
        url="javascript:alert(document.cookie)",
        duplicates=[{"url": '"><svg onload=alert(2)>', "reason": "exact"}],
    )  # fmt: skip
    page = render_html(build_report([run_data([hostile], HEALTHY)]))
    assert "<script" not in page and "<img" not in page and "<svg onload" not in page
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page and "javascript:alert(document.cookie)" in page
    assert "default-src 'none'" in page, "a CSP forbids scripts and remote loads"


@pytest.mark.parametrize("count", [10, 10_000])
def test_the_page_stays_small_whatever_the_number_of_records(count: int) -> None:
    start = dt.date(2025, 1, 1)
    records = [
        record(f"outlet-{n % 40}", n, published=(start + dt.timedelta(days=n % 200)).isoformat(),
               duplicates=[{"url": f"https://copies.example/{n}", "reason": "near_duplicate", "similarity": 0.9}] * (n % 3 == 0))
        for n in range(count)
    ]  # fmt: skip
    began = time.perf_counter()
    report = build_report([run_data(records, HEALTHY)], limits=Limits(max_listed=200))
    page = render_html(report)
    elapsed = time.perf_counter() - began
    assert report["coverage"]["articles"]["total"] == count
    assert len(report["coverage"]["articles"]["items"]) == min(count, 200)
    assert len(report["clusters"]["items"]) == min(report["clusters"]["total"], 200)
    assert len(page.encode()) < 2_000_000 and len(json.dumps(report)) < 2_000_000
    if count > 200:
        assert f"and {count - 200:,} more articles" in page
    assert elapsed < 10


# -- stored runs and `scrapy report` ---------------------------------------------------------------


def write_run(store: ObjectStore, started: dt.datetime, records: list[dict[str, Any]], stats: dict[str, Any],
              links: list[dict[str, Any]]) -> RunLayout:
    """A finished run on disk as the store stage lays it out: parts of two records, duplicates log, manifest last."""
    layout = RunLayout.new("story", started)
    parts = []
    for index in range(0, len(records), 2):
        part = encode_part(part_name(index // 2), records[index : index + 2])
        store.put(layout.part_key(part), part.data, "application/gzip")
        parts.append(part.manifest_entry(layout.part_key(part)))
    duplicates_parts = []
    if links:
        log = encode_part(duplicates_part_name(0), links)
        store.put(layout.part_key(log), log.data, "application/gzip")
        duplicates_parts.append(log.manifest_entry(layout.part_key(log)))
    manifest = {"crawl": "story", "run_id": layout.run_id, "started_at": started.isoformat(timespec="seconds"),
                "finish_reason": "finished", "records": len(records), "parts": parts, "failed_parts": [],
                "duplicates_parts": duplicates_parts, "stats": stats}  # fmt: skip
    store.put(layout.manifest_key, json.dumps(manifest).encode(), "application/json")
    return layout


def write_two_runs(store: ObjectStore) -> None:
    """A healthy run on 2025-01-05 (three records, one copy), and a broken one on 2025-02-05 (one record)."""
    first = [record("techvibe", n, published=f"2025-01-0{n + 1}") for n in range(3)]
    link = {"kept_id": first[0]["id"], "kept_url": first[0]["url"], "url": "https://mirror.example/x", "reason": "exact"}
    write_run(store, dt.datetime(2025, 1, 5, 6, tzinfo=dt.UTC), first, HEALTHY, [link])
    broken = stats_for("techvibe", crawl__pages__link=30)
    write_run(store, dt.datetime(2025, 2, 5, 6, tzinfo=dt.UTC), [record("techvibe", 9, published="2025-02-04")], broken, [])


@pytest.fixture
def two_runs(tmp_path: Path) -> Path:
    store = LocalStore(tmp_path / "out")
    write_two_runs(store)
    return store.root


def test_stored_runs_are_found_oldest_first_and_read_back(two_runs: Path) -> None:
    store = LocalStore(two_runs)
    refs = find_runs(store)
    assert [ref.date for ref in refs] == [dt.date(2025, 1, 5), dt.date(2025, 2, 5)]
    assert [ref.date for ref in find_runs(store, "story", since=dt.date(2025, 2, 1))] == [dt.date(2025, 2, 5)]
    assert find_runs(store, "other") == []
    run = load_run(store, refs[0])
    assert [r["id"] for r in run.records] == ["techvibe-0", "techvibe-1", "techvibe-2"]
    assert "text" not in run.records[0] and run.links[0]["url"] == "https://mirror.example/x"


def scrapy(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ, **(env or {})})  # fmt: skip


def test_scrapy_report_writes_the_page_of_every_run(two_runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "history" / "report.html"
    result = scrapy("report", str(two_runs), "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Report of 2 runs (2025-01-05 to 2025-02-05): {out}" in result.stdout
    assert "Crawl health: unhealthy" in result.stdout
    page = out.read_text()
    assert page.count('<tr class="ok"><td class="num">2025-01-05') == 1
    assert page.count('<tr class="unhealthy"><td class="num">2025-02-05') == 1
    assert "Headline 9 of techvibe" in page and "Headline 0 of techvibe" in page
    assert "https://mirror.example/x" in page


def test_scrapy_report_since_keeps_the_later_runs_and_can_fail_on_unhealthy(two_runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = scrapy("report", str(two_runs), "--since", "2025-02-01", "--crawl", "story", "--out", str(out),
                    "-s", "REPORT_FAIL_ON_UNHEALTHY=True")  # fmt: skip
    assert result.returncode == UNHEALTHY_EXIT_CODE, result.stderr[-2000:]
    page = out.read_text()
    assert "Headline 9 of techvibe" in page and "Headline 0 of techvibe" not in page
    nothing = scrapy("report", str(two_runs), "--since", "2026-01-01", "--out", str(out))
    assert nothing.returncode == 2 and "no finished run under" in nothing.stderr
    bad = scrapy("report", str(two_runs), "--since", "last week")
    assert bad.returncode == 2 and "expected a date, YYYY-MM-DD" in bad.stderr


@pytest.mark.s3
def test_scrapy_report_reads_an_s3_output(ceph_rgw: CephRGW, s3_bucket: str, tmp_path: Path) -> None:
    s3 = S3Options(endpoint_url=ceph_rgw.endpoint_url, addressing_style="path", access_key_id=ceph_rgw.access_key,
                   secret_access_key=ceph_rgw.secret_key, region_name=ceph_rgw.region)  # fmt: skip
    write_two_runs(open_store(f"s3://{s3_bucket}/news", s3))
    env = {"AWS_ACCESS_KEY_ID": ceph_rgw.access_key, "AWS_SECRET_ACCESS_KEY": ceph_rgw.secret_key,
           "AWS_DEFAULT_REGION": ceph_rgw.region, "S3_ENDPOINT_URL": ceph_rgw.endpoint_url, "S3_ADDRESSING_STYLE": "path"}  # fmt: skip
    out = tmp_path / "report.html"
    result = scrapy("report", f"s3://{s3_bucket}/news", "--since", "2025-02-01", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Report of 1 run (2025-02-05)" in result.stdout
    assert "Headline 9 of techvibe" in out.read_text()


# -- in a real crawl -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with serve(day=1) as demo:
        yield demo


def seeds_with_a_broken_source(site: DemoSite, path: Path) -> Path:
    """The demo's seeds, with one outlet whose article URL filter no longer matches (a site redesign)."""
    site.write_seeds(path, name="demo", keywords=TOPIC, since="2023-01-01")
    seeds = yaml.safe_load(path.read_text())
    seeds["sites"][0]["allow"] = ["/no-such-article-path/"]
    path.write_text(yaml.safe_dump(seeds, allow_unicode=True))
    return path


def test_the_crawl_writes_its_report_beside_the_manifest_and_logs_the_verdict(site: DemoSite, tmp_path: Path) -> None:
    seeds = seeds_with_a_broken_source(site, tmp_path / "seeds.yaml")
    broken = site.outlets[0].name
    result = crawl(seeds, tmp_path / "out")
    assert result.returncode == 0, "REPORT_FAIL_ON_UNHEALTHY is off by default"
    run_wide = {key for key in HEALTHY if not key.startswith("sites/")}
    assert run_wide <= set(result.stats), "the builder's tests feed it counters a crawl really emits"
    run_dir = next((tmp_path / "out").rglob("manifest.json")).parent
    report = json.loads((run_dir / "report.json").read_text())
    assert sorted(by_site(report)) == sorted(outlet.name for outlet in site.outlets)
    assert report["verdict"] == by_site(report)[broken]["verdict"] == "unhealthy"
    assert re.fullmatch(r"0 articles from \d+ pages: extraction or article detection broke",
                        by_site(report)[broken]["reasons"][0]["text"])  # fmt: skip
    assert report["totals"]["stored"] == json.loads((run_dir / "manifest.json").read_text())["records"]
    assert (run_dir / "report.html").read_text().startswith("<!doctype html>")
    assert "Crawl health: unhealthy" in result.log
    assert f"  {broken}: unhealthy: 0 articles from" in result.log
    assert f"report: {run_dir}/report.html" in result.log

    failing = crawl(seeds, tmp_path / "out", "REPORT_FAIL_ON_UNHEALTHY=True")
    assert failing.returncode == UNHEALTHY_EXIT_CODE
    assert "the crawl exits non-zero (REPORT_FAIL_ON_UNHEALTHY)" in failing.log
