"""CrawlReport: after the manifest is written, judge each source and write report.json and report.html beside it.

A thin Scrapy adapter: it reads the run back from the store (manifest, parts, duplicates log), hands it to the
pure core, and writes the result with `store.put` in a thread so the event loop never waits on I/O.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import NotConfigured

from pipelines import events
from pipelines.report.core import OK, UNHEALTHY, HealthRules, Limits, build_report, verdict_lines
from pipelines.report.html import render_html
from pipelines.report.reader import earlier_yields, read_run, site_owner
from pipelines.store.core import ObjectStore

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


def report_options(settings: BaseSettings) -> tuple[HealthRules, Limits]:
    """Health thresholds and list sizes from the REPORT_* settings (shared by the crawl and `scrapy report`)."""
    defaults, limits = HealthRules(), Limits()
    rules = HealthRules(
        min_pages=settings.getint("REPORT_MIN_PAGES", defaults.min_pages),
        max_failed_share=settings.getfloat("REPORT_MAX_FAILED_SHARE", defaults.max_failed_share),
        max_missing_share=settings.getfloat("REPORT_MAX_MISSING_SHARE", defaults.max_missing_share),
        max_yield_drop=settings.getfloat("REPORT_MAX_YIELD_DROP", defaults.max_yield_drop),
    )
    history_runs = settings.getint("REPORT_HISTORY_RUNS", limits.history_runs)
    return rules, Limits(max_listed=settings.getint("REPORT_MAX_LISTED", limits.max_listed), history_runs=history_runs)


class CrawlReport:
    """Writes the run's report and logs its health verdict (settings REPORT_*).

    Stats: report/verdict (ok, warning, unhealthy), report/sources/{ok,warning,unhealthy}, report/html_bytes,
    report/build_seconds, report/url; report/error when the report could not be written. The crawl command
    reads report/verdict for its exit code when REPORT_FAIL_ON_UNHEALTHY is set.
    """

    def __init__(self, crawler: Crawler, rules: HealthRules, limits: Limits, fail_on_unhealthy: bool) -> None:
        self.crawler = crawler
        self.rules = rules
        self.limits = limits
        self.fail_on_unhealthy = fail_on_unhealthy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("REPORT_ENABLED", True):
            raise NotConfigured("REPORT_ENABLED is off")
        extension = cls(crawler, *report_options(settings), settings.getbool("REPORT_FAIL_ON_UNHEALTHY"))
        crawler.signals.connect(extension.run_stored, signal=events.run_stored)
        return extension

    async def run_stored(self, manifest: Mapping[str, Any], store: ObjectStore, run_prefix: str) -> None:
        stats = self.crawler.stats
        url = f"{store.uri.rstrip('/')}/{run_prefix}/report.html"
        try:
            started = time.perf_counter()
            report, page = await asyncio.to_thread(self._build, manifest, store, run_prefix)
            stats.set_value("report/build_seconds", round(time.perf_counter() - started, 3))
            data = json.dumps(report, indent=1, ensure_ascii=False).encode("utf-8")
            await asyncio.to_thread(store.put, f"{run_prefix}/report.json", data, "application/json")
            await asyncio.to_thread(store.put, f"{run_prefix}/report.html", page, "text/html; charset=utf-8")
        except Exception as exc:  # the records are stored; a report that fails must not hide that
            logger.exception("Crawl report not written to %s", url)
            stats.set_value("report/error", repr(exc))
            return
        stats.set_value("report/verdict", report["verdict"])
        for level, count in report["totals"]["sources"].items():
            stats.set_value(f"report/sources/{level}", count)
        stats.set_value("report/html_bytes", len(page))
        stats.set_value("report/url", url)
        lines = verdict_lines(report)
        lines.append(f"  report: {url}")
        level = logging.INFO if report["verdict"] == OK else logging.WARNING
        if report["verdict"] == UNHEALTHY and self.fail_on_unhealthy:
            lines.append("  the crawl exits non-zero (REPORT_FAIL_ON_UNHEALTHY)")
            level = logging.ERROR
        logger.log(level, "%s", "\n".join(lines))

    def _build(self, manifest: Mapping[str, Any], store: ObjectStore, run_prefix: str) -> tuple[dict[str, Any], bytes]:
        """Read the run back, judge it and render the page (in a worker thread: reading parts is I/O)."""
        seeds = getattr(self.crawler.spider, "seeds", None)
        sites = tuple(site.name for site in seeds.sites) if seeds else ()
        run = read_run(store, manifest, run_prefix, sites)
        report = build_report(
            [run], owner=site_owner(seeds) if seeds else None, rules=self.rules, limits=self.limits,
            history=earlier_yields(store, run_prefix, self.limits.history_runs),
        )
        return report, render_html(report).encode("utf-8")
