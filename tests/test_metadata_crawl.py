"""End to end: record dates and the copy kept, from a real `scrapy crawl` of two outlets on 127.0.0.1
(tests/support/metadata_site.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from tests.support import metadata_site as ms
from tests.test_crawl import SCHEMA, CrawlResult, crawl


@pytest.fixture(scope="module")
def site() -> Iterator[ms.MetadataSite]:
    with ms.serve() as served:
        yield served


@pytest.fixture(scope="module")
def result(site: ms.MetadataSite, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    tmp = tmp_path_factory.mktemp("metadata")
    run = crawl(site.write_seeds(tmp / "seeds.yaml"), tmp / "out")
    assert run.returncode == 0, run.log[-3000:]
    return run


@pytest.fixture(scope="module")
def records(site: ms.MetadataSite, result: CrawlResult) -> dict[str, dict[str, Any]]:
    found = result.records()
    for record in found:
        jsonschema.validate(record, SCHEMA)
    return {record["url"]: record for record in found}


def dates(record: dict[str, Any]) -> tuple[Any, ...]:
    return record["published"], record["published_source"], record["modified"]


def test_the_publishers_page_is_kept_over_its_undated_amp_copy_with_its_date(
    site: ms.MetadataSite, records: dict[str, dict[str, Any]]
) -> None:
    assert site.url("publisher", ms.AMP) not in records
    kept = records[site.url("publisher", ms.CANONICAL)]
    assert dates(kept) == (ms.CANONICAL_DATE, "jsonld", None)
    assert {"url": site.url("publisher", ms.AMP), "reason": "same_url"} in kept["duplicates"]


def test_dates_known_only_to_the_feed_or_the_sitemap_reach_the_record(
    site: ms.MetadataSite, records: dict[str, dict[str, Any]]
) -> None:
    assert dates(records[site.url("publisher", ms.FEED_ONLY)]) == ("2025-02-10T07:30:00+01:00", "feed", None)
    assert dates(records[site.url("publisher", ms.SITEMAP_ONLY)]) == (ms.SITEMAP_DATE, "sitemap", ms.SITEMAP_LASTMOD)


def test_a_year_in_the_text_or_a_future_markup_date_gives_no_date(
    site: ms.MetadataSite, records: dict[str, dict[str, Any]]
) -> None:
    assert dates(records[site.url("publisher", ms.YEAR_IN_TEXT)]) == (None, None, None)
    assert dates(records[site.url("publisher", ms.FUTURE)]) == (None, None, None)


def test_an_aggregator_copy_claiming_an_older_date_does_not_win(
    site: ms.MetadataSite, records: dict[str, dict[str, Any]], result: CrawlResult
) -> None:
    assert site.url("aggregator", ms.AGGREGATED) not in records
    kept = records[site.url("publisher", ms.COPIED)]
    assert dates(kept) == (ms.COPIED_DATE, "jsonld", None)
    links = [link for link in result.duplicates_log() if link["url"] == site.url("aggregator", ms.AGGREGATED)]
    assert [link["kept_url"] for link in links] == [kept["url"]], json.dumps(result.duplicates_log(), indent=1)


def test_every_page_is_one_record_or_one_duplicate(site: ms.MetadataSite, records: dict[str, dict[str, Any]]) -> None:
    assert set(records) == {
        site.url("publisher", path)
        for path in (ms.CANONICAL, ms.FEED_ONLY, ms.SITEMAP_ONLY, ms.YEAR_IN_TEXT, ms.FUTURE, ms.COPIED)
    }
