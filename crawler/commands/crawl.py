"""`scrapy crawl`, unchanged, except that its exit code can also say that the crawl report judged a source unhealthy."""

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
        if not self.exitcode:  # the crawl ran: its report, if written, left a verdict in the stats
            assert self._crawler is not None
            self.exitcode = exit_code(
                self._crawler.stats.get_value("report/verdict"),
                self._crawler.settings.getbool("REPORT_FAIL_ON_UNHEALTHY"),
            )
