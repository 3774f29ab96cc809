"""A realistic local news site for `make bench`: thousands of article pages on 127.0.0.1, written to disk.

The pages are the 181 ScrapingHub benchmark pages (real layouts of many outlets) and the demo outlets' six
layouts (demo/templates.py), each replicated with its words changed: every copy keeps its page's markup,
size and language, but a quarter of its words are replaced by other words of the same page, so replicas are
distinct articles (word-5-gram Jaccard ≈ 0.1) rather than duplicates. One page in ten is a planted
duplicate of another: the same text at another URL (exact), the text with 1 % of its words changed (near),
or an AMP/print rendering whose rel=canonical names the original (same URL). Pages are written to a
directory, so plain trafilatura can be timed on the very files the crawl fetches, and served by a small
threaded HTTP server with a sitemap index and robots.txt.

With `mix=True` the site is the kind of outlet a daily crawl with `keywords` meets instead: of every 8 pages it
fetches, 1 is an article on the seeds' topic (the demo articles, on OpenAI, Altman and Musk), 4 are articles on
other topics (the ScrapingHub replicas) and 3 are listings (the home page, page 2, 3…, sections, tags, authors:
each links to 40 articles), found from the home page; the sitemap lists the articles, as outlets' sitemaps do.
The proportions are a stated assumption, not a measurement: a tech outlet publishes a few stories a day on one
company among dozens on others, and a crawl that starts from its home page walks its listings to find them.

    with serve(directory, scrapinghub, pages=2400) as site:
        site.write_seeds(path)  # then `scrapy crawl news -a seeds=path`
        site.files_and_urls(site.pages)  # the pages, as files
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import random
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import lxml.html
import yaml

from demo import templates
from demo.content import TEXT_KINDS as TEXT
from demo.content import Article, load_articles, slugify
from demo.outlets import SPECS, OutletSite, OutletSpec

__all__ = ["BenchSite", "serve"]

SUBSTITUTED = 0.25  # share of words replaced in each replica: replicas are distinct articles
NEAR_COPY_EDITS = 0.01  # share of words changed in a planted near-duplicate (Jaccard ≈ 0.9)
PLANTED_SHARE = 0.1
DEMO_SHARE = 0.15
ON_TOPIC_SHARE = 1 / 8  # of the pages a `mix` site serves: demo articles and their planted copies
LISTING_SHARE = 3 / 8
LISTING_LINKS = 40
KEYWORDS = ("OpenAI", "Altman", "Musk", "ChatGPT")  # seeds/openai.yaml's
SITEMAP_SIZE = 500
_WORD = re.compile(r"\w+")
_SKIPPED_TAGS = {"script", "style", "noscript", "template"}


@dataclass(frozen=True, slots=True)
class BenchPage:
    """One article page: its URL path (with query), its file and what it is."""

    path: str
    file: str  # relative to the site directory
    kind: str  # scrapinghub, demo, planted (exact_copy, near_copy, amp_copy, print_copy), or listing
    title: str  # what listings show in the teaser that links to it


@dataclass
class BenchSite:
    """A generated site in `root`, served at `base_url`."""

    root: Path
    base_url: str
    pages: list[BenchPage] = field(default_factory=list)  # every HTML page served
    mix: bool = False

    requested: set[str] = field(default_factory=set)  # URL paths the server was asked for

    def url(self, page: BenchPage) -> str:
        return self.base_url + page.path

    def fetched(self) -> list[BenchPage]:
        """The pages a crawl asked for: the ones plain trafilatura is timed on, for a like-for-like workload."""
        return [page for page in self.pages if page.path in self.requested]

    def files_and_urls(self, pages: Sequence[BenchPage]) -> list[tuple[Path, str]]:
        return [(self.root / page.file, self.url(page)) for page in pages]

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for page in self.pages:
            counts[page.kind] = counts.get(page.kind, 0) + 1
        return counts

    def write_seeds(self, path: Path) -> Path:
        """A seeds file with the site's sitemap index as its entry point, no date limit; a `mix` site's also starts
        from its home page and has the seeds' keywords."""
        site: dict[str, object] = {"name": "bench", "sitemaps": [f"{self.base_url}/sitemap.xml"]}
        doc: dict[str, object] = {"name": "bench", "sites": [site]}
        if self.mix:
            site["start_urls"] = [f"{self.base_url}/"]
            doc["keywords"] = list(KEYWORDS)
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path


# -- generation --------------------------------------------------------------------------------------


def _substitute(text: str, rng: random.Random, share: float, vocabulary: Sequence[str]) -> str:
    """`text` with about `share` of its words replaced by words of `vocabulary`; spacing and punctuation kept."""
    return _WORD.sub(lambda m: rng.choice(vocabulary) if rng.random() < share else m.group(0), text)


class _ScrapingHubPage:
    """One benchmark page parsed once; `render` writes a replica with new words and its own canonical URL."""

    def __init__(self, html: str, original_url: str) -> None:
        self.tree = lxml.html.document_fromstring(html)
        if original_url:
            self.tree.make_links_absolute(original_url)  # page links stay on the original outlet: not followed
        body = self.tree.find("body")
        self.slots: list[tuple[lxml.html.HtmlElement, str, str]] = []  # (element, "text" or "tail", original)
        for element in body.iter() if body is not None else ():
            if not isinstance(element.tag, str) or element.tag in _SKIPPED_TAGS:
                continue
            if element.text and element.text.strip():
                self.slots.append((element, "text", element.text))
            if element is not body and element.tail and element.tail.strip():
                self.slots.append((element, "tail", element.tail))
        self.vocabulary = [w for _, _, text in self.slots for w in _WORD.findall(text)] or ["mot"]
        self.title = (self.tree.findtext(".//title") or "").strip()  # head text: the same in every replica
        self.canonicals = [
            *self.tree.xpath('//link[@rel="canonical"]'),
            *self.tree.xpath('//meta[@property="og:url"]'),
        ]

    def texts(self, rng: random.Random, share: float, base: Sequence[str] | None = None) -> list[str]:
        """New texts for every slot: `base` texts (default: the original ones) with `share` of words replaced."""
        sources = base if base is not None else [original for _, _, original in self.slots]
        return [_substitute(text, rng, share, self.vocabulary) for text in sources]

    def render(self, texts: Sequence[str], canonical: str) -> bytes:
        for (element, attribute, _), text in zip(self.slots, texts, strict=True):
            setattr(element, attribute, text)
        for element in self.canonicals:
            element.set("href" if element.tag == "link" else "content", canonical)
        return lxml.html.tostring(self.tree, encoding="utf-8", doctype="<!DOCTYPE html>")


def _demo_variant(article: Article, outlet: str, number: int, rng: random.Random, vocabulary: Sequence[str]) -> Article:
    """A demo article rewritten for one outlet's layout: new words, its own slug, another day."""
    blocks = tuple(
        dataclasses.replace(b, text=_substitute(b.text, rng, SUBSTITUTED, vocabulary)) if b.kind in TEXT else b
        for b in article.blocks
    )
    return dataclasses.replace(
        article,
        key=f"{article.key}-{outlet}-{number}",
        outlet=outlet,
        slug=f"{article.slug}-{outlet}-{number}",
        blocks=blocks,
        published=article.published + dt.timedelta(days=number % 300),
    )


def _near_copy(article: Article, rng: random.Random, vocabulary: Sequence[str]) -> Article:
    """A planted near-duplicate: 1 % of the words changed, another slug."""
    blocks = tuple(
        dataclasses.replace(b, text=_substitute(b.text, rng, NEAR_COPY_EDITS, vocabulary)) if b.kind in TEXT else b
        for b in article.blocks
    )
    return dataclasses.replace(article, key=f"{article.key}-near", slug=f"{article.slug}-reprise", blocks=blocks)


class _Writer:
    """Writes pages under `root` and remembers their URL paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pages: list[BenchPage] = []
        (root / "pages").mkdir(parents=True, exist_ok=True)

    def page(self, path: str, data: bytes, kind: str, title: str) -> None:
        file = f"pages/{len(self.pages):05d}.html"
        (self.root / file).write_bytes(data)
        self.pages.append(BenchPage(path, file, kind, title))


def generate(root: Path, base_url: str, scrapinghub: Path, count: int, seed: int = 1, mix: bool = False) -> list[BenchPage]:
    """Write `count` pages (article replicas and planted copies; with `mix`, listings too), sitemaps and robots.txt
    under `root`."""
    rng = random.Random(seed)
    writer = _Writer(root)
    listings = int(count * LISTING_SHARE) if mix else 0
    articles = count - listings
    planted = int(articles * PLANTED_SHARE)
    demo_planted = planted - planted // 2
    demo = int(count * ON_TOPIC_SHARE) - demo_planted if mix else int(articles * DEMO_SHARE)
    _scrapinghub_pages(writer, base_url, scrapinghub, articles - planted - demo, planted // 2, rng)
    _demo_pages(writer, base_url, demo, demo_planted, rng)
    _sitemaps(root, base_url, [page.path for page in writer.pages])
    if mix:
        _listing_pages(writer, base_url, listings, rng)
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    return writer.pages


def _scrapinghub_pages(writer: _Writer, base: str, data: Path, count: int, planted: int, rng: random.Random) -> None:
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(truth)
    replicas: dict[int, tuple[str, list[str]]] = {}  # replica number -> (path, texts), for planted copies
    pages = [_ScrapingHubPage(gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes()).decode(),
                              truth[key].get("url", "")) for key in keys]  # fmt: skip
    for number in range(count):
        source = pages[number % len(pages)]
        path = f"/news/{number // len(pages) + 1}/{keys[number % len(pages)][:16]}.html"
        texts = source.texts(rng, SUBSTITUTED)
        writer.page(path, source.render(texts, base + path), "scrapinghub", source.title)
        replicas[number] = (path, texts)
    for number, original in enumerate(rng.sample(range(count), planted)):
        source, (path, texts) = pages[original % len(pages)], replicas[original]
        if number % 2:
            copy = f"/mirror{path}"
            writer.page(copy, source.render(texts, base + copy), "exact_copy", source.title)
        else:
            copy = f"/wire{path}"
            near = source.render(source.texts(rng, NEAR_COPY_EDITS, texts), base + copy)
            writer.page(copy, near, "near_copy", source.title)


def _demo_pages(writer: _Writer, base: str, count: int, planted: int, rng: random.Random) -> None:
    articles = load_articles()
    outlets = [OutletSite(spec, base) for spec in SPECS]
    vocabulary = [w for a in articles for b in a.blocks for w in _WORD.findall(b.text)]
    variants: list[tuple[OutletSite, Article]] = []
    for number in range(count):
        outlet = outlets[number % len(outlets)]
        article = _demo_variant(articles[(number // len(outlets)) % len(articles)], outlet.spec.name, number, rng,
                                vocabulary)  # fmt: skip
        variants.append((outlet, article))
    for outlet in outlets:  # sidebars and "related" lists link to the outlet's other articles
        outlet.articles = [a for o, a in variants if o is outlet][:12]
    for outlet, article in variants:
        writer.page(outlet.article_path(article), templates.article_page(outlet, article).encode(), "demo", article.title)
    for number, original in enumerate(rng.sample(range(len(variants)), planted)):
        outlet, article = variants[original]
        if number % 4 == 1 and outlet.spec.amp:
            writer.page(outlet.amp_path(article), templates.amp_page(outlet, article).encode(), "amp_copy", article.title)
        elif number % 4 == 3 and outlet.spec.print_version:
            path = outlet.article_path(article) + "?print=1"
            writer.page(path, templates.print_page(outlet, article).encode(), "print_copy", article.title)
        else:
            copy = _near_copy(article, rng, vocabulary)
            writer.page(outlet.article_path(copy), templates.article_page(outlet, copy).encode(), "near_copy", copy.title)


def _listing_pages(writer: _Writer, base: str, count: int, rng: random.Random) -> None:
    """`count` listings in the demo outlets' layouts, the first one the home page ("/"): the home page links to
    every other listing, and each listing to LISTING_LINKS of the site's articles, with their titles."""
    articles = list(writer.pages)
    outlets = [OutletSite(spec, base) for spec in SPECS]
    words = sorted({slugify(w) for page in articles for w in _WORD.findall(page.title) if len(w) > 3 and w.isalpha()})
    paths = {"/": None}  # in order, each once
    while len(paths) < count:
        paths[_listing_path(outlets[len(paths) % len(outlets)].spec, len(paths), rng.sample(words, 2))] = None
    every_listing = "".join(f'<li><a href="{base}{path}">{path.strip("/")}</a></li>' for path in list(paths)[1:])
    for number, path in enumerate(paths):
        outlet = outlets[number % len(outlets)]
        teasers = "".join(
            f'<article class="post-teaser"><h2><a href="{base}{page.path}">{templates.esc(page.title)}</a></h2>'
            f'<p class="teaser-excerpt">{templates.esc(page.title)}</p></article>'
            for page in rng.sample(articles, min(LISTING_LINKS, len(articles)))
        )
        more = every_listing if number == 0 else ""
        content = (f'<div class="listing"><h1 class="page-title">{outlet.spec.label}</h1><div class="teasers">{teasers}'
                   f'</div><ul class="listings">{more}</ul></div>{templates.ad("Publicité", "listing")}')  # fmt: skip
        page = templates.SHELLS[outlet.spec.theme](outlet, outlet.spec.label, content, "", body_class="archive")
        writer.page(path, page.encode(), "listing", outlet.spec.label)


def _listing_path(spec: OutletSpec, number: int, words: Sequence[str]) -> str:
    """A listing's path: page N of the home page, or a section, tag or author page named by two words under the
    outlet's prefixes (not all of which courlan knows for listings: those pages are fetched and extracted before
    being dropped). Numbered pages beyond CRAWL_TRAP_MIN_PAGES are a trap the crawl stops walking, as it should."""
    if number % 4 == 0:
        return f"/page/{number // 4 + 1}/"
    prefix = (spec.category_prefix, spec.tag_prefix, spec.author_prefix)[number % 4 - 1]
    return f"{prefix}{'-'.join(words)}/"


def _sitemaps(root: Path, base: str, paths: Sequence[str]) -> None:
    names = []
    for start in range(0, len(paths), SITEMAP_SIZE):
        name = f"sitemap-{start // SITEMAP_SIZE + 1}.xml"
        urls = "".join(f"<url><loc>{_xml(base + path)}</loc></url>" for path in paths[start : start + SITEMAP_SIZE])
        (root / name).write_text(
            f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>", encoding="utf-8",
        )  # fmt: skip
        names.append(name)
    entries = "".join(f"<sitemap><loc>{base}/{name}</loc></sitemap>" for name in names)
    (root / "sitemap.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{entries}</sitemapindex>", encoding="utf-8",
    )  # fmt: skip


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


# -- serving -----------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    files: dict[str, tuple[Path, str]]  # URL path with query -> (file, content type)
    requested: set[str]


class _Handler(BaseHTTPRequestHandler):
    """Serves the generated files from disk (the page cache keeps them in memory), keep-alive, no logging."""

    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._respond(body=True)

    def do_HEAD(self) -> None:
        self._respond(body=False)

    def _respond(self, body: bool) -> None:
        entry = self.server.files.get(self.path)
        self.server.requested.add(self.path)
        data, content_type = (entry[0].read_bytes(), entry[1]) if entry else (b"not found", "text/plain")
        self.send_response(200 if entry else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: thousands of requests."""


@contextmanager
def serve(root: Path, scrapinghub: Path, pages: int = 2400, seed: int = 1, mix: bool = False) -> Iterator[BenchSite]:
    """Generate the site into `root` for the address it is bound to, and serve it until the block ends."""
    server = _Server(("127.0.0.1", 0), _Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    site = BenchSite(root, base, generate(root, base, scrapinghub, pages, seed, mix), mix)
    html = "text/html; charset=utf-8"
    server.files = {page.path: (root / page.file, html) for page in site.pages}
    server.requested = site.requested
    server.files["/robots.txt"] = (root / "robots.txt", "text/plain")
    for sitemap in root.glob("sitemap*.xml"):
        server.files[f"/{sitemap.name}"] = (sitemap, "application/xml")
    thread = threading.Thread(target=server.serve_forever, name="bench-site", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
