"""One way to count: every counter also exists per source, so the crawl report can judge each outlet."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector


def count(stats: StatsCollector, key: str, site: str | None = None, value: int = 1) -> None:
    """Increment `key` and, when the page's site is known, `sites/<site>/<key>`."""
    stats.inc_value(key, value)
    if site:
        stats.inc_value(f"sites/{site}/{key}", value)
