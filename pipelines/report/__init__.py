"""Crawl report: per-source health and story coverage of stored runs, as report.json and a static report.html."""

from pipelines.report.extension import CrawlReport

__all__ = ["CrawlReport"]
