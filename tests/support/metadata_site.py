"""Two outlets on 127.0.0.1 whose pages test where a record's date comes from and which copy of an article is kept.

The publisher lists its articles in an RSS feed and a Google News sitemap, some of them dated only there, and
serves an AMP copy of one article (canonical back to it, no date, a year in its text); the aggregator republishes
one of the publisher's stories under its own address, claiming it dates from 2001. Article text comes from
`newsfarm.generate` (distinct articles, far below the dedup threshold).

    with serve() as site:
        site.write_seeds(path)
        ... crawl ...
        site.url("publisher", site.AMP)
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.support import newsfarm

# Paths on the publisher; COPIED is also on the aggregator, at AGGREGATED.
CANONICAL = "/economie/rachat-refuse"
AMP = "/amp/economie/rachat-refuse"
FEED_ONLY = "/economie/date-du-flux"
SITEMAP_ONLY = "/economie/date-du-sitemap"
YEAR_IN_TEXT = "/economie/fondee-en-2015"
FUTURE = "/economie/date-future"
COPIED = "/economie/enquete-originale"
AGGREGATED = "/news/enquete-originale-reprise"

CANONICAL_DATE = "2025-02-10T08:00:00+01:00"
FEED_DATE = "Mon, 10 Feb 2025 07:30:00 +0100"
SITEMAP_DATE = "2025-02-10T09:15:00+01:00"
SITEMAP_LASTMOD = "2025-02-11T10:00:00+01:00"
COPIED_DATE = "2025-02-09T18:00:00+01:00"
SPOOFED_DATE = "2001-01-01T00:00:00Z"
FUTURE_DATE = "2099-01-01T08:00:00Z"
# A sentence with years and no date, as company portraits have.
YEARS = "La société, fondée en 2015, a levé des fonds en 2018 puis en 2022 auprès de ses premiers investisseurs."


@dataclass
class MetadataSite:
    bases: dict[str, str] = field(default_factory=dict)  # outlet -> http://127.0.0.1:port

    def url(self, outlet: str, path: str) -> str:
        return self.bases[outlet] + path

    def write_seeds(self, path: Path, name: str = "metadata") -> Path:
        sites = [
            {"name": "publisher", "feeds": [self.url("publisher", "/feed.xml")],
             "sitemaps": [self.url("publisher", "/sitemap.xml")]},
            {"name": "aggregator", "sitemaps": [self.url("aggregator", "/sitemap.xml")]},
        ]  # fmt: skip
        path.write_text(yaml.safe_dump({"name": name, "sites": sites}, sort_keys=False), encoding="utf-8")
        return path


def article(title: str, paragraphs: list[str], canonical: str, published: str | None = None) -> str:
    """An article page that declares itself one (JSON-LD NewsArticle), dated in its JSON-LD when `published`."""
    data: dict[str, Any] = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title}
    if published:
        data["datePublished"] = published
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<link rel="canonical" href="{html.escape(canonical)}">'
        f'<script type="application/ld+json">{json.dumps(data)}</script></head>'
        f"<body><article><h1>{html.escape(title)}</h1>{body}</article></body></html>"
    )


def _routes(bases: dict[str, str]) -> dict[str, dict[str, tuple[str, str]]]:
    """outlet -> path -> (content type, body)."""
    texts = [a.paragraphs for a in newsfarm.generate(6, 0, seed=18)]
    pub, agg = bases["publisher"], bases["aggregator"]
    html_type, xml_type = "text/html; charset=utf-8", "application/xml"
    pages = {
        CANONICAL: article("Le conseil refuse le rachat", texts[0], pub + CANONICAL, CANONICAL_DATE),
        AMP: article("Le conseil refuse le rachat", [*texts[0], YEARS], pub + CANONICAL),
        FEED_ONLY: article("Un article daté par son flux", texts[1], pub + FEED_ONLY),
        SITEMAP_ONLY: article("Un article daté par son sitemap", texts[2], pub + SITEMAP_ONLY),
        YEAR_IN_TEXT: article("Une société fondée en 2015", [YEARS, *texts[3]], pub + YEAR_IN_TEXT),
        FUTURE: article("Un article daté de 2099", [*texts[4], "Publié le 10 février 2025."], pub + FUTURE, FUTURE_DATE),
        COPIED: article("Une enquête originale", texts[5], pub + COPIED, COPIED_DATE),
    }
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Publisher</title>'
        f"<link>{pub}/</link><description>news</description>"
        f"<item><title>Flux</title><link>{pub}{FEED_ONLY}</link><pubDate>{FEED_DATE}</pubDate></item>"
        "</channel></rss>"
    )
    entries = [
        (AMP, None, None), (CANONICAL, None, None), (SITEMAP_ONLY, SITEMAP_DATE, SITEMAP_LASTMOD),
        (YEAR_IN_TEXT, None, None), (FUTURE, None, None), (COPIED, None, None),
    ]  # fmt: skip
    urls = "".join(
        f"<url><loc>{pub}{path}</loc>"
        + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "")
        + (f"<news:news><news:publication_date>{published}</news:publication_date></news:news>" if published else "")
        + "</url>"
        for path, published, lastmod in entries
    )
    sitemap = (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>'
    )
    aggregated = article("Une enquête originale", texts[5], agg + AGGREGATED, SPOOFED_DATE)
    agg_sitemap = (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{agg}{AGGREGATED}</loc></url></urlset>"
    )
    return {
        "publisher": {**{p: (html_type, body) for p, body in pages.items()}, "/feed.xml": (xml_type, feed),
                      "/sitemap.xml": (xml_type, sitemap)},
        "aggregator": {AGGREGATED: (html_type, aggregated), "/sitemap.xml": (xml_type, agg_sitemap)},
    }  # fmt: skip


@contextmanager
def serve() -> Iterator[MetadataSite]:
    """Serve both outlets on 127.0.0.1 (ephemeral ports) until the block ends."""
    site = MetadataSite()
    routes: dict[str, dict[str, tuple[str, str]]] = {}

    def handler(outlet: str) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                content_type, body = routes[outlet].get(self.path, ("text/plain", ""))
                data = body.encode("utf-8")
                self.send_response(200 if data else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    with ExitStack() as stack:
        for outlet in ("publisher", "aggregator"):
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler(outlet))
            stack.callback(server.server_close)
            stack.callback(server.shutdown)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            site.bases[outlet] = f"http://127.0.0.1:{server.server_address[1]}"
        routes.update(_routes(site.bases))
        yield site
