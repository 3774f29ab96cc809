"""CrawlSummary: a readable end-of-crawl report of what was fetched, stored, dropped and skipped, and why."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# Stats prefixes, in the order a reader follows a page through the stages.
SECTIONS = (
    ("not replayed from the archive", ("reextract/",)),
    ("skipped while crawling", ("crawl/skipped/", "crawl/failed/", "crawl/feed/", "robotstxt/forbidden")),
    ("slowed or stopped by the sites", ("crawl/throttled/", "crawl/traps", "crawl/blocked/", "crawl/soft_404")),
    ("dropped by extraction", ("extract/",)),
    ("dropped by selection", ("select/",)),
    ("dropped as duplicates", ("dedup/same_url", "dedup/exact", "dedup/near_duplicate", "dedup/superseded")),
    ("storage problems", ("store/spooled_parts", "store/unsent_parts", "store/lost_", "store/withdraw_missed",
                          "dedup/state_not_saved", "archive/lost_files")),
)


def summarize(stats: Mapping[str, Any]) -> str:
    """Render crawl stats as a short multi-line summary (pure, so it is tested on a dict)."""
    elapsed = float(stats.get("elapsed_time_seconds") or 0)
    if not elapsed and isinstance(stats.get("start_time"), dt.datetime):
        elapsed = (dt.datetime.now(dt.UTC) - stats["start_time"]).total_seconds()
    replayed = int(stats.get("crawl/pages/archive", 0))  # scrapy reextract: pages read from WARC files
    fetched = replayed or int(stats.get("downloader/response_count", 0))
    stored = int(stats.get("store/records", 0))
    rate = f", {fetched / elapsed:.1f} pages/s" if elapsed else ""
    how = "replayed from the archive" if replayed else "fetched"
    lines = [
        f"Crawl summary ({stats.get('finish_reason', '?')}): {fetched} pages {how} in {elapsed:.1f} s{rate}; "
        f"{int(stats.get('extract/ok', 0))} articles extracted, {stored} stored"
        + (f" in {stats['store/run']}" if "store/run" in stats else ""),
    ]
    if stats.get("archive/pages"):
        lines.append(f"  archived: {int(stats['archive/pages'])} pages in {int(stats.get('archive/files', 0))} WARC files "
                     f"({int(stats.get('archive/bytes', 0)) / 1e6:.1f} MB)")  # fmt: skip
    repeats = int(stats.get("dedup/self_repeat_paragraphs", 0))
    if repeats:
        lines.append(f"  self-repeated paragraphs collapsed: {repeats} in {int(stats.get('dedup/self_repeat_pages', 0))} pages")
    for title, prefixes in SECTIONS:
        counts = {
            key: value
            for key, value in sorted(stats.items())
            if key.startswith(prefixes) and isinstance(value, int) and key != "extract/ok"
        }
        if counts:
            lines.append(f"  {title}: " + ", ".join(f"{_short(key)}={value}" for key, value in counts.items()))
    return "\n".join(lines)


def _short(key: str) -> str:
    """`extract/too_short` reads `too_short` under its section; keys of other components keep their name."""
    stage, _, rest = key.partition("/")
    return rest if stage in ("crawl", "extract", "select", "dedup", "store") else key


class CrawlSummary:
    """Logs `summarize(stats)` when the spider closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider: Any, reason: str) -> None:
        stats = {**self.crawler.stats.get_stats(), "finish_reason": reason}
        logger.info("%s", summarize(stats))
