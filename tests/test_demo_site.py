"""The bundled demo news site serves what its ground truth claims (demo/site.py)."""

from __future__ import annotations

import datetime as dt
import gzip
import html
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import lxml.html
import pytest
import yaml

from demo.site import TOPIC_KEYWORDS, DemoSite, Story, serve

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with serve(day=1) as running:
        yield running


def fetch(url: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of a GET, without raising on HTTP errors."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def page(url: str) -> lxml.html.HtmlElement:
    status, _, body = fetch(url)
    assert status == 200, url
    return lxml.html.fromstring(body.decode("utf-8"))


def canonical(doc: lxml.html.HtmlElement) -> str:
    return str(doc.xpath('string(//link[@rel="canonical"]/@href)'))


def body_text(doc: lxml.html.HtmlElement) -> str:
    """Paragraphs and sub-headings of the element with the most <p> children (the first one if tied)."""
    containers = doc.xpath("//*[p]")
    best = max(containers, key=lambda el: len(el.findall("p")))
    return "\n".join(" ".join(child.text_content().split()) for child in best if child.tag in ("p", "h2"))


def jaccard(a: str, b: str) -> float:
    def grams(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"\w+", text.lower())
        return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}

    sa, sb = grams(a), grams(b)
    return len(sa & sb) / len(sa | sb)


def without_query(url: str) -> str:
    return url.split("?", 1)[0]


def feed_links(url: str) -> list[str]:
    root = ET.fromstring(fetch(url)[2])
    if root.tag == f"{ATOM}feed":
        return [link.get("href", "") for link in root.iter(f"{ATOM}link") if link.get("rel") == "alternate"][1:]
    return [item.findtext("link", "") for item in root.iter("item")]


def sitemap_urls(outlet_base: str) -> list[str]:
    index = ET.fromstring(fetch(outlet_base + "/sitemap.xml")[2])
    urls = []
    for loc in index.iter(f"{SITEMAP}loc"):
        status, _, body = fetch(loc.text or "")
        assert status == 200
        data = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
        urls += [u.text or "" for u in ET.fromstring(data).iter(f"{SITEMAP}loc")]
    return urls


def story_copies(story: Story, kind: str) -> list[str]:
    return [c.url for c in story.copies if c.kind == kind]


# --- articles --------------------------------------------------------------------------------------------

def test_every_story_page_serves_its_title_and_canonical(site: DemoSite) -> None:
    assert len(site.stories) == 5
    for story in site.stories:
        doc = page(story.url)
        assert html.unescape(doc.findtext(".//title") or "").startswith(story.title)
        assert canonical(doc) == story.url
        assert doc.xpath('string(//meta[@property="og:url"]/@content)') in ("", story.url)


def test_story_body_is_served_once_or_twice_as_recorded(site: DemoSite) -> None:
    for story in site.stories:
        doc = page(story.url)
        paragraphs = [" ".join(p.text_content().split()) for p in doc.iter("p")]
        assert paragraphs.count(story.first_paragraph) == (2 if story.doubled_body else 1), story.key
        assert paragraphs.count(story.last_paragraph) == (2 if story.doubled_body else 1), story.key
    assert {s.key for s in site.stories if s.doubled_body} == {"001", "002"}


def test_one_outlet_gives_the_date_only_as_visible_text(site: DemoSite) -> None:
    story = next(s for s in site.stories if s.outlet == "fusions-hebdo")
    body = fetch(story.url)[2]
    assert b"Mercredi 12 F\xc3\xa9vrier 2025 \xc3\xa0 08h00" in body
    assert story.published.encode() not in body and b"datePublished" not in body


@pytest.mark.parametrize("kind", ["amp", "print", "tracking"])
def test_rendering_variants_point_to_the_story(site: DemoSite, kind: str) -> None:
    variants = [(story, url) for story in site.stories for url in story_copies(story, kind)]
    assert variants
    for story, url in variants:
        doc = page(url)
        assert canonical(doc) == story.url, url
        if kind == "amp":
            assert "amp" in doc.getroottree().getroot().attrib
            assert url.rstrip("/").split("/")[-1] == "amp" or "/amp/" in url


def test_aggregator_copies_are_later_and_measured_on_served_text(site: DemoSite) -> None:
    syndicated = 0
    for story in site.stories:
        original = body_text(page(story.url))
        for copy in story.copies:
            if copy.kind not in ("exact", "syndicated"):
                continue
            doc = page(copy.url)
            assert canonical(doc) == copy.url  # no canonical to the original
            published = dt.datetime.fromisoformat(doc.xpath('string(//meta[@name="date"]/@content)'))
            assert published.date() >= dt.date.fromisoformat(story.published)
            served = jaccard(body_text(doc), original)
            assert copy.jaccard is not None and abs(served - copy.jaccard) < 0.02, (copy.url, served)
            if copy.kind == "exact":
                assert served == 1.0
            else:
                syndicated += 1
                assert 0.75 <= served <= 0.97
    assert syndicated == 3


def test_offtopic_articles_do_not_mention_the_topic(site: DemoSite) -> None:
    assert len(site.offtopic_urls) >= 5
    for url in site.offtopic_urls:
        doc = page(url)
        text = (doc.findtext(".//h1") or "") + body_text(doc)
        assert len(text.split()) > 100
        assert not [kw for kw in TOPIC_KEYWORDS if kw.lower() in text.lower()], url


def test_non_article_pages_are_served(site: DemoSite) -> None:
    for url in site.non_article_urls:
        assert fetch(url)[0] == 200, url


# --- feeds, sitemaps, robots -----------------------------------------------------------------------------

def test_feeds_parse_and_list_the_stories(site: DemoSite) -> None:
    kinds = set()
    for outlet in site.outlets:
        status, content_type, body = fetch(outlet.feeds[0])
        assert status == 200 and "xml" in content_type
        kinds.add(ET.fromstring(body).tag)
        links = {without_query(u) for u in feed_links(outlet.feeds[0])}
        assert {s.url for s in site.stories if s.outlet == outlet.name} <= links
    assert kinds == {"rss", f"{ATOM}feed"}


def test_sitemaps_include_a_gzipped_google_news_sitemap(site: DemoSite) -> None:
    for outlet in site.outlets:
        status, content_type, body = fetch(outlet.base_url + "/sitemap-news.xml.gz")
        assert status == 200 and content_type in ("application/gzip", "application/x-gzip")
        assert body[:2] == b"\x1f\x8b"
        root = ET.fromstring(gzip.decompress(body))
        dates = [d.text for d in root.iter(f"{NEWS}publication_date")]
        assert dates and all(dt.datetime.fromisoformat(d or "") for d in dates)
        assert {s.url for s in site.stories if s.outlet == outlet.name} <= set(sitemap_urls(outlet.base_url))


def test_robots_names_the_sitemap_and_disallows_a_linked_path(site: DemoSite) -> None:
    for outlet, disallowed in zip(site.outlets, site.disallowed_urls, strict=True):
        robots = fetch(outlet.base_url + "/robots.txt")[2].decode()
        assert f"Sitemap: {outlet.sitemaps[0]}" in robots.splitlines()
        assert f"Disallow: {urlsplit(disallowed).path}" in robots.splitlines()
        assert disallowed in page(outlet.start_urls[0]).xpath("//a/@href")


# --- bad inputs ------------------------------------------------------------------------------------------

def test_bad_inputs_are_linked_from_one_home_page_and_served_as_planted(site: DemoSite) -> None:
    bad = site.bad_urls
    assert set(bad) == {"pdf", "image", "404", "500", "broken_html", "wrong_charset", "empty"}
    home = next(o for o in site.outlets if bad["pdf"].startswith(o.base_url))
    assert set(bad.values()) <= set(page(home.start_urls[0]).xpath("//a/@href"))

    expectations = {"pdf": (200, "application/pdf", b"%PDF-"), "image": (200, "image/png", b"\x89PNG"),
                    "404": (404, "text/html", b""), "500": (500, "text/html", b"")}
    for kind, (status, content_type, magic) in expectations.items():
        got_status, got_type, body = fetch(bad[kind])
        assert (got_status, got_type.split(";")[0]) == (status, content_type) and body.startswith(magic), kind

    status, _, body = fetch(bad["broken_html"])
    assert status == 200 and b"</html>" not in body and b"</p>" not in body and b"Oqee am" in body

    status, content_type, body = fetch(bad["wrong_charset"])
    assert status == 200 and "charset=utf-8" in content_type
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert "À quelques mois de l’échéance" in body.decode("cp1252")

    assert fetch(bad["empty"])[:1] == (200,) and fetch(bad["empty"])[2] == b""


def test_every_link_resolves_except_the_planted_errors(site: DemoSite) -> None:
    """Walk every same-host <a href> from the home pages (robots-disallowed paths excepted)."""
    allowed_errors = {site.bad_urls["404"]: 404, site.bad_urls["500"]: 500}
    disallowed = {urlsplit(u).path for u in site.disallowed_urls}
    bases = {o.base_url for o in site.outlets}
    queue, seen = [o.start_urls[0] for o in site.outlets], set()
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        status, content_type, body = fetch(url)
        assert status == allowed_errors.get(url, 200), url
        if status != 200 or not content_type.startswith("text/html") or url == site.bad_urls["wrong_charset"]:
            continue
        for href in lxml.html.fromstring(body or b"<html></html>").xpath("//a/@href"):  # type: ignore[union-attr]
            target = urljoin(url, href).split("#", 1)[0]
            parts = urlsplit(target)
            if f"{parts.scheme}://{parts.netloc}" in bases and parts.path not in disallowed:
                queue.append(target)
    assert len(seen) > 100
    assert {s.url for s in site.stories} <= seen
    assert {u for s in site.stories for u in story_copies(s, "amp")} & seen  # some outlets also <a>-link AMP


# --- days, seeds, request log ----------------------------------------------------------------------------

def test_day_two_adds_one_story_and_one_syndicated_copy(site: DemoSite) -> None:
    def syndicated(stories: list[Story]) -> set[str]:
        return {c.url.split("/", 3)[3] for s in stories for c in s.copies if c.kind == "syndicated"}

    with serve(day=2) as later:
        new_keys = {s.key for s in later.stories} - {s.key for s in site.stories}
        assert len(later.stories) == len(site.stories) + 1 and len(new_keys) == 1
        new_copies = syndicated(later.stories) - syndicated(site.stories)
        assert len(new_copies) == 1 and syndicated(site.stories) <= syndicated(later.stories)
        (path,) = new_copies
        aggregator = later.outlets[-1]
        copy_url = f"{aggregator.base_url}/{path}"
        assert copy_url in page(aggregator.start_urls[0]).xpath("//a/@href")
        assert copy_url in feed_links(aggregator.feeds[0]) and copy_url in sitemap_urls(aggregator.base_url)
        (story,) = [s for s in later.stories if s.key in new_keys]
        outlet = next(o for o in later.outlets if o.name == story.outlet)
        assert story.url in {without_query(u) for u in feed_links(outlet.feeds[0])}


def test_pages_are_identical_across_runs_but_for_host_and_port(site: DemoSite) -> None:
    def snapshot(running: DemoSite) -> list[bytes]:
        urls = [s.url for s in running.stories] + running.offtopic_urls + [o.feeds[0] for o in running.outlets]
        urls += [o.base_url + "/sitemap-news.xml.gz" for o in running.outlets] + [running.bad_urls["broken_html"]]
        bodies = [fetch(url)[2] for url in urls]
        bodies = [gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body for body in bodies]
        for outlet in running.outlets:
            for spelling in (outlet.base_url, quote(outlet.base_url, safe="")):  # share links quote the URL
                bodies = [body.replace(spelling.encode(), outlet.name.encode()) for body in bodies]
        return bodies

    with serve(day=1) as again:
        assert [o.base_url for o in again.outlets] != [o.base_url for o in site.outlets]
        assert snapshot(again) == snapshot(site)


def test_write_seeds_follows_the_contract(site: DemoSite, tmp_path: Path) -> None:
    path = site.write_seeds(tmp_path / "seeds.yaml", keywords=list(TOPIC_KEYWORDS), since="2023-01-01")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert list(doc) == ["name", "keywords", "since", "sites"]
    assert doc["name"] == "demo" and doc["keywords"] == list(TOPIC_KEYWORDS)
    assert doc["since"] == dt.date(2023, 1, 1)
    assert [s["name"] for s in doc["sites"]] == [o.name for o in site.outlets]
    for entry, outlet in zip(doc["sites"], site.outlets, strict=True):
        assert set(entry) <= {"name", "start_urls", "feeds", "sitemaps", "allow", "deny"}
        assert entry["start_urls"] == outlet.start_urls
        assert (entry["feeds"], entry["sitemaps"]) == (outlet.feeds, outlet.sitemaps)
        for regex in entry.get("allow", []):
            assert all(re.search(regex, s.url) for s in site.stories if s.outlet == outlet.name)
        for regex in entry.get("deny", []):
            assert not any(re.search(regex, s.url) for s in site.stories)
    assert any("allow" in entry for entry in doc["sites"])

    bare = yaml.safe_load(site.write_seeds(tmp_path / "bare.yaml", name="bare").read_text(encoding="utf-8"))
    assert list(bare) == ["name", "sites"]


def test_request_log_records_every_request(site: DemoSite) -> None:
    outlet = site.outlets[0]
    before = len(site.request_log)
    fetch(outlet.base_url + "/robots.txt")
    fetch(outlet.base_url + "/no-such-page/")
    host = outlet.base_url.split("//", 1)[1]
    assert site.request_log[before:] == [("GET", f"{host}/robots.txt", 200), ("GET", f"{host}/no-such-page/", 404)]
