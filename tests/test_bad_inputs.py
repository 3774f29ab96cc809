"""A hostile site: every class of bad input the web serves, in one crawl. Each is counted, none crashes the
crawl, and the only record stored is the one real article."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.test_crawl import CrawlResult, crawl

ARTICLE_TEXT = [
    "Le conseil d’administration d’OpenAI a rejeté mardi l’offre de rachat présentée par Elon Musk et un groupe "
    "d’investisseurs, estimant qu’elle ne servait pas la mission de l’organisation à but non lucratif.",
    "Selon plusieurs sources proches du dossier, la décision a été prise à l’unanimité après une réunion de "
    "plusieurs heures, au cours de laquelle les administrateurs ont examiné les conditions financières proposées.",
    "Sam Altman, qui dirige l’entreprise, avait déjà ironisé publiquement sur cette proposition, rappelant que la "
    "société n’était pas à vendre et que sa structure de gouvernance avait été pensée pour résister à ce genre "
    "d’initiative venue de l’extérieur.",
    "Les observateurs notent que cette fin de non-recevoir ne met pas un terme au conflit judiciaire qui oppose "
    "les deux hommes depuis plus d’un an devant les tribunaux californiens.",
]
# The two mis-encoded pages carry texts of their own (copies of each other or of the real article would be dropped
# as duplicates, and their decoding would go untested); the Latin-1 one has only Latin-1 characters, the
# windows-1252 one has the characters UTF-8 and Latin-1 read wrong (’ œ €).
LATIN1_TITLE = "Musk et OpenAI : réaction à Paris"
LATIN1_TEXT = [
    "À Paris, les chercheurs réagissent avec prudence à l'annonce : beaucoup jugent que la bataille entre Elon Musk "
    "et la direction d'OpenAI dépasse largement la question du prix proposé par le milliardaire.",
    "« Ce qui se joue, c'est le contrôle d'une technologie très coûteuse à développer », résume une économiste de "
    "l'université, qui rappelle que les besoins en calcul des modèles ont été multipliés ces dernières années.",
    "Dans les laboratoires publics, on s'inquiète surtout de la concentration des moyens : quelques entreprises "
    "américaines décident désormais seules du rythme des recherches et de l'accès aux modèles les plus avancés.",
]
CP1252_TITLE = "Musk : « non » d’OpenAI"
CP1252_TEXT = [
    "Au cœur du différend, la transformation d’OpenAI en société à but lucratif : Elon Musk, cofondateur parti en "
    "2018, estime qu’elle trahit la mission d’origine et réclame l’arrêt pur et simple de l’opération.",
    "Les avocats de l’entrepreneur ont chiffré l’offre à 97,4 milliards de dollars, soit environ 93 milliards d’€, "
    "un montant que le conseil d’administration juge « sans rapport » avec la valeur réelle de la société.",
    "Pour les salariés, l’enjeu est d’abord concret : la mise en œuvre du nouveau statut conditionne le prix des "
    "actions qu’ils détiennent et la possibilité de les revendre lors des prochaines levées de fonds.",
]


def page(title: str, paragraphs: list[str], charset: str = "utf-8") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<html lang="fr"><head><meta charset="{charset}"><title>{title}</title>'
        '<meta property="og:type" content="article">'
        '<meta property="article:published_time" content="2025-02-12T09:00:00+01:00"></head>'
        f"<body><article><h1>{title}</h1>{body}</article></body></html>"
    )


def routes(base: str) -> dict[str, tuple[int, dict[str, str], bytes]]:
    """path -> (status, headers, body). `base` is the server's own URL, for absolute links."""
    html = {"Content-Type": "text/html; charset=utf-8"}
    links = [
        "/2025/article-reel", "/2025/pdf-en-html", "/2025/image-en-html", "/2025/json-en-html", "/2025/enorme",
        "/2025/bombe-gzip", "/2025/boucle", "/2025/absent", "/2025/erreur", "/2025/lent", "/2025/vide",
        "/2025/que-du-boilerplate", "/2025/tronque", "/2025/latin1-sans-charset", "/2025/cp1252-mal-declare",
        "javascript:alert(1)", "mailto:redaction@example.org", "file:///etc/passwd",
    ]  # fmt: skip
    home = "<html><body>" + "".join(f'<a href="{link}">{link}</a>' for link in links) + "</body></html>"
    latin = page(LATIN1_TITLE, LATIN1_TEXT, "x")
    entity_bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&lol4;</loc></url></urlset>'
    )
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE u [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{base}/x/&xxe;</loc></url></urlset>'
    )
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>no link</title></item>"
        "<item><title>js</title><link>javascript:alert(1)</link></item>"
        "<item><title>ftp</title><link>ftp://example.org/x</link></item>"
        f"<item><title>ok</title><link>{base}/2025/article-reel?utm_source=rss</link></item>"
        "<item><title>broken <b>markup</title><link>"  # truncated feed
    )
    return {
        "/": (200, html, home.encode()),
        "/robots.txt": (200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"),
        "/2025/article-reel": (200, html, page("OpenAI rejette l’offre de Musk", ARTICLE_TEXT).encode()),
        "/2025/pdf-en-html": (200, html, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" * 50),
        "/2025/image-en-html": (200, html, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20),
        "/2025/json-en-html": (200, html, json.dumps({"articles": [{"title": "OpenAI"}] * 50}).encode()),
        "/2025/enorme": (200, html, page("OpenAI", ARTICLE_TEXT * 3000).encode()),
        "/2025/bombe-gzip": (200, {**html, "Content-Encoding": "gzip"}, gzip.compress(b"<p>" + b"A" * 50_000_000)),
        "/2025/boucle": (302, {"X-Loop": "1"}, b""),  # redirects to a new URL at every hop, forever
        "/2025/erreur": (500, html, b"<h1>Internal Server Error</h1>"),
        "/2025/lent": (200, {**html, "X-Sleep": "5"}, page("OpenAI lent", ARTICLE_TEXT).encode()),
        "/2025/vide": (200, html, b""),
        "/2025/que-du-boilerplate": (200, html, page("Accueil", ["Partager l'article", "Newsletter", "© 2025"]).encode()),
        "/2025/tronque": (200, html, page("OpenAI tronqué", ARTICLE_TEXT).encode()[:300]),
        "/2025/latin1-sans-charset": (200, {"Content-Type": "text/html"}, latin.replace('<meta charset="x">', "").encode("latin-1")),
        "/2025/cp1252-mal-declare": (200, html, page(CP1252_TITLE, CP1252_TEXT).encode("cp1252")),
        "/sitemap-bombe.xml": (200, {"Content-Type": "application/xml"}, entity_bomb.encode()),
        "/sitemap-xxe.xml": (200, {"Content-Type": "application/xml"}, xxe.encode()),
        "/sitemap-casse.xml.gz": (200, {"Content-Type": "application/gzip"}, b"\x1f\x8b\x08\x00garbage"),
        "/feed.xml": (200, {"Content-Type": "application/rss+xml"}, feed.encode()),
    }


class HostileSite:
    """Serves `routes()` on 127.0.0.1; records every path requested."""

    def __init__(self) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                site.requested.append(self.path)
                status, headers, body = site.routes.get(self.path.split("?")[0], (404, {}, b"not found"))
                if "X-Sleep" in headers:
                    time.sleep(float(headers["X-Sleep"]))
                if "X-Loop" in headers:
                    headers = {"Location": self.path + ("&" if "?" in self.path else "?") + "n"}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.routes = routes(self.base)
        self.requested: list[str] = []
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HostileSite, CrawlResult]]:
    site = HostileSite()
    seeds = tmp_path_factory.mktemp("seeds") / "hostile.yaml"
    seeds.write_text(
        "name: hostile\n"
        "sites:\n"
        "  - name: hostile\n"
        f"    start_urls: ['{site.base}/']\n"
        f"    feeds: ['{site.base}/feed.xml']\n"
        f"    sitemaps: ['{site.base}/sitemap-bombe.xml', '{site.base}/sitemap-xxe.xml', '{site.base}/sitemap-casse.xml.gz']\n"
    )
    try:
        result = crawl(
            seeds, tmp_path_factory.mktemp("out"),
            "DOWNLOAD_MAXSIZE=1000000", "DOWNLOAD_WARNSIZE=500000", "DOWNLOAD_TIMEOUT=2", "RETRY_TIMES=1",
            "EXTRACT_MIN_WORDS=50",
        )  # fmt: skip
        yield site, result
    finally:
        site.close()


def test_the_crawl_survives_every_bad_input(hostile_crawl: tuple[HostileSite, CrawlResult]) -> None:
    _, result = hostile_crawl
    assert result.returncode == 0, result.log[-3000:]
    assert result.manifest["finish_reason"] == "finished"
    assert "Traceback" not in result.log
    assert result.stats.get("log_count/CRITICAL", 0) == 0


def test_only_real_articles_become_records_without_mojibake(hostile_crawl: tuple[HostileSite, CrawlResult]) -> None:
    _, result = hostile_crawl
    records = {Path(r["url"]).name: r for r in result.records()}
    expected = {
        "article-reel": ("OpenAI rejette l’offre de Musk", ARTICLE_TEXT),
        "latin1-sans-charset": (LATIN1_TITLE, LATIN1_TEXT),
        "cp1252-mal-declare": (CP1252_TITLE, CP1252_TEXT),
    }
    assert sorted(records) == sorted(expected), "the real article and both mis-encoded ones, nothing else"
    for name, (title, paragraphs) in expected.items():
        assert records[name]["title"] == title, "no mojibake"
        assert records[name]["text"].split("\n") == paragraphs, "no mojibake"


@pytest.mark.parametrize(
    ("bad_input", "counter", "expected"),
    [
        ("PDF served as text/html", "crawl/skipped/non_html/pdf", 1),
        ("image served as text/html", "crawl/skipped/non_html/image", 1),
        ("JSON served as text/html", "crawl/skipped/non_html/json", 1),
        ("page over DOWNLOAD_MAXSIZE", "crawl/failed/DownloadCancelledError", 1),
        ("gzip bomb", "crawl/failed/too_large", 1),
        ("404: the missing page and the XXE sitemap's entry, its entity left unresolved", "crawl/failed/http_404", 2),
        ("500, retried then given up", "crawl/failed/http_500", 1),
        ("timeout, retried then given up", "crawl/failed/DownloadTimeoutError", 1),
        ("redirect loop", "crawl/failed/redirect_loop", 1),
        ("empty page", "crawl/skipped/empty", 1),
        ("boilerplate-only page, and the page truncated in its first paragraph", "extract/too_short", 2),
        ("missing charset, wrong charset", "crawl/encoding_fallback", 2),
        ("feed items: no link, javascript:, ftp:, truncated", "crawl/feed/bad_entry", 4),
        ("corrupt gzip sitemap, and the entity bomb's empty <loc>", "crawl/sitemap/invalid_or_empty", 2),
    ],
)
def test_each_bad_input_is_counted(
    hostile_crawl: tuple[HostileSite, CrawlResult], bad_input: str, counter: str, expected: int
) -> None:
    _, result = hostile_crawl
    assert result.stats.get(counter) == result.stats.get(f"sites/hostile/{counter}") == expected, bad_input


def test_hostile_xml_is_neither_expanded_nor_allowed_to_read_files(hostile_crawl: tuple[HostileSite, CrawlResult]) -> None:
    site, result = hostile_crawl
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "\x00"
    assert not any(hostname in path for path in site.requested), "external entity resolved"
    assert not any("lollol" in path for path in site.requested), "entities expanded"
    assert result.stats.get("memusage/max", 0) < 1_500_000_000


def test_non_http_links_are_never_followed(hostile_crawl: tuple[HostileSite, CrawlResult]) -> None:
    _, result = hostile_crawl
    assert "etc/passwd" not in json.dumps([r["text"] for r in result.records()])
    assert "file:///etc/passwd" not in result.log.replace("not an http(s) URL: file:///etc/passwd", "")
