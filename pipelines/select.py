"""Selection stage: keep articles on the seeds' topic, in its languages and not older than its `since` date."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from model.items import Article, Page
from model.stats import count
from pipelines.drops import Drop

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector


@dataclass(frozen=True)
class ArticleFilter:
    """Pure rule: why an article is out of scope (off_topic, wrong_language, too_old), or None to keep it.

    Keywords match whole words, case-insensitively, in the title or the text. An undated article is kept
    when `since` is set: the date is unknown, not old; so is an article of unknown language when `languages` is
    set (its text too short to tell and the page silent).
    """

    keywords: Sequence[str] = ()
    since: dt.date | None = None
    languages: Sequence[str] = ()

    def __post_init__(self) -> None:
        pattern = "|".join(re.escape(kw.strip()) for kw in self.keywords)
        object.__setattr__(self, "_keyword_re", re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.I) if pattern else None)
        # The same keywords, lower-cased, with any whitespace between their words, for the page's raw markup; the
        # longest first, so that a hit that is not a whole word is not the shorter keyword inside a longer one.
        words = sorted((kw.lower().split() for kw in self.keywords if kw.strip()), key=lambda kw: -len(" ".join(kw)))
        loose = "|".join(r"\s+".join(map(re.escape, kw)) for kw in words)
        object.__setattr__(self, "_loose_re", re.compile(loose) if loose else None)
        object.__setattr__(self, "_first_words", tuple(dict.fromkeys(kw[0] for kw in words)))
        object.__setattr__(self, "_readings", _READINGS if any(len(kw) > 1 for kw in words) else _READINGS[:2])

    def may_be_on_topic(self, page_html: str) -> bool:
        """False only when no article extracted from `page_html` can contain a keyword, so extraction can be
        skipped: a record's title and text are made of the page's text nodes and attribute values (og:title,
        JSON-LD headline). So the markup, its entities and JSON \\u escapes decoded and lower-cased, is searched
        as it is, with its tags removed (a keyword split by inline tags) and, for keywords of several words, with tags
        as spaces (words in two blocks), a keyword's words matching across any whitespace. A one-word keyword found
        with tags as spaces lies between two tags, so it is found in the markup as it is too."""
        loose_re: re.Pattern[str] | None = self._loose_re  # type: ignore[attr-defined]
        if loose_re is None:
            return True
        markup = _JSON_ESCAPE.sub(_unescaped, html.unescape(page_html)).lower()
        first_words: tuple[str, ...] = self._first_words  # type: ignore[attr-defined]
        readings: tuple[Callable[[str], str], ...] = self._readings  # type: ignore[attr-defined]
        return any(_whole_word_match(loose_re, first_words, read(markup)) for read in readings)

    def reject_reason(self, article: Article) -> str | None:
        keyword_re: re.Pattern[str] | None = self._keyword_re  # type: ignore[attr-defined]
        if keyword_re and not keyword_re.search(f"{article.title or ''}\n{article.text}"):
            return "off_topic"
        if self.languages and article.language and article.language not in self.languages:
            return "wrong_language"
        if self.since and article.published and dt.date.fromisoformat(article.published[:10]) < self.since:
            return "too_old"
        return None


_TAG = re.compile(r"<[^>]*>")
# The markup as it is, with its tags removed, with tags as spaces: made when the one before has no keyword.
_READINGS: tuple[Callable[[str], str], ...] = (
    lambda markup: markup,
    lambda markup: _TAG.sub("", markup),
    lambda markup: _TAG.sub(" ", markup),
)
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_WORD_CHAR = re.compile(r"\w")


def _unescaped(match: re.Match[str]) -> str:
    return chr(int(match[1], 16))


def _whole_word_match(pattern: re.Pattern[str], first_words: Sequence[str], text: str) -> bool:
    """Whether `pattern` matches in `text` between non-word characters, as `(?<!\\w)…(?!\\w)` would. Every
    match starts with a keyword's first word, so `str.find` finds where to try it: a regex of alternatives
    searched over a whole page tries each of them at every character, several times slower."""
    for word in first_words:
        start = text.find(word)
        while start != -1:
            match = pattern.match(text, start)
            if match and not (start and _WORD_CHAR.match(text, start - 1)) and not _WORD_CHAR.match(text, match.end()):
                return True
            start = text.find(word, start + 1)
    return False


class _SeedsStage:
    """A stage that applies the spider's seeds (`keywords`, `languages`, `since`), read when the spider opens."""

    def __init__(self, crawler: Crawler, stats: StatsCollector) -> None:
        self.crawler = crawler
        self.stats = stats
        self.filter = ArticleFilter()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, crawler.stats)

    def open_spider(self) -> None:
        seeds = getattr(self.crawler.spider, "seeds", None)
        if seeds is not None:
            self.filter = ArticleFilter(seeds.keywords, seeds.since, seeds.languages)


class TopicPrefilter(_SeedsStage):
    """Drops, before extraction, a page that cannot give an article with the seeds' `keywords`
    (`ArticleFilter.may_be_on_topic`): on a crawl with keywords most fetched pages are off topic, and extraction
    is the crawl's costly step. Stats: select/off_topic_prefiltered."""

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Page) and not self.filter.may_be_on_topic(item.html):
            count(self.stats, "select/off_topic_prefiltered", item.site)
            raise Drop("select/off_topic_prefiltered", item.url)
        return item


class SelectPipeline(_SeedsStage):
    """Applies the seeds to every article. Stats: select/off_topic, select/wrong_language, select/too_old."""

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Article) and (reason := self.filter.reject_reason(item)):
            count(self.stats, f"select/{reason}", item.site)
            raise Drop(f"select/{reason}", item.url)
        return item
