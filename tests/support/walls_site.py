"""A hostile farm on loopback: one host per way a real news site answers with something that is not an article.

Every case is its own host (127.0.0.<140+i>, ephemeral port) and answers by `phase` (1 or 2, set by the test
between two crawls), so a case can change between runs: a consent wall that serves the real articles next
run, a source that silently stops. Articles are the news farm's (distinct texts from the demo's sentences).

    with serve() as site:
        site.write_seeds(path)
        ... crawl ...; site.phase = 2; ... crawl again ...
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from tests.support.newsfarm import FarmArticle, generate, sitemap
from tests.support.http import serving

HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = HTML
    headers: tuple[tuple[str, str], ...] = ()


def article_page(article: FarmArticle, url: str, paragraphs: list[str] | None = None, **jsonld: object) -> str:
    """A declared news article (JSON-LD NewsArticle, og:type), with `jsonld` added to its JSON-LD."""
    title, date = html.escape(article.title), article.published.isoformat()
    data = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": article.title,
                       "datePublished": f"{date}T08:00:00+00:00", **jsonld})  # fmt: skip
    body = "".join(f"<p>{html.escape(p)}</p>" for p in (article.paragraphs if paragraphs is None else paragraphs))
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
            f'<link rel="canonical" href="{url}"><meta property="og:type" content="article">'
            f'<script type="application/ld+json">{data}</script></head>'
            f'<body><main><article><h1>{title}</h1><p class="byline">Par la rédaction, le {date}</p>{body}'
            f"</article></main></body></html>")  # fmt: skip


# A consent-management platform's wall, as French outlets serve it in place of every article until consent.
CONSENT_PAGE = (
    '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Vos choix concernant l\'utilisation de cookies'
    '</title><meta name="date" content="2025-02-01"></head><body><div id="didomi-host"><div class="didomi-popup">'
    "<h1>Vos choix concernant l'utilisation de cookies</h1>"
    "<p>Avec votre accord, nous et nos 842 partenaires utilisons des cookies ou technologies similaires pour stocker, "
    "consulter et traiter des données personnelles telles que votre visite sur ce site internet, les adresses IP et "
    "les identifiants de cookie.</p>"
    "<p>Certains partenaires ne vous demandent pas votre consentement pour traiter vos données et se fondent sur leur "
    "intérêt commercial légitime. À tout moment, vous pouvez retirer votre consentement ou vous opposer au traitement "
    "des données fondé sur l'intérêt légitime en cliquant sur « En savoir plus » ou dans notre politique de "
    "confidentialité sur ce site internet.</p>"
    "<p>Nous et nos partenaires traitons les données pour les finalités suivantes : stocker et/ou accéder à des "
    "informations sur un appareil, publicités et contenu personnalisés, mesure de performance des publicités et du "
    "contenu, études d'audience et développement de services.</p>"
    "<p>Vous pouvez modifier vos choix à tout moment en cliquant sur le lien Paramétrer les cookies en bas de chaque "
    "page de ce site, sans que cela affecte la licéité du traitement fondé sur le consentement avant le retrait.</p>"
    "<p>Accepter et fermer</p><p>Continuer sans accepter</p><p>Paramétrer les cookies</p></div></div></body></html>"
)
SOFT_404_PAGE = (
    '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Page introuvable – Le Quotidien</title>'
    '<meta name="date" content="2025-02-01"></head><body><main><h1>Page introuvable</h1>'
    "<p>Nous sommes désolés, la page que vous avez demandée n'existe pas, n'existe plus ou a changé d'adresse. Il est "
    "possible que le lien que vous avez suivi soit ancien, qu'il contienne une faute de frappe ou que l'article ait "
    "été retiré à la demande de son auteur ou de la rédaction.</p>"
    "<p>Pour retrouver ce que vous cherchiez, vous pouvez utiliser le moteur de recherche du site, parcourir nos "
    "rubriques depuis la page d'accueil ou consulter les archives de la rédaction, classées par date de publication "
    "et par thème, depuis la création du journal en ligne.</p>"
    "<p>Si vous pensez qu'il s'agit d'une erreur de notre part, vous pouvez écrire au service des lecteurs, qui vous "
    "répondra dans les meilleurs délais et corrigera le lien si nécessaire.</p></main></body></html>"
)
AWS_WAF_PAGE = ('<!doctype html><html><head><meta charset="utf-8"><title></title>'
                '<script src="https://7b1e.edge.sdk.awswaf.com/7b1e/challenge.js"></script></head>'
                "<body><noscript>JavaScript is disabled</noscript></body></html>")  # fmt: skip
CLOUDFLARE_PAGE = ('<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head><body>'
                   "<noscript>Enable JavaScript and cookies to continue</noscript>"
                   "<script>window._cf_chl_opt={cvId: '3', cZone: 'example.org', cType: 'managed'};</script>"
                   "</body></html>")  # fmt: skip
# A JavaScript application's shell: what a source that moved its articles behind an app serves.
APP_SHELL = '<!doctype html><html><head><title>Le Journal</title></head><body><div id="root"></div></body></html>'


def agenda_page(month: int) -> str:
    """A month of an agenda: dated, and nothing but links (two words each)."""
    links = "".join(f'<li><a href="#e{n}">Événement {month}-{n}</a></li>' for n in range(45))
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Agenda 2025-{month:02d}</title>'
            f'<meta name="date" content="2025-{month:02d}-01"></head><body><main><h1>Agenda</h1><ul>{links}</ul>'
            "</main></body></html>")  # fmt: skip


Route = Callable[[str, int], Answer | None]  # (path, phase) -> answer, None for a 404


@dataclass
class Case:
    """One hostile host: how its seeds list it, and how it answers."""

    name: str
    route: Route
    entry: str = "sitemaps"  # or start_urls
    base: str = ""
    articles: list[FarmArticle] = field(default_factory=list)

    def url(self, article: FarmArticle) -> str:
        return self.base + article.path


def _sitemap_of(case: Case, items: list[FarmArticle]) -> Answer:
    return Answer(200, sitemap(case.base, items), "application/xml")


def _cases(pool: Iterator[FarmArticle]) -> list[Case]:
    def take(n: int) -> list[FarmArticle]:
        return [next(pool) for _ in range(n)]

    cases: list[Case] = []

    def case(name: str, articles: int = 0, entry: str = "sitemaps") -> Callable[[Route], Route]:
        def register(route: Route) -> Route:
            cases.append(Case(name, route, entry, articles=take(articles)))
            return route

        return register

    def this(name: str) -> Case:
        return next(c for c in cases if c.name == name)

    def articles_or(name: str, path: str, page: Callable[[FarmArticle], Answer]) -> Answer | None:
        known = this(name)
        if path == "/sitemap.xml":
            return _sitemap_of(known, known.articles)
        article = next((a for a in known.articles if a.path == path), None)
        return page(article) if article else None

    @case("consent", 3)
    def consent(path: str, phase: int) -> Answer | None:
        return articles_or("consent", path, lambda a: Answer(200, CONSENT_PAGE))

    @case("waf", 3)
    def waf(path: str, phase: int) -> Answer | None:
        return Answer(202, AWS_WAF_PAGE, headers=(("x-amzn-waf-action", "challenge"),))

    @case("cloudflare", 3)
    def cloudflare(path: str, phase: int) -> Answer | None:
        return articles_or("cloudflare", path, lambda a: Answer(403, CLOUDFLARE_PAGE, headers=(("Server", "cloudflare"),)))

    @case("paywall", 2)
    def paywall(path: str, phase: int) -> Answer | None:
        known = this("paywall")
        teaser, full = known.articles

        def page(article: FarmArticle) -> Answer:
            body = [" ".join(article.paragraphs[0].split()[:45])] if article is teaser else None
            return Answer(200, article_page(article, known.url(article), body, isAccessibleForFree=False))

        return articles_or("paywall", path, page)

    @case("soft404", 3)
    def soft404(path: str, phase: int) -> Answer | None:
        return articles_or("soft404", path, lambda a: Answer(200, SOFT_404_PAGE))

    @case("flip", 5)
    def flip(path: str, phase: int) -> Answer | None:
        known = this("flip")
        return articles_or("flip", path, lambda a: Answer(200, CONSENT_PAGE if phase == 1 else
                                                           article_page(a, known.url(a))))  # fmt: skip

    @case("agenda", entry="start_urls")
    def agenda(path: str, phase: int) -> Answer | None:
        if path == "/":
            months = "".join(f'<li><a href="/agenda/2025-{m:02d}/">Agenda 2025-{m:02d}</a></li>' for m in range(1, 7))
            return Answer(200, f"<!doctype html><html><head><title>Sorties</title></head><body><ul>{months}</ul>"
                               "</body></html>")  # fmt: skip
        months = {f"/agenda/2025-{m:02d}/": m for m in range(1, 7)}
        return Answer(200, agenda_page(months[path])) if path in months else None

    @case("huge", 1)
    def huge(path: str, phase: int) -> Answer | None:
        known = this("huge")
        paragraph = " ".join(f"mot{n % 5000} de remplissage" for n in range(70_000))  # ~210,000 words, 1.7 MB
        return articles_or("huge", path, lambda a: Answer(200, article_page(a, known.url(a), [paragraph])))

    @case("vanish", 5)
    def vanish(path: str, phase: int) -> Answer | None:
        known = this("vanish")
        first, later = known.articles[:3], known.articles[3:]
        if path == "/sitemap.xml":
            return _sitemap_of(known, first if phase == 1 else later)
        article = next((a for a in known.articles if a.path == path), None)
        if article is None:
            return None
        return Answer(200, article_page(article, known.url(article)) if article in first else APP_SHELL)

    return cases


@dataclass
class WallsSite:
    cases: list[Case]
    phase: int = 1
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # (case, path, status)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def case(self, name: str) -> Case:
        return next(case for case in self.cases if case.name == name)

    def write_seeds(self, path: Path, name: str = "walls") -> Path:
        sites = [{"name": case.name, case.entry: [case.base + ("/sitemap.xml" if case.entry == "sitemaps" else "/")]}
                 for case in self.cases]  # fmt: skip
        path.write_text(yaml.safe_dump({"name": name, "sites": sites}, allow_unicode=True))
        return path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: WallsSite
    case: Case


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        answer = (Answer(200, "User-agent: *\nAllow: /\n", "text/plain") if path == "/robots.txt" and
                  self.server.case.name != "waf" else self.server.case.route(path, self.server.site.phase))  # fmt: skip
        answer = answer or Answer(404, "not found", "text/plain")
        with self.server.site._lock:
            self.server.site.requests.append((self.server.case.name, path, answer.status))
        data = answer.body.encode("utf-8")
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Requests go to WallsSite.requests."""


@contextmanager
def serve() -> Iterator[WallsSite]:
    """Serve every case on its own loopback host until the block ends."""
    site = WallsSite(_cases(iter(generate(articles=40, clusters=0))))
    with ExitStack() as stack:
        for index, case in enumerate(site.cases):
            server = _Server((f"127.0.0.{140 + index}", 0), _Handler)
            server.site, server.case = site, case
            case.base = f"http://127.0.0.{140 + index}:{server.server_address[1]}"
            stack.enter_context(serving(server, f"walls-{case.name}"))
        yield site


__all__ = ["Answer", "Case", "WallsSite", "serve"]
