"""The demo news site: five outlets and one aggregator, each on its own loopback host, with ground truth.

    with serve(day=1) as site:
        site.write_seeds("seeds.yaml", keywords=TOPIC_KEYWORDS)
        ...crawl...
        site.stories  # what must have been stored, and the duplicates that must have been dropped

Outlet i listens on 127.0.0.(10+i) on an ephemeral port, so every outlet is a different host. Pages are
rendered per request from `demo/articles/*.yaml` with the real bound host:port in every absolute URL.
Run `python -m demo.site [--day N] [--seeds-out PATH]` to browse it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from demo import assets, feeds, templates
from demo.content import Article, jaccard, load_articles, load_copy_specs, make_copy
from demo.outlets import AGGREGATOR, BAD_INPUTS_OUTLET, SPECS, OutletSite

__all__ = ["TOPIC_KEYWORDS", "Copy", "DemoSite", "Outlet", "Story", "serve"]

TOPIC_KEYWORDS = ("OpenAI", "Altman", "Musk", "ChatGPT")
BROKEN_HTML_KEY = "off-oqee-performance"
WRONG_CHARSET_KEY = "off-fibre-zones-rurales"
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Copy:
    """A duplicate of a story that the pipeline must drop. `jaccard`: word-5-gram similarity of the text."""

    url: str
    kind: str  # "amp" | "print" | "tracking" | "exact" | "syndicated"
    jaccard: float | None = None


@dataclass(frozen=True)
class Story:
    """A distinct on-topic article that must be stored once, under `url` (its canonical URL)."""

    key: str
    outlet: str
    url: str
    title: str
    published: str  # ISO date
    author: str
    first_paragraph: str
    last_paragraph: str
    doubled_body: bool
    copies: list[Copy] = field(default_factory=list)


@dataclass(frozen=True)
class Outlet:
    """A running outlet's entry points (and the URL filters written to the seeds file)."""

    name: str
    base_url: str
    feeds: list[str]
    sitemaps: list[str]
    start_urls: list[str]
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = HTML


Route = Callable[[dict[str, list[str]]], Response]


def _html(page: str, status: int = 200) -> Response:
    return Response(status, page.encode("utf-8"))


def _page(render: Callable[[], str]) -> Route:
    """A route rendering an HTML page at each request."""
    return lambda query: _html(render())


def _static(body: bytes, content_type: str) -> Route:
    return lambda query: Response(200, body, content_type)


def _newest_first(arts: list[Article]) -> list[Article]:
    return sorted(arts, key=lambda a: a.published, reverse=True)


class _OutletServer(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]
    outlet: OutletSite
    record: Callable[[str, str, int], None]


class _Handler(BaseHTTPRequestHandler):
    server: _OutletServer
    protocol_version = "HTTP/1.1"
    server_version = "DemoNews/1.0"
    sys_version = ""
    timeout = 30

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        parts = urlsplit(self.path)
        route = self.server.routes.get(parts.path)
        if route is None:
            response = _html(templates.error_page(self.server.outlet, 404), 404)
        else:
            response = route(parse_qs(parts.query, keep_blank_values=True))
        self.server.record(self.command, self.server.outlet.base.split("//", 1)[1] + self.path, response.status)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        """Requests are recorded in `DemoSite.request_log` instead of stderr."""


class DemoSite:
    """All outlet servers of one demo day, and the ground truth of what they serve."""

    def __init__(self, day: int = 1) -> None:
        if day not in (1, 2):
            raise ValueError("day must be 1 or 2")
        self.day = day
        self._servers: list[_OutletServer] = []
        self._threads: list[threading.Thread] = []
        self._sites: dict[str, OutletSite] = {}
        self._log: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self.bad_urls: dict[str, str] = {}

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> DemoSite:
        """Bind every outlet to its loopback host on an ephemeral port and serve in background threads."""
        if self._servers:
            raise RuntimeError("the demo site is already running")
        try:
            for spec in SPECS:
                server = _OutletServer((spec.host, 0), _Handler)
                self._servers.append(server)
                self._sites[spec.name] = OutletSite(spec, f"http://{spec.host}:{server.server_address[1]}")
        except OSError:
            for server in self._servers:
                server.server_close()
            self._servers = []
            raise
        self._assign_articles()
        for server, site in zip(self._servers, self._sites.values(), strict=True):
            server.outlet, server.record, server.routes = site, self._record, self._routes(site)
            thread = threading.Thread(target=server.serve_forever, name=f"demo-{site.spec.name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- content -----------------------------------------------------------------------------------------

    def _assign_articles(self) -> None:
        articles = [a for a in load_articles() if a.day <= self.day]
        originals = {a.key: a for a in articles}
        for art in articles:
            site = self._sites[art.outlet]
            (site.unlisted if art.key in (BROKEN_HTML_KEY, WRONG_CHARSET_KEY) else site.articles).append(art)
        aggregator = self._sites[AGGREGATOR]
        for spec in load_copy_specs():
            if spec.day > self.day:
                continue
            original = originals[spec.story]
            copy = make_copy(original, spec, AGGREGATOR)
            aggregator.articles.append(copy)
            if spec.kind == "syndicated":
                source = self._sites[original.outlet]
                aggregator.attributions[copy.key] = (source.spec.label, source.article_url(original))
        for site in self._sites.values():
            site.articles = _newest_first(site.articles)

    def _bad_inputs(self, site: OutletSite) -> dict[str, tuple[str, str, Route | None]]:
        """Planted bad pages: class -> (home page label, path, route)."""
        unlisted = {a.key: a for a in site.unlisted}
        broken, charset = unlisted[BROKEN_HTML_KEY], unlisted[WRONG_CHARSET_KEY]
        return {
            "pdf": ("Guide des tarifs fibre 2025 (PDF)", "/wp-content/uploads/2025/03/guide-tarifs-fibre-2025.pdf",
                    _static(assets.pdf("Guide des tarifs fibre 2025"), "application/pdf")),
            "image": ("Infographie : les débits moyens par opérateur",
                      "/wp-content/uploads/2025/03/infographie-debits-operateurs.png",
                      _static(assets.png(640, 360), "image/png")),
            "404": ("Free Mobile : l'offre spéciale printemps", "/actualites/2025/03/free-mobile-offre-printemps/",
                    None),
            "500": ("Comparatif des box internet", "/actualites/2025/03/comparatif-box-internet/",
                    lambda query: _html(templates.error_page(site, 500), 500)),
            "broken_html": (broken.title, site.article_path(broken), lambda query: _broken_html(site, broken)),
            "wrong_charset": (charset.title, site.article_path(charset), lambda query: _wrong_charset(site, charset)),
            "empty": ("Flash info : perturbations en cours", "/actualites/2025/03/flash-info-perturbations/",
                      _static(b"", HTML)),
        }

    def _routes(self, o: OutletSite) -> dict[str, Route]:
        """Path -> handler for every page of the outlet (pages are rendered when requested); fills `bad_urls`."""
        spec = o.spec
        routes: dict[str, Route] = {}

        def article(art: Article) -> Route:
            def handle(query: dict[str, list[str]]) -> Response:
                if spec.print_version and query.get("print") == ["1"]:
                    return _html(templates.print_page(o, art))
                return _html(templates.article_page(o, art))
            return handle

        for art in o.articles:
            routes[o.article_path(art)] = article(art)
            if spec.amp:
                routes[o.amp_path(art)] = _page(partial(templates.amp_page, o, art))
        for art in [*o.articles, *o.unlisted]:
            routes[o.path(o.image_url(art))] = _static(assets.png(120, 68), "image/png")
        for name in ("logo", "avatar"):
            routes[f"/images/{name}.png"] = _static(assets.png(), "image/png")
        routes["/assets/style.css"] = _static(b"body{font-family:sans-serif}", "text/css")

        bad = self._bad_inputs(o) if spec.name == BAD_INPUTS_OUTLET else {}
        for kind, (_label, path, route) in bad.items():
            self.bad_urls[kind] = o.url(path)
            if route is not None:
                routes[path] = route
        bad_links = [(label, o.url(path)) for label, path, _route in bad.values()]

        shared = [a for a in o.articles if a.on_topic] if spec.home_tracking else []
        for n in range(1, o.pages + 1):
            title = spec.label if n == 1 else f"{spec.label} — page {n}"
            extra = templates.home_extras(o, shared, bad_links) if n == 1 else ""
            routes[o.path(o.page_url(n))] = _page(partial(
                templates.listing_page, o, o.page_url(n), title, o.page_articles(n), extra=extra,
                pager=templates.pager(o, n, o.pages)))

        def listing(url: str, title: str, arts: list[Article], intro: str = "") -> None:
            routes[o.path(url)] = _page(partial(templates.listing_page, o, url, title, arts, intro))

        for cat in o.categories:
            listing(o.category_url(cat), cat, [a for a in o.articles if a.category == cat])
        for tag in o.tags:
            listing(o.tag_url(tag), f"Tag : {tag}", [a for a in o.articles if tag in a.tags])
        for author in o.authors:
            listing(o.author_url(author), author, [a for a in o.articles if a.author == author],
                    f'<p class="author-bio">{templates.esc(templates.author_bio(o, author))}</p>')
        routes[spec.search_path] = lambda q: _html(_search_page(o, q.get("q", [""])[0]))
        routes[spec.contact_path] = _page(partial(templates.contact_page, o))
        routes[spec.legal_path] = _page(partial(templates.legal_page, o))
        routes["/robots.txt"] = lambda q: Response(200, feeds.robots(o).encode(), "text/plain; charset=utf-8")
        routes["/feed/"] = lambda q: Response(200, *_encoded(feeds.feed(o)))
        routes["/sitemap.xml"] = lambda q: Response(200, feeds.sitemap_index(o).encode(), "application/xml")
        routes["/sitemap-posts.xml"] = lambda q: Response(200, feeds.sitemap_posts(o).encode(), "application/xml")
        routes["/sitemap-news.xml.gz"] = lambda q: Response(200, feeds.sitemap_news_gz(o), spec.gzip_type)
        return routes

    def _record(self, method: str, url: str, status: int) -> None:
        with self._lock:
            self._log.append((method, url, status))

    # --- ground truth ------------------------------------------------------------------------------------

    @property
    def request_log(self) -> list[tuple[str, str, int]]:
        """(method, host:port/path?query, status) of every request served so far."""
        with self._lock:
            return list(self._log)

    @property
    def outlets(self) -> list[Outlet]:
        return [
            Outlet(
                name=o.spec.name,
                base_url=o.base,
                feeds=[o.url("/feed/")],
                sitemaps=[o.url("/sitemap.xml")],
                start_urls=[o.url("/")],
                allow=list(o.spec.allow),
                deny=list(o.spec.deny),
            )
            for o in self._sites.values()
        ]

    @property
    def stories(self) -> list[Story]:
        aggregator = self._sites[AGGREGATOR]
        stories = []
        for o in self._sites.values():
            if o.spec.name == AGGREGATOR:
                continue
            for art in o.articles:
                if not art.on_topic:
                    continue
                url = o.article_url(art)
                copies = []
                if o.spec.amp:
                    copies.append(Copy(o.amp_url(art), "amp"))
                if o.spec.print_version:
                    copies.append(Copy(o.print_url(art), "print"))
                for query in (o.spec.home_tracking, o.spec.feed_tracking):
                    if query:
                        copies.append(Copy(f"{url}?{query}", "tracking"))
                for copy in aggregator.articles:
                    if copy.origin == art.key:
                        similarity = round(jaccard(copy.text, art.text), 3)
                        copies.append(Copy(aggregator.article_url(copy), copy.copy_kind, similarity))
                stories.append(Story(
                    key=art.key, outlet=o.spec.name, url=url, title=art.title,
                    published=art.published.date().isoformat(), author=art.author,
                    first_paragraph=art.paragraphs[0], last_paragraph=art.paragraphs[-1],
                    doubled_body=o.spec.doubled_body, copies=copies,
                ))
        return sorted(stories, key=lambda s: s.key)

    @property
    def offtopic_urls(self) -> list[str]:
        """Well-formed off-topic articles (the planted broken/mis-encoded ones are only in `bad_urls`)."""
        return [o.article_url(a) for o in self._sites.values() for a in o.articles if not a.on_topic]

    @property
    def non_article_urls(self) -> list[str]:
        urls = []
        for o in self._sites.values():
            urls += [o.page_url(n) for n in range(1, o.pages + 1)]
            urls += [o.category_url(c) for c in o.categories] + [o.tag_url(t) for t in o.tags]
            urls += [o.author_url(a) for a in o.authors]
            urls += [o.url(o.spec.contact_path), o.url(o.spec.legal_path)]
        return urls

    @property
    def disallowed_urls(self) -> list[str]:
        """Pages linked from every home page but disallowed by robots.txt (the search results page)."""
        return [o.url(o.spec.search_path) + "?q=openai" for o in self._sites.values()]

    def write_seeds(self, path: str | Path, name: str = "demo", keywords: Sequence[str] | None = None,
                    since: str | dt.date | None = None) -> Path:
        """Write a seeds YAML file for the running site and return its path."""
        doc: dict[str, object] = {"name": name}
        if keywords is not None:
            doc["keywords"] = list(keywords)
        if since is not None:
            doc["since"] = since if isinstance(since, dt.date) else dt.date.fromisoformat(since)
        sites = []
        for outlet in self.outlets:
            entry: dict[str, object] = {"name": outlet.name, "start_urls": outlet.start_urls,
                                        "feeds": outlet.feeds, "sitemaps": outlet.sitemaps}
            if outlet.allow:
                entry["allow"] = outlet.allow
            if outlet.deny:
                entry["deny"] = outlet.deny
            sites.append(entry)
        doc["sites"] = sites
        target = Path(path)
        target.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return target


def _encoded(document: tuple[str, str]) -> tuple[bytes, str]:
    text, content_type = document
    return text.encode("utf-8"), content_type


def _search_page(o: OutletSite, query: str) -> str:
    hits = [a for a in o.articles if query and query.lower() in (a.title + a.text).lower()]
    return templates.listing_page(o, o.url(o.spec.search_path), f"Résultats pour « {query} »", hits)


def _broken_html(o: OutletSite, art: Article) -> Response:
    """The article page cut off in the middle of its third paragraph, with its </p> tags missing."""
    page = templates.article_page(o, art)
    third = art.paragraphs[2]
    cut = page.index(templates.esc(third)) + len(third) // 2
    return _html(page[:cut].replace("</p>", ""))


def _wrong_charset(o: OutletSite, art: Article) -> Response:
    """The article page as windows-1252 bytes (no <meta charset>) while the header says utf-8."""
    page = templates.article_page(o, art).replace('<meta charset="utf-8">', "", 1)
    return Response(200, page.encode("cp1252"), "text/html; charset=utf-8")


@contextmanager
def serve(day: int = 1) -> Iterator[DemoSite]:
    """Start every outlet for demo `day` (1 or 2); stop them on exit."""
    site = DemoSite(day).start()
    try:
        yield site
    finally:
        site.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo.site", description="Serve the demo news site.")
    parser.add_argument("--day", type=int, choices=(1, 2), default=1, help="demo day (2 adds a story and a copy)")
    parser.add_argument("--seeds-out", type=Path, help="write a seeds YAML file for the running site here")
    args = parser.parse_args(argv)
    with serve(args.day) as site:
        for outlet in site.outlets:
            print(f"{outlet.name:16} {outlet.base_url}/", flush=True)
        if args.seeds_out:
            site.write_seeds(args.seeds_out, keywords=list(TOPIC_KEYWORDS), since="2023-01-01")
            print(f"seeds written to {args.seeds_out}", flush=True)
        print("Serving; press Ctrl-C to stop.", flush=True)
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
