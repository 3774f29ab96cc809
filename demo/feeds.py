"""Machine-readable entry points of an outlet: RSS 2.0 / Atom feeds, sitemaps (plain, gzip, Google News), robots.txt."""

from __future__ import annotations

import gzip
from email.utils import format_datetime
from xml.sax.saxutils import escape

from demo.content import Article
from demo.outlets import OutletSite
from demo.templates import body_html

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


def _feed_link(o: OutletSite, art: Article) -> str:
    url = o.article_url(art)
    return f"{url}?{o.spec.feed_tracking}" if o.spec.feed_tracking else url


def rss(o: OutletSite) -> str:
    """RSS 2.0 with dc:creator; the WordPress-like theme also ships the full body in content:encoded."""
    items = []
    for art in o.articles:
        full = (f"<content:encoded><![CDATA[{body_html(o, art)}]]></content:encoded>"
                if o.spec.theme == "wordpress" else "")
        items.append(
            f"<item><title>{escape(art.title)}</title><link>{escape(_feed_link(o, art))}</link>"
            f'<guid isPermaLink="false">{escape(o.article_url(art))}</guid>'
            f"<pubDate>{format_datetime(art.published)}</pubDate><dc:creator>{escape(art.author)}</dc:creator>"
            f"<category>{escape(art.category)}</category><description>{escape(art.teaser)}</description>{full}</item>"
        )
    updated = format_datetime(o.articles[0].published) if o.articles else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
            f'<title>{escape(o.spec.label)}</title><link>{o.url("/")}</link>'
            f'<atom:link href="{o.url("/feed/")}" rel="self" type="application/rss+xml"/>'
            f"<description>{escape(o.spec.tagline)}</description><language>fr-FR</language>"
            f"<lastBuildDate>{updated}</lastBuildDate>{''.join(items)}</channel></rss>\n")


def atom(o: OutletSite) -> str:
    entries = "".join(
        f"<entry><title>{escape(a.title)}</title>"
        f'<link rel="alternate" type="text/html" href="{escape(_feed_link(o, a))}"/>'
        f"<id>{escape(o.article_url(a))}</id><published>{a.published.isoformat()}</published>"
        f"<updated>{a.published.isoformat()}</updated><author><name>{escape(a.author)}</name></author>"
        f'<category term="{escape(a.category)}"/><summary>{escape(a.teaser)}</summary></entry>'
        for a in o.articles
    )
    updated = o.articles[0].published.isoformat() if o.articles else ""
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">'
            f'<title>{escape(o.spec.label)}</title><subtitle>{escape(o.spec.tagline)}</subtitle>'
            f'<link rel="alternate" type="text/html" href="{o.url("/")}"/>'
            f'<link rel="self" type="application/atom+xml" href="{o.url("/feed/")}"/>'
            f"<id>{o.url('/')}</id><updated>{updated}</updated>{entries}</feed>\n")


def feed(o: OutletSite) -> tuple[str, str]:
    """The outlet's feed document and its content type."""
    if o.spec.feed_format == "atom":
        return atom(o), "application/atom+xml; charset=utf-8"
    return rss(o), "application/rss+xml; charset=utf-8"


def sitemap_index(o: OutletSite) -> str:
    lastmod = o.articles[0].published.isoformat() if o.articles else ""
    entries = "".join(f"<sitemap><loc>{o.url(path)}</loc><lastmod>{lastmod}</lastmod></sitemap>"
                      for path in ("/sitemap-posts.xml", "/sitemap-news.xml.gz"))
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">{entries}</sitemapindex>\n'


def sitemap_posts(o: OutletSite) -> str:
    entries = "".join(f"<url><loc>{escape(o.article_url(a))}</loc><lastmod>{a.published.isoformat()}</lastmod>"
                      "<changefreq>monthly</changefreq></url>" for a in o.articles)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">{entries}</urlset>\n'


def sitemap_news_gz(o: OutletSite) -> bytes:
    """Google News sitemap, gzip-compressed (fixed mtime so the bytes are reproducible)."""
    entries = "".join(
        f"<url><loc>{escape(o.article_url(a))}</loc><news:news><news:publication><news:name>{escape(o.spec.label)}"
        f"</news:name><news:language>fr</news:language></news:publication>"
        f"<news:publication_date>{a.published.isoformat()}</news:publication_date>"
        f"<news:title>{escape(a.title)}</news:title></news:news></url>"
        for a in o.articles
    )
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}" xmlns:news="{NEWS_NS}">'
           f"{entries}</urlset>\n")
    return gzip.compress(xml.encode(), mtime=0)


def robots(o: OutletSite) -> str:
    return (f"User-agent: *\nDisallow: {o.spec.search_path}\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\n"
            f"User-agent: GPTBot\nDisallow: /\n\nSitemap: {o.url('/sitemap.xml')}\n")
