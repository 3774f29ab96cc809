"""The demo outlets: static configuration (`OutletSpec`) and a running outlet's URLs (`OutletSite`)."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

from demo.content import Article, slugify

AGGREGATOR = "veille-presse"
BAD_INPUTS_OUTLET = "univers-telecom"


@dataclass(frozen=True)
class OutletSpec:
    """How one outlet looks and where it puts things."""

    name: str
    label: str
    host: str
    theme: str
    tagline: str
    url_style: str  # see `OutletSite.article_path`
    feed_format: str = "rss"  # "rss" or "atom"
    amp: bool = True
    print_version: bool = False
    doubled_body: bool = False  # the article template renders the body twice
    category_prefix: str = "/category/"
    tag_prefix: str = "/tag/"
    author_prefix: str = "/auteur/"
    contact_path: str = "/contact/"
    legal_path: str = "/mentions-legales/"
    search_path: str = "/recherche/"
    home_tracking: str = ""  # query added to the home page's "most shared" links
    feed_tracking: str = ""  # query added to the links of the feed
    gzip_type: str = "application/gzip"
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()


SPECS: tuple[OutletSpec, ...] = (
    OutletSpec(
        name="techvibe",
        label="TechVibe",
        host="127.0.0.11",
        theme="wordpress",
        tagline="L'actu tech, sans filtre",
        url_style="wp-date",
        print_version=True,
        author_prefix="/author/",
        search_path="/search/",
        home_tracking="utm_source=twitter&utm_medium=social",
        deny=("/tag/", "/author/", "/category/"),
    ),
    OutletSpec(
        name="eco-numerique",
        label="L'Éco Numérique",
        host="127.0.0.12",
        theme="divsoup",
        tagline="Économie, entreprises et innovation",
        url_style="html-id",
        doubled_body=True,
        category_prefix="/rubrique/",
        tag_prefix="/mot-cle/",
        contact_path="/nous-contacter/",
        feed_tracking="xtor=RSS-1",
        gzip_type="application/x-gzip",
        allow=(r"/actualites/[a-z0-9-]+-\d+\.html",),
    ),
    OutletSpec(
        name="fusions-hebdo",
        label="Fusions Hebdo",
        host="127.0.0.13",
        theme="classic",
        tagline="Fusions, acquisitions et capital-investissement",
        url_style="id-slug",
        print_version=True,
        doubled_body=True,
        category_prefix="/rubrique/",
        deny=("/tag/", "/auteur/"),
    ),
    OutletSpec(
        name="blog-ia",
        label="Le Blog IA",
        host="127.0.0.14",
        theme="microdata",
        tagline="Intelligence artificielle, data et futur du travail",
        url_style="flat",
        author_prefix="/author/",
        search_path="/search/",
        deny=("/tag/", "/author/", "/category/"),
    ),
    OutletSpec(
        name="univers-telecom",
        label="Univers Télécom",
        host="127.0.0.15",
        theme="newspaper",
        tagline="Toute l'actualité des opérateurs, des box et du mobile",
        url_style="news-month",
        feed_format="atom",
        print_version=True,
        home_tracking="utm_source=newsletter&utm_medium=email&utm_campaign=hebdo",
        deny=("/tag/", "/auteur/", "/category/", "/wp-content/"),
    ),
    OutletSpec(
        name=AGGREGATOR,
        label="Veille Presse",
        host="127.0.0.16",
        theme="aggregator",
        tagline="Le meilleur de la presse tech, chaque jour",
        url_style="revue",
        amp=False,
        category_prefix="/theme/",
        deny=("/tag/", "/auteur/", "/theme/"),
    ),
)


def numeric_id(slug: str) -> int:
    """A stable five-digit id for URL schemes that carry one."""
    return zlib.crc32(slug.encode()) % 90000 + 10000


@dataclass
class OutletSite:
    """A running outlet: its spec, its bound base URL and the articles it serves on the current day."""

    spec: OutletSpec
    base: str
    articles: list[Article] = field(default_factory=list)  # listed, newest first
    unlisted: list[Article] = field(default_factory=list)  # served as planted bad pages only
    attributions: dict[str, tuple[str, str]] = field(default_factory=dict)  # article key -> (outlet, URL)

    def url(self, path: str) -> str:
        return self.base + path

    def path(self, url: str) -> str:
        """The path of one of this outlet's absolute URLs."""
        return url.removeprefix(self.base)

    def article_path(self, art: Article) -> str:
        d, slug = art.published, art.slug
        return {
            "wp-date": f"/{d:%Y/%m/%d}/{slug}/",
            "html-id": f"/actualites/{slug}-{numeric_id(slug)}.html",
            "id-slug": f"/article/{numeric_id(slug)}/{slug}",
            "flat": f"/{slug}/",
            "news-month": f"/actualites/{d:%Y/%m}/{slug}/",
            "revue": f"/revue/{d:%Y-%m-%d}/{slug}/",
        }[self.spec.url_style]

    def amp_path(self, art: Article) -> str:
        path = self.article_path(art)
        return path + "amp/" if path.endswith("/") else "/amp" + path

    def article_url(self, art: Article) -> str:
        return self.url(self.article_path(art))

    def amp_url(self, art: Article) -> str:
        return self.url(self.amp_path(art))

    def print_url(self, art: Article) -> str:
        return self.article_url(art) + "?print=1"

    def category_url(self, category: str) -> str:
        return self.url(f"{self.spec.category_prefix}{slugify(category)}/")

    def tag_url(self, tag: str) -> str:
        return self.url(f"{self.spec.tag_prefix}{slugify(tag)}/")

    def author_url(self, author: str) -> str:
        return self.url(f"{self.spec.author_prefix}{slugify(author)}/")

    def page_url(self, number: int) -> str:
        return self.url("/" if number == 1 else f"/page/{number}/")

    def image_url(self, art: Article) -> str:
        return self.url(f"/images/{art.slug}.png")

    def link_target(self, ref: str) -> str:
        """Resolve an in-body link reference: "tag:NAME" or an absolute URL."""
        return self.tag_url(ref.removeprefix("tag:")) if ref.startswith("tag:") else ref

    @property
    def per_page(self) -> int:
        """Listing page size: the articles are spread over two pages (home and /page/2/)."""
        return max(1, math.ceil(len(self.articles) / 2))

    @property
    def pages(self) -> int:
        return max(1, math.ceil(len(self.articles) / self.per_page))

    def page_articles(self, number: int) -> list[Article]:
        return self.articles[(number - 1) * self.per_page : number * self.per_page]

    @property
    def categories(self) -> list[str]:
        return sorted({a.category for a in self.articles})

    @property
    def tags(self) -> list[str]:
        return sorted({t for a in self.articles for t in a.tags})

    @property
    def authors(self) -> list[str]:
        return sorted({a.author for a in self.articles})

    def others(self, art: Article, limit: int = 5) -> list[Article]:
        """The outlet's other listed articles, newest first (for "recent" and "most read" blocks)."""
        return [a for a in self.articles if a.key != art.key][:limit]

    def related(self, art: Article, limit: int = 3) -> list[Article]:
        """Other articles of the same category (for "related" blocks)."""
        return [a for a in self.others(art, len(self.articles)) if a.category == art.category][:limit]
