"""When a page was published and modified, and where each date comes from.

Sources, most trusted first: the page's markup (`meta` tags, `jsonld`, `time`/`abbr` elements, read by htmldate's own
readers, called one by one so that the record can say which one answered), the feed item or sitemap entry that
listed the page (`feed`, `sitemap`), then a date in the URL (`url`) and a full date written in a date-like context of
the text (`text`: "Publié le 12 février 2025", an element classed as a date). A bare year or month is never a date,
and neither is a date after the fetch or before htmldate's earliest plausible one. A page whose markup declares only
dates that are refused gets no date from its URL or text: it said when it was published, and that was wrong.

Dates are ISO 8601, with time and offset when the source gives them, the day alone when only the day is known.
Pure, free of Scrapy; runs in the extraction workers.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dateutil.parser import parse as dateutil_parse

from htmldate.core import date_candidates, examine_abbr_elements, examine_header, examine_time_elements
from htmldate.extractors import extract_url_date, get_external_parser, json_search
from htmldate.utils import Extractor
from lxml.etree import XPath
from lxml.html import HtmlElement

from model.dates import instant, iso_date, iso_format
from model.items import Page

__all__ = ["PageDates", "page_dates"]

# htmldate's own lower bound: the web before it had no dated news pages.
EARLIEST = dt.datetime(1995, 1, 1)
# A timed date may be a little after the fetch (clocks differ); a bare day may be "tomorrow" where the day
# has already begun (UTC+14).
CLOCK_SKEW = dt.timedelta(minutes=10)
_AHEAD = dt.timedelta(hours=14)
# A markup date further than this from the publication date of the feed or sitemap entry that listed the page is
# contradicted by it (time zones and feed delays stay well within it), and the entry's date is kept instead.
LISTED_TOLERANCE = dt.timedelta(days=2)
_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# htmldate's options, published (True) or modified: markup only, with time and offset. No upper bound: given one,
# htmldate reads a later date as its year and month alone; `_plausible` refuses it whole instead.
_HTMLDATE = {original: Extractor(False, dt.datetime(9999, 12, 31), EARLIEST, original, _FORMAT) for original in (True, False)}

# Words that introduce a publication (or update) date in a byline, in the languages of the press the crawl reads.
_PUBLISHED_CUE = (
    r"publi(?:é|ée|e|shed|cado|cada|cato|kováno|kuar)|posted|mis en ligne|paru|date|datum|fecha|data"
    r"|veröffentlicht|erschienen|gepubliceerd|opublikowano|publicerad|publisert|udgivet|julkaistu|yayınlanma"
)
_UPDATED_CUE = (
    r"updated|last modified|mis à jour|modifié|actualisé|aktualisiert|stand|actualizado|aggiornato|bijgewerkt"
    r"|zaktualizowano|uppdaterad|oppdatert|opdateret|päivitetty|güncellenme|atualizado"
)
# A full date: year-month-day, day.month.year (either numeric order), or a day beside a month name and a year.
_DAY = r"(?:[12]\d|3[01]|0?[1-9])"
_MONTH_WORD = r"[^\W\d_]{3,}\.?"
_FULL_DATE = (
    rf"\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{4}}"
    rf"|{_DAY}(?:er|st|nd|rd|th|\.|º)?\s+(?:de\s+)?{_MONTH_WORD}\s+(?:de\s+)?\d{{4}}"
    rf"|{_MONTH_WORD}\s+{_DAY}(?:st|nd|rd|th)?,?\s+\d{{4}}"
)
_CUED_DATE = re.compile(
    rf"\b(?:(?P<published>{_PUBLISHED_CUE})|(?P<updated>{_UPDATED_CUE}))\b[^\d\n]{{0,20}}?(?P<date>{_FULL_DATE})",
    re.IGNORECASE,
)
_BARE_DATE = re.compile(rf"(?<!\d)(?:{_FULL_DATE})(?!\d)", re.IGNORECASE)
_NUMERIC = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})[./-](\d{1,2})[./-](\d{4})")
# Text segments longer than this are sentences, not bylines.
_MAX_SEGMENT = 160


@dataclass(frozen=True, slots=True)
class PageDates:
    """The record's `published` and where it came from (`published_source`), and `modified`."""

    published: str | None = None
    published_source: str | None = None
    modified: str | None = None


def page_dates(tree: HtmlElement, page: Page, url: str | None = None) -> PageDates:
    """The best publication and modification dates the crawl has for `page` (parsed as `tree`); `url` is the
    address to read a date from, by default the page's."""
    fetched = _fetched(page.fetched_at)
    listed_published = _plausible(page.listed_published, fetched)
    listed_modified = _plausible(page.listed_modified, fetched)
    published, source, declared = _markup_date(tree, page.html, fetched, original=True)
    if published and listed_published and _apart(published, listed_published) > LISTED_TOLERANCE:
        published, source = None, None  # the page's own listing says otherwise
    elif published and listed_published and _finer(listed_published, published):
        published, source = listed_published, page.listed_in  # the same day, with the time the listing gives
    if not published and listed_published:
        published, source = listed_published, page.listed_in
    text_published = text_modified = None
    if not published and not declared:
        published = _url_date(url or page.url, fetched)
        source = "url" if published else None
        text_published, text_modified = _text_dates(tree, fetched)
        if not published and text_published:
            published, source = text_published, "text"
    modified = next(
        (
            value
            for value in (_markup_date(tree, page.html, fetched, original=False)[0], listed_modified, text_modified)
            if value and value != published and (not published or instant(value) > instant(published))
        ),
        None,
    )
    return PageDates(published, source if published else None, modified)


# -- sources -----------------------------------------------------------------------------------------


def _markup_date(tree: HtmlElement, html: str, fetched: dt.datetime, original: bool) -> tuple[str | None, str | None, bool]:
    """The first plausible date of the page's markup and its source: the article's own JSON-LD object, microdata,
    meta tags (htmldate's reader, then any meta named for a publication), then time/abbr elements; and whether
    the markup declares any date at all, refused or not."""
    options = _HTMLDATE[original]
    declared = False
    for source, reader in _READERS:
        if found := _unguessed(html, reader(tree, options)):
            declared = True
            if value := _plausible(found, fetched):
                return value, source, True
    return None, None, declared


def _jsonld(tree: HtmlElement, options: Extractor) -> str | None:
    """datePublished (or dateModified) of the page's article object in its JSON-LD; the dates of other objects
    (images, videos, the site) are not the article's. Unparsable JSON is read by htmldate's pattern."""
    key = "datePublished" if options.original else "dateModified"
    for script in _JSONLD(tree):
        try:
            data = json.loads(script.text or "", strict=False)
        except ValueError:
            if value := json_search(tree, options):
                return value
            continue
        for item in _objects(data):
            if _ARTICLE_TYPE.search(" ".join(_types(item))) and isinstance(value := item.get(key), str):
                if value := _full_date(value):
                    return value
    return None


def _objects(data: Any) -> Iterator[dict[str, Any]]:
    """The objects of a JSON-LD document, top level first, then those of its @graph."""
    items = data if isinstance(data, list) else [data]
    for item in items:
        if isinstance(item, dict):
            yield item
            yield from _objects(item.get("@graph", []))


def _types(item: dict[str, Any]) -> list[str]:
    kind = item.get("@type", [])
    return [kind] if isinstance(kind, str) else [k for k in kind if isinstance(k, str)]


def _microdata(tree: HtmlElement, options: Extractor) -> str | None:
    """The first itemprop=datePublished (or dateModified) of the page, on any element."""
    prop = "datepublished" if options.original else "datemodified"
    for element in tree.xpath(f"//*[translate(@itemprop, 'DPM', 'dpm')='{prop}']"):
        if value := _full_date(element.get("datetime") or element.get("content") or element.text_content()):
            return value
    return None


def _meta(tree: HtmlElement, options: Extractor) -> str | None:
    """htmldate's meta reader, then any meta tag named for a publication (or an update) with a full date."""
    if value := examine_header(tree, options):
        return value
    for meta in _DATE_META(tree):
        name = " ".join(meta.get(attribute, "") for attribute in ("name", "property", "itemprop"))
        updated = _UPDATE_NAME.search(name) is not None
        if (not updated and _PUBLISH_NAME.search(name) if options.original else updated):
            if value := _full_date(meta.get("content", "")):
                return value
    return None


def _time_elements(tree: HtmlElement, options: Extractor) -> str | None:
    return examine_time_elements(tree, options) or examine_abbr_elements(tree, options)


_READERS: tuple[tuple[str, Callable[[HtmlElement, Extractor], str | None]], ...] = (
    ("jsonld", _jsonld),
    ("meta", _microdata),
    ("meta", _meta),
    ("time", _time_elements),
)
_JSONLD = XPath('//script[@type="application/ld+json"]')
_ARTICLE_TYPE = re.compile(r"Article|Posting|Report")
_DATE_META = XPath("//meta[@content][@name or @property or @itemprop]")
_PUBLISH_NAME = re.compile(r"publi|pubdate|release|issued|created", re.IGNORECASE)
_UPDATE_NAME = re.compile(r"modif|updat|expir|revis", re.IGNORECASE)


def _full_date(value: str) -> str | None:
    """A date-time string of any common format as ISO 8601 (to the second, with its offset when it has one), or
    None when a part of the date (year, month or day) is missing."""
    if not value or not (value := value.strip()) or len(value) > 64:
        return None
    if iso := iso_date(value):
        return iso
    try:  # a part dateutil had to take from its default is missing
        first = dateutil_parse(value, default=dt.datetime(1, 1, 1), ignoretz=True)
        second = dateutil_parse(value, default=dt.datetime(2, 2, 2), ignoretz=True)
    except (ValueError, OverflowError):
        return None
    return iso_format(first) if first.date() == second.date() else None


def _unguessed(html: str, value: str | None) -> str | None:
    """htmldate completes a year or a month it read (a copyright year, "2025-02") with the 1st of January or of
    the month: a date on the 1st at midnight is kept only when the page writes it in full."""
    if value and value[8:] == "01T00:00:00" and value[:10] not in html:
        return None
    return value


def _url_date(url: str, fetched: dt.datetime) -> str | None:
    """A year/month/day in the URL (htmldate's reader: all three parts, or nothing)."""
    return _plausible(extract_url_date(url, _HTMLDATE[True]), fetched)


def _text_dates(tree: HtmlElement, fetched: dt.datetime) -> tuple[str | None, str | None]:
    """The first full publication date and update date written in a date-like context of the text: after words
    that introduce one ("Publié le", "Updated"), alone in the page's title or headline ("… | 28.04.2023"), or alone
    in an element that htmldate takes for a date's place."""
    published = updated = None
    for segment, place in _segments(tree):
        for match in _CUED_DATE.finditer(segment):
            value = _plausible(_parse_text_date(match["date"]), fetched)
            if match["published"] and not published:
                published = value
            elif match["updated"] and not updated:
                updated = value
        if place and not published and not _CUED_DATE.search(segment) and (bare := _BARE_DATE.search(segment)):
            if place == "heading" or len(segment) <= len(bare[0]) + 40:
                published = _plausible(_parse_text_date(bare[0]), fetched)
        if published and updated:
            break
    return published, updated


def _segments(tree: HtmlElement) -> Iterator[tuple[str, str | None]]:
    """Short text segments (whitespace collapsed) where a date may be written, and the place that makes a date
    alone there a date of the page: the title and headline ("heading"), date-like elements ("element"), then
    every other text of the body (None: only a date after a cue counts there)."""
    for element in (*tree.iterfind(".//title"), *tree.iterfind(".//h1")):
        if len(text := " ".join(element.text_content().split())) <= _MAX_SEGMENT:
            yield text, "heading"
    body = tree.find("body")
    if body is None:
        return
    for element in date_candidates(body, extensive_search=False):
        if element.tag != "footer" and len(text := " ".join(element.text_content().split())) <= _MAX_SEGMENT:
            yield text, "element"
    for text in body.xpath(".//text()[not(ancestor::script or ancestor::style or ancestor::footer)]"):
        if 6 <= len(text := " ".join(text.split())) <= _MAX_SEGMENT:
            yield text, None


def _parse_text_date(value: str) -> str | None:
    """A full date written in text, as a day: numeric ones day first unless the day cannot be a month, the others
    through htmldate's dateparser (every locale, strict: day, month and year all required)."""
    if numeric := _NUMERIC.fullmatch(value):
        year, month, day = numeric.group(1, 2, 3) if numeric[1] else numeric.group(6, 5, 4)
        day, month = (month, day) if int(month) > 12 else (day, month)
        try:
            return dt.date(int(year), int(month), int(day)).isoformat()
        except ValueError:
            return None
    parsed = get_external_parser().get_date_data(value)
    return parsed["date_obj"].date().isoformat() if parsed["date_obj"] and parsed["period"] == "day" else None


# -- validation --------------------------------------------------------------------------------------


def _plausible(value: str | None, fetched: dt.datetime) -> str | None:
    """`value` as an ISO date (a naive midnight, which is how htmldate writes a day, as the day alone), or None
    when it is not a date, is before EARLIEST or after the fetch."""
    value = iso_date(value)
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value)
    if len(value) > 10 and moment.tzinfo is None and moment.time() == dt.time():
        value = value[:10]
    if moment.replace(tzinfo=None) < EARLIEST:
        return None
    if len(value) <= 10:
        return value if moment.date() <= (fetched + _AHEAD).date() else None
    if moment.tzinfo is None:  # local time of an unknown zone
        return value if moment <= (fetched + _AHEAD + CLOCK_SKEW).replace(tzinfo=None) else None
    return value if moment <= fetched + CLOCK_SKEW else None


def _fetched(fetched_at: str) -> dt.datetime:
    """The fetch time (UTC); now when the page does not say (pages extracted outside a crawl)."""
    try:
        moment = dt.datetime.fromisoformat(fetched_at)
    except ValueError:
        return dt.datetime.now(dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _apart(a: str, b: str) -> dt.timedelta:
    """How far apart two dates are, a day alone counting from its first to its last moment."""
    (a_start, a_end), (b_start, b_end) = _span(a), _span(b)
    return max(a_start - b_end, b_start - a_end, dt.timedelta(0))


def _span(value: str) -> tuple[dt.datetime, dt.datetime]:
    end = instant(value)
    return (end - dt.timedelta(days=1, microseconds=-1) - _AHEAD, end + _AHEAD) if len(value) <= 10 else (end, end)


def _finer(a: str, b: str) -> bool:
    """Whether `a` has a time where `b` has only its day."""
    return len(a) > 10 >= len(b)
