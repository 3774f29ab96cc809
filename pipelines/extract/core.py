"""Pure extraction: one fetched page in, one article record out (or the reason it is not an article).

trafilatura does the work; this module chooses its options, reads what trafilatura does not (canonical URL,
declared language), applies the clean-up rules and decides whether the page is an article at all.
Runs in worker processes, so everything here is picklable and free of Scrapy.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import trafilatura
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from crawler.items import Article, Page
from crawler.urls import is_http_url, request_url
from pipelines.extract.cleanup import clean_paragraphs
from pipelines.text import content_id, words

__all__ = ["ExtractionOptions", "NotAnArticle", "extract_article"]


@dataclass(frozen=True, slots=True)
class ExtractionOptions:
    """Settings EXTRACT_MIN_WORDS and EXTRACT_FAVOR_PRECISION."""

    min_words: int = 80
    favor_precision: bool = True


class NotAnArticle(Exception):
    """The page yields no article; `reason` is one of empty, too_short, not_article."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def extract_article(page: Page, options: ExtractionOptions) -> Article:
    """Extract the article of `page`, or raise NotAnArticle saying why there is none."""
    tree = load_html(page.html)
    if tree is None:
        raise NotAnArticle("empty", "unparsable HTML")
    canonical = _canonical_url(tree, page.url)
    declared_language = _declared_language(tree)
    doc = trafilatura.bare_extraction(
        tree,
        url=page.url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=options.favor_precision,
        deduplicate=False,
    )
    if doc is None or not (doc.text or "").strip():
        raise NotAnArticle("empty")
    paragraphs = clean_paragraphs(doc.text.split("\n"), title=doc.title, language=doc.language or declared_language)
    text = "\n".join(paragraphs)
    word_count = len(words(text))
    if word_count < options.min_words:
        raise NotAnArticle("too_short", f"{word_count} words")
    if page.declared_type != "article" and not doc.date:
        # Undeclared pages must at least look like news (dated) to pass: legal, contact and about pages do not.
        raise NotAnArticle("not_article", "no article markup and no publication date")
    return Article(
        id=content_id(text),
        url=page.url,
        canonical_url=canonical,
        site=page.site,
        title=doc.title or None,
        author=doc.author or None,
        published=doc.date or None,
        language=doc.language or declared_language,
        description=doc.description or None,
        tags=_tags(doc.tags, doc.categories),
        text=text,
        word_count=word_count,
        fetched_at=page.fetched_at,
    )


def _canonical_url(tree: HtmlElement, url: str) -> str:
    """The URL the page declares as its own (rel=canonical, then og:url), unless that is implausible.

    A canonical pointing at a site's home page is a common template bug that would merge every article
    of a site into one, so it is ignored, as are non-http values.
    """
    for href in (*tree.xpath('//link[@rel="canonical"]/@href'), *tree.xpath('//meta[@property="og:url"]/@content')):
        candidate = urljoin(url, href.strip())
        if is_http_url(candidate) and urlsplit(candidate).path.strip("/"):
            return request_url(candidate)
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
