"""Which links the spider follows: those of start pages and of the pages found through them, never those of a
page listed in a feed or a sitemap (its entry passed `since`; what it links to did not)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.test_crawl import crawl

TEXT = " ".join(
    f"Phrase {n} du récit sur OpenAI, Sam Altman et Elon Musk, avec assez de mots pour être un article." for n in range(12)
)


def undeclared_page(title: str, links: list[str]) -> bytes:
    """A dated article page that declares no type, so its links would be followed if it were a listing."""
    anchors = "".join(f'<li><a href="{link}">Voir {link}</a></li>' for link in links)
    return (
        f'<html lang="fr"><head><title>{title}</title><meta name="date" content="2025-02-12"></head><body>'
        f"<article><h1>{title}</h1><p>{TEXT}</p><p>{title}.</p></article><ul>{anchors}</ul></body></html>"
    ).encode()


@pytest.fixture
def site() -> Iterator[tuple[str, list[str]]]:
    requested: list[str] = []
    routes = {
        "/robots.txt": b"User-agent: *\nAllow: /\n",
        "/": b'<html><body><a href="/2025/trouve-par-lien">un lien</a></body></html>',
        "/2025/trouve-par-lien": undeclared_page("Trouvé par un lien", ["/2025/second-saut"]),
        "/2025/second-saut": undeclared_page("Second saut", []),
        "/2025/liste-au-sitemap": undeclared_page("Listé au sitemap", ["/2025/lie-depuis-le-sitemap"]),
        "/2025/lie-depuis-le-sitemap": undeclared_page("Lié depuis une entrée du sitemap", []),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            requested.append(self.path)
            if self.path == "/sitemap.xml":
                body = (
                    '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"<url><loc>{base}/2025/liste-au-sitemap</loc></url></urlset>"
                ).encode()
                content_type = "application/xml"
            else:
                body, content_type = routes.get(self.path, b"not found"), "text/html; charset=utf-8"
            self.send_response(200 if self.path == "/sitemap.xml" or self.path in routes else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base, requested
    finally:
        server.shutdown()
        server.server_close()


def test_links_are_followed_from_start_pages_only_not_from_feed_or_sitemap_entries(
    site: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, requested = site
    seeds = tmp_path / "scope.yaml"
    seeds.write_text(f"name: scope\nsites:\n  - name: scope\n    start_urls: ['{base}/']\n    sitemaps: ['{base}/sitemap.xml']\n")
    result = crawl(seeds, tmp_path / "out", "EXTRACT_MIN_WORDS=50")
    assert result.returncode == 0, result.log[-3000:]
    assert {"/2025/trouve-par-lien", "/2025/second-saut", "/2025/liste-au-sitemap"} <= set(requested)
    assert "/2025/lie-depuis-le-sitemap" not in requested, "a sitemap entry's links are not followed"
    stats = result.stats
    assert (stats["crawl/pages/start"], stats["crawl/pages/link"], stats["crawl/pages/sitemap"]) == (1, 2, 1)
    assert stats["extract/ok"] == 3, "the sitemap entry is extracted like the pages found by links"
