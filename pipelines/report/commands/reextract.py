"""`scrapy reextract OUTPUT_URI --run RUN_ID | --since DATE [--out OUTPUT_URI2]`: run today's stages on the pages
past runs archived (ARCHIVE_ENABLED), without a network request."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING, Any

from scrapy.commands import BaseRunSpiderCommand
from scrapy.exceptions import UsageError

from model.settings import setting
from pipelines.report.commands.crawl import crawl_exit_code
from pipelines.report.reader import RunRef, find_runs
from pipelines.store.objects import ObjectStore, StorageError
from pipelines.store.pipeline import store_from_settings
from pipelines.store.runs import archived

if TYPE_CHECKING:
    import argparse

logger = logging.getLogger(__name__)


class Command(BaseRunSpiderCommand):
    """Replays the WARC files of finished runs through the `archive` spider into a new run of `--out`."""

    requires_project = True

    def syntax(self) -> str:
        return "OUTPUT_URI (--run RUN_ID ... | --since DATE) [--crawl NAME] [--out OUTPUT_URI2] [-a seeds=PATH]"

    def short_desc(self) -> str:
        return "Extract, select, dedup and store again the pages that past runs archived"

    def long_desc(self) -> str:
        return (
            "Read the WARC archive of the finished runs under OUTPUT_URI (crawled with ARCHIVE_ENABLED) and run the "
            "current extract -> select -> dedup -> store stages on its pages, writing a new run to --out (default "
            "OUTPUT_URI itself, whose dedup state then drops what it already holds). Records keep the time their "
            "page was fetched and point at its archived copy. No request is made. The seeds are -a seeds=PATH, else "
            "the file the newest selected run was crawled with. Exit codes as `scrapy crawl`."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--run", metavar="RUN_ID", action="append", default=[], help="a run to replay (repeatable)")
        parser.add_argument("--since", metavar="DATE", help="replay the runs crawled on or after DATE (YYYY-MM-DD, UTC)")
        parser.add_argument("--crawl", metavar="NAME", help="the crawl to replay (needed when OUTPUT_URI holds several)")
        parser.add_argument("--out", metavar="OUTPUT_URI2", help="where the new run goes (default: OUTPUT_URI)")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        if len(args) != 1:
            raise UsageError("give one OUTPUT_URI")
        if bool(opts.run) == bool(opts.since):
            raise UsageError("give either --run RUN_ID or --since DATE", print_help=False)
        assert self.settings is not None
        self.source = self.settings.copy()  # OUTPUT_URI, S3_* and AWS_* as for the crawl, but reading args[0]
        self.source.set("OUTPUT_URI", args[0], priority="cmdline")
        self.settings.set("OUTPUT_URI", opts.out or args[0], priority="cmdline")
        self.settings.set("ARCHIVE_ENABLED", False, priority="cmdline")  # the pages are in the archive already

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        try:
            store = store_from_settings(self.source)
        except StorageError as exc:
            raise UsageError(str(exc), print_help=False) from None
        manifests = [_manifest(store, ref) for ref in _selected_runs(store, opts)]
        warc_files = [entry for manifest in manifests for entry in manifest.get("warc_files") or []]
        if not warc_files:
            raise UsageError(
                f"the selected runs of {args[0]} have no archive: crawl with -s ARCHIVE_ENABLED=True", print_help=False
            )
        for manifest in manifests:
            if not manifest.get("warc_files"):
                logger.warning("Run %s has no archive: nothing of it is replayed", manifest.get("run_id"))
        spargs = {"seeds": next((m["seeds"] for m in reversed(manifests) if m.get("seeds")), None), **opts.spargs}
        assert self.crawler_process is not None
        crawler = self._create_crawler("archive")
        self.crawler_process.crawl(crawler, archive=archived(store, warc_files), **spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        self.exitcode = crawl_exit_code(crawler.stats.get_stats(), setting(crawler.settings, "REPORT_FAIL_ON_UNHEALTHY"))


def _selected_runs(store: ObjectStore, opts: argparse.Namespace) -> list[RunRef]:
    """The finished runs `--run` or `--since` names, oldest first; a usage error when one is not there."""
    try:
        since = dt.date.fromisoformat(opts.since) if opts.since else None
    except ValueError:
        raise UsageError(f"--since {opts.since!r}: expected a date, YYYY-MM-DD", print_help=False) from None
    refs = find_runs(store, opts.crawl, since)
    if opts.run:
        refs = [ref for ref in refs if ref.run_id in opts.run]
        missing = sorted(set(opts.run) - {ref.run_id for ref in refs})
        if missing:
            raise UsageError(f"no finished run {', '.join(missing)} under {store.uri}", print_help=False)
    if not refs:
        raise UsageError(f"no finished run under {store.uri} since {since}", print_help=False)
    if len({ref.crawl for ref in refs}) > 1:
        raise UsageError(f"{store.uri} holds several crawls: pick one with --crawl", print_help=False)
    return refs


def _manifest(store: ObjectStore, ref: RunRef) -> dict[str, Any]:
    return json.loads(store.get(f"{ref.prefix}/manifest.json") or b"{}")
