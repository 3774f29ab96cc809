"""Two `scrapy crawl` runs over the hostile farm (tests/support/walls_site.py): what is stored, what is counted and
what report.json says for each case (bot challenges, consent walls, paywalls, soft 404s, link lists, a huge page,
a consent wall that serves the articles next run, a source that silently stops)."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support.walls_site import WallsSite, serve
from tests.test_crawl import SCHEMA, crawl


@dataclass
class Run:
    """One run read back from the output: its manifest's stats, its records and its report."""

    stats: dict[str, Any]
    records: list[dict[str, Any]]
    report: dict[str, Any]

    def stored(self, site: str) -> list[dict[str, Any]]:
        return [record for record in self.records if record["site"] == site]

    def counter(self, site: str, key: str) -> int:
        return int(self.stats.get(f"sites/{site}/{key}", 0))

    def source(self, site: str) -> dict[str, Any]:
        return next(source for source in self.report["sources"] if source["site"] == site)

    def reasons(self, site: str) -> str:
        return " / ".join(f"{reason['level']}: {reason['text']}" for reason in self.source(site)["reasons"])


def read_runs(output: Path) -> list[Run]:
    runs = []
    for manifest_path in sorted(output.rglob("manifest.json"), key=lambda path: path.parent.name):
        manifest = json.loads(manifest_path.read_text())
        records = [json.loads(line) for part in manifest["parts"]
                   for line in gzip.decompress((output / part["key"]).read_bytes()).splitlines()]  # fmt: skip
        runs.append(Run(manifest["stats"], records, json.loads((manifest_path.parent / "report.json").read_text())))
    return runs


@pytest.fixture(scope="module")
def site() -> Iterator[WallsSite]:
    with serve() as farm:
        yield farm


@pytest.fixture(scope="module")
def runs(site: WallsSite, tmp_path_factory: pytest.TempPathFactory) -> list[Run]:
    seeds = site.write_seeds(tmp_path_factory.mktemp("seeds") / "walls.yaml")
    output = tmp_path_factory.mktemp("out")
    for phase in (1, 2):
        site.phase = phase
        started, before = time.monotonic(), len(site.requests)
        result = crawl(seeds, output)
        assert result.returncode == 0, result.log[-3000:]
        print(f"run {phase}: {time.monotonic() - started:.1f} s, {len(site.requests) - before} requests")
    found = read_runs(output)
    assert len(found) == 2
    return found


def test_records_have_a_valid_paywalled_flag(runs: list[Run]) -> None:
    paywalled = {"type": "object", "required": ["paywalled"], "properties": {"paywalled": SCHEMA["properties"]["paywalled"]}}
    assert "paywalled" in SCHEMA["required"]
    for run in runs:
        for record in run.records:
            jsonschema.validate(record, paywalled)


def test_a_consent_wall_is_named_and_never_stored(runs: list[Run]) -> None:
    first = runs[0]
    assert first.stored("consent") == []
    assert first.counter("consent", "extract/blocked/consent") == 3
    assert "consent wall on 3 of 3 article pages" in first.reasons("consent")
    assert "extraction or article detection broke" not in first.reasons("consent")


def test_bot_challenges_are_named_by_vendor(runs: list[Run]) -> None:
    first = runs[0]
    assert first.stored("waf") == [] and first.stored("cloudflare") == []
    assert first.counter("waf", "crawl/blocked/challenge/aws_waf") >= 1  # its sitemap answers the challenge
    assert first.counter("waf", "crawl/sitemap/invalid_or_empty") == 0, "a challenge is not an empty sitemap"
    assert "bot challenge (AWS WAF)" in first.reasons("waf")
    assert first.source("waf")["verdict"] == "unhealthy"
    assert first.counter("cloudflare", "crawl/blocked/challenge/cloudflare") == 3  # its 403 article pages
    assert first.counter("cloudflare", "crawl/failed/http_403") == 0
    assert "bot challenge (Cloudflare) on 3 of 4 requests" in first.reasons("cloudflare")


def test_a_paywalled_article_with_its_body_is_stored_flagged_and_a_teaser_is_not(
    site: WallsSite, runs: list[Run]
) -> None:
    first, case = runs[0], site.case("paywall")
    teaser, full = case.articles
    stored = first.stored("paywall")
    assert [record["url"] for record in stored] == [case.url(full)]
    assert stored[0]["paywalled"] is True
    assert all(record["paywalled"] is False for record in first.records if record["site"] != "paywall")
    assert first.counter("paywall", "extract/blocked/paywall") == 1
    assert "paywall with only a teaser on 1 of 2 article pages" in first.reasons("paywall")


def test_a_soft_404_is_named_and_never_stored(runs: list[Run]) -> None:
    first = runs[0]
    assert first.stored("soft404") == []
    assert first.counter("soft404", "extract/soft_404") == 3
    assert "soft 404 (a not-found page answered 200) on 3 of 3 article pages" in first.reasons("soft404")


def test_a_wall_listed_in_a_sitemap_does_not_block_the_articles_it_hid(site: WallsSite, runs: list[Run]) -> None:
    first, second = runs
    assert first.stored("flip") == []
    assert first.counter("flip", "extract/blocked/consent") == 5
    assert second.counter("flip", "crawl/skipped/already_stored") == 0
    assert sorted(record["url"] for record in second.stored("flip")) == sorted(map(site.case("flip").url,
                                                                                   site.case("flip").articles))


def test_link_lists_and_a_huge_page_are_not_articles(runs: list[Run]) -> None:
    first = runs[0]
    assert first.stored("agenda") == []
    assert first.counter("agenda", "extract/link_list") == 6
    assert first.stored("huge") == []
    assert first.counter("huge", "extract/too_long") == 1
    assert max(record["word_count"] for record in first.records) < 20_000


def test_a_source_that_silently_stops_is_unhealthy_against_its_history(runs: list[Run]) -> None:
    first, second = runs
    assert len(first.stored("vanish")) == 3
    assert first.source("vanish")["verdict"] == "ok"
    assert second.stored("vanish") == []
    assert second.source("vanish")["verdict"] == "unhealthy"
    assert "gave 0 articles; median of the last run: 3" in second.reasons("vanish")
    # A source that stored its articles last run and lists them again has not stopped: they count as its yield.
    assert second.counter("paywall", "crawl/skipped/already_stored") == 1
    assert "median" not in second.reasons("paywall")
