"""Hostile hosts on loopback for rate limits and crawler traps, one host per case (127.0.0.<120+i>, ephemeral port).

- `ratelimit-seconds`: serves one page every WINDOW seconds; earlier requests get 429 with `Retry-After: <seconds>`.
- `ratelimit-date`: the same, `Retry-After` as an HTTP-date.
- `ratelimit-forever`: refuses every article with 429 and `Retry-After: 1`.
- `unavailable`: answers 503 (no Retry-After) for DOWN_FOR seconds from the first article request, then the page.
- `calendar`: a start page linking to real articles and to an endless agenda, every agenda page linking to WIDTH
  deeper ones (`/agenda/j01/j02/…`), each only a list of links.
- `contentfarm`: endless undeclared article pages, each linking to WIDTH more (a site wider than any budget).

Feeds and robots.txt are always served. Every request is logged with its host and status.

    with serve() as farm:
        farm.write_seeds(path, budgets={"contentfarm": 30})
        ... crawl ...
        farm.requests("calendar")  # requests answered, robots.txt left out
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Protocol

import yaml

from tests.support import newsfarm
from tests.support.http import serving

WINDOW = 2.0  # seconds between two pages a rate-limited host serves
DOWN_FOR = 5.0  # seconds an unavailable host answers 503: longer than Scrapy's immediate retries last
WIDTH = 20  # links per agenda or content-farm page
ARTICLES = 3  # articles per host, the content farm aside
HTML = "text/html; charset=utf-8"
Answer = tuple[int, dict[str, str], str]  # status, headers, body


class Behaviour(Protocol):
    def answer(self, path: str) -> Answer: ...


def _page(title: str, body: str, head: str = "") -> str:
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{html.escape(title)}</title>{head}'
            f"</head><body>{body}</body></html>")  # fmt: skip


@dataclass
class Articles:
    """A host's articles: their pages and a feed that lists them (the feed is never refused)."""

    outlet: str
    base: str
    items: list[newsfarm.FarmArticle]

    def page(self, path: str) -> str | None:
        article = next((a for a in self.items if a.path == path), None)
        return newsfarm.article_page(self.outlet, self.base + path, article) if article else None

    def answer(self, path: str) -> Answer:
        if path == "/feed/":
            return 200, {"Content-Type": "application/rss+xml"}, newsfarm.feed(self.outlet, self.base, self.items)
        page = self.page(path)
        return (200, {"Content-Type": HTML}, page) if page else (404, {"Content-Type": "text/plain"}, "not found")


@dataclass
class RateLimited:
    """One page every `window` seconds; a request before then is refused with 429 and how long to wait."""

    articles: Articles
    http_date: bool
    window: float = WINDOW
    next_allowed: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str) -> Answer:
        with self.lock:
            now = time.time()
            if now < self.next_allowed:
                if self.http_date:  # whole seconds: the date said is the time the host lets the client in
                    when = dt.datetime.fromtimestamp(self.next_allowed, dt.UTC)
                    retry_after = format_datetime(when, usegmt=True)
                else:
                    retry_after = str(math.ceil(self.next_allowed - now))
                return 429, {"Content-Type": "text/plain", "Retry-After": retry_after}, "Too Many Requests"
            self.next_allowed = math.ceil(now + self.window) if self.http_date else now + self.window
        return self.articles.answer(path)


@dataclass
class AlwaysLimited:
    """Refuses every article with 429 and `Retry-After: 1`, whatever the client does: a source that stays throttled."""

    articles: Articles

    def answer(self, path: str) -> Answer:
        if self.articles.page(path) is not None:
            return 429, {"Content-Type": "text/plain", "Retry-After": "1"}, "Too Many Requests"
        return self.articles.answer(path)


@dataclass
class Unavailable:
    """Answers 503, without Retry-After, for `down_for` seconds from the first article request (a site restarting)."""

    articles: Articles
    down_for: float = DOWN_FOR
    since: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str) -> Answer:
        if self.articles.page(path) is not None:
            with self.lock:
                now = time.monotonic()
                self.since = now if self.since is None else self.since
                if now < self.since + self.down_for:
                    return 503, {"Content-Type": "text/html"}, _page("Service Unavailable", "<h1>503</h1>")
        return self.articles.answer(path)


@dataclass
class Calendar:
    """A start page with real articles and an endless agenda: every agenda page lists `width` deeper days."""

    articles: Articles
    width: int = WIDTH

    def answer(self, path: str) -> Answer:
        days = range(1, self.width + 1)
        if path == "/":
            links = [f'<li><a href="{a.path}">{html.escape(a.title)}</a></li>' for a in self.articles.items]
            links += [f'<li><a href="/agenda/j{day:02}/">Agenda : jour {day}</a></li>' for day in days]
            return 200, {"Content-Type": HTML}, _page("Accueil", f"<h1>Accueil</h1><ul>{''.join(links)}</ul>")
        if path.startswith("/agenda/"):
            links = [f'<li><a href="{path}j{day:02}/">Événements du jour {day}</a></li>' for day in days]
            return 200, {"Content-Type": HTML}, _page(f"Agenda {path}", f"<h1>Agenda</h1><ul>{''.join(links)}</ul>")
        return self.articles.answer(path)


@dataclass
class ContentFarm:
    """Endless dated article pages, each linking to `width` more (no og:type or JSON-LD: their links are followed)."""

    texts: list[newsfarm.FarmArticle]
    width: int = WIDTH

    def answer(self, path: str) -> Answer:
        story = re.fullmatch(r"/story/(\d+)/", path)
        if path != "/" and not story:
            return 404, {"Content-Type": "text/plain"}, "not found"
        number = int(story[1]) if story else 0
        following = range(number * self.width + 1, (number + 1) * self.width + 1)
        links = "".join(f'<li><a href="/story/{n}/">Suite {n}</a></li>' for n in following)
        text = self.texts[number % len(self.texts)]
        body = "".join(f"<p>{html.escape(p)}</p>" for p in text.paragraphs)
        title = f"{text.title} — {number}"
        date = f'<meta property="article:published_time" content="{text.published.isoformat()}T08:00:00+00:00">'
        page = _page(title, f"<article><h1>{html.escape(title)}</h1>{body}</article><nav><ul>{links}</ul></nav>", date)
        return 200, {"Content-Type": HTML}, page


@dataclass
class LimitsFarm:
    """The running hosts: their base URLs, what each serves, and the log of every request."""

    base_urls: dict[str, str] = field(default_factory=dict)
    articles: dict[str, list[newsfarm.FarmArticle]] = field(default_factory=dict)
    request_log: list[tuple[str, str, int]] = field(default_factory=list)  # (host name, path, status)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, host: str, path: str, status: int) -> None:
        with self._lock:
            self.request_log.append((host, path, status))

    def requests(self, host: str) -> int:
        """Requests the host answered, robots.txt left out."""
        with self._lock:
            return sum(1 for name, path, _ in self.request_log if name == host and path != "/robots.txt")

    def statuses(self, host: str) -> Counter[int]:
        with self._lock:
            return Counter(status for name, path, status in self.request_log
                           if name == host and path != "/robots.txt")  # fmt: skip

    def url(self, host: str, article: newsfarm.FarmArticle) -> str:
        return self.base_urls[host] + article.path

    def write_seeds(
        self, path: Path, hosts: list[str], name: str = "limits", budgets: dict[str, int] | None = None
    ) -> Path:
        sites = []
        for host in hosts:
            base = self.base_urls[host]
            site: dict[str, object] = {"name": host}
            if host in ("calendar", "contentfarm"):
                site["start_urls"] = [f"{base}/"]
            else:
                site["feeds"] = [f"{base}/feed/"]
            if budgets and host in budgets:
                site["max_requests"] = budgets[host]
            sites.append(site)
        path.write_text(yaml.safe_dump({"name": name, "sites": sites}, sort_keys=False), encoding="utf-8")
        return path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    farm: LimitsFarm
    host_name: str
    behaviour: Behaviour


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/robots.txt":
            status, headers, body = 200, {"Content-Type": "text/plain"}, "User-agent: *\nAllow: /\n"
        else:
            status, headers, body = self.server.behaviour.answer(path)
        self.server.farm.log(self.server.host_name, path, status)
        data = body.encode("utf-8")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Requests go to LimitsFarm.request_log."""


HOSTS = ("ratelimit-seconds", "ratelimit-date", "ratelimit-forever", "unavailable", "calendar", "contentfarm")


@contextmanager
def serve() -> Iterator[LimitsFarm]:
    """Serve every host of HOSTS until the block ends."""
    farm = LimitsFarm()
    texts = newsfarm.generate(articles=ARTICLES * len(HOSTS) + 40, clusters=0, seed=19)
    with ExitStack() as stack:
        for i, host in enumerate(HOSTS):
            server = _Server((f"127.0.0.{120 + i}", 0), _Handler)
            base = farm.base_urls[host] = f"http://127.0.0.{120 + i}:{server.server_address[1]}"
            items = farm.articles[host] = texts[i * ARTICLES : (i + 1) * ARTICLES] if host != "contentfarm" else []
            articles = Articles(host, base, items)
            behaviours: dict[str, Behaviour] = {
                "ratelimit-seconds": RateLimited(articles, http_date=False),
                "ratelimit-date": RateLimited(articles, http_date=True),
                "ratelimit-forever": AlwaysLimited(articles),
                "unavailable": Unavailable(articles),
                "calendar": Calendar(articles),
                "contentfarm": ContentFarm(texts[ARTICLES * len(HOSTS) :]),
            }
            server.farm, server.host_name, server.behaviour = farm, host, behaviours[host]
            stack.enter_context(serving(server, f"limits-{host}"))
        yield farm
