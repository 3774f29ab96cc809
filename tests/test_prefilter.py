"""TopicPrefilter's rule (ArticleFilter.may_be_on_topic): a page is skipped before extraction only when no record
extracted from it could pass the keyword selection."""

from __future__ import annotations

import gzip
import json
import random
import re
from urllib.parse import urlsplit

import pytest

from model.items import Page
from model.pages import declared_encoding, decode_html
from pipelines.extract.core import ExtractionOptions, NotAnArticle, extract_article
from pipelines.select import ArticleFilter
from tests.support.shared import benchmark_set

WORD = re.compile(r"\w+")


@pytest.mark.parametrize(
    "html",
    [
        "<p>Le patron d'<b>Open</b>AI répond.</p>",  # split by inline tags
        "<p>Un accord avec OpenAI</p><p>Suite</p>",  # at a block's end
        "<p>Sam&nbsp;Altman et Open&#65;I</p>",  # entities
        '<script type="application/ld+json">{"headline": "Sam Altman \\u00e0 Paris"}</script>',  # JSON escapes
        '<meta property="og:title" content="Sam\n  Altman quitte le conseil">',  # an attribute, any whitespace
    ],
)
def test_a_keyword_anywhere_in_the_page_keeps_it(html: str) -> None:
    assert ArticleFilter(["OpenAI", "Sam Altman"]).may_be_on_topic(html)


def test_a_keyword_inside_a_longer_one_does_not_hide_it() -> None:
    assert ArticleFilter(["Open", "OpenAI"]).may_be_on_topic("<p>OpenAI répond</p>")
    assert not ArticleFilter(["Open"]).may_be_on_topic("<p>OpenAI répond</p>")


def test_a_page_without_any_keyword_is_skipped_and_no_keywords_skip_nothing() -> None:
    html = "<html><head><title>Météo</title></head><body><p>Du soleil sur Paris, Opening AI days.</p></body></html>"
    assert not ArticleFilter(["OpenAI", "Sam Altman"]).may_be_on_topic(html)
    assert ArticleFilter().may_be_on_topic(html)


def test_no_page_that_selection_would_keep_is_skipped_on_real_pages() -> None:
    """On the ScrapingHub pages, keywords taken from each extracted record (title words, word pairs and last words
    of paragraphs) always pass the prefilter when they pass selection: the skip is exact, never a lost article.
    Keywords are words: what trafilatura writes itself (a table's " | ") is in no page."""
    scrapinghub = benchmark_set("scrapinghub")
    truth = json.loads((scrapinghub / "ground-truth.json").read_text(encoding="utf-8"))
    rng = random.Random(4)
    checked = 0
    for key, item in sorted(truth.items()):
        body = gzip.decompress((scrapinghub / "html" / f"{key}.html.gz").read_bytes())
        html = decode_html(body, declared_encoding(body, None)).text
        try:
            article = extract_article(Page(item["url"], urlsplit(item["url"]).hostname or "", html, ""), ExtractionOptions())
        except NotAnArticle:
            continue
        words = WORD.findall(article.text)
        paragraph_ends = [WORD.findall(p)[-1] for p in article.text.split("\n") if WORD.search(p)]
        keywords = [*WORD.findall(article.title or "")[:3], *paragraph_ends[:3]]
        start = rng.randrange(max(len(words) - 1, 1))
        keywords.append(" ".join(words[start : start + 2]))
        for keyword in keywords:
            selection = ArticleFilter([keyword])
            if selection.reject_reason(article) is None:
                checked += 1
                assert selection.may_be_on_topic(html), f"{key}: {keyword!r}"
    assert checked > 500
