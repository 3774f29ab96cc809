"""CrawlReport: after the manifest is written, judge each source and write report.json and report.html beside it.

A thin Scrapy adapter: it keeps the slim records and duplicates-log entries of every batch the store made
durable (`events.records_settled`), so it reads nothing back from storage; hands them to the pure core with the
manifest, and writes the result with `store.put` in a thread so the event loop never waits on I/O.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import NotConfigured

from model import events
from model.settings import setting
from pipelines.report.core import OK, UNHEALTHY, HealthRules, Limits, RunData, build_report, slim_record, verdict_lines
from pipelines.report.html import render_html
from pipelines.report.reader import earlier_yields, site_owner

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

    from model.items import Article
    from pipelines.store.objects import ObjectStore

logger = logging.getLogger(__name__)


def report_options(settings: BaseSettings) -> tuple[HealthRules, Limits]:
    """Health thresholds and list sizes from the REPORT_* settings (shared by the crawl and `scrapy report`)."""
    rules = HealthRules(
        min_pages=setting(settings, "REPORT_MIN_PAGES"),
        max_failed_share=setting(settings, "REPORT_MAX_FAILED_SHARE"),
        max_missing_share=setting(settings, "REPORT_MAX_MISSING_SHARE"),
        max_yield_drop=setting(settings, "REPORT_MAX_YIELD_DROP"),
    )
    history_runs = setting(settings, "REPORT_HISTORY_RUNS")
    return rules, Limits(max_listed=setting(settings, "REPORT_MAX_LISTED"), history_runs=history_runs)


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
        self.records: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not setting(settings, "REPORT_ENABLED"):
            raise NotConfigured("REPORT_ENABLED is off")
        extension = cls(crawler, *report_options(settings), setting(settings, "REPORT_FAIL_ON_UNHEALTHY"))
        crawler.signals.connect(extension.records_settled, signal=events.records_settled)
        crawler.signals.connect(extension.run_stored, signal=events.run_stored)
        return extension

    def records_settled(self, records: list[Article], links: list[dict[str, Any]], state: str) -> None:
        if state == events.DURABLE:
            self.records.extend(slim_record(dataclasses.asdict(record)) for record in records)
            self.links.extend(links)

    async def run_stored(self, manifest: Mapping[str, Any], store: ObjectStore, run_prefix: str) -> None:
        stats = self.crawler.stats
        url = f"{store.uri.rstrip('/')}/{run_prefix}/report.html"
        try:
            started = time.perf_counter()
            report, page = await asyncio.to_thread(self._build, manifest, run_prefix, store)
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

    def _build(self, manifest: Mapping[str, Any], run_prefix: str, store: ObjectStore) -> tuple[dict[str, Any], bytes]:
        """Judge the run and render the page (in a worker thread: it is CPU work on the whole run)."""
        seeds = getattr(self.crawler.spider, "seeds", None)
        sites = tuple(site.name for site in seeds.sites) if seeds else ()
        run = RunData(manifest=manifest, prefix=run_prefix, records=self.records, links=self.links, sites=sites)
        report = build_report(
            [run], owner=site_owner(seeds) if seeds else None, rules=self.rules, limits=self.limits,
            history=earlier_yields(store, run_prefix, self.limits.history_runs),
        )
        return report, render_html(report).encode("utf-8")
