"""One outlet on 127.0.0.1 whose pages test a record's decoding, title, language and authors (French texts from
`newsfarm.generate`).

- `ALMOST_UTF8`: a UTF-8 article with two stray windows-1252 bytes in its footer.
- `STALE_CHARSET`: UTF-8 bytes under a stale `<meta charset="iso-8859-1">`.
- `SITE_IN_TITLE`: the site's name after the headline in <title> and og:title, the headline alone in <h1>.
- `FRENCH_AS_EN`: French text on a page declaring `lang="en-US"` (a WordPress default).
- `ENGLISH`: an English article, for the seeds' `languages` filter.

    with serve() as site:
        site.write_seeds(path, languages=["fr"])
        ... crawl ...
        site.url(ALMOST_UTF8)
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.support import newsfarm
from tests.support.http import serving

SITE_NAME = "Le Quotidien du Numérique"
ALMOST_UTF8 = "/2025/02/rachat-refuse"
STALE_CHARSET = "/2025/02/conseil-unanime"
SITE_IN_TITLE = "/2025/02/altman-repond"
FRENCH_AS_EN = "/2025/02/musk-insiste"
ENGLISH = "/2025/02/board-rejects-bid"
HEADLINES = {
    ALMOST_UTF8: "Le conseil d’OpenAI rejette l’offre d’Elon Musk",
    STALE_CHARSET: "Une décision prise à l’unanimité",
    SITE_IN_TITLE: "Sam Altman répond à Elon Musk : « non merci »",
    FRENCH_AS_EN: "Elon Musk insiste et relève son offre",
    ENGLISH: "OpenAI board rejects Musk's offer",
}
AUTHORS = {ALMOST_UTF8: "Par Claire Dumas et Julien Marchand"}
# Windows-1252 bytes in an otherwise UTF-8 page: "©" and "é" pasted from an old template.
STRAY_FOOTER = b"<footer>\xa9 2025 Le Quotidien, tous droits r\xe9serv\xc3\xa9s</footer>"

ENGLISH_TEXT = [
    "The board of OpenAI's nonprofit unanimously rejected on Friday an offer from a group of investors led by Elon "
    "Musk, saying the organization was not for sale and that the bid did not serve its mission.",
    "The chairman said in a statement that any potential reorganization would strengthen the nonprofit, and that "
    "the board would keep evaluating proposals on their merits rather than on the identity of the bidder.",
    "Musk's lawyer said the investors were ready to match or exceed any higher bid, a claim the company dismissed "
    "as an attempt to interfere with its fundraising.",
]
# Distinct French texts (far below the dedup threshold), one per French page; path -> paragraphs.
_FRENCH_PAGES = [path for path in HEADLINES if path != ENGLISH]
_FARM = newsfarm.generate(len(_FRENCH_PAGES), 0)
TEXTS = {path: farm.paragraphs for path, farm in zip(_FRENCH_PAGES, _FARM, strict=True)}
TEXTS[ENGLISH] = ENGLISH_TEXT


def article_page(path: str, base: str) -> bytes:
    """The page at `path`, as the outlet serves it (bytes: some pages are not clean UTF-8)."""
    headline = HEADLINES[path]
    english = path == ENGLISH
    paragraphs = TEXTS[path]
    lang = "en" if english or path == FRENCH_AS_EN else "fr"
    charset = "iso-8859-1" if path == STALE_CHARSET else "utf-8"
    window_title = f"{headline} – {SITE_NAME}" if path == SITE_IN_TITLE else headline
    social_title = f"{headline} | {SITE_NAME}" if path == SITE_IN_TITLE else headline
    ld = {
        "@context": "https://schema.org", "@type": "NewsArticle", "datePublished": "2025-02-11T09:00:00+01:00",
        "publisher": {"@type": "Organization", "name": SITE_NAME},
    }  # fmt: skip
    if path not in AUTHORS:
        ld["author"] = {"@type": "Person", "name": "Lucas Musset"}
    byline = f'<p class="byline">{html.escape(AUTHORS.get(path, "Par Lucas Musset"))}</p>'
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    page = (
        f'<!doctype html><html lang="{lang}-US"><head><meta charset="{charset}">'
        f"<title>{html.escape(window_title)}</title>"
        f'<meta property="og:type" content="article"><meta property="og:site_name" content="{html.escape(SITE_NAME)}">'
        f'<meta property="og:title" content="{html.escape(social_title)}"><link rel="canonical" href="{base}{path}">'
        f'<script type="application/ld+json">{json.dumps(ld)}</script></head>'
        f"<body><article><h1>{html.escape(headline)}</h1>{byline}{body}</article>"
    ).encode()
    return page + (STRAY_FOOTER if path == ALMOST_UTF8 else b"") + b"</body></html>"


@dataclass
class HeadlineSite:
    base: str = ""

    def url(self, path: str) -> str:
        return self.base + path

    def write_seeds(self, path: Path, name: str = "headlines", **extra: Any) -> Path:
        seeds = {"name": name, **extra, "sites": [{"name": "quotidien", "start_urls": [self.url("/")]}]}
        path.write_text(yaml.safe_dump(seeds, allow_unicode=True), encoding="utf-8")
        return path


def _routes(base: str) -> dict[str, tuple[str, bytes]]:
    links = "".join(f'<a href="{path}">{html.escape(title)}</a>' for path, title in HEADLINES.items())
    home = f"<html><body>{links}</body></html>"
    routes = {"/": ("text/html; charset=utf-8", home.encode()), "/robots.txt": ("text/plain", b"User-agent: *\n")}
    for path in HEADLINES:
        # The stale page's header says nothing: only its <meta> declares a charset, as on re-encoded archives.
        routes[path] = ("text/html" if path == STALE_CHARSET else "text/html; charset=utf-8", article_page(path, base))
    return routes


@contextmanager
def serve() -> Iterator[HeadlineSite]:
    """Serve the outlet on a free loopback port until the block ends."""
    site = HeadlineSite()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            content_type, body = routes.get(self.path.split("?")[0], ("text/plain", b""))
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    routes = _routes(site.base)
    with serving(server, "headline-site"):
        yield site
