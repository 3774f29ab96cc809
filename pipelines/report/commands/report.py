"""`scrapy report OUTPUT_URI`: the crawl report page of stored runs, so a scheduled job's history can be read
without crawling again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from model.settings import setting
from pipelines.report.core import build_report, exit_code, verdict_lines
from pipelines.report.extension import report_options
from pipelines.report.html import render_html
from pipelines.report.reader import find_runs, load_run, seeds_of, site_owner
from pipelines.store.objects import StorageError
from pipelines.store.pipeline import store_from_settings

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCommand):
    """Reads manifests, parts and duplicate logs from a local or S3 output (S3_* and AWS_* settings apply)."""

    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "OUTPUT_URI [--since DATE] [--crawl NAME] [--out PATH]"

    def short_desc(self) -> str:
        return "Write the health and coverage report page of the runs stored under OUTPUT_URI"

    def long_desc(self) -> str:
        return (
            "Write one self-contained HTML page (source health, story coverage, duplicate clusters, runs) for the "
            "runs stored under OUTPUT_URI (a local directory or s3://bucket/prefix), read from their manifests, "
            "parts and duplicate logs. Exits 3 when REPORT_FAIL_ON_UNHEALTHY is set and the latest run is unhealthy."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--since", metavar="DATE", help="only runs crawled on or after DATE (YYYY-MM-DD, UTC)")
        parser.add_argument("--crawl", metavar="NAME", help="the crawl to report on (needed when OUTPUT_URI holds several)")
        parser.add_argument("--out", metavar="PATH", default="report.html", help="where to write the page (report.html)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one OUTPUT_URI")
        try:
            since = dt.date.fromisoformat(opts.since) if opts.since else None
        except ValueError:
            raise UsageError(f"--since {opts.since!r}: expected a date, YYYY-MM-DD", print_help=False) from None
        assert self.settings is not None
        settings = self.settings.copy()
        settings.set("OUTPUT_URI", args[0], priority="cmdline")
        try:
            store = store_from_settings(settings)
        except StorageError as exc:
            raise UsageError(str(exc), print_help=False) from None
        refs = find_runs(store, opts.crawl, since)
        crawls = sorted({ref.crawl for ref in refs})
        if len(crawls) > 1:
            raise UsageError(
                f"{args[0]} holds several crawls ({', '.join(crawls)}): pick one with --crawl", print_help=False
            )
        if not refs:
            raise UsageError(
                f"no finished run under {args[0]}" + (f" for crawl {opts.crawl!r}" if opts.crawl else "")
                + (f" since {since}" if since else ""),
                print_help=False,
            )
        runs = [load_run(store, ref) for ref in refs]
        seeds = seeds_of(runs[-1].manifest)
        rules, limits = report_options(settings)
        report = build_report(runs, owner=site_owner(seeds) if seeds else None, rules=rules, limits=limits)
        out = Path(opts.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_html(report), encoding="utf-8")
        print("\n".join(verdict_lines(report)))
        span = f"{refs[0].date}" if len(refs) == 1 else f"{refs[0].date} to {refs[-1].date}"
        print(f"Report of {len(runs)} run{'s' if len(runs) > 1 else ''} ({span}): {out}")
        self.exitcode = exit_code(report["verdict"], setting(settings, "REPORT_FAIL_ON_UNHEALTHY"))
