"""Pure extraction: one fetched page in, one article record out (or the reason it is not an article).

trafilatura does the work; this module chooses its options, helps it where it measurably fails (a body split
into chunks, a body dropped by precision mode), reads what it does not (canonical URL, declared language),
applies the clean-up rules and decides whether the page is an article at all. Figures: `make bench-extract`.
Runs in worker processes, so everything here is picklable and free of Scrapy.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import trafilatura
from lxml.etree import ElementDefaultClassLookup, XPath
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction
from trafilatura.metadata import examine_meta, extract_author, extract_catstags, extract_meta_json, extract_title
from trafilatura.settings import Document
from trafilatura.utils import HTML_PARSER, line_processing, load_html
from trafilatura.xpaths import BODY_XPATH

from model.items import Article, Page
from model.pages import declared_page_type, jsonld_objects
from model.text import content_id, word_count
from model.urls import is_http_url, request_url
from model.walls import consent_markup, consent_wall, is_link_list, is_paywalled, soft_404
from pipelines.extract.cleanup import clean_paragraphs
from pipelines.extract.dates import page_dates
from pipelines.extract.metadata import byline, choose_title, detect_language, title_sources

__all__ = ["ExtractionOptions", "NotAnArticle", "extract_article"]

logger = logging.getLogger(__name__)

# Titles of the legal, contact and about pages every site has (they are often dated: "mis à jour le …"),
# alone or followed by the site's name ("Mentions légales – Univers Telecom").
_SERVICE_PAGE_TITLE = re.compile(
    r"\s*(?:mentions légales|legal notices?|imprint|impressum|privacy(?: policy| notice)?|politique de confidentialité"
    r"|(?:conditions|terms)(?: générales)? (?:d['’]utilisation|de vente|of (?:use|service|sale))|cgu|cgv"
    r"|(?:politique (?:de |des )?)?cookies?(?: policy)?|contact(?: us)?|contactez-nous|nous contacter|about(?: us)?"
    r"|à propos(?: de nous)?|qui sommes-nous)\s*(?:[|–—:-].*)?",
    re.IGNORECASE,
)
# Options of every trafilatura call: comment threads are never article text, tables are, and paragraphs
# repeated inside a page stay (collapsing repeats is the dedup stage's job, with its own rule).
# A page whose extracted words are mostly its links' whole texts is a list of links (model.walls.is_link_list).
_MAX_LINK_SHARE = 0.5
_TRAFILATURA = {"include_comments": False, "include_tables": True, "deduplicate": False, "fast": True}
# trafilatura's extract_catstags keeps the links of tag and category lists whose href match these; and when it finds
# no category link, it takes the section the page declares in its meta tags.
_TAG_HREF = re.compile(r"/tag(?:y|ies|s)?/")
_CATEGORY_HREF = re.compile(r"/categor(?:y|ies|s)?/")
_SECTION_META = XPath('.//head//meta[@property="article:section" or contains(@name, "subject")][@content]')

# trafilatura's parser gives its elements lxml.html's classes through a lookup written in Python, called for every
# element lxml hands to Python: ~2,000 calls and ~1.5 ms (5 %) of each bench page's extraction. lxml's lookup in C
# gives the same classes, but for the five form controls (form, input, select, textarea, label), whose own methods
# trafilatura never calls: same records (tests/test_extraction_core.py).
_ELEMENT_CLASSES = ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
)
HTML_PARSER.set_element_class_lookup(_ELEMENT_CLASSES)


@dataclass(frozen=True, slots=True)
class ExtractionOptions:
    """Settings EXTRACT_MIN_WORDS, EXTRACT_MIN_WORDS_DECLARED, EXTRACT_FAVOR_PRECISION and EXTRACT_MAX_WORDS.

    `min_words` applies to pages that do not declare themselves articles; a declared article may be a short
    news brief, so it only needs `min_words_declared`. A paywalled page needs `min_words`: under it, it gave
    its teaser only.
    """

    min_words: int = 80
    min_words_declared: int = 40
    favor_precision: bool = True
    max_words: int = 20000


class NotAnArticle(Exception):
    """The page yields no article; `reason` is one of empty, too_short, too_long, not_article, link_list,
    soft_404, blocked/consent, blocked/paywall."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def extract_article(page: Page, options: ExtractionOptions) -> Article:
    """Extract the article of `page`, or raise NotAnArticle saying why there is none."""
    tree = load_html(page.html)
    if tree is None:
        raise NotAnArticle("empty", "unparsable HTML")
    declared_type = declared_page_type(tree)
    if declared_type == "listing":
        raise NotAnArticle("not_article", "the page declares itself a listing (JSON-LD, og:type, microdata)")
    if (heading := soft_404(tree)) is not None:
        raise NotAnArticle("soft_404", f"a not-found page: {heading}")
    canonical = _canonical_url(tree, page.url)
    language = _declared_language(tree)
    declared = declared_type == "article"
    if declared:
        _join_split_body(tree)
    extracted = _extract_text(tree, page.url, options)
    if not extracted.strip():
        # No body at all behind a consent platform's markup: the body is only sent once consent is given.
        raise NotAnArticle("blocked/consent" if consent_markup(page.html) else "empty")
    doc = _metadata(tree, canonical)
    objects = list(jsonld_objects(tree))
    sources = title_sources(tree, page.url, objects)
    doc.title = choose_title(sources) or doc.title
    signed = byline(objects, doc.author, sources.site_names)
    detected = detect_language(extracted, language)
    dates = page_dates(tree, page, canonical)
    paragraphs = clean_paragraphs(extracted.split("\n"), title=doc.title, language=detected.language, author=doc.author)
    if consent_wall(paragraphs):
        raise NotAnArticle("blocked/consent", f"a consent dialog: {doc.title}")
    text = "\n".join(paragraphs)
    length = word_count(text)
    if length > options.max_words:
        raise NotAnArticle("too_long", f"{length} words")
    paywalled = is_paywalled(page.html, tree)
    if length < (options.min_words_declared if declared and not paywalled else options.min_words):
        raise NotAnArticle("blocked/paywall" if paywalled else "too_short", f"{length} words")
    if is_link_list(paragraphs, (link.text_content() for link in tree.iter("a")), _MAX_LINK_SHARE):
        raise NotAnArticle("link_list", "most of its text is the text of its links")
    if not declared:
        _check_looks_like_news(tree, doc, paragraphs)
    return Article(
        id=content_id(text),
        url=page.url,
        canonical_url=canonical,
        site=page.site,
        title=doc.title or None,
        authors=signed.authors,
        source=signed.source,
        published=dates.published,
        published_source=dates.published_source,
        modified=dates.modified,
        language=detected.language,
        declared_language=language,
        description=doc.description or None,
        tags=_tags(doc.tags, doc.categories),
        text=text,
        word_count=length,
        fetched_at=page.fetched_at,
        warc=page.warc,
        paywalled=paywalled,
    )


def _join_split_body(tree: HtmlElement) -> None:
    """Give trafilatura the whole body of an article that its template cut into several blocks.

    Some templates split the body into same-class blocks between ad slots (`article__body`, one per chunk).
    trafilatura reads the first element its article-body expression matches, so it would keep the first chunk
    only. Blocks of that exact class that sit beside it (same grandparent, same <article>) are moved into it.
    Only called for declared articles: on a listing page such blocks would be different stories.
    """
    paragraphs: Counter[HtmlElement] = Counter(
        parent for paragraph in tree.iter("p") if (parent := paragraph.getparent()) is not None
    )
    blocks: dict[tuple[str, str], list[HtmlElement]] = {}
    for block, count in paragraphs.items():  # a cheap pre-filter: the costly body expression runs on candidates only
        if count >= 2 and block.tag in ("div", "section", "article") and block.get("class"):
            blocks.setdefault((block.tag, block.get("class")), []).append(block)
    split = {
        first: chunks for first, *others in blocks.values() if (chunks := [o for o in others if _same_place(first, o)])
    }
    body = next(iter(BODY_XPATH[0](tree)), None) if split else None
    if body is not None:
        for chunk in split.get(body, []):
            chunk.tail = None
            body.append(chunk)


def _same_place(a: HtmlElement, b: HtmlElement) -> bool:
    """Cousins (same grandparent) inside the same <article>, if any."""
    a_parent, b_parent = a.getparent(), b.getparent()
    return (
        a_parent is not None
        and b_parent is not None
        and a_parent.getparent() is not None
        and a_parent.getparent() is b_parent.getparent()
        and next(a.iterancestors("article"), None) is next(b.iterancestors("article"), None)
    )


def _extract_text(tree: HtmlElement, url: str, options: ExtractionOptions) -> str:
    """trafilatura's article text, in precision mode, with recoveries for a body it missed.

    Precision mode keeps sidebars and teasers out but now and then drops a whole body (an unusual container,
    a body split in blocks), and fast mode (no readability/jusText fallback, near plain trafilatura's speed)
    sometimes finds only a lead. So a result under twice `min_words` words is checked against recall mode, and
    one still under `min_words`, which would be rejected, against trafilatura with its fallbacks (on a page with
    a short body they add boilerplate, so they are a last resort); a result with at least twice as many words
    replaces it. Only short results pay for the retries.
    """
    text = _trafilatura_text(tree, url, favor_precision=options.favor_precision)
    found = word_count(text)
    for under, retry in _RECOVERIES:
        if found >= under * options.min_words:
            break
        recovered = _trafilatura_text(tree, url, **retry)
        if (recovered_words := word_count(recovered)) >= 2 * max(found, 1):
            text, found = recovered, recovered_words
    return text


# (tried under this many times min_words, trafilatura's options): recall mode, then its fallbacks too.
_RECOVERIES = ((2, {"favor_recall": True}), (1, {"favor_recall": True, "fast": False}))


def _trafilatura_text(tree: HtmlElement, url: str, **options: Any) -> str:
    doc = trafilatura.bare_extraction(tree, url=url, **{**_TRAFILATURA, **options})
    return (doc.text or "") if doc else ""


def _metadata(tree: HtmlElement, url: str) -> Document:
    """Title, author, description, tags and categories, read as trafilatura's
    `extract_metadata` reads them, without the parts this pipeline does not keep.

    Left out: the licence, site name and URL (a record has none of them, its canonical URL is read before).
    Tags and categories not declared in meta tags or JSON-LD are looked for in the page's tag and category
    link lists with trafilatura's expressions, which keep only links to /tag/ or /category/ pages: on a page
    without such links they cannot find anything, so they are not run. On the benchmark pages this takes
    ~9 ms a page where extract_metadata takes ~11 ms. Dates are read apart (`pipelines.extract.dates`).
    """
    doc = examine_meta(tree)
    if doc.author and " " not in doc.author:  # as extract_metadata: a one-word meta author is a handle
        doc.author = None
    try:
        doc = extract_meta_json(tree, doc)
    except Exception as exc:  # as extract_metadata: a bug in trafilatura's JSON-LD reader costs that source only
        logger.debug("JSON-LD metadata of %s unreadable: %r", url, exc)
    doc.title = doc.title or extract_title(tree)
    doc.author = doc.author or extract_author(tree)
    hrefs = tree.xpath("//a/@href")
    if not doc.tags and any(_TAG_HREF.search(href) for href in hrefs):
        doc.tags = extract_catstags("tag", tree)
    if not doc.categories and any(_CATEGORY_HREF.search(href) for href in hrefs):
        doc.categories = extract_catstags("category", tree)
    if not doc.categories:
        doc.categories = [section for meta in _SECTION_META(tree) if (section := line_processing(meta.get("content")))]
    doc.clean_and_trim()
    return doc


def _check_looks_like_news(tree: HtmlElement, doc: Document, paragraphs: list[str]) -> None:
    """Raise NotAnArticle for a page without article markup that is a service page or a listing.

    Legal, contact and about pages carry their title; section, tag and author pages that the spider's URL rules
    let through are lists of teasers: many paragraphs begin with a link's words (a headline). A missing date is
    not a sign: many small publishers' articles have none in their markup, and a date read from the text is too
    weak to tell an article from a page that merely mentions one.
    """
    if _SERVICE_PAGE_TITLE.fullmatch(doc.title or ""):
        raise NotAnArticle("not_article", f"a service page: {doc.title}")
    links = {" ".join(link.text_content().split()) for link in tree.iter("a")}
    headlines = [text for text in links if len(text.split()) >= 3]
    teasers = sum(any(paragraph.startswith(headline) for headline in headlines) for paragraph in paragraphs)
    if teasers >= 3 and 3 * teasers >= len(paragraphs):
        raise NotAnArticle("not_article", f"a list of teasers ({teasers} of {len(paragraphs)} paragraphs)")


def _canonical_url(tree: HtmlElement, url: str) -> str:
    """The URL the page declares as its own (rel=canonical, then og:url), unless that is implausible.

    A canonical pointing at a site's home page is a common template bug that would merge every article
    of a site into one, so it is ignored, as are non-http values.
    """
    for href in (*tree.xpath('//link[@rel="canonical"]/@href'), *tree.xpath('//meta[@property="og:url"]/@content')):
        candidate = request_url(urljoin(url, href.strip()))
        parts = urlsplit(candidate)
        if is_http_url(candidate) and (parts.path.strip("/") or parts.query):  # `/?p=101` is an article
            return candidate
    return request_url(url)


def _declared_language(tree: HtmlElement) -> str | None:
    values = (
        *tree.xpath("/html/@lang"),
        *tree.xpath('//meta[@http-equiv="content-language"]/@content'),
        *tree.xpath('//meta[@property="og:locale"]/@content'),
    )
    for value in values:
        code = value.strip().replace("_", "-").split("-")[0].lower()
        if code.isalpha() and len(code) in (2, 3):
            return code
    return None


def _tags(tags: list[str] | None, categories: list[str] | None) -> list[str]:
    """Tags and categories, split on commas, in first-seen order without repeats."""
    seen: dict[str, None] = {}
    for value in (*(tags or []), *(categories or [])):
        for tag in value.split(","):
            if tag.strip():
                seen.setdefault(tag.strip(), None)
    return list(seen)
