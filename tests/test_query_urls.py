"""Articles addressed by their query string: kept whole before the request, one key each, stored once."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.pages import is_listing_url
from model.urls import is_tracking_parameter, request_url, url_key
from tests.support import querysite
from tests.test_crawl import crawl

# A query-addressed article as requested (parameters sorted), and the spellings of it a crawl meets (tracking added, parameters reordered).
QUERY_ARTICLES = [
    ("https://news.example.com/story?sid=4", ["https://news.example.com/story?utm_source=rss&sid=4"]),
    ("https://ex.fr/?p=101", ["https://ex.fr?p=101&fbclid=IwAR0", "https://ex.fr/?p=101#respond"]),
    ("https://ex.fr/index.php?story=9", ["https://ex.fr/index.php?story=9&xtor=RSS-3"]),
    ("https://ex.fr/index.php?id=12&option=com_content&view=article",
     ["https://ex.fr/index.php?id=12&view=article&option=com_content&utm_campaign=x&gclid=y"]),
    ("https://ex.fr/node?nid=55", ["https://ex.fr/node?mc_cid=abc&mc_eid=def&nid=55"]),
    ("https://ex.fr/spip.php?article123", ["https://ex.fr/spip.php?article123&at_medium=rss&at_campaign=x"]),
    ("https://ex.fr/article.php3?id_article=45", ["https://ex.fr/article.php3?id_article=45&_ga=2.1"]),
    ("https://ex.fr/read.asp?ArticleID=77", ["https://ex.fr/read.asp?ArticleID=77&utm_medium=email"]),
]  # fmt: skip


@pytest.mark.parametrize(("url", "spellings"), QUERY_ARTICLES)
def test_the_query_that_names_an_article_is_kept_and_tracking_is_dropped(url: str, spellings: list[str]) -> None:
    assert request_url(url) == url
    for spelling in spellings:
        assert request_url(spelling) == url
        assert url_key(spelling) == url_key(url)


def test_query_addressed_articles_keep_different_keys() -> None:
    keys = [url_key(url) for url, _ in QUERY_ARTICLES]
    assert len(set(keys)) == len(keys)
    assert url_key("https://ex.fr/?p=101") != url_key("https://ex.fr/?p=102") != url_key("https://ex.fr/")
    assert url_key("https://ex.fr/spip.php?article123") != url_key("https://ex.fr/spip.php?article124")
    assert url_key("https://ex.fr/index.php?story=9") != url_key("https://ex.fr/index.php")


def test_amp_and_print_renderings_of_a_query_addressed_article_share_its_key() -> None:
    assert url_key("https://ex.fr/?p=101&amp") == url_key("https://ex.fr/?p=101")
    assert url_key("https://ex.fr/?p=101&amp=1") == url_key("https://ex.fr/?p=101")
    assert url_key("https://ex.fr/news.php?sid=7&print=1") == url_key("https://ex.fr/news.php?sid=7")


@pytest.mark.parametrize(
    ("name", "tracking"),
    [
        ("utm_source", True), ("UTM_Campaign", True), ("fbclid", True), ("gclid", True), ("xtor", True),
        ("mc_cid", True), ("_ga", True), ("at_medium", True), ("ref", True), ("ref_src", True),
        ("gallery", False), ("sourceid", False), ("p", False), ("sid", False), ("id_article", False),
        ("article123", False), ("option", False), ("view", False), ("story", False), ("referendum", False),
    ],
)  # fmt: skip
def test_tracking_parameters_are_whole_words_of_courlans_patterns(name: str, tracking: bool) -> None:
    assert is_tracking_parameter(name) is tracking


@pytest.mark.parametrize(
    "url",
    ["https://ex.fr/?p=101", "https://ex.fr/index.php?option=com_content&view=article&id=12", "https://ex.fr/spip.php?article123"],
)
def test_query_addressed_articles_are_not_listings(url: str) -> None:
    assert not is_listing_url(url)


def test_a_crawl_stores_every_query_addressed_article_once(tmp_path: Path) -> None:
    with querysite.serve() as site:
        result = crawl(site.write_seeds(tmp_path / "seeds.yaml"), tmp_path / "out")
        fetched, statuses = site.fetch_counts(), site.statuses()
    assert result.returncode == 0, result.log[-3000:]
    records = result.records()
    assert sorted(url_key(r["url"]) for r in records) == sorted(url_key(site.url(a)) for a in site.articles)
    assert {r["url"] for r in records} == {request_url(site.url(a)) for a in site.articles}
    assert statuses[404] == 0, [target for target, status in site.request_log if status == 404]
    article_fetches = {target: n for target, n in fetched.items() if target not in ("/", querysite.FEED, querysite.SITEMAP)}
    assert sorted(article_fetches) == sorted(request_url(site.url(a)).removeprefix(site.base) for a in site.articles)
    assert set(article_fetches.values()) == {1}, "each article fetched once, tracking-parameter spellings included"
    assert result.stats.get("crawl/feeds") == 1, "the feed addressed by its query (?feed=rss2) was read as a feed"
