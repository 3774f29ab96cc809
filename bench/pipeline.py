"""The whole pipeline against trafilatura like for like, on one machine, in one run: ratios, not absolute speeds.

A local site (bench/site.py: the ScrapingHub benchmark pages and the demo layouts, replicated, with planted
copies) is served on 127.0.0.1. The same article pages are then (a) read from disk and given to trafilatura
like for like (`bare_extraction` with the pipeline's options and metadata) one after the other in a process of
their own, (c) shared by one such process per core (the most the cores give with no crawl at all: the ceiling
for (b)), and (b) crawled by `scrapy crawl news`
(sitemap → pages → extract → select → dedup → store) into a local directory, then into S3 (a Ceph RGW on
127.0.0.1, tests.support.servers). For (b) the span is the crawl's first request to the moment every record
is stored; bench/stages.py records it with the main process's CPU time and the synchronous stages' CPU
times, the workers report extraction's (`extract/seconds`) and the store its own (`store/seconds`). The
crawl's process tree is sampled in /proc for its peak RSS and each process's CPU time: what the main process
used outside the span (start-up, shut-down) and the workers outside pages (their server's imports and preload,
the hand-off of pages and records) is counted too. Then (d) a bare SitemapSpider (bench/bare.py) fetches the same
pages with Scrapy's default settings and only decodes them: what Scrapy itself costs per page, the floor under
the crawl's main process. Then a realistic mix (bench/site.py, `mix=True`: listings and off-topic articles around
the on-topic ones) is crawled with the seeds' keywords, and its CPU and wall time per stored article are set beside
trafilatura like for like over every page that crawl fetched. Last, the dedup and store stages run in this
process over synthetic records, with the RSS at 1k, 10k and 50k records.

    python -m bench.pipeline --data ../shared/bench/extraction/scrapinghub [--pages 2400] [--mix-pages 2400] [--no-s3]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import trafilatura
from scrapy import Spider
from scrapy.pipelines import ItemPipelineManager
from scrapy.utils.test import get_crawler

import crawler.settings as project_settings
from bench.dedup import load_bodies, synthetic_texts
from bench.extraction import like_for_like
from bench.site import KEYWORDS, ON_TOPIC_SHARE, BenchSite, serve
from bench.stages import process_cpu
from model.items import Article
from model.text import content_id
from pipelines.dedup import DedupPipeline
from pipelines.dedup.index import NearDupIndex
from pipelines.drops import Drop

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "extraction" / "scrapinghub"
# What the bench sets for a local crawl, beside the project's settings: no politeness delay on loopback, and
# enough requests and items in flight to keep every extraction worker fed.
CRAWL_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "BLOCK_PRIVATE_ADDRESSES": "False",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "EXTRACT_WORKERS": "0",
    "LOG_LEVEL": "INFO",
    "ITEM_PROCESSOR": "bench.stages.StageClock",
}
CHECKPOINTS = (1_000, 10_000, 50_000)
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


# -- (a), (c) plain trafilatura ----------------------------------------------------------------------


@dataclass(frozen=True)
class Plain:
    pages: int
    wall: float
    cpu: float
    peak_rss: int
    others_cpu: float = 0.0  # CPU seconds used meanwhile by the rest of the machine


def plain_trafilatura(pages: Sequence[tuple[Path, str]], processes: int = 1) -> Plain:
    """trafilatura like for like (`bench.extraction.like_for_like`: the pipeline's options and the metadata a
    record has) on every page (file, URL), read from disk, one after the other (reading included), in fresh
    processes of their own, so that peak RSS is their own. With several processes, each takes its share of the
    pages and all start timing together: what the cores give with no crawl at all, the ceiling for (b)."""
    machine = _machine_busy()
    context = multiprocessing.get_context("spawn")
    together = context.Barrier(processes)
    with ProcessPoolExecutor(processes, mp_context=context, initializer=_keep_barrier, initargs=(together,)) as children:
        shares = list(children.map(_plain_trafilatura, [list(pages[n::processes]) for n in range(processes)]))
    plain = Plain(sum(s.pages for s in shares), max(s.wall for s in shares), sum(s.cpu for s in shares),
                  sum(s.peak_rss for s in shares))  # fmt: skip
    return dataclasses.replace(plain, others_cpu=_machine_busy() - machine - plain.cpu)


_together: Any = None  # in a child of plain_trafilatura: the barrier its timing starts at


def _keep_barrier(together: Any) -> None:
    global _together
    _together = together


def _plain_trafilatura(pages: list[tuple[Path, str]]) -> Plain:
    like_for_like(pages[0][0].read_text(encoding="utf-8"), pages[0][1])  # untimed: trafilatura loads lazy resources
    _together.wait()
    wall, cpu = time.perf_counter(), time.process_time()
    for path, url in pages:
        like_for_like(path.read_text(encoding="utf-8"), url)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Plain(len(pages), wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


# -- (b) the crawl -----------------------------------------------------------------------------------


class TreeSampler(threading.Thread):
    """Samples a process and its descendants in /proc: peak summed RSS, and CPU time per process; and the
    whole machine's busy CPU time meanwhile, so that other load during the crawl shows."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_rss = 0
        self.cpu: dict[int, float] = {}
        self.machine_cpu = -_machine_busy()
        self.own_cpu = -process_cpu()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._done.set()
        self.join()
        self.machine_cpu += _machine_busy()
        self.own_cpu += process_cpu()

    def sample(self) -> None:
        parents: dict[int, int] = {}
        stats: dict[int, list[str]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry.name)], stats[int(entry.name)] = int(fields[1]), fields
        tree = {self.pid}
        while grown := {pid for pid, parent in parents.items() if parent in tree} - tree:
            tree |= grown
        rss = 0
        for pid in tree & stats.keys():
            fields = stats[pid]
            self.cpu[pid] = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
            rss += int(fields[21]) * PAGE_SIZE
        self.peak_rss = max(self.peak_rss, rss)


def _machine_busy() -> float:
    """CPU seconds all processes of the machine have used since boot (/proc/stat: all but idle and iowait)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICKS


@dataclass(frozen=True)
class Crawl:
    target: str
    wall: float
    stats: dict[str, Any]
    peak_rss: int
    tree_cpu: float
    main_cpu: float  # the main process's, start-up and shut-down included
    others_cpu: float  # CPU seconds used meanwhile by everything but the crawl and this process (the site)

    def stat(self, key: str) -> float:
        return float(self.stats.get(key) or 0)

    @property
    def pages(self) -> int:
        """HTML pages the crawl fetched and parsed (`crawl/pages/<found in>`): the basis of its pages/s."""
        return int(sum(v for k, v in self.stats.items() if k.startswith("crawl/pages/")))


@dataclass(frozen=True, slots=True)
class CrawlCpu:
    """Where a crawl's CPU seconds went, from the stage clocks and the /proc samples: one column of the table."""

    start_and_shut_down: float
    engine: float
    extract: float
    workers_outside_pages: float
    select: float
    dedup: float
    store: float
    total: float

    @classmethod
    def of(cls, run: Crawl) -> CrawlCpu:
        in_span, extract = run.stat("bench/main_cpu_seconds"), run.stat("extract/seconds")
        select, dedup, store = run.stat("select/seconds"), run.stat("dedup/seconds"), run.stat("store/seconds")
        return cls(start_and_shut_down=run.main_cpu - in_span, engine=in_span - select - dedup - store,
                   extract=extract, workers_outside_pages=run.tree_cpu - run.main_cpu - extract, select=select,
                   dedup=dedup, store=store, total=run.tree_cpu)  # fmt: skip


_CPU_ROWS = {
    "start_and_shut_down": "start-up, shut-down (main process, outside the span)",
    "engine": "fetch, parse, engine (rest of the main process)",
    "extract": "extract (trafilatura, in the workers)",
    "workers_outside_pages": "workers outside pages (start-up, preload, hand-off)",
    "select": "select",
    "dedup": "dedup",
    "store": "store (encode parts, write them)",
    "total": "total",
}


def crawl(seeds: Path, output: str, work: Path, env: dict[str, str] | None = None, **extra: object) -> Crawl:
    stats_file = work / f"stats-{uuid.uuid4().hex[:8]}.json"
    settings = {**CRAWL_SETTINGS, "OUTPUT_URI": output, "BENCH_STATS_FILE": str(stats_file),
                "STORE_SPOOL_DIR": str(work / "spool"), "HTTPCACHE_DIR": str(work / "httpcache"), **extra}  # fmt: skip
    command = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"seeds={seeds}"]
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    sampler = TreeSampler(process.pid)
    sampler.start()
    _, log = process.communicate()
    sampler.stop()
    if process.returncode or not stats_file.exists():
        raise RuntimeError(f"the crawl into {output} failed ({process.returncode}):\n{log[-3000:]}")
    tree_cpu = sum(sampler.cpu.values())
    return Crawl(output, time.perf_counter() - start, json.loads(stats_file.read_text()), sampler.peak_rss, tree_cpu,
                 sampler.cpu.get(process.pid, 0.0), sampler.machine_cpu - tree_cpu - sampler.own_cpu)  # fmt: skip


def crawl_s3(seeds: Path, work: Path) -> Crawl:
    from tests.support.servers import CephRGW  # the test harness's real S3 server

    with CephRGW(workdir=work / "ceph") as ceph:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        ceph.create_bucket(bucket)
        env = {"AWS_ACCESS_KEY_ID": ceph.access_key, "AWS_SECRET_ACCESS_KEY": ceph.secret_key,
               "AWS_DEFAULT_REGION": ceph.region, "S3_ENDPOINT_URL": ceph.endpoint_url, "S3_ADDRESSING_STYLE": "path"}
        return crawl(seeds, f"s3://{bucket}/bench", work, env)  # fmt: skip


def bare_scrapy(site: BenchSite) -> float:
    """(d) Scrapy alone on the same site (bench/bare.py): its CPU seconds per page, the main process's floor."""
    command = [sys.executable, "-m", "bench.bare", f"{site.base_url}/sitemap.xml",
               "--concurrency", CRAWL_SETTINGS["CONCURRENT_REQUESTS"]]  # fmt: skip
    result = json.loads(subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    if not result["pages"]:
        raise RuntimeError(f"the bare SitemapSpider fetched no page of {site.base_url}")
    return result["cpu"] / result["pages"]


def print_crawls(plain: Plain, ceiling: Plain, crawls: Sequence[Crawl], bare: float) -> None:
    plain_rate, cores = plain.pages / plain.wall, len(os.sched_getaffinity(0))
    print(f"\n{'':<52}{'pages/s':>9}{'× (a)':>8}{'× (c)':>8}{'span s':>9}{'CPU s':>8}{'peak RSS':>11}")
    rows = [("(a) trafilatura like for like, one process", plain.pages, plain.wall, plain.cpu, plain.peak_rss)]
    for run in crawls:
        name = f"(b) scrapy crawl news → {'S3 (Ceph RGW)' if run.target.startswith('s3:') else 'local directory'}"
        rows.append((name, run.pages, run.stat("bench/crawl_seconds"), run.tree_cpu, run.peak_rss))
    rows.append((f"(c) trafilatura like for like, {cores} processes", ceiling.pages, ceiling.wall, ceiling.cpu,
                 ceiling.peak_rss))  # fmt: skip
    ceiling_rate = ceiling.pages / ceiling.wall
    for name, done, span, cpu, rss in rows:
        print(f"{name:<52}{done / span:>9.1f}{done / span / plain_rate:>8.2f}{done / span / ceiling_rate:>8.2f}"
              f"{span:>9.1f}{cpu:>8.1f}{_mib(rss):>11}")
    print("  (a): `bare_extraction(html, url=…, fast=True, include_comments=False, with_metadata=True)`, the options "
          "the pipeline gives trafilatura and the fields a record has (bench.extraction.like_for_like)")
    print("  (b): pages/s = HTML pages the crawl fetched (crawl/pages/*) per second of its span, first request to "
          "every record stored; CPU and peak RSS of the crawl's process tree (main process and extraction workers, "
          "sampled in /proc)")
    print(f"  (c): the same pages shared by {cores} processes timed together, with no crawl at all: what {cores} cores "
          f"give here, the ceiling for (b); CPU per page {ceiling.cpu / ceiling.pages * 1e3:.1f} ms where (a) "
          f"takes {plain.cpu / plain.pages * 1e3:.1f} ms alone")
    print(f"  (a): the rest of the machine used {plain.others_cpu:.0f} CPU-s meanwhile "
          f"({plain.others_cpu / plain.wall:.1f} of {cores} cores); at its CPU time, {plain.pages / plain.cpu:.1f} pages/s")
    for run in crawls:
        main, extract = run.stat("bench/main_cpu_seconds") / run.pages, run.stat("extract/seconds") / run.pages
        bound = min(1 / main, cores / extract, cores / (main + extract))  # EXTRACT_WORKERS=0: one per core
        print(f"  {_short(run.target)}: the rest of the machine (Ceph RGW included for S3) used {run.others_cpu:.0f} "
              f"CPU-s meanwhile ({run.others_cpu / run.wall:.1f} of {cores} cores); CPU per page: main process "
              f"{main * 1e3:.1f} ms, extraction {extract * 1e3:.1f} ms (trafilatura like for like: "
              f"{plain.cpu / plain.pages * 1e3:.1f} ms); on {cores} idle cores at most {bound:.1f} pages/s = "
              f"{bound / plain_rate:.2f} × (a)")
    first = crawls[0]
    extraction = first.stat("extract/seconds") / first.pages
    floor_bound = cores / (bare + extraction)
    print(f"  (d) Scrapy alone on the same site (bench/bare.py: a SitemapSpider with Scrapy's default settings that "
          f"only decodes pages): {bare * 1e3:.1f} ms of CPU per page. With extraction as in the {_short(first.target)} "
          f"crawl ({extraction * 1e3:.1f} ms) and none of this project's work in the main process, at most "
          f"{floor_bound:.1f} pages/s = {floor_bound / plain_rate:.2f} × (a), and everything but extraction "
          f"{bare / (bare + extraction):.1%}")

    print("\nWhere the crawl's CPU goes (seconds, share of its process tree's)")
    print(f"  {'stage':<58}" + "".join(f"{_short(run.target):>16}" for run in crawls))
    columns = [CrawlCpu.of(run) for run in crawls]
    for field, name in _CPU_ROWS.items():
        cells = (f"{getattr(cpu, field):>9.1f} {getattr(cpu, field) / cpu.total:>5.1%}" for cpu in columns)
        print(f"  {name:<58}" + "".join(cells))
    for run, cpu in zip(crawls, columns, strict=True):
        dedup_items = sum(run.stat(f"dedup/{r}") for r in ("kept", "same_url", "exact", "near_duplicate"))
        in_span = run.stat("bench/main_cpu_seconds")
        print(f"  {_short(run.target)}: everything but extraction {1 - cpu.extract / cpu.total:.1%} of the crawl's CPU "
              f"(target ≤ 10%), {in_span / (in_span + cpu.extract):.1%} counting the main process over the span and "
              f"extraction only; dedup stage {dedup_items / max(run.stat('dedup/seconds'), 1e-9):,.0f} docs/s; "
              f"{run.stat('extract/ok'):.0f} extracted, {run.stat('store/records'):.0f} stored; "
              f"duplicates dropped: same_url {run.stat('dedup/same_url'):.0f}, exact {run.stat('dedup/exact'):.0f}, "
              f"near {run.stat('dedup/near_duplicate'):.0f}, superseded {run.stat('dedup/superseded'):.0f}; extraction "
              f"timeouts {run.stat('extract/timeout'):.0f}, pool restarts {run.stat('extract/pool_restarts'):.0f}")


def print_mix(site: BenchSite, run: Crawl, plain: Plain, ceiling: Plain) -> None:
    """The realistic mix: what a stored article costs, beside trafilatura run over every page the crawl fetched."""
    kinds = site.kinds()
    prefiltered = run.stat("select/off_topic_prefiltered")
    attempted = sum(v for k, v in run.stats.items() if k.startswith("extract/") and k not in _NOT_PAGE_COUNTS)
    stored = run.stat("store/records")
    cores = len(os.sched_getaffinity(0))
    print(f"\nThe realistic mix (bench/site.py, mix=True): {len(site.pages):,} pages served, {kinds['listing']:,} of them "
          f"listings and {ON_TOPIC_SHARE:.1%} articles on the seeds' keywords ({', '.join(KEYWORDS)}), the rest on "
          f"other topics; the crawl starts from the home page and the sitemap")
    print(f"  fetched {run.pages:,} HTML pages ({len(site.fetched()):,} of the site's; trafilatura below runs on "
          f"these): {run.pages - prefiltered - attempted:,.0f} listings not extracted (URL "
          f"or declared type), {prefiltered:,.0f} without a keyword not extracted (select/off_topic_prefiltered), "
          f"{attempted:,.0f} extracted ({run.stat('extract/ok'):,.0f} articles), {run.stat('select/off_topic'):,.0f} "
          f"off topic after extraction; {stored:,.0f} stored")
    if not stored:
        raise RuntimeError("the mix crawl stored no article")
    print(f"  {'per stored article':<56}{'CPU ms':>9}{'wall ms':>9}{'CPU ×':>8}")
    print(f"  {'the crawl (its whole process tree, span)':<56}{run.tree_cpu / stored * 1e3:>9.1f}"
          f"{run.stat('bench/crawl_seconds') / stored * 1e3:>9.1f}{1:>8.2f}")
    for name, baseline in (("trafilatura like for like on every fetched page, 1 process", plain),
                           (f"the same, {cores} processes", ceiling)):  # fmt: skip
        print(f"  {name:<56}{baseline.cpu / stored * 1e3:>9.1f}{baseline.wall / stored * 1e3:>9.1f}"
              f"{baseline.cpu / run.tree_cpu:>8.2f}")
    print(f"  CPU per stored article {plain.cpu / run.tree_cpu:.2f}× below trafilatura over every fetched page (target "
          f"≥ 4×); the crawl's main process {run.main_cpu / stored * 1e3:.1f} ms of it, extraction "
          f"{run.stat('extract/seconds') / stored * 1e3:.1f} ms")


# Counters under extract/ that are not one page each.
_NOT_PAGE_COUNTS = frozenset({"extract/seconds", "extract/pool_restarts"})


def print_archive(plain_run: Crawl, archived: Crawl) -> None:
    """What ARCHIVE_ENABLED costs a crawl: WARC bytes and encoding CPU per page, beside the records' and the crawl's."""
    pages = archived.stat("archive/pages")
    per_page = 1e3 / pages
    print(f"\nThe WARC archive (ARCHIVE_ENABLED), same site and settings: {pages:,.0f} pages archived in "
          f"{archived.stat('archive/files'):.0f} files")
    print(f"  archive {archived.stat('archive/bytes') / pages / 1024:.1f} KiB/page (gzip WARC, request + response), records "
          f"{archived.stat('store/bytes') / pages / 1024:.1f} KiB/page; encoding {archived.stat('archive/seconds') * per_page:.2f} "
          f"CPU ms/page against the crawl's {archived.tree_cpu * per_page:.1f} ({archived.stat('archive/seconds') / archived.tree_cpu:.1%})")
    print(f"  pages/s with the archive {archived.pages / archived.wall:.1f}, without {plain_run.pages / plain_run.wall:.1f} "
          f"(× {archived.pages / archived.wall / (plain_run.pages / plain_run.wall):.2f}; wall time of the whole command)")


def _short(target: str) -> str:
    return "S3" if target.startswith("s3:") else "local"


# -- memory over a long crawl ------------------------------------------------------------------------


class _MemorySpider(Spider):
    name = "bench"
    crawl_name = "bench-memory"


async def memory_growth(work: Path, checkpoints: Sequence[int], data: Path) -> list[tuple[int, int, int, int]]:
    """(records, RSS, index bytes, kept-records bytes) after each checkpoint of synthetic records through
    the dedup and store stages, as a crawl feeds them (parts written every STORE_PART_MAX_RECORDS)."""
    settings = {key: getattr(project_settings, key) for key in dir(project_settings) if key.isupper()}
    settings.update(OUTPUT_URI=str(work / "memory"), STORE_SPOOL_DIR=str(work / "memory-spool"), DEDUP_STATE=False,
                    LOG_LEVEL="ERROR", REPORT_ENABLED=False)  # fmt: skip
    settings["ITEM_PIPELINES"] = {"pipelines.dedup.DedupPipeline": 500, "pipelines.store.StorePipeline": 900}
    crawler = get_crawler(_MemorySpider, settings)
    crawler.spider = _MemorySpider.from_crawler(crawler)
    stages = ItemPipelineManager.from_crawler(crawler)  # opened and closed together, as Scrapy's engine does
    dedup = next(stage for stage in stages.middlewares if isinstance(stage, DedupPipeline))
    await stages.open_spider_async()
    vocabulary = [w for _, body in load_bodies(data) for w in body.split()]
    rows = []
    texts = synthetic_texts(max(checkpoints), vocabulary, seed=5)
    for number, text in enumerate(texts, 1):
        url = f"https://outlet{number % 50}.example/2025/{number}/an-article-about-something/"
        item = Article(id=content_id(text), url=url, canonical_url=url, site=f"outlet{number % 50}", title="A title",
                       authors=["A. Writer"], published="2025-03-01", language="fr", description=None, tags=["news"],
                       text=text, word_count=len(text.split()), fetched_at="2025-03-01T00:00:00+00:00")  # fmt: skip
        try:
            await stages.process_item_async(item)
        except Drop:
            pass
        if number in checkpoints:
            gc.collect()
            kept = sum(_record_bytes(unwritten.article) for unwritten in dedup.unwritten.values())
            assert isinstance(dedup.index, NearDupIndex)
            index = _index_bytes(dedup.index) + sys.getsizeof(getattr(dedup, "url_days", {}))  # URL keys' last-seen days
            rows.append((number, _rss(), index, kept))
    await stages.close_spider_async()
    return rows


def _memory_growth(work: Path, checkpoints: Sequence[int], data: Path) -> list[tuple[int, int, int, int]]:
    return asyncio.run(memory_growth(work, checkpoints, data))


def _record_bytes(article: Article) -> int:
    """A record as Python holds it (a text with one non-Latin-1 character takes 2 bytes per character)."""
    fields = (getattr(article, f.name) for f in dataclasses.fields(article))
    return sys.getsizeof(article) + sum(sys.getsizeof(value) for value in fields)


def _index_bytes(index: NearDupIndex) -> int:
    """The index's containers and arrays (strings counted once, in the dicts that key on them)."""
    lsh = index._lsh
    size = lsh.buckets.nbytes + lsh.keys._keys.nbytes + sys.getsizeof(lsh.keys.numbers) + sys.getsizeof(lsh.keys.ids)
    size += sys.getsizeof(lsh.buckets._pending) + sum(sys.getsizeof(v) for v in lsh.buckets._pending.values())
    size += sys.getsizeof(index.shingles) + sum(sys.getsizeof(a) for a in index.shingles.values())
    for table in (index.docs, index.url_keys, index.content_ids):
        size += sys.getsizeof(table) + sum(sys.getsizeof(k) for k in table)
    size += sum(sys.getsizeof(d) + sys.getsizeof(d.url) for d in index.docs.values())
    return size


def print_memory(rows: Sequence[tuple[int, int, int, int]]) -> None:
    print("\nMemory over a long crawl: synthetic records through dedup + store in this process (local parts)")
    print(f"  {'records':>8}{'RSS':>11}{'index':>11}{'B/record':>10}{'kept records':>14}{'RSS − both':>12}")
    for records, rss, index, kept in rows:
        print(f"  {records:>8,}{_mib(rss):>11}{_mib(index):>11}{index / records:>10,.0f}{_mib(kept):>14}"
              f"{_mib(rss - index - kept):>12}")
    if len(rows) < 2:
        return
    (_, rss_a, index_a, kept_a), (_, rss_b, index_b, kept_b) = rows[-2], rows[-1]
    print(f"  {rows[-2][0]:,} → {rows[-1][0]:,} records: RSS {rss_b / rss_a - 1:+.0%}; apart from the index "
          f"{(rss_b - index_b) / (rss_a - index_a) - 1:+.0%} (target ±10%); apart from the index and the records "
          f"not written yet {(rss_b - index_b - kept_b) / (rss_a - index_a - kept_a) - 1:+.0%}")


def _rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE_SIZE


def _mib(size: float) -> str:
    return f"{size / 2**20:,.0f} MiB"


# -- main --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="ScrapingHub benchmark (html/, ground-truth.json)")
    parser.add_argument("--pages", type=int, default=2400, help="article pages on the site (≥ 2,000)")
    parser.add_argument("--mix-pages", type=int, default=2400, help="pages on the realistic-mix site (0: no mix crawl)")
    parser.add_argument("--no-s3", dest="s3", action="store_false", help="skip the crawl into Ceph RGW")
    parser.add_argument("--memory-records", type=int, nargs="+", default=list(CHECKPOINTS), metavar="N")
    args = parser.parse_args(argv)

    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="newsdedup-bench-") as tmp:
        work = Path(tmp)
        with serve(work / "site", args.data, args.pages) as site:
            seeds = site.write_seeds(work / "seeds.yaml")
            kinds = ", ".join(f"{kind} {n}" for kind, n in site.kinds().items())
            pages = site.files_and_urls(site.pages)
            sizes = [file.stat().st_size for file, _ in pages]
            print(f"Pipeline benchmark: {len(site.pages):,} article pages on {site.base_url} ({kinds}; "
                  f"mean {np.mean(sizes) / 1024:.0f} KiB), {cores} cores, trafilatura {trafilatura.__version__}")
            print("  crawl settings: " + " ".join(f"{k}={v}" for k, v in CRAWL_SETTINGS.items()))
            plain, ceiling = plain_trafilatura(pages), plain_trafilatura(pages, cores)
            crawls = [crawl(seeds, str(work / "out"), work)]
            if args.s3:
                crawls.append(crawl_s3(seeds, work))
            bare = bare_scrapy(site)
            archived = crawl(seeds, str(work / "out-archived"), work, ARCHIVE_ENABLED=True)
        print_crawls(plain, ceiling, crawls, bare)
        print_archive(crawls[0], archived)
        if args.mix_pages:
            with serve(work / "mix", args.data, args.mix_pages, mix=True) as mix:
                mix_run = crawl(mix.write_seeds(work / "mix.yaml"), str(work / "mix-out"), work)
                pages = mix.files_and_urls(mix.fetched())
                print_mix(mix, mix_run, plain_trafilatura(pages), plain_trafilatura(pages, cores))
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:  # a clean heap
            print_memory(child.submit(_memory_growth, work, sorted(args.memory_records), args.data).result())


if __name__ == "__main__":
    main()
