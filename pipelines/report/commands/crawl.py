"""`scrapy crawl`, unchanged, except that its exit code says how the crawl went, so cron and CI can tell:

0  the crawl finished and every record landed (a run that read its feeds and found nothing new included)
1  it could not start (Scrapy's own), records did not all land in storage (spooled or lost), or the crawl stopped
   itself on a failure (a finish reason ending in `_failed`: `spool_failed`, `extract_pool_failed`, …)
2  usage error (Scrapy's own)
3  REPORT_FAIL_ON_UNHEALTHY is set and the crawl report judged a source or the run unhealthy
4  nothing fetched: requests were made and no source answered any with a page, feed or sitemap
5  stopped before the end: by a signal (SIGTERM, Ctrl-C; a second one forces the stop) or a close that never completed
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scrapy.commands import crawl

from model.settings import setting
from pipelines.report.core import exit_code, source_metrics

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import Crawler
    from scrapy.spiders import Spider

FAILED_EXIT_CODE = 1
NOTHING_FETCHED_EXIT_CODE = 4
INTERRUPTED_EXIT_CODE = 5
# Finish reasons of a crawl that did not run to its end: Scrapy's for a stop on a signal (crawler.stop()), and
# None when the close never reached spider_closed (a forced stop ends the event loop mid-close).
_INTERRUPTED = (None, "shutdown")


def nothing_fetched(stats: Mapping[str, Any]) -> bool:
    """True when the crawl took requests to download and no source answered one (the report's `pages_fetched`:
    pages, feeds, sitemaps, even broken or non-HTML ones). A distributed worker that found the shared frontier
    already done took no request, and did nothing wrong."""
    counters = {key: value for key, value in stats.items() if isinstance(value, int) and not isinstance(value, bool)}
    took = any(value for key, value in counters.items() if key.startswith("scheduler/dequeued"))
    return took and not source_metrics(counters, [])["pages_fetched"]


def crawl_exit_code(stats: Mapping[str, Any], fail_on_unhealthy: bool) -> int:
    """The exit code of a crawl that started, from its final stats (see the module docstring)."""
    if stats.get("store/lost_objects") or stats.get("store/unsent_parts"):
        return FAILED_EXIT_CODE  # records are in the spool or lost
    if str(stats.get("finish_reason")).endswith("_failed"):
        return FAILED_EXIT_CODE
    if stats.get("finish_reason") in _INTERRUPTED:
        return INTERRUPTED_EXIT_CODE
    if nothing_fetched(stats):
        return NOTHING_FETCHED_EXIT_CODE
    return exit_code(stats.get("report/verdict"), fail_on_unhealthy)


class Command(crawl.Command):
    """Scrapy's crawl command with an exit code for cron/CI; REPORT_FAIL_ON_UNHEALTHY adds the report's verdict."""

    _crawler: Crawler | None = None

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        self._crawler = super()._create_crawler(spidercls)
        return self._crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        super().run(args, opts)
        if self.exitcode:
            return
        assert self._crawler is not None  # the crawl ran: its stats say how it went
        fail_on_unhealthy = setting(self._crawler.settings, "REPORT_FAIL_ON_UNHEALTHY")
        self.exitcode = crawl_exit_code(self._crawler.stats.get_stats(), fail_on_unhealthy)
