"""Publication dates with their source (pipelines/extract/dates.py): markup and listing dates first, full dates only,
nothing after the fetch."""

from __future__ import annotations

import pytest
from trafilatura.utils import load_html

from model.items import Page
from pipelines.extract.dates import PageDates, instant, iso_date, page_dates

FETCHED = "2025-02-12T09:00:00+00:00"
URL = "https://news.example/economie/openai-musk"


def dates(head: str = "", body: str = "", url: str = URL, **listed: str) -> PageDates:
    html = f"<html><head><title>OpenAI et Musk</title>{head}</head><body><h1>OpenAI et Musk</h1>{body}</body></html>"
    return page_dates(load_html(html), Page(url, "news", html, FETCHED, **listed))


def jsonld(**fields: str) -> str:
    props = ", ".join(f'"{name}": "{value}"' for name, value in fields.items())
    return f'<script type="application/ld+json">{{"@type": "NewsArticle", {props}}}</script>'


def test_markup_dates_keep_time_and_offset_and_say_where_they_come_from() -> None:
    assert dates(jsonld(datePublished="2025-02-11T08:30:00+01:00")) == PageDates(
        "2025-02-11T08:30:00+01:00", "jsonld", None
    )
    meta = '<meta property="article:published_time" content="2025-02-11T07:30:00Z">'
    assert dates(meta) == PageDates("2025-02-11T07:30:00+00:00", "meta", None)
    time = '<p>Publié <time datetime="2025-02-11" pubdate="pubdate">le 11 février</time></p>'
    assert dates(body=time) == PageDates("2025-02-11", "time", None)


def test_the_articles_jsonld_object_decides_not_its_images_and_modified_stays_apart() -> None:
    image = '<script type="application/ld+json">{"@type": "ImageObject", "datePublished": "2024-05-09T20:31Z"}</script>'
    found = dates(image + jsonld(datePublished="2025-02-11T08:30:00+01:00", dateModified="2025-02-12T07:00:00+01:00"))
    assert found == PageDates("2025-02-11T08:30:00+01:00", "jsonld", "2025-02-12T07:00:00+01:00")


@pytest.mark.parametrize(
    "text",
    [
        "Fondée en 2015, la société emploie 300 personnes.",
        "Le marché a doublé depuis 2018 et devrait encore croître en 2022.",
        "Publié en février 2025",  # a month is not a day
        "© 2025 News Example",
    ],
)
def test_a_year_or_month_in_the_text_is_not_a_date(text: str) -> None:
    assert dates(body=f"<p>{text}</p>") == PageDates()


@pytest.mark.parametrize(
    "byline, published, modified",
    [
        ("Publié le 12 février 2025 à 10h30", "2025-02-12", None),
        ("Published on 11.02.2025, updated March 3, 2024", "2025-02-11", None),  # an update before publication
        ("Mis à jour le 12/02/2025", None, "2025-02-12"),
    ],
)
def test_a_full_date_after_words_that_introduce_it_is_a_text_date(
    byline: str, published: str | None, modified: str | None
) -> None:
    found = dates(body=f"<p>Par Jane Doe</p><p>{byline}</p><p>Un long article.</p>")
    assert (found.published, found.published_source, found.modified) == (
        published, "text" if published else None, modified
    )  # fmt: skip


def test_dates_after_the_fetch_are_refused_and_the_text_is_then_not_mined() -> None:
    future = jsonld(datePublished="2099-01-01T00:00:00Z") + '<meta property="article:published_time" content="2099-01-01">'
    assert dates(future, body="<p>Publié le 10 février 2025</p>") == PageDates()
    assert dates(jsonld(datePublished="2025-02-12T09:05:00+00:00")).published == "2025-02-12T09:05:00+00:00"  # skew
    assert dates(jsonld(datePublished="2025-02-12T10:00:00+00:00")).published is None
    assert dates(jsonld(datePublished="1990-05-01")).published is None  # implausibly old


def test_a_year_only_copyright_is_not_a_day() -> None:
    assert dates('<meta itemprop="copyrightYear" content="2024">') == PageDates()


def test_listing_dates_fill_in_and_overrule_a_contradicting_markup_date() -> None:
    assert dates(listed_in="feed", listed_published="2025-02-11T06:00:00+00:00") == PageDates(
        "2025-02-11T06:00:00+00:00", "feed", None
    )
    sitemap = dates(listed_in="sitemap", listed_published="2025-02-10", listed_modified="2025-02-11T10:00:00+01:00")
    assert sitemap == PageDates("2025-02-10", "sitemap", "2025-02-11T10:00:00+01:00")
    spoofed = dates(jsonld(datePublished="2001-01-01"), listed_in="feed", listed_published="2025-02-11T06:00:00+00:00")
    assert (spoofed.published, spoofed.published_source) == ("2025-02-11T06:00:00+00:00", "feed")
    same_day = dates(jsonld(datePublished="2025-02-11"), listed_in="feed", listed_published="2025-02-11T06:00:00Z")
    assert (same_day.published, same_day.published_source) == ("2025-02-11T06:00:00+00:00", "feed")
    assert dates(listed_in="feed", listed_published="2099-01-01").published is None


def test_a_date_in_the_url_is_a_date_from_the_url() -> None:
    assert dates(url="https://news.example/2025/02/11/openai-musk") == PageDates("2025-02-11", "url", None)


def test_feed_and_sitemap_date_formats() -> None:
    assert iso_date("Tue, 11 Feb 2025 07:30:00 +0100") == "2025-02-11T07:30:00+01:00"
    assert iso_date("2025-02-11T07:30:00Z") == "2025-02-11T07:30:00+00:00"
    assert iso_date("2025-02-11") == "2025-02-11"
    assert iso_date("February 2025") is None and iso_date("") is None


def test_instants_compare_dates_of_any_zone_and_precision() -> None:
    assert instant("2025-02-11T23:30:00-05:00") > instant("2025-02-12T01:00:00+00:00")
    assert instant("2025-02-11") > instant("2025-02-11T22:00:00+00:00")
