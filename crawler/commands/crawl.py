"""`scrapy crawl`, unchanged, except that its exit code also says when records did not all land in storage
(1) or the crawl report judged a source unhealthy (3, with REPORT_FAIL_ON_UNHEALTHY)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands import crawl

from pipelines.report.core import exit_code

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import Crawler
    from scrapy.spiders import Spider


class Command(crawl.Command):
    """Scrapy's crawl command; with REPORT_FAIL_ON_UNHEALTHY it exits non-zero on an unhealthy verdict, for cron/CI."""

    _crawler: Crawler | None = None

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        self._crawler = super()._create_crawler(spidercls)
        return self._crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        super().run(args, opts)
        if self.exitcode:
            return
        assert self._crawler is not None  # the crawl ran: its stats say how it went
        stats = self._crawler.stats
        if stats.get_value("store/lost_objects") or stats.get_value("store/unsent_parts"):
            self.exitcode = 1  # records are in the spool or lost: a scheduler must notice
            return
        self.exitcode = exit_code(stats.get_value("report/verdict"), self._crawler.settings.getbool("REPORT_FAIL_ON_UNHEALTHY"))
