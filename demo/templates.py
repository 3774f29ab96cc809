"""HTML of the demo outlets: one page template per outlet theme, wrapped in realistic boilerplate.

Every theme has a *shell* (head, header, navigation, footer) and an *article* template with its own
markup and metadata conventions. Boilerplate widgets (ads, share bar, newsletter, comments, related
lists…) are shared functions whose output each theme places differently.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import zlib
from collections.abc import Callable, Mapping
from urllib.parse import quote

from demo.content import Article, Block
from demo.outlets import OutletSite

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

ON_TOPIC_COMMENTS = (
    ("Marc_D", "Franchement, ce feuilleton est meilleur que la plupart des séries du moment. On attend la suite."),
    ("Nathalie B.", "Ce qui m'inquiète, c'est la gouvernance. Une structure à but non lucratif qui contrôle une "
                    "entreprise valorisée à ce niveau, ça ne peut pas durer éternellement."),
    ("geekos75", "Encore un coup de com'. Personne ne sort une somme pareille sur un coup de tête."),
    ("Pierre-Yves", "Merci pour l'article, clair et bien résumé. Petite coquille dans le deuxième paragraphe."),
    ("Sandrine", "Il y a d'autres acteurs en Europe qui mériteraient autant d'attention, non ?"),
    ("TheoDev", "La vraie question : qu'en pensent les salariés ? Ce sont eux qui font tourner la boutique."),
    ("Alain R.", "Article intéressant mais un peu partial à mon goût."),
    ("lucie_m", "Quelqu'un a le lien vers la déclaration complète ?"),
)
OFF_TOPIC_COMMENTS = (
    ("Jean-Luc", "Toujours pas de fibre chez moi, alors les nouveautés…"),
    ("Karine P.", "Merci pour le récap, très pratique."),
    ("Nico34", "Les prix augmentent mais la qualité ne suit pas toujours."),
    ("Fred", "Testé hier soir, ça marche plutôt bien sur ma télé."),
    ("Manon", "Vivement la suite !"),
    ("Olivier T.", "Il serait temps que ça bouge dans les campagnes."),
)


# --- small helpers -------------------------------------------------------------------------------------

def esc(text: str) -> str:
    """Escape text for an element body."""
    return html.escape(text, quote=False)


def attr(text: str) -> str:
    """Escape text for a double-quoted attribute."""
    return html.escape(text, quote=True)


def fr_date(d: dt.datetime) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def fr_date_time(d: dt.datetime) -> str:
    return f"{fr_date(d)} à {d:%Hh%M}"


def fr_long_date(d: dt.datetime) -> str:
    """Old-style visible date: "Mercredi 12 Février 2025 à 08h00"."""
    return f"{WEEKDAYS[d.weekday()].capitalize()} {d.day} {MONTHS[d.month - 1].capitalize()} {d.year} à {d:%Hh%M}"


def json_ld(data: Mapping[str, object]) -> str:
    payload = json.dumps(data, ensure_ascii=False, indent=1).replace("</", "<\\/")
    return f'<script type="application/ld+json">{payload}</script>'


def pick(key: str, count: int, pool: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """A deterministic selection of `count` entries of `pool` for the article `key`."""
    start = zlib.crc32(key.encode()) % len(pool)
    return [pool[(start + i) % len(pool)] for i in range(count)]


# --- article body ----------------------------------------------------------------------------------------

def _linked(o: OutletSite, text: str, links: dict[str, str], used: set[str]) -> str:
    out = esc(text)
    for phrase, ref in links.items():
        if phrase not in used and esc(phrase) in out:
            used.add(phrase)
            out = out.replace(esc(phrase), f'<a href="{attr(o.link_target(ref))}">{esc(phrase)}</a>', 1)
    return out


def _figure(o: OutletSite, art: Article, caption: str) -> str:
    label, sep, source = caption.rpartition("Source : ")
    credit = f'{esc(label)}Source : <a href="https://x.com/" rel="nofollow">{esc(source)}</a>' if sep else esc(caption)
    return (f'<figure class="wp-block-image size-large"><img src="{o.image_url(art)}" alt="" loading="lazy" '
            f'width="1200" height="675"><figcaption>{credit}</figcaption></figure>')


def _tweet(block: Block) -> str:
    handle = re.search(r"@(\w+)", block.author)
    profile = f"https://x.com/{handle.group(1)}" if handle else "https://x.com/"
    return (f'<blockquote class="twitter-tweet" data-lang="fr"><p lang="en" dir="ltr">{esc(block.text)}</p>'
            f'&mdash; {esc(block.author)} <a href="{profile}">{esc(block.date)}</a></blockquote>'
            '<script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>')


def body_html(o: OutletSite, art: Article, inserts: dict[int, str] | None = None, h2_class: str = "") -> str:
    """The article's blocks as HTML, with `inserts` (block index -> HTML) placed after those blocks."""
    used: set[str] = set()
    parts: list[str] = []
    h2 = f'<h2 class="{h2_class}">' if h2_class else "<h2>"
    for i, block in enumerate(art.blocks):
        if block.kind == "p":
            parts.append(f"<p>{_linked(o, block.text, art.links, used)}</p>")
        elif block.kind == "h2":
            parts.append(f"{h2}{esc(block.text)}</h2>")
        elif block.kind == "figure":
            parts.append(_figure(o, art, block.text))
        else:
            parts.append(_tweet(block))
        if inserts and i in inserts:
            parts.append(inserts[i])
    return "\n".join(parts)


# --- boilerplate widgets -------------------------------------------------------------------------------

def ad(label: str = "Publicité", slot: str = "banner") -> str:
    return (f'<div class="ad-slot ad-{slot}" data-ad-unit="/2215/{slot}"><span class="ad-label">{label}</span>'
            '<div class="ad-placeholder" style="min-height:250px"></div></div>')


def share_bar(url: str, title: str, lead: str = "Partager l'article") -> str:
    u, t = quote(url, safe=""), quote(title, safe="")
    return (f'<div class="share-buttons"><span class="share-label">{lead} :</span>'
            f'<a class="share-facebook" href="https://www.facebook.com/sharer/sharer.php?u={u}" rel="nofollow">'
            "Facebook</a>"
            f'<a class="share-x" href="https://twitter.com/intent/tweet?url={u}&amp;text={t}" rel="nofollow">X</a>'
            f'<a class="share-linkedin" href="https://www.linkedin.com/sharing/share-offsite/?url={u}" rel="nofollow">'
            "LinkedIn</a>"
            f'<a class="share-mail" href="mailto:?subject={t}&amp;body={u}">E-mail</a></div>')


def newsletter_box(o: OutletSite) -> str:
    return (f'<div class="newsletter-box" id="newsletter"><h3>La newsletter {esc(o.spec.label)}</h3>'
            "<p>Recevez chaque matin l'essentiel de l'actualité dans votre boîte mail. Gratuit, sans spam, "
            "désinscription en un clic.</p>"
            f'<form action="{o.url("/newsletter/")}" method="post"><input type="email" name="email" '
            'placeholder="Votre adresse e-mail" required><button type="submit">Je m\'inscris</button></form>'
            '<p class="newsletter-legal">En vous inscrivant, vous acceptez notre politique de confidentialité.</p>'
            "</div>")


def discord_promo() -> str:
    return ('<div class="discord-promo"><p>Envie de rejoindre une communauté de passionnés ? '
            '<a href="https://discord.com/" rel="nofollow">Notre Discord</a> vous accueille, c\'est un lieu '
            "d'entraide et de passion autour de la tech.</p></div>")


def affiliate_note() -> str:
    return ('<div class="affiliate-disclosure"><p>Notre blog est alimenté par les lecteurs. Lorsque vous achetez '
            "via des liens sur notre site, nous pouvons percevoir une commission d’affiliation.</p></div>")


def cookie_banner(o: OutletSite) -> str:
    return ('<div id="cookie-consent" class="cmp-banner" role="dialog"><p>Nous utilisons des cookies pour mesurer '
            f"l'audience et personnaliser les publicités. <a href=\"{o.url(o.spec.legal_path)}#cookies\">En savoir "
            'plus</a></p><button type="button">Tout accepter</button><button type="button">Continuer sans accepter'
            "</button></div>")


def author_box(o: OutletSite, art: Article) -> str:
    return (f'<div class="author-box"><img src="{o.url("/images/avatar.png")}" alt="" width="80" height="80">'
            f'<div class="author-info"><p class="author-name">'
            f'<a href="{o.author_url(art.author)}">{esc(art.author)}</a>'
            f'</p><p class="author-bio">{esc(author_bio(o, art.author))}</p></div></div>')


def author_bio(o: OutletSite, name: str) -> str:
    return f"{name} suit l'actualité pour {o.spec.label} depuis 2019. Contact : redaction@{o.spec.name}.example"


def teaser_list(o: OutletSite, heading: str, arts: list[Article], cls: str = "related-posts") -> str:
    if not arts:
        return ""
    items = "".join(
        f'<li><a href="{o.article_url(a)}">{esc(a.title)}</a><p class="excerpt">{esc(a.teaser)}</p>'
        f'<span class="date">{fr_date(a.published)}</span></li>'
        for a in arts
    )
    return f'<div class="{cls}"><h3>{esc(heading)}</h3><ul>{items}</ul></div>'


def title_list(o: OutletSite, heading: str, arts: list[Article], cls: str) -> str:
    """A ranked "most read" widget: titles only."""
    if not arts:
        return ""
    items = "".join(f'<li><a href="{o.article_url(a)}">{esc(a.title)}</a></li>' for a in arts)
    return f'<div class="{cls}"><h3>{esc(heading)}</h3><ol>{items}</ol></div>'


def inline_related(o: OutletSite, art: Article) -> str:
    """An "À lire aussi" box placed inside the article body."""
    others = o.others(art, 1)
    if not others:
        return ""
    return (f'<aside class="read-also"><strong>À lire aussi :</strong> <a href="{o.article_url(others[0])}">'
            f"{esc(others[0].title)}</a></aside>")


def comments_section(o: OutletSite, art: Article) -> str:
    pool = ON_TOPIC_COMMENTS if art.on_topic else OFF_TOPIC_COMMENTS
    chosen = pick(art.key, 3 + zlib.crc32(art.slug.encode()) % 3, pool)
    items = "".join(
        f'<li class="comment" id="comment-{100 + i}"><div class="comment-author"><b>{esc(name)}</b> '
        f'<span class="comment-date">{fr_date_time(art.published + dt.timedelta(hours=i + 1, minutes=7 * i))}</span>'
        f'</div><div class="comment-content"><p>{esc(text)}</p></div>'
        '<a class="comment-reply-link" href="#respond">Répondre</a></li>'
        for i, (name, text) in enumerate(chosen)
    )
    return (f'<section id="comments" class="comments-area"><h2 class="comments-title">{len(chosen)} commentaires</h2>'
            f'<ol class="comment-list">{items}</ol><div id="respond"><h3>Laisser un commentaire</h3>'
            f'<form action="{o.url("/commentaires/")}" method="post"><textarea name="comment"></textarea>'
            '<input name="author" placeholder="Nom"><button type="submit">Publier</button></form>'
            "<p>Votre adresse e-mail ne sera pas publiée.</p></div></section>")


def tag_links(o: OutletSite, art: Article, lead: str = "Tags") -> str:
    tags = ", ".join(f'<a href="{o.tag_url(t)}" rel="tag">{esc(t)}</a>' for t in art.tags)
    return f'<div class="tags-links"><span>{lead} :</span> {tags}</div>'


def legal_links(o: OutletSite) -> str:
    return (f'<a href="{o.url(o.spec.legal_path)}">Mentions légales</a> · '
            f'<a href="{o.url(o.spec.legal_path)}#donnees">Politique de confidentialité</a> · '
            f'<a href="{o.url(o.spec.contact_path)}">Contact</a> · '
            '<a href="javascript:void(0)" class="cmp-open">Gérer mes cookies</a>')


def copyright_line(o: OutletSite) -> str:
    return f"© 2025 {esc(o.spec.label)} — Tous droits réservés. Reproduction interdite sans autorisation."


def nav_links(o: OutletSite) -> str:
    cats = "".join(f'<li><a href="{o.category_url(c)}">{esc(c)}</a></li>' for c in o.categories)
    contact = f'<li><a href="{o.url(o.spec.contact_path)}">Contact</a></li>'
    return f'<li><a href="{o.url("/")}">Accueil</a></li>{cats}{contact}'


def search_form(o: OutletSite) -> str:
    return (f'<form role="search" method="get" class="search-form" action="{o.url(o.spec.search_path)}">'
            '<input type="search" name="q" placeholder="Rechercher…"><button type="submit">OK</button></form>')


def head_common(o: OutletSite, title: str) -> str:
    return ('<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title>"
            f'<link rel="stylesheet" href="{o.url("/assets/style.css")}">'
            "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
            "gtag('js',new Date());gtag('config','G-DEMO000');</script>")


def og_meta(o: OutletSite, art: Article, url: str, description: str) -> str:
    return (f'<meta property="og:locale" content="fr_FR"><meta property="og:type" content="article">'
            f'<meta property="og:title" content="{attr(art.title)}">'
            f'<meta property="og:description" content="{attr(description)}">'
            f'<meta property="og:url" content="{url}"><meta property="og:site_name" content="{attr(o.spec.label)}">'
            f'<meta property="og:image" content="{o.image_url(art)}">'
            '<meta name="twitter:card" content="summary_large_image">')


def article_links_head(o: OutletSite, art: Article) -> str:
    """rel=canonical, amphtml and feed discovery links."""
    amp = f'<link rel="amphtml" href="{o.amp_url(art)}">' if o.spec.amp else ""
    feed_type = "application/atom+xml" if o.spec.feed_format == "atom" else "application/rss+xml"
    return (f'<link rel="canonical" href="{o.article_url(art)}">{amp}'
            f'<link rel="alternate" type="{feed_type}" title="{attr(o.spec.label)}" href="{o.url("/feed/")}">')


def published_meta(art: Article) -> str:
    iso = art.published.isoformat()
    return (f'<meta property="article:published_time" content="{iso}">'
            f'<meta property="article:modified_time" content="{iso}">'
            f'<meta property="article:section" content="{attr(art.category)}">'
            + "".join(f'<meta property="article:tag" content="{attr(t)}">' for t in art.tags))


def tools_links(o: OutletSite, art: Article) -> str:
    """Print / AMP links shown under the article on outlets that have those versions."""
    links = []
    if o.spec.print_version:
        links.append(f'<a class="print-link" href="{o.print_url(art)}" rel="nofollow">Imprimer</a>')
    if o.spec.amp:
        links.append(f'<a class="amp-link" href="{o.amp_url(art)}">Version mobile</a>')
    return f'<div class="article-tools">{" · ".join(links)}</div>'


def news_article_ld(o: OutletSite, art: Article, kind: str = "NewsArticle") -> dict[str, object]:
    url = o.article_url(art)
    return {
        "@context": "https://schema.org",
        "@type": kind,
        "headline": art.title,
        "description": art.subtitle or art.teaser,
        "datePublished": art.published.isoformat(),
        "dateModified": art.published.isoformat(),
        "author": {"@type": "Person", "name": art.author, "url": o.author_url(art.author)},
        "publisher": {"@type": "Organization", "name": o.spec.label,
                      "logo": {"@type": "ImageObject", "url": o.url("/images/logo.png")}},
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "image": [o.image_url(art)],
        "articleSection": art.category,
        "keywords": list(art.tags),
        "inLanguage": "fr-FR",
    }


def document(head: str, body: str, lang: str = "fr", body_class: str = "", html_attrs: str = "") -> str:
    return (f'<!DOCTYPE html>\n<html lang="{lang}"{html_attrs}>\n<head>\n{head}\n</head>\n'
            f'<body class="{body_class}">\n{body}\n</body>\n</html>\n')


# --- theme shells ----------------------------------------------------------------------------------------

def shell_wordpress(o: OutletSite, title: str, content: str, head: str = "", body_class: str = "home") -> str:
    header = (f'<header id="masthead" class="site-header"><div class="site-branding">'
              f'<p class="site-title"><a href="{o.url("/")}" rel="home">{esc(o.spec.label)}</a></p>'
              f'<p class="site-description">{esc(o.spec.tagline)}</p></div>'
              f'<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu">{nav_links(o)}'
              f'</ul></nav>{search_form(o)}</header>')
    footer = (f'<footer id="colophon" class="site-footer"><div class="footer-widgets"><section class="widget">'
              f"<h2>À propos</h2><p>{esc(o.spec.label)} décrypte chaque jour l'actualité de la tech, des "
              f'smartphones et de l\'intelligence artificielle.</p></section></div>'
              f'<div class="site-info">{legal_links(o)}<p>{copyright_line(o)}</p></div></footer>')
    body = (f'<div id="page" class="site"><a class="skip-link screen-reader-text" href="#primary">Aller au contenu'
            f'</a>{header}{ad("Publicité", "leaderboard")}<div id="content" class="site-content">{content}</div>'
            f"{footer}</div>{cookie_banner(o)}")
    return document(head_common(o, title) + head, body, lang="fr-FR", body_class=body_class)


def shell_divsoup(o: OutletSite, title: str, content: str, head: str = "", body_class: str = "") -> str:
    menu = "".join(f'<div class="menu-item"><a href="{o.category_url(c)}">{esc(c)}</a></div>' for c in o.categories)
    body = (f'<div id="wrap"><div id="top-bar"><div class="top-left">Édition du jour</div><div class="top-right">'
            f'<a href="{o.url(o.spec.contact_path)}">Nous contacter</a> | <a href="#newsletter">Newsletter</a>'
            "</div></div>"
            f'<div id="header"><div class="logo"><a href="{o.url("/")}">{esc(o.spec.label)}</a></div>'
            f'<div class="baseline">{esc(o.spec.tagline)}</div></div><div id="menu"><div class="menu-item">'
            f'<a href="{o.url("/")}">À la une</a></div>{menu}</div><div class="pub pub-haut">{ad()}</div>'
            f'<div id="conteneur">{content}</div><div id="footer"><div class="footer-liens">{legal_links(o)}</div>'
            f'<div class="footer-copy">{copyright_line(o)}</div></div></div>')
    return document(head_common(o, title) + head, body, body_class=body_class)


def shell_classic(o: OutletSite, title: str, content: str, head: str = "", body_class: str = "") -> str:
    """Old-school layout: fixed-width page, left menu column, <font> and <center> tags."""
    menu = "".join(f'<li><a href="{o.category_url(c)}">{esc(c)}</a></li>' for c in o.categories)
    body = (f'<center><div id="page" style="width:980px"><div id="bandeau"><a href="{o.url("/")}">'
            f'<b>{esc(o.spec.label.upper())}</b></a><br><i>{esc(o.spec.tagline)}</i></div>'
            f'<div id="colonne-gauche" style="float:left;width:180px"><ul class="menu"><li><a href="{o.url("/")}">'
            f'Accueil</a></li>{menu}<li><a href="{o.url(o.spec.contact_path)}">Contact</a></li></ul>'
            f'{ad("Publicité", "skyscraper")}</div><div id="contenu" style="margin-left:200px">{content}</div>'
            f'<div id="pied" style="clear:both"><font size="1">{legal_links(o)}<br>{copyright_line(o)}</font></div>'
            "</div></center>")
    return document(head_common(o, title) + head, body, body_class=body_class)


def shell_microdata(o: OutletSite, title: str, content: str, head: str = "", body_class: str = "") -> str:
    body = (f'<header class="blog-header"><a class="brand" href="{o.url("/")}">{esc(o.spec.label)}</a>'
            f'<nav class="blog-nav"><ul>{nav_links(o)}</ul></nav>{search_form(o)}</header>'
            f'<div class="blog-layout"><main id="main" class="blog-main">{content}</main>'
            f'<aside class="blog-sidebar">{newsletter_box(o)}{ad("Publicité", "sidebar")}</aside></div>'
            f'<footer class="blog-footer"><p>{legal_links(o)}</p><p>{copyright_line(o)}</p></footer>{cookie_banner(o)}')
    return document(head_common(o, title) + head, body, body_class=body_class)


def shell_newspaper(o: OutletSite, title: str, content: str, head: str = "", body_class: str = "") -> str:
    menu = "".join(f'<li class="menu-item"><a href="{o.category_url(c)}">{esc(c)}</a></li>' for c in o.categories)
    body = (f'<div class="td-theme-wrap"><div class="td-header-wrap"><div class="td-header-top-menu">'
            f'<a href="{o.url(o.spec.contact_path)}">Contact</a> '
            f'<a href="{o.url(o.spec.legal_path)}">Mentions légales</a>'
            f'</div><div class="td-header-logo"><a href="{o.url("/")}">{esc(o.spec.label)}</a></div>'
            f'<div class="td-header-menu"><ul class="sf-menu"><li><a href="{o.url("/")}">Accueil</a></li>{menu}</ul>'
            f'{search_form(o)}</div></div>{ad("Advertisement", "header")}<div class="td-main-content-wrap">{content}'
            f'</div><div class="td-footer-wrapper"><div class="td-footer-bottom">{newsletter_box(o)}</div>'
            f'<div class="td-sub-footer-container"><div class="td-sub-footer-menu">{legal_links(o)}</div>'
            f'<div class="td-sub-footer-copy">{copyright_line(o)}</div></div></div></div>')
    return document(head_common(o, title) + head, body, lang="fr-FR", body_class=body_class)


def shell_aggregator(o: OutletSite, title: str, content: str, head: str = "", body_class: str = "") -> str:
    body = (f'<header class="topbar"><a class="logo" href="{o.url("/")}">{esc(o.spec.label)}</a>'
            f'<span class="tagline">{esc(o.spec.tagline)}</span><nav><ul>{nav_links(o)}</ul></nav>{search_form(o)}'
            f"</header><main class=\"page\">{content}</main><footer class=\"bottom\"><p>{legal_links(o)}</p>"
            f"<p>{copyright_line(o)} Les articles repris le sont avec l'accord de leurs éditeurs.</p></footer>")
    return document(head_common(o, title) + head, body, body_class=body_class)


Shell = Callable[..., str]
SHELLS: dict[str, Shell] = {
    "wordpress": shell_wordpress,
    "divsoup": shell_divsoup,
    "classic": shell_classic,
    "microdata": shell_microdata,
    "newspaper": shell_newspaper,
    "aggregator": shell_aggregator,
}


# --- article templates -----------------------------------------------------------------------------------

def article_wordpress(o: OutletSite, art: Article) -> str:
    """WordPress-like: <article>, entry-content, JSON-LD NewsArticle, article:published_time, <time>."""
    url = o.article_url(art)
    head = (article_links_head(o, art) + f'<meta name="description" content="{attr(art.subtitle or art.teaser)}">'
            + og_meta(o, art, url, art.subtitle or art.teaser) + published_meta(art)
            + f'<meta name="author" content="{attr(art.author)}">' + json_ld(news_article_ld(o, art)))
    thumb = (f'<figure class="post-thumbnail"><img src="{o.image_url(art)}" alt="{attr(art.image.alt)}" width="1200" '
             f'height="675"><figcaption>{esc(art.image.caption)}</figcaption></figure>' if art.image else "")
    inserts = {2: ad("Publicité", "in-article"), 4: inline_related(o, art)}
    post_id = 1000 + zlib.crc32(art.slug.encode()) % 9000
    content = (
        f'<div id="primary" class="content-area"><main id="main" class="site-main">'
        f'<article id="post-{post_id}" class="post-{post_id} post type-post status-publish format-standard hentry">'
        f'<header class="entry-header"><span class="cat-links">'
        f'<a href="{o.category_url(art.category)}" rel="category tag">'
        f'{esc(art.category)}</a></span><h1 class="entry-title">{esc(art.title)}</h1>'
        + (f'<p class="entry-subtitle">{esc(art.subtitle)}</p>' if art.subtitle else "")
        + f'<div class="entry-meta"><span class="byline">Par <span class="author vcard"><a class="url fn n" '
        f'href="{o.author_url(art.author)}">{esc(art.author)}</a></span></span> · <time class="entry-date published" '
        f'datetime="{art.published.isoformat()}">{fr_date_time(art.published)}</time> · <a href="#comments">'
        f"Commentaires</a></div>{share_bar(url, art.title)}</header>{thumb}"
        f'<div class="entry-content">{body_html(o, art, inserts)}</div>'
        f'<footer class="entry-footer">{discord_promo()}{tag_links(o, art)}{tools_links(o, art)}'
        f"{share_bar(url, art.title)}</footer></article>"
        f'{author_box(o, art)}{teaser_list(o, "À lire aussi", o.related(art))}{comments_section(o, art)}</main></div>'
        f'<aside id="secondary" class="widget-area">{newsletter_box(o)}'
        f'{teaser_list(o, "Articles récents", o.others(art), "widget widget_recent_entries")}'
        f'{ad("Publicité", "sidebar")}'
        "</aside>"
    )
    return shell_wordpress(o, f"{art.title} - {o.spec.label}", content, head,
                           body_class=f"post-template-default single single-post postid-{post_id}")


def article_divsoup(o: OutletSite, art: Article) -> str:
    """Div soup: no <article>/<main>, only og: metadata, body printed twice ("Lire la suite" block)."""
    url = o.article_url(art)
    description = art.subtitle or art.teaser
    head = (f'<link rel="canonical" href="{url}"><link rel="amphtml" href="{o.amp_url(art)}">'
            f'<meta name="description" content="{attr(description)}">' + og_meta(o, art, url, description)
            + f'<meta property="article:published_time" content="{art.published.isoformat()}">'
            + f'<meta property="article:author" content="{attr(art.author)}">')
    body = body_html(o, art, {1: f'<div class="pub pub-milieu">{ad()}</div>'}, h2_class="inter")
    content = (
        f'<div class="row"><div class="col-gauche"><div class="fil-ariane"><a href="{o.url("/")}">Accueil</a> &gt; '
        f'<a href="{o.category_url(art.category)}">{esc(art.category)}</a></div>'
        f'<div class="bloc-article"><div class="surtitre">{esc(art.category)}</div>'
        f'<h1 class="titre">{esc(art.title)}</h1>'
        f'<div class="infos">Par <a href="{o.author_url(art.author)}">{esc(art.author)}</a> | Publié le '
        f'{fr_date_time(art.published)} | <a href="#comments">Réagir</a></div>{share_bar(url, art.title, "Partager")}'
        f'<div class="visuel"><img src="{o.image_url(art)}" alt="{attr(art.title)}"></div>'
        f'<div class="texte">{body}<div class="lire-la-suite" id="suite">{body}</div></div>'
        f'<div class="mots-cles">{tag_links(o, art, "Mots-clés")}</div>{tools_links(o, art)}</div>'
        f'{author_box(o, art)}{teaser_list(o, "Sur le même sujet", o.related(art), "bloc-related")}'
        f'{comments_section(o, art)}</div><div class="col-droite">{newsletter_box(o)}{ad("Publicité", "pave")}'
        f'{title_list(o, "Les plus lus", o.others(art), "bloc-plus-lus")}</div></div>'
    )
    return shell_divsoup(o, f"{art.title} | {o.spec.label}", content, head, body_class="page-article")


def article_classic(o: OutletSite, art: Article) -> str:
    """Old-school page: date only as visible text, no date metadata, body printed twice (desktop + mobile)."""
    url = o.article_url(art)
    head = (f'<link rel="canonical" href="{url}"><link rel="amphtml" href="{o.amp_url(art)}">'
            f'<meta name="description" content="{attr(art.subtitle or art.teaser)}">'
            f'<meta property="og:type" content="article"><meta property="og:title" content="{attr(art.title)}">'
            f'<meta property="og:url" content="{url}"><meta property="og:site_name" content="{attr(o.spec.label)}">')
    source = (f'<div class="source">Source : <a href="https://www.fusacq.com/" rel="nofollow">{esc(art.source)}</a>'
              "</div>")
    body = body_html(o, art) + (source if art.source else "")
    content = (
        f'<div class="date-article">{fr_long_date(art.published)}</div><h1 class="titre-article">{esc(art.title)}</h1>'
        + (f'<h2 class="chapeau">{esc(art.subtitle)}</h2>' if art.subtitle else "")
        + f'<div class="signature">Par <a href="{o.author_url(art.author)}">{esc(art.author)}</a> — '
        f'Rubrique <a href="{o.category_url(art.category)}">{esc(art.category)}</a></div>'
        f'<div class="corps corps-desktop d-none d-md-block">{body}</div>'
        f'<div class="corps corps-mobile d-md-none">{body}</div>'
        f'<div class="outils">{tools_links(o, art)}{share_bar(url, art.title, "Partager")}</div>'
        f'{tag_links(o, art, "Tags")}{ad("Publicité", "bas-article")}'
        f'{teaser_list(o, "Dans la même rubrique", o.related(art), "meme-rubrique")}{comments_section(o, art)}'
    )
    return shell_classic(o, f"{art.title} - {o.spec.label}", content, head, body_class="article")


def article_microdata(o: OutletSite, art: Article) -> str:
    """Blog with schema.org microdata (BlogPosting, itemprop articleBody) and an embedded post."""
    url = o.article_url(art)
    iso = art.published.isoformat()
    head = article_links_head(o, art) + og_meta(o, art, url, art.subtitle or art.teaser)
    content = (
        f'<div class="post-wrap" itemscope itemtype="https://schema.org/BlogPosting">'
        f'<meta itemprop="mainEntityOfPage" content="{url}"><meta itemprop="datePublished" content="{iso}">'
        f'<meta itemprop="dateModified" content="{iso}">'
        f'<div class="post-cat"><a href="{o.category_url(art.category)}">{esc(art.category)}</a></div>'
        f'<h1 class="post-title" itemprop="headline">{esc(art.title)}</h1>'
        f'<div class="post-meta">Par <span itemprop="author" itemscope itemtype="https://schema.org/Person">'
        f'<a itemprop="url" href="{o.author_url(art.author)}"><span itemprop="name">{esc(art.author)}</span></a></span>'
        f' · {fr_date(art.published)} · 4 min de lecture</div>'
        f'<div class="post-image" itemprop="image" itemscope itemtype="https://schema.org/ImageObject">'
        f'<img itemprop="url" src="{o.image_url(art)}" alt="{attr(art.title)}"></div>'
        f'<div class="post-content" itemprop="articleBody">'
        f"{body_html(o, art, {3: ad(), 8: inline_related(o, art)})}</div>"
        '<p class="post-cta">Partagez votre perception dans le commentaire !</p>'
        f'{share_bar(url, art.title)}{tag_links(o, art, "Étiquettes")}{affiliate_note()}'
        f'<div itemprop="publisher" itemscope itemtype="https://schema.org/Organization">'
        f'<meta itemprop="name" content="{attr(o.spec.label)}"></div></div>'
        f'{author_box(o, art)}{teaser_list(o, "Articles similaires", o.related(art))}{comments_section(o, art)}'
    )
    return shell_microdata(o, f"{art.title} - {o.spec.label}", content, head, body_class="single-post")


def article_newspaper(o: OutletSite, art: Article) -> str:
    """Newspaper theme: Yoast-style JSON-LD @graph, many "Advertisement" slots, recent-articles block."""
    url = o.article_url(art)
    person = f"{o.url('/')}#/schema/person/{zlib.crc32(art.author.encode()):x}"
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "NewsArticle", "@id": f"{url}#article", "isPartOf": {"@id": url},
             "author": {"name": art.author, "@id": person}, "headline": art.title,
             "datePublished": art.published.isoformat(), "dateModified": art.published.isoformat(),
             "mainEntityOfPage": {"@id": url}, "wordCount": len(art.text.split()),
             "publisher": {"@id": f"{o.url('/')}#organization"}, "articleSection": [art.category],
             "inLanguage": "fr-FR"},
            {"@type": "WebPage", "@id": url, "url": url, "name": f"{art.title} - {o.spec.label}",
             "datePublished": art.published.isoformat(), "inLanguage": "fr-FR"},
            {"@type": "BreadcrumbList", "itemListElement": [
                {"@type": "ListItem", "position": 1, "name": "Accueil", "item": o.url("/")},
                {"@type": "ListItem", "position": 2, "name": art.title}]},
            {"@type": "Organization", "@id": f"{o.url('/')}#organization", "name": o.spec.label, "url": o.url("/")},
            {"@type": "Person", "@id": person, "name": art.author, "url": o.author_url(art.author)},
        ],
    }
    head = (article_links_head(o, art) + f'<meta name="description" content="{attr(art.subtitle or art.teaser)}">'
            + og_meta(o, art, url, art.subtitle or art.teaser) + published_meta(art) + json_ld(graph))
    recent = "".join(
        f'<div class="td_module_flex"><h3 class="entry-title td-module-title"><a href="{o.article_url(a)}">'
        f'{esc(a.title)}</a></h3><div class="td-excerpt">{esc(a.teaser)}</div>'
        f'<time class="entry-date" datetime="{a.published.isoformat()}">{fr_date(a.published)}</time></div>'
        for a in o.others(art, 6)
    )
    content = (
        f'<div class="td-container"><div class="td-crumb-container"><a href="{o.url("/")}">Accueil</a> » '
        f'<a href="{o.category_url(art.category)}">{esc(art.category)}</a></div>{ad("Advertisement", "top")}'
        f'<div class="td-pb-row"><div class="td-pb-span8 td-main-content"><div class="tdb-block-inner">'
        f'<div class="tdb-category"><a href="{o.category_url(art.category)}">{esc(art.category)}</a></div>'
        f'<h1 class="tdb-title-text">{esc(art.title)}</h1>{ad("Advertisement", "under-title")}'
        + (f'<p class="td-post-sub-title">{esc(art.subtitle)}</p>' if art.subtitle else "")
        + f'<div class="tdb-author-name"><a href="{o.author_url(art.author)}">{esc(art.author)}</a></div>'
        f'<time class="entry-date updated td-module-date" datetime="{art.published.isoformat()}">'
        f'{fr_date(art.published)}</time>{share_bar(url, art.title)}'
        f'<div class="td-post-content tagdiv-type">{body_html(o, art, {0: ad("Advertisement", "inline")})}</div>'
        f'<div class="td-post-source">Cet article a été repris sur le site Univers FreeBox</div>'
        f'{ad("Advertisement", "after-content")}{tag_links(o, art, "TAGS")}{tools_links(o, art)}'
        f'<div class="td-author-line">{esc(art.author)}</div>{ad("Advertisement", "author")}'
        f'<div class="tdb-block-recent"><h4 class="td-block-title">Articles récents</h4>{recent}</div>'
        f'{ad("Advertisement", "bottom")}{comments_section(o, art)}</div></div>'
        f'<div class="td-pb-span4 td-main-sidebar">{ad("Advertisement", "sidebar")}'
        f'{title_list(o, "Les plus populaires", o.others(art, 4), "td_block_popular")}</div></div></div>'
    )
    return shell_newspaper(o, f"{art.title} - {o.spec.label}", content, head, body_class="single single-post")


def article_aggregator(o: OutletSite, art: Article) -> str:
    """Aggregator: self-canonical republication, JSON-LD NewsArticle, source credit on syndicated copies."""
    url = o.article_url(art)
    head = (article_links_head(o, art) + og_meta(o, art, url, art.teaser)
            + f'<meta name="date" content="{art.published.isoformat()}">' + json_ld(news_article_ld(o, art)))
    source_label, source_url = o.attributions.get(art.key, ("", ""))
    credit = (f'<p class="story-source">Source : <a href="{source_url}" rel="nofollow">{esc(source_label)}</a></p>'
              if source_url else "")
    content = (
        f'<article class="story"><header class="story-header"><div class="story-kicker">'
        f'<a href="{o.category_url(art.category)}">{esc(art.category)}</a></div><h1>{esc(art.title)}</h1>'
        f'<div class="story-meta"><span class="story-author">{esc(art.author)}</span> · '
        f'<time datetime="{art.published.isoformat()}">{fr_date_time(art.published)}</time></div>'
        f"{share_bar(url, art.title)}</header>"
        f'<div class="story-body">{body_html(o, art)}</div>{credit}{tag_links(o, art)}</article>'
        f'{ad("Publicité", "story-bottom")}{newsletter_box(o)}{teaser_list(o, "Dernières reprises", o.others(art, 4))}'
    )
    return shell_aggregator(o, f"{art.title} · {o.spec.label}", content, head, body_class="story-page")


ARTICLE_TEMPLATES: dict[str, Callable[[OutletSite, Article], str]] = {
    "wordpress": article_wordpress,
    "divsoup": article_divsoup,
    "classic": article_classic,
    "microdata": article_microdata,
    "newspaper": article_newspaper,
    "aggregator": article_aggregator,
}


def article_page(o: OutletSite, art: Article) -> str:
    return ARTICLE_TEMPLATES[o.spec.theme](o, art)


# --- alternate renderings --------------------------------------------------------------------------------

AMP_BOILERPLATE = ("<style amp-boilerplate>body{-webkit-animation:-amp-start 8s steps(1,end) 0s 1 normal both;"
                   "animation:-amp-start 8s steps(1,end) 0s 1 normal both}</style><noscript><style amp-boilerplate>"
                   "body{-webkit-animation:none;animation:none}</style></noscript>")


def amp_page(o: OutletSite, art: Article) -> str:
    """AMP rendering: <html amp>, rel=canonical to the article, the body once."""
    url = o.article_url(art)
    head = ('<meta charset="utf-8"><meta name="viewport" content="width=device-width,minimum-scale=1,initial-scale=1">'
            f"<title>{esc(art.title)}</title><link rel=\"canonical\" href=\"{url}\">"
            '<script async src="https://cdn.ampproject.org/v0.js"></script>'
            '<script async custom-element="amp-ad" src="https://cdn.ampproject.org/v0/amp-ad-0.1.js"></script>'
            + AMP_BOILERPLATE + json_ld(news_article_ld(o, art)))
    body = (f'<header class="amp-header"><a href="{o.url("/")}">{esc(o.spec.label)}</a></header>'
            f'<article class="amp-article"><header><h1>{esc(art.title)}</h1><div class="amp-meta">{esc(art.author)} · '
            f'{fr_date(art.published)}</div></header><div class="amp-article-content">{body_html(o, art)}</div>'
            f'<footer>{tag_links(o, art)}<p><a href="{url}">Voir la version complète</a></p></footer></article>'
            '<amp-ad width="300" height="250" type="doubleclick" data-slot="/2215/amp">Publicité</amp-ad>'
            f'<footer class="amp-footer">{copyright_line(o)}</footer>')
    return document(head, body, html_attrs=" amp")


def print_page(o: OutletSite, art: Article) -> str:
    """Printer-friendly rendering (?print=1): rel=canonical, noindex, the body once."""
    url = o.article_url(art)
    head = (f'<meta charset="utf-8"><title>{esc(art.title)} (version imprimable)</title>'
            f'<link rel="canonical" href="{url}"><meta name="robots" content="noindex, follow">')
    body = (f'<div class="print-header">{esc(o.spec.label)} — {url}</div><h1>{esc(art.title)}</h1>'
            f'<p class="print-meta">Par {esc(art.author)}, {fr_date_time(art.published)}</p>'
            f'<div class="print-body">{body_html(o, art)}</div><p class="print-footer">{copyright_line(o)}</p>')
    return document(head, body, body_class="print")


# --- non-article pages -----------------------------------------------------------------------------------

def listing_items(o: OutletSite, arts: list[Article]) -> str:
    """Teasers of a listing page; WordPress-like themes wrap each in <article>, others in <div>."""
    wrapper = "article" if o.spec.theme in ("wordpress", "newspaper") else "div"
    return "".join(
        f'<{wrapper} class="post-teaser"><h2 class="teaser-title"><a href="{o.article_url(a)}">{esc(a.title)}'
        f'</a></h2><div class="teaser-meta">{esc(a.author)} · {fr_date(a.published)} · '
        f'<a href="{o.category_url(a.category)}">{esc(a.category)}</a></div><p class="teaser-excerpt">{esc(a.teaser)}'
        f"</p></{wrapper}>"
        for a in arts
    )


def listing_page(o: OutletSite, url: str, title: str, arts: list[Article], intro: str = "", extra: str = "",
                 pager: str = "") -> str:
    """Home, pagination, category, tag, author and search pages."""
    content = (f'<div class="listing"><h1 class="page-title">{esc(title)}</h1>{intro}'
               f'<div class="teasers">{listing_items(o, arts)}</div>{pager}</div>{extra}{ad("Publicité", "listing")}')
    return SHELLS[o.spec.theme](o, f"{title} - {o.spec.label}", content, f'<link rel="canonical" href="{url}">',
                                body_class="archive")


def home_extras(o: OutletSite, shared: list[Article], bad_links: list[tuple[str, str]]) -> str:
    """Home page blocks: most shared (tracking links), a search "dossier" (robots-disallowed), resources."""
    query = f"?{o.spec.home_tracking}" if o.spec.home_tracking else ""
    blocks = ['<div class="most-shared"><h3>Les plus partagés</h3><ul>'
              + "".join(f'<li><a href="{attr(o.article_url(a) + query)}">{esc(a.title)}</a></li>' for a in shared)
              + "</ul></div>"] if shared else []
    blocks.append(f'<div class="dossiers"><h3>Dossiers</h3><ul><li><a href="{o.url(o.spec.search_path)}?q=openai">'
                  "Tous nos articles sur l'intelligence artificielle</a></li></ul></div>")
    if bad_links:
        blocks.append('<div class="resources"><h3>Ressources et brèves</h3><ul>'
                      + "".join(f'<li><a href="{url}">{esc(label)}</a></li>' for label, url in bad_links)
                      + "</ul></div>")
    return "".join(blocks)


def pager(o: OutletSite, page: int, pages: int) -> str:
    links = []
    if page > 1:
        links.append(f'<a class="prev page-numbers" href="{o.page_url(page - 1)}">« Page précédente</a>')
    links += [f'<span class="page-numbers current">{n}</span>' if n == page else
              f'<a class="page-numbers" href="{o.page_url(n)}">{n}</a>' for n in range(1, pages + 1)]
    if page < pages:
        links.append(f'<a class="next page-numbers" href="{o.page_url(page + 1)}">Page suivante »</a>')
    return f'<nav class="pagination">{" ".join(links)}</nav>'


def contact_page(o: OutletSite) -> str:
    content = (f'<div class="page-contact"><h1>Contacter la rédaction</h1><p>Une information, une correction, une '
               f"proposition de partenariat ? Écrivez-nous via le formulaire ci-dessous ou à "
               f'<a href="mailto:redaction@{o.spec.name}.example">redaction@{o.spec.name}.example</a>.</p>'
               f'<form action="{o.url(o.spec.contact_path)}" method="post"><label>Nom <input name="nom"></label>'
               '<label>E-mail <input type="email" name="email"></label><label>Message <textarea name="message">'
               '</textarea></label><button type="submit">Envoyer</button></form><p>Standard : '
               '<a href="tel:+33100000000">01 00 00 00 00</a> (du lundi au vendredi, de 9 h à 18 h).</p></div>')
    return SHELLS[o.spec.theme](o, f"Contact - {o.spec.label}", content, body_class="page")


LEGAL_SECTIONS = (
    ("Éditeur du site", "Le site {label} est édité par {label} Médias SAS, société par actions simplifiée au capital "
     "de 10 000 euros, immatriculée au registre du commerce et des sociétés sous le numéro 000 000 000, dont le "
     "siège social est situé 1 rue de la Démonstration, 75000 Paris. Numéro de TVA intracommunautaire : "
     "FR00000000000. Pour toute question, la rédaction peut être jointe via la page de contact du site."),
    ("Directeur de la publication", "Le directeur de la publication est le représentant légal de la société "
     "éditrice. La rédaction est responsable du contenu éditorial publié sur le site, à l'exception des "
     "commentaires des lecteurs, qui engagent la seule responsabilité de leurs auteurs."),
    ("Hébergement", "Le site est hébergé par Hébergeur Démo SAS, 2 avenue des Serveurs, 69000 Lyon. L'hébergeur "
     "assure le stockage des contenus et leur mise à disposition du public, sans intervenir sur leur rédaction."),
    ("Propriété intellectuelle", "L'ensemble des contenus présents sur {host} (textes, photographies, "
     "illustrations, logos, vidéos) est protégé par le droit d'auteur et le droit des marques. Toute "
     "reproduction, représentation, adaptation ou diffusion, totale ou partielle, sans autorisation écrite "
     "préalable de l'éditeur est interdite et constitue une contrefaçon sanctionnée par le Code de la propriété "
     "intellectuelle. Les courtes citations sont autorisées à condition de mentionner clairement la source et "
     "de renvoyer par un lien vers l'article d'origine."),
    ("Données personnelles", "Conformément au règlement général sur la protection des données et à la loi "
     "Informatique et libertés, vous disposez d'un droit d'accès, de rectification, d'effacement, de limitation "
     "et de portabilité des données vous concernant, ainsi que d'un droit d'opposition à leur traitement. Les "
     "données collectées lors de l'inscription à la newsletter ou du dépôt d'un commentaire ne sont utilisées que "
     "pour ces finalités et ne sont jamais cédées à des tiers. Elles sont conservées pendant la durée strictement "
     "nécessaire à la relation avec le lecteur, puis supprimées. Vous pouvez exercer vos droits en écrivant au "
     "délégué à la protection des données de l'éditeur, et introduire une réclamation auprès de la CNIL."),
    ("Cookies", "Le site utilise des cookies de mesure d'audience, de partage sur les réseaux sociaux et de "
     "publicité. Lors de votre première visite, un bandeau vous permet d'accepter ou de refuser ces cookies, "
     "catégorie par catégorie. Vous pouvez modifier vos choix à tout moment grâce au lien « Gérer mes cookies » "
     "présent en bas de chaque page. Le refus des cookies publicitaires n'empêche pas l'accès aux contenus."),
    ("Liens hypertextes", "Le site peut contenir des liens vers des sites tiers. L'éditeur n'exerce aucun "
     "contrôle sur ces sites et décline toute responsabilité quant à leur contenu. La création de liens vers "
     "{host} est libre, à condition de ne pas utiliser de technique de cadrage et de ne pas porter atteinte à "
     "l'image de l'éditeur."),
    ("Droit applicable", "Les présentes mentions légales sont régies par le droit français. En cas de litige, et "
     "après échec de toute tentative de recherche d'une solution amiable, les tribunaux de Paris seront seuls "
     "compétents."),
)


def legal_page(o: OutletSite) -> str:
    host = o.base.split("//", 1)[1]
    anchors = {"Données personnelles": "donnees", "Cookies": "cookies"}
    sections = "".join(
        f'<h2 id="{anchors.get(title, "")}">{esc(title)}</h2><p>{esc(text.format(label=o.spec.label, host=host))}</p>'
        for title, text in LEGAL_SECTIONS
    )
    content = (f'<div class="page-legal"><h1>Mentions légales</h1>{sections}'
               "<p>Dernière mise à jour : 2 janvier 2025.</p></div>")
    return SHELLS[o.spec.theme](o, f"Mentions légales - {o.spec.label}", content, body_class="page")


def error_page(o: OutletSite, status: int) -> str:
    message = "Page introuvable" if status == 404 else "Erreur interne du serveur"
    content = (f'<div class="error-page"><h1>{status} — {message}</h1><p>Désolé, cette page est indisponible. '
               f'<a href="{o.url("/")}">Retour à l\'accueil</a></p></div>')
    return SHELLS[o.spec.theme](o, f"{message} - {o.spec.label}", content, body_class="error")
