"""End to end: `scrapy crawl news` over tests/support/headline_site.py: decoding, titles, language and authors as
stored, and the seeds' `languages` filter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from tests.support import headline_site as site_pages
from tests.support.headline_site import HEADLINES
from tests.test_crawl import SCHEMA, CrawlResult, crawl


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CrawlResult, dict[str, dict[str, Any]]]]:
    with site_pages.serve() as site:
        seeds = site.write_seeds(tmp_path_factory.mktemp("seeds") / "headlines.yaml", languages=["fr"])
        result = crawl(seeds, tmp_path_factory.mktemp("out"))
        assert result.returncode == 0, result.log[-3000:]
        records = {record["url"].removeprefix(site.base): record for record in result.records()}
        yield result, records


def test_every_record_follows_the_schema(crawled: tuple[CrawlResult, dict[str, dict[str, Any]]]) -> None:
    _, records = crawled
    assert records
    for record in records.values():
        jsonschema.validate(record, SCHEMA)


def test_a_utf8_page_with_two_stray_bytes_is_decoded_as_utf8(crawled: tuple[CrawlResult, dict[str, Any]]) -> None:
    result, records = crawled
    record = records[site_pages.ALMOST_UTF8]
    assert record["title"] == HEADLINES[site_pages.ALMOST_UTF8]
    assert site_pages.TEXTS[site_pages.ALMOST_UTF8][0] in record["text"], "every accented letter intact"
    assert "Ã" not in json.dumps(record, ensure_ascii=False)
    assert result.stats["crawl/encoding_stray_bytes"] == 2


def test_a_stale_declared_charset_does_not_garble_utf8(crawled: tuple[CrawlResult, dict[str, Any]]) -> None:
    record = crawled[1][site_pages.STALE_CHARSET]
    assert record["title"] == HEADLINES[site_pages.STALE_CHARSET]
    assert site_pages.TEXTS[site_pages.STALE_CHARSET][0] in record["text"]


def test_the_title_is_the_headline_without_the_site_name(crawled: tuple[CrawlResult, dict[str, Any]]) -> None:
    assert crawled[1][site_pages.SITE_IN_TITLE]["title"] == HEADLINES[site_pages.SITE_IN_TITLE]


def test_a_french_page_declaring_english_is_stored_as_french(crawled: tuple[CrawlResult, dict[str, Any]]) -> None:
    record = crawled[1][site_pages.FRENCH_AS_EN]
    assert (record["language"], record["declared_language"]) == ("fr", "en")


def test_languages_keep_only_articles_in_them(crawled: tuple[CrawlResult, dict[str, Any]]) -> None:
    result, records = crawled
    assert site_pages.ENGLISH not in records
    assert result.stats["select/wrong_language"] == 1
    assert sorted(records) == sorted(set(HEADLINES) - {site_pages.ENGLISH})


def test_authors_are_a_list_of_names(crawled: tuple[CrawlResult, dict[str, Any]]) -> None:
    _, records = crawled
    assert records[site_pages.ALMOST_UTF8]["authors"] == ["Claire Dumas", "Julien Marchand"]
    assert records[site_pages.SITE_IN_TITLE]["authors"] == ["Lucas Musset"]
    assert all(record["source"] is None for record in records.values())
