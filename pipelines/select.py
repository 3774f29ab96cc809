"""Selection stage: keep articles on the seeds' topic, in its languages and not older than its `since` date."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from model.items import Article
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

    def reject_reason(self, article: Article) -> str | None:
        keyword_re: re.Pattern[str] | None = self._keyword_re  # type: ignore[attr-defined]
        if keyword_re and not keyword_re.search(f"{article.title or ''}\n{article.text}"):
            return "off_topic"
        if self.languages and article.language and article.language not in self.languages:
            return "wrong_language"
        if self.since and article.published and dt.date.fromisoformat(article.published[:10]) < self.since:
            return "too_old"
        return None


class SelectPipeline:
    """Applies the spider's seeds (`keywords`, `languages`, `since`) to every article.
    Stats: select/off_topic, select/wrong_language, select/too_old."""

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

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Article) and (reason := self.filter.reject_reason(item)):
            count(self.stats, f"select/{reason}", item.site)
            raise Drop(f"select/{reason}", item.url)
        return item
