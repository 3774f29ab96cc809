"""A generated news site for distributed and incremental crawl tests: hundreds of articles on loopback outlets.

Each outlet is its own host (127.0.0.<60+i>, ephemeral port) with a paginated home page, an RSS feed and a
sitemap. Articles are made of sentences from the demo's real French articles, shuffled and with words swapped,
so that any two are distinct (word-5-gram Jaccard far below the dedup threshold); clusters plant near-copies of
an original on other outlets (an intro line added, a few words changed: Jaccard ≥ 0.84), spread so that
different workers meet them. Optional old articles (published years ago, listed with that date) test `since`.
Feeds, sitemaps and listing pages answer conditional requests (ETag, Last-Modified → 304; half the
outlets also send Cache-Control: no-cache); article pages can be
slowed down so that a crawl lasts long enough to be interrupted. Every request is logged.

    with serve(articles=300, clusters=30) as farm:
        farm.write_seeds(path, name="farm")
        ... crawl ...
        farm.fetch_counts()  # {url: times fetched}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import random
import re
import sys
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from model.text import words

ROOT = Path(__file__).resolve().parents[2]
OUTLETS = ("lemonde-tech", "numerama", "frandroid", "zdnet-fr", "journaldunet", "usine-digitale")
PER_PAGE = 20
FEED_SIZE = 25
LAST_MODIFIED = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class FarmArticle:
    """One article page and what the pipeline must make of it."""

    outlet: str
    path: str
    title: str
    published: dt.date
    paragraphs: list[str]
    cluster: int | None = None  # articles of one cluster are near-copies: exactly one must be stored
    old: bool = False  # published before the seeds' `since`: never to be fetched


@dataclass
class NewsFarm:
    """The running outlets, their articles and the log of every request."""

    articles: list[FarmArticle]
    delay: float = 0.0  # seconds before answering an article page
    base_urls: dict[str, str] = field(default_factory=dict)
    request_log: list[tuple[str, str, int]] = field(default_factory=list)  # (method, url, status)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, article: FarmArticle) -> str:
        return self.base_urls[article.outlet] + article.path

    @property
    def distinct(self) -> list[FarmArticle]:
        """Articles that are in no cluster and recent: each must be stored exactly once."""
        return [a for a in self.articles if a.cluster is None and not a.old]

    def clusters(self) -> dict[int, list[FarmArticle]]:
        found: dict[int, list[FarmArticle]] = {}
        for article in self.articles:
            if article.cluster is not None:
                found.setdefault(article.cluster, []).append(article)
        return found

    def fetch_counts(self) -> Counter[str]:
        """How many times each URL was answered with its page (200) or a 304, robots.txt left out."""
        with self._lock:
            answered = (url for _, url, status in self.request_log if status in (200, 304))
            return Counter(url for url in answered if not url.endswith("/robots.txt"))

    def write_seeds(self, path: Path, name: str = "farm", since: str | None = None) -> Path:
        sites = [
            {"name": outlet, "start_urls": [f"{base}/"], "feeds": [f"{base}/feed/"],
             "sitemaps": [f"{base}/sitemap.xml"], "allow": [r"/\d{4}/\d{2}/"]}
            for outlet, base in self.base_urls.items()
        ]  # fmt: skip
        doc: dict[str, object] = {"name": name, "sites": sites}
        if since:
            doc["since"] = dt.date.fromisoformat(since)
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    def log(self, method: str, url: str, status: int) -> None:
        with self._lock:
            self.request_log.append((method, url, status))


# -- content -------------------------------------------------------------------------------------------


def _sentence_pool() -> list[str]:
    """Sentences of the demo's real articles, each once."""
    samples = sorted((ROOT / "demo" / "samples").glob("*.txt"))
    paragraphs = [line for path in samples for line in path.read_text().splitlines()]
    for path in sorted((ROOT / "demo" / "articles").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        paragraphs += [block["p"] for block in doc.get("body", []) if isinstance(block, dict) and "p" in block]
    sentences = (s for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p.strip()))
    return sorted({s for s in sentences if len(s.split()) >= 8})


def _shingles(text: str) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i : i + 5]) for i in range(max(1, len(tokens) - 4))}


def jaccard(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


def generate(articles: int, clusters: int, copies: int = 2, old: int = 0, seed: int = 7) -> list[FarmArticle]:
    """`articles` distinct articles, the first `clusters` of them with `copies` near-copies each on other
    outlets, and `old` articles published in 2019; spread over the outlets in a shuffled order."""
    rng = random.Random(seed)
    pool = _sentence_pool()
    vocabulary = sorted({w for s in pool for w in s.split()})
    day0 = dt.date(2025, 1, 1)

    def text() -> list[str]:
        sentences = [" ".join(rng.choice(vocabulary) if rng.random() < 0.2 else w for w in s.split())
                     for s in rng.sample(pool, 12)]  # fmt: skip
        return [" ".join(sentences[i : i + 4]) for i in range(0, 12, 4)]

    made: list[FarmArticle] = []
    for n in range(articles + old):
        outlet = OUTLETS[n % len(OUTLETS)]
        is_old = n >= articles
        published = dt.date(2019, 6, 1) + dt.timedelta(days=n) if is_old else day0 + dt.timedelta(days=n % 60)
        paragraphs = text()
        title = " ".join(paragraphs[0].split()[:8]).rstrip(",.;:") + f" ({n})"
        cluster = n if n < clusters else None
        made.append(FarmArticle(outlet, _path(published, n, title), title, published, paragraphs, cluster, is_old))
        for c in range(copies if cluster is not None else 0):
            copy_outlet = OUTLETS[(n + 1 + c * 2) % len(OUTLETS)]
            edited = [f"Cet article a d'abord été publié par {outlet}.", *paragraphs]
            tokens = edited[2].split()
            for i in rng.sample(range(len(tokens)), 2):
                tokens[i] = rng.choice(vocabulary)
            edited[2] = " ".join(tokens)
            assert jaccard(" ".join(edited), " ".join(paragraphs)) >= 0.84
            made.append(FarmArticle(copy_outlet, _path(published + dt.timedelta(days=1), n, f"{title} [{c}]"),
                                    f"{title} [{c}]", published + dt.timedelta(days=1), edited, cluster))  # fmt: skip
    rng.shuffle(made)
    return made


def _path(published: dt.date, n: int, title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = "-".join(words(ascii_title)[:6])
    return f"/{published:%Y/%m}/{slug}-{n}-{hashlib.sha1(title.encode()).hexdigest()[:6]}/"


# -- pages ---------------------------------------------------------------------------------------------


def article_page(outlet: str, url: str, article: FarmArticle) -> str:
    title, date = html.escape(article.title), article.published.isoformat()
    data = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": article.title,
                       "datePublished": f"{date}T08:00:00+00:00",
                       "author": {"@type": "Person", "name": "Rédaction"}})  # fmt: skip
    body = "".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{title} | {outlet}</title>'
            f'<link rel="canonical" href="{url}"><meta property="og:type" content="article">'
            f'<meta property="og:title" content="{title}"><script type="application/ld+json">{data}</script></head>'
            f'<body><header><a href="/">{outlet}</a></header><main><article><h1>{title}</h1>'
            f'<p class="byline">Par la rédaction, le {date}</p>{body}</article></main>'
            f"<footer>© {outlet}</footer></body></html>")  # fmt: skip


def listing_page(outlet: str, page: int, items: list[FarmArticle], pages: int) -> str:
    links = "".join(f'<li><a href="{a.path}">{html.escape(a.title)}</a></li>' for a in items)
    more = f'<a href="/page/{page + 1}/">Page suivante</a>' if page < pages else ""
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{outlet} — page {page}</title>'
            f'<script type="application/ld+json">{{"@type": "CollectionPage"}}</script></head>'
            f"<body><h1>{outlet}</h1><ul>{links}</ul>{more}</body></html>")  # fmt: skip


def feed(outlet: str, base: str, items: list[FarmArticle]) -> str:
    entries = "".join(
        f"<item><title>{html.escape(a.title)}</title><link>{base}{a.path}</link>"
        f"<pubDate>{format_datetime(dt.datetime.combine(a.published, dt.time(8), dt.UTC))}</pubDate></item>"
        for a in items
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{outlet}</title>'
            f"<link>{base}/</link><description>{outlet}</description>{entries}</channel></rss>")  # fmt: skip


def sitemap(base: str, items: list[FarmArticle]) -> str:
    urls = "".join(f"<url><loc>{base}{a.path}</loc><lastmod>{a.published.isoformat()}</lastmod></url>" for a in items)
    namespace = "http://www.sitemaps.org/schemas/sitemap/0.9"
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="{namespace}">{urls}</urlset>'


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    farm: NewsFarm
    outlet: str
    base: str
    routes: dict[str, tuple[str, str, bool]]  # path -> (body, content type, answers conditional requests)

    def handle_error(self, request: object, client_address: object) -> None:
        """A crawler killed mid-request resets its connections: expected here, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        route = self.server.routes.get(self.path.split("?", 1)[0])
        url = self.server.base + self.path
        if route is None:
            self._send(404, b"not found", "text/plain", url)
            return
        body, content_type, conditional = route
        data = body.encode("utf-8")
        if not conditional:
            time.sleep(self.server.farm.delay)
            self._send(200, data, content_type, url)
            return
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        if self._not_modified(etag):
            self._send(304, b"", content_type, url, etag)
        else:
            self._send(200, data, content_type, url, etag)

    def _not_modified(self, etag: str) -> bool:
        """RFC 9110 13.2.2: If-None-Match, when sent, decides alone; If-Modified-Since only without it."""
        if (match := self.headers.get("If-None-Match")) is not None:
            return match == etag
        since = self.headers.get("If-Modified-Since")
        return bool(since) and parsedate_to_datetime(since) >= LAST_MODIFIED

    def _send(self, status: int, data: bytes, content_type: str, url: str, etag: str | None = None) -> None:
        self.server.farm.log("GET", url, status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if etag:
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", format_datetime(LAST_MODIFIED, usegmt=True))
            if OUTLETS.index(self.server.outlet) % 2:  # half the outlets say so, the others leave it to the client
                self.send_header("Cache-Control", "no-cache")
        if status != 304:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 304:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Requests go to NewsFarm.request_log."""


def _routes(outlet: str, base: str, articles: list[FarmArticle]) -> dict[str, tuple[str, str, bool]]:
    newest = sorted(articles, key=lambda a: (a.published, a.path), reverse=True)
    recent = [a for a in newest if not a.old]
    pages = max(1, -(-len(recent) // PER_PAGE))
    html_type, xml_type = "text/html; charset=utf-8", "application/xml"
    routes = {a.path: (article_page(outlet, base + a.path, a), html_type, False) for a in articles}
    for page in range(1, pages + 1):
        items = recent[(page - 1) * PER_PAGE : page * PER_PAGE]
        routes["/" if page == 1 else f"/page/{page}/"] = (listing_page(outlet, page, items, pages), html_type, True)
    listed = recent[:FEED_SIZE] + [a for a in newest if a.old]  # old entries are there to be skipped
    routes["/feed/"] = (feed(outlet, base, listed), "application/rss+xml", True)
    routes["/sitemap.xml"] = (sitemap(base, newest), xml_type, True)
    routes["/robots.txt"] = ("User-agent: *\nAllow: /\n", "text/plain", False)
    return routes


@contextmanager
def serve(
    articles: int = 300, clusters: int = 30, copies: int = 2, old: int = 0, delay: float = 0.0
) -> Iterator[NewsFarm]:
    """Serve a generated farm on loopback hosts until the block ends."""
    farm = NewsFarm(generate(articles, clusters, copies, old), delay)
    servers: list[_Server] = []
    running: list[_Server] = []
    try:
        for i, outlet in enumerate(OUTLETS):
            server = _Server((f"127.0.0.{60 + i}", 0), _Handler)
            servers.append(server)
            server.farm, server.outlet = farm, outlet
            server.base = farm.base_urls[outlet] = f"http://127.0.0.{60 + i}:{server.server_address[1]}"
        for server in servers:
            server.routes = _routes(server.outlet, server.base, [a for a in farm.articles if a.outlet == server.outlet])
            threading.Thread(target=server.serve_forever, name=f"farm-{server.outlet}", daemon=True).start()
            running.append(server)
        yield farm
    finally:
        for server in running:
            server.shutdown()
        for server in servers:
            server.server_close()
