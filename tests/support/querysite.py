"""A news site on 127.0.0.1 whose articles are addressed by their query string, as many CMSs do.

WordPress without permalinks (`/?p=101`, its feed at `/?feed=rss2`), PHP-Nuke (`/news.php?sid=7`), Joomla
(`/index.php?option=com_content&view=article&id=12&Itemid=5`), SPIP (`/spip.php?article123`,
`/article.php3?id_article=45`), ASP (`/read.asp?ArticleID=77`) and a home page that links to them with tracking
parameters added. Like a real CMS, the server picks the page from the query's parameters whatever their order
and ignores parameters it does not use; a query that names no page is a 404. Every request is logged.

    with serve() as site:
        site.write_seeds(path)
        ... crawl ...
        site.fetch_counts()  # {path?query as requested: times answered 200}, site.statuses()  # {status: count}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml

from tests.support import newsfarm
from tests.support.http import serving

# How each article is addressed; the home page adds the tracking parameters to its links.
ARTICLE_ADDRESSES = (
    "/?p=101",
    "/news.php?sid=7",
    "/index.php?story=9",
    "/index.php?option=com_content&view=article&id=12&Itemid=5",
    "/spip.php?article123",
    "/article.php3?id_article=45",
    "/read.asp?ArticleID=77",
    "/node?nid=55",
)
TRACKING = "utm_source=home&utm_medium=web&fbclid=IwAR0x&xtor=AL-32"
FEED = "/?feed=rss2"
SITEMAP = "/sitemap.xml"


def _params(query: str) -> frozenset[tuple[str, str]]:
    return frozenset(parse_qsl(query, keep_blank_values=True))


@dataclass
class QuerySite:
    """The running site: its base URL, its articles by address, and the log of every request."""

    base: str = ""
    articles: dict[str, newsfarm.FarmArticle] = field(default_factory=dict)
    request_log: list[tuple[str, int]] = field(default_factory=list)  # (path?query as requested, status)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, address: str) -> str:
        return self.base + address

    def write_seeds(self, path: Path, name: str = "querysite") -> Path:
        site = {"name": "cms", "start_urls": [f"{self.base}/"], "feeds": [self.url(FEED)],
                "sitemaps": [self.url(SITEMAP)]}  # fmt: skip
        path.write_text(yaml.safe_dump({"name": name, "sites": [site]}, sort_keys=False), encoding="utf-8")
        return path

    def fetch_counts(self) -> Counter[str]:
        """How many times each request target was answered with its page, robots.txt left out."""
        with self._lock:
            return Counter(t for t, status in self.request_log if status == 200 and not t.startswith("/robots.txt"))

    def statuses(self) -> Counter[int]:
        with self._lock:
            return Counter(status for target, status in self.request_log if not target.startswith("/robots.txt"))

    def page(self, target: str) -> tuple[int, str, str]:
        """(status, content type, body) for a request target, chosen as a CMS would."""
        parts = urlsplit(target)
        asked = _params(parts.query)
        if parts.path == "/robots.txt":
            return 200, "text/plain", "User-agent: *\nAllow: /\n"
        if parts.path == SITEMAP:
            return 200, "application/xml", self._sitemap()
        if parts.path == "/" and ("feed", "rss2") in asked:
            return 200, "application/rss+xml", self._feed()
        for address, article in self.articles.items():
            path, query = address.split("?", 1)
            if parts.path == path and _params(query) <= asked:
                return 200, "text/html; charset=utf-8", newsfarm.article_page("cms", html.escape(self.url(address)), article)
        if parts.path == "/" and {name for name, _ in asked} <= {name for name, _ in _params(TRACKING)}:
            return 200, "text/html; charset=utf-8", self._home()
        return 404, "text/plain", "not found"

    def _home(self) -> str:
        links = "".join(
            f'<li><a href="{html.escape(f"{address}&{TRACKING}")}">{html.escape(article.title)}</a></li>'
            for address, article in self.articles.items()
        )
        return (
            '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>CMS — accueil</title>'
            '<script type="application/ld+json">{"@type": "CollectionPage"}</script></head>'
            f"<body><h1>CMS</h1><ul>{links}</ul></body></html>"
        )

    def _feed(self) -> str:
        items = "".join(
            f"<item><title>{html.escape(article.title)}</title><link>{html.escape(self.url(address))}</link>"
            f"<pubDate>{format_datetime(dt.datetime.combine(article.published, dt.time(8), dt.UTC))}</pubDate></item>"
            for address, article in self.articles.items()
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>CMS</title>'
            f"<link>{self.base}/</link><description>CMS</description>{items}</channel></rss>"
        )

    def _sitemap(self) -> str:
        urls = "".join(
            f"<url><loc>{html.escape(self.url(address))}</loc><lastmod>{article.published.isoformat()}</lastmod></url>"
            for address, article in self.articles.items()
        )
        return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: QuerySite


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status, content_type, body = self.server.site.page(self.path)
        data = body.encode("utf-8")
        with self.server.site._lock:
            self.server.site.request_log.append((self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Requests go to QuerySite.request_log."""


@contextmanager
def serve() -> Iterator[QuerySite]:
    """Serve the site on 127.0.0.1 (ephemeral port) until the block ends."""
    texts = newsfarm.generate(articles=len(ARTICLE_ADDRESSES), clusters=0)
    articles = zip(ARTICLE_ADDRESSES, texts, strict=True)
    site = QuerySite(articles={address: dataclasses.replace(text, outlet="cms") for address, text in articles})
    server = _Server(("127.0.0.1", 0), _Handler)
    server.site = site
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server, "querysite"):
        yield site
