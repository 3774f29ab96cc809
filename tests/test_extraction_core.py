"""extract_article on small hand-made pages: the article text without the page furniture, the metadata, and
the pages that are not articles."""

from __future__ import annotations

import gzip
import json
from urllib.parse import urlsplit

import pytest
from lxml.html import HtmlElementClassLookup
from trafilatura.metadata import extract_metadata
from trafilatura.settings import set_date_params
from trafilatura.utils import HTML_PARSER, load_html

from model.items import Page
from model.pages import declared_encoding, decode_html
from demo import templates
from demo.content import load_articles
from demo.outlets import SPECS, OutletSite
from pipelines.extract.core import _ELEMENT_CLASSES, ExtractionOptions, NotAnArticle, extract_article
from model.text import words
from tests.support.shared import benchmark_set

URL = "https://www.univers-telecom.fr/actualites/2025/02/musk-rachat-chatgpt/"
TITLE = "Elon Musk propose de racheter ChatGPT pour 97 milliards"
PARAGRAPHS = [
    "L’offre spectaculaire d’Elon Musk pour racheter OpenAI, la société à l’origine de ChatGPT, alimente les débats "
    "alors que Paris accueille un sommet sur l’intelligence artificielle sous l’égide du président de la République.",
    "Révélée par le Wall Street Journal le 10 février, cette proposition pourrait redessiner l’avenir du secteur. Sam "
    "Altman, patron d’OpenAI et rival assumé de Musk, a sèchement rejeté l’offre sur le réseau social X.",
    "Ancien cofondateur d’OpenAI, Elon Musk s’en était éloigné après l’échec d’une tentative de fusion avec Tesla, "
    "dénonçant depuis un virage trop commercial de l’entreprise et réclamant un retour à sa mission d’origine.",
    "Le refus d’Altman n’enterre pas pour autant les ambitions de Musk, qui pourrait contourner l’obstacle en "
    "rachetant progressivement des parts, un scénario que plusieurs analystes jugent plausible au regard du passé.",
]
COMMENTS = [
    "Franchement, ce feuilleton est meilleur que la plupart des séries du moment, on attend la suite avec impatience.",
    "Ce qui m'inquiète, c'est la gouvernance d'une structure à but non lucratif qui contrôle une entreprise pareille.",
]
FURNITURE = [
    "Partager l'article", "LinkedIn", "Publicité", "Advertisement", "Notre Discord", "commission d’affiliation",
    "newsletter", "Articles récents", "Les nouveautés de la semaine chez Free", "16 mars 2025", "Lire aussi",
    "Cet article a été repris", "Tous droits réservés", "Mentions légales", "Laisser un commentaire", "Mots-clés",
]  # fmt: skip


def french_article(*, with_markup: bool = True) -> str:
    """A French news page with the furniture the sample scrapes leaked: ads, share bar, promos, teasers, comments."""
    ld = {
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": TITLE,
        "datePublished": "2025-02-12T08:00:00+01:00", "author": {"@type": "Person", "name": "Lucas Musset"},
    }  # fmt: skip
    head = (
        f'<link rel="canonical" href="{URL}"><meta property="og:type" content="article">'
        f'<meta property="og:title" content="{TITLE}">'
        f'<script type="application/ld+json">{json.dumps(ld)}</script>'
        if with_markup
        else ""
    )
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS[:2])
    body += '<p><strong>Lire aussi :</strong> <a href="/actualites/x/">OpenAI n’est pas à vendre</a></p>'
    body += '<div class="ad"><span>Publicité</span></div>'
    body += "".join(f"<p>{p}</p>" for p in PARAGRAPHS[2:])
    body += "<p><em>Cet article a été repris sur le site Univers FreeBox</em></p>"
    body += (
        "<p>Envie de rejoindre une communauté de passionnés ? <a href='https://discord.gg/x'>Notre Discord</a> vous "
        "accueille, c'est un lieu d'entraide et de passion autour de la tech.</p>"
    )
    body += (
        "<p class='disclosure'>Notre blog est alimenté par les lecteurs. Lorsque vous achetez via des liens sur notre "
        "site, nous pouvons percevoir une commission d’affiliation.</p>"
    )
    share = (
        '<div class="share-bar"><span>Partager l\'article :</span><a href="https://facebook.com/sharer">Facebook</a>'
        '<a href="https://twitter.com/intent">Twitter</a><a href="https://linkedin.com/share">LinkedIn</a></div>'
    )
    newsletter = (
        '<aside class="newsletter"><h3>Newsletter</h3><p>Inscrivez-vous à notre newsletter pour recevoir '
        "l'essentiel de l'actualité télécom chaque matin.</p><form><input type='email'><button>OK</button></form>"
        "</aside>"
    )
    teasers = "".join(
        f'<li><a href="/actualites/{i}/">Les nouveautés de la semaine chez Free, épisode {i}</a>'
        "<p>C’est parti pour les nouveautés de la semaine ! Nous faisons un point sur les…</p>"
        "<span>16 mars 2025</span></li>"
        for i in range(4)
    )
    comments = "".join(f'<li class="comment"><b>Marc_D</b><p>{c}</p></li>' for c in COMMENTS)
    return f"""<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{TITLE} | Univers Telecom</title>
    {head}</head><body>
    <header><nav><a href="/">Accueil</a><a href="/actualites/">Actualités</a><a href="/contact/">Contact</a></nav>
    </header>
    <div class="ad"><span>Advertisement</span></div>
    <main><article class="post">
      <span class="category">Actualités télécom</span>
      <h1>{TITLE}</h1>
      <div class="byline">Par <a rel="author" href="/auteur/lucas-musset/">Lucas Musset</a>
        <time datetime="2025-02-12T08:00:00+01:00">12 février 2025</time></div>
      {share}
      <div class="entry-content">{body}</div>
      <div class="tags">Mots-clés : <a href="/tag/openai/">OpenAI</a>, <a href="/tag/musk/">Elon Musk</a></div>
      {share}
    </article>
    {newsletter}
    <section class="related-posts"><h2>Articles récents</h2><ul>{teasers}</ul></section>
    <section id="comments" class="comments"><h2>2 commentaires</h2><ol class="comment-list">{comments}</ol>
      <div id="respond"><h3>Laisser un commentaire</h3><form><textarea></textarea></form></div></section>
    </main>
    <footer><a href="/mentions-legales/">Mentions légales</a> © 2025 Univers Telecom — Tous droits réservés</footer>
    </body></html>"""


def page(html: str, url: str = URL) -> Page:
    return Page(url=url, site="univers-telecom", html=html, fetched_at="2025-02-14T12:00:00+00:00")


def test_french_article_keeps_every_paragraph_and_no_furniture_or_comment() -> None:
    article = extract_article(page(french_article()), ExtractionOptions())
    assert article.text.split("\n") == PARAGRAPHS
    assert not [c for c in COMMENTS if c[:40] in article.text]
    assert not [f for f in FURNITURE if f.casefold() in article.text.casefold()]
    assert article.word_count == len(words(" ".join(PARAGRAPHS)))


def test_metadata_title_date_author_language_canonical() -> None:
    article = extract_article(page(french_article(), url=URL + "?utm_source=twitter"), ExtractionOptions())
    assert article.title == TITLE
    assert article.published == "2025-02-12T08:00:00+01:00"
    assert (article.authors, article.source) == (["Lucas Musset"], None)
    assert article.language == "fr"
    assert article.canonical_url == URL
    assert article.url == URL + "?utm_source=twitter"
    assert {"OpenAI", "Elon Musk"} <= set(article.tags)


ENGLISH = """<!doctype html><html lang="en-US"><head><title>Board rejects Musk bid - Tech Daily</title>
<meta property="og:type" content="article">
<meta property="og:url" content="https://techdaily.com/2025/02/board-rejects-musk-bid">
<meta name="author" content="Jane Doe"><meta property="article:published_time" content="2025-02-14T10:00:00Z">
</head><body><nav><a href="/">Home</a></nav><article>
<h1>Board rejects Musk bid</h1><p class="byline">By Jane Doe | February 14, 2025</p>
<div class="article-body">
<p>The board of OpenAI's nonprofit unanimously rejected a $97.4 billion offer from a group of investors led by Elon
Musk on Friday, saying the organization was not for sale and that the bid was not in its mission's interest.</p>
<p>Read more: Why Musk wants to buy OpenAI</p>
<p>The chairman said in a statement that any potential reorganization would strengthen the nonprofit, and that the
board would continue to evaluate proposals on their merits rather than on the identity of the bidder.</p>
<div class="ad-slot">Advertisement</div>
<p>Musk's lawyer said the investors were prepared to match or exceed any higher bid, a claim the company dismissed as
an attempt to interfere with its fundraising and to slow down a competitor in the race for artificial intelligence.</p>
<div class="newsletter-signup"><p>Sign up for our daily newsletter to get the top tech stories in your inbox.</p></div>
<p>Follow Tech Daily on Twitter and Facebook.</p>
</div>
<div id="comments"><h3>3 comments</h3><div class="comment"><p>This whole saga is getting ridiculous and I am
honestly tired of reading about billionaires fighting over who gets to control the future of everything.</p></div></div>
</article><footer>Copyright © 2025 Tech Daily. All rights reserved.</footer></body></html>"""


def test_english_article_drops_read_more_ads_newsletter_follow_and_comments() -> None:
    article = extract_article(page(ENGLISH, url="https://techdaily.com/2025/02/board-rejects-musk-bid?ref=rss"),
                              ExtractionOptions())  # fmt: skip
    assert article.text.startswith("The board of OpenAI's nonprofit unanimously rejected")
    assert article.text.endswith("in the race for artificial intelligence.")
    assert len(article.text.split("\n")) == 3
    for furniture in ("Read more", "Advertisement", "newsletter", "Follow", "billionaires", "comments", "Copyright"):
        assert furniture not in article.text
    assert (article.title, article.authors, article.published, article.language) == (
        "Board rejects Musk bid", ["Jane Doe"], "2025-02-14T10:00:00+00:00", "en"
    )
    assert article.canonical_url == "https://techdaily.com/2025/02/board-rejects-musk-bid"


def split_article() -> str:
    """A declared article whose template cuts the body into same-class chunks around an ad slot."""
    chunk = '<div class="grid"><div class="body article__body">{}</div></div>'
    chunks = [chunk.format("".join(f"<p>{p}</p>" for p in part)) for part in (PARAGRAPHS[:2], PARAGRAPHS[2:])]
    return f"""<html lang="fr"><head><title>{TITLE}</title><meta property="og:type" content="article"></head><body>
    <article class="article"><h1>{TITLE}</h1><time datetime="2025-02-12">12 février 2025</time>
    <div class="article__chunks">{chunks[0]}<div class="ad">Publicité</div>{chunks[1]}</div></article></body></html>"""


def test_a_body_split_into_chunks_is_read_whole() -> None:
    article = extract_article(page(split_article()), ExtractionOptions())
    assert article.text.split("\n") == PARAGRAPHS


def test_a_canonical_pointing_at_the_home_page_is_ignored() -> None:
    html = french_article().replace(f'<link rel="canonical" href="{URL}">', '<link rel="canonical" href="/">')
    assert extract_article(page(html), ExtractionOptions()).canonical_url == URL


def test_a_query_addressed_canonical_is_the_article_not_the_home_page() -> None:
    html = french_article().replace(f'<link rel="canonical" href="{URL}">', '<link rel="canonical" href="/?p=101">')
    reached = page(html, url="https://techvibe.fr/?p=101&replytocom=3")
    assert extract_article(reached, ExtractionOptions()).canonical_url == "https://techvibe.fr/?p=101"


BRIEF = (
    "Le conseil d'administration d'OpenAI a rejeté vendredi à l'unanimité l'offre de 97,4 milliards de dollars "
    "formulée par un groupe d'investisseurs mené par Elon Musk, estimant que l'organisation n'était pas à vendre."
)


def brief_page(date: bool, declared: bool = True) -> str:
    time = '<time datetime="2025-02-14">14 février 2025</time>' if date else ""
    og_type = '<meta property="og:type" content="article">' if declared else ""
    return f"""<html lang="fr"><head><title>OpenAI dit non</title>{og_type}</head><body><article><h1>OpenAI dit non</h1>{time}
    <p>{BRIEF}</p><p>{BRIEF.replace("vendredi", "samedi")}</p></article></body></html>"""


def test_a_short_news_brief_passes_when_declared_an_article_only() -> None:
    options = ExtractionOptions(min_words=80, min_words_declared=40)
    assert extract_article(page(brief_page(date=True)), options).word_count < 80
    with pytest.raises(NotAnArticle) as rejected:
        extract_article(page(brief_page(date=True, declared=False)), options)
    assert rejected.value.reason == "too_short"


LEGAL = """<html lang="fr"><head><title>Mentions légales</title></head><body><main><h1>Mentions légales</h1>
<p>Le site Univers Telecom est édité par la société Univers Médias, société par actions simplifiée au capital de
10 000 euros, immatriculée au registre du commerce et des sociétés de Paris, dont le siège social est situé à Paris.</p>
<p>Le directeur de la publication est le président de la société. Le site est hébergé par un prestataire établi dans
l'Union européenne, dont les coordonnées complètes sont disponibles sur simple demande adressée par courrier.</p>
<p>Conformément à la réglementation en vigueur, vous disposez d'un droit d'accès, de rectification et de suppression
des données vous concernant, que vous pouvez exercer en écrivant au service juridique de la société éditrice.</p>
</main></body></html>"""


def listing_page() -> str:
    blurb = (
        "Le fournisseur annonce de nouvelles offres pour ses abonnés, avec des services inclus sans surcoût et une "
        "disponibilité progressive dans toutes les régions dès la semaine prochaine."
    )
    items = "".join(
        f'<article class="post"><h2><a href="/2025/03/{i}/article-{i}/">Les nouveautés de la semaine, épisode {i}</a>'
        f'</h2><time datetime="2025-03-{10 + i}">{10 + i} mars 2025</time><p>{blurb}</p>'
        f'<a href="/2025/03/{i}/article-{i}/">Lire la suite</a></article>'
        for i in range(10)
    )
    return f"""<html lang="fr"><head><title>Actualités télécom – Page 2</title>
    <meta property="og:type" content="website"></head><body><nav><a href="/">Accueil</a></nav>
    <main><h1>Actualités télécom</h1>{items}</main><footer>© 2025 Univers Telecom</footer></body></html>"""


@pytest.mark.parametrize(
    ("html", "reasons"),
    [
        (LEGAL, {"not_article"}),
        (LEGAL.replace("</h1>", "</h1><p>Mis à jour le 2 janvier 2025.</p>"), {"not_article"}),
        (listing_page(), {"not_article"}),
        ("<html><body><nav><a href='/'>Accueil</a></nav><h1>Contact</h1><p>Écrivez-nous.</p></body></html>",
         {"empty", "too_short"}),
    ],
    ids=["legal", "dated-legal", "listing", "contact"],
)  # fmt: skip
def test_undeclared_pages_that_are_not_articles_are_rejected(html: str, reasons: set[str]) -> None:
    with pytest.raises(NotAnArticle) as rejected:
        extract_article(page(html, url="https://www.univers-telecom.fr/page/"), ExtractionOptions())
    assert rejected.value.reason in reasons


def test_an_undeclared_article_passes_dated_or_not() -> None:
    html = french_article(with_markup=False)
    article = extract_article(page(html), ExtractionOptions())
    assert article.text.split("\n") == PARAGRAPHS
    assert article.published == "2025-02-12T08:00:00+01:00"
    undated = html.replace('<time datetime="2025-02-12T08:00:00+01:00">12 février 2025</time>', "")
    article = extract_article(page(undated), ExtractionOptions())
    assert article.text.split("\n") == PARAGRAPHS and article.published is None, "an article, undated"


def demo_pages() -> list[tuple[str, str]]:
    """(url, html) of an article on each demo outlet's layout: JSON-LD or not, tag links or not, bylines."""
    base = "https://outlets.example"
    outlets = [OutletSite(spec, base) for spec in SPECS]
    articles = load_articles()
    for outlet in outlets:
        outlet.articles = articles[:6]
    return [
        (base + outlet.article_path(article), templates.article_page(outlet, article))
        for outlet in outlets
        for article in articles[:2]
    ]


@pytest.mark.parametrize("url, html", [(URL, french_article()), *demo_pages()])
def test_metadata_reads_as_trafilatura_reads_it(url: str, html: str) -> None:
    """The record's description and tags are what trafilatura's extract_metadata finds, though only part of it is
    run (title and authors are cleaned further: tests/test_metadata.py)."""
    article = extract_article(page(html, url=url), ExtractionOptions())
    expected = extract_metadata(load_html(html), url, set_date_params(extensive=False))
    assert article.description == expected.description
    tags = [tag.strip() for value in (*(expected.tags or []), *(expected.categories or [])) for tag in value.split(",")]
    assert article.tags == list(dict.fromkeys(tag for tag in tags if tag))


# The English article with form controls: a search box in its byline, a newsletter form in its body.
FORMS = ENGLISH.replace(
    '<p class="byline">By Jane Doe',
    '<form role="search"><label class="author">Search</label><input name="q" value="Jane Doe"></form>'
    '<p class="byline">By Jane Doe',
).replace(
    '<div class="newsletter-signup">',
    '<form action="/subscribe"><label for="email">Your email address</label><input id="email" value="you@example.com">'
    '<select name="frequency"><option>Daily</option><option selected>Weekly</option></select>'
    '<textarea name="note">Tell us which stories you want more of in the weekly edition.</textarea></form>'
    '<div class="newsletter-signup">',
)


@pytest.mark.parametrize("url, html", [(URL, french_article()), (URL, ENGLISH), (URL, FORMS), *demo_pages()])
def test_records_are_the_same_as_with_the_element_classes_of_lxml_html(url: str, html: str) -> None:
    """trafilatura's parser builds its elements with lxml's lookup in C instead of lxml.html's in Python (see
    pipelines/extract/core.py): no record changes, form controls included."""
    ours = extract_article(page(html, url=url), ExtractionOptions())
    HTML_PARSER.set_element_class_lookup(HtmlElementClassLookup())
    try:
        theirs = extract_article(page(html, url=url), ExtractionOptions())
    finally:
        HTML_PARSER.set_element_class_lookup(_ELEMENT_CLASSES)
    assert ours == theirs


def fundus_page(key: str) -> tuple[Page, str]:
    """A real news page of the shared fundus-publishers benchmark, decoded as the spider decodes it, and its
    ground-truth body."""
    fundus = benchmark_set("fundus-publishers")
    item = json.loads((fundus / "ground-truth.json").read_text(encoding="utf-8"))[key]
    body = gzip.decompress((fundus / "html" / f"{key}.html.gz").read_bytes())
    html = decode_html(body, declared_encoding(body, None)).text
    return Page(item["url"], urlsplit(item["url"]).hostname or "", html, ""), item["articleBody"]


def test_a_body_that_fast_mode_misses_is_recovered_with_trafilaturas_fallbacks() -> None:
    page, truth = fundus_page("tr-AnadoluAjansi-2026_04_20")  # fast mode finds its 27-word lead only
    text = extract_article(page, ExtractionOptions()).text
    assert len(words(text)) >= 0.9 * len(words(truth))
    last = [p for p in truth.split("\n") if len(p.split()) > 8][-1]
    assert " ".join(last.split()) in " ".join(text.split())


def test_a_short_japanese_article_is_long_enough_in_characters() -> None:
    page, truth = fundus_page("jp-YomiuriShimbun-2024_12_03")  # 384 characters, "8 words" to a whitespace split
    article = extract_article(page, ExtractionOptions())
    assert article.word_count >= ExtractionOptions().min_words_declared
    assert "非常戒厳" in article.text and "非常戒厳" in truth
