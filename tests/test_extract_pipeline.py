"""The extraction adapter's worker pool: a page stuck in extraction, or killing its worker, costs that page only."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import resource
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from htmldate.extractors import get_external_parser
from scrapy import Spider
from scrapy.utils.test import get_crawler

import crawler.settings as project_settings
from model.items import Article, Page
from model import text
from pipelines.drops import Drop
from pipelines.extract.core import ExtractionOptions, NotAnArticle
from pipelines.extract.metadata import language_identifier
from pipelines.extract.pipeline import Extract, ExtractPipeline

GUARD = 120  # seconds: only so that a regression fails instead of hanging the suite
SLOW = 3.0  # seconds a slow page takes: past the time limit of these tests, far less than the guard


def stub_extract(page: Page, options: ExtractionOptions) -> Article:
    """Runs in the workers: an article per page, except the pages whose URL asks for trouble."""
    if "hang" in page.url:  # catastrophic backtracking: stuck in C, never back in Python to see a signal
        re.match(r"(a+)+$", "a" * 64 + "b")
    if "crash" in page.url:
        os.kill(os.getpid(), signal.SIGKILL)
    if "slow" in page.url:  # in Python, sleeping: a time limit must stop it all the same
        time.sleep(SLOW)
    if "short" in page.url:
        raise NotAnArticle("too_short", "3 words")
    return Article(
        id=page.url, url=page.url, canonical_url=page.url, site=page.site, title=None, authors=[], published=None,
        language=None, description=None, tags=[], text=f"text of {page.url}", word_count=3, fetched_at=page.fetched_at,
    )  # fmt: skip


def loaded_before_the_page(page: Page, options: ExtractionOptions) -> Article:
    """Runs in the workers: an article whose text says which lazy resources the worker had before this page."""
    loaded = {
        "date parser": get_external_parser.cache_info().currsize == 1,
        "folding table": text._fold_table.cache_info().currsize == 1,
        "language model": language_identifier.cache_info().currsize == 1,
    }
    return dataclasses.replace(stub_extract(page, options), text=" ".join(name for name, ok in loaded.items() if ok))


def announced_then_slow(page: Page, options: ExtractionOptions) -> Article:
    """Runs in the workers: says it started, in the file its HTML names, then takes its time."""
    Path(page.html).touch()
    time.sleep(SLOW)
    return stub_extract(page, options)


class DiesOnArrival(Page):
    """A page that ends the worker that unpickles it (as one too big for its memory would): it dies before it
    could note that the page started."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return os._exit, (1,)


def page(name: str, html: str = "<html></html>") -> Page:
    kind = DiesOnArrival if "doomed" in name else Page
    return kind(f"https://news.example/{name}", "example", html, "2026-11-24T00:00:00+00:00")


async def extract_all(pipeline: ExtractPipeline, names: list[str]) -> dict[str, Any]:
    """Every page through the pipeline at once; name -> the article, or the drop reason."""
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(pipeline.process_item(page(name)) for name in names), return_exceptions=True), GUARD
        )
    finally:
        await pipeline.close_spider()
    return {name: r.reason if isinstance(r, Drop) else r for name, r in zip(names, results, strict=True)}


def make_pipeline(workers: int = 1, timeout: float = 1.0, extract: Extract = stub_extract) -> ExtractPipeline:
    stats = get_crawler(Spider).stats
    assert stats is not None
    return ExtractPipeline(stats, ExtractionOptions(), workers, timeout, extract=extract)


def test_a_page_over_the_time_limit_is_dropped_and_its_worker_freed() -> None:
    pipeline = make_pipeline(workers=1)  # one worker: the pages after the stuck one need it back
    names = ["hang", *(f"ok-{n}" for n in range(6))]
    results = asyncio.run(extract_all(pipeline, names))
    assert results["hang"] == "extract/timeout"
    assert all(isinstance(results[name], Article) and results[name].url.endswith(name) for name in names[1:])
    assert pipeline.stats.get_value("extract/timeout") == 1
    assert pipeline.stats.get_value("extract/ok") == 6
    assert pipeline.stats.get_value("extract/pool_restarts") == 1


def test_workers_start_with_the_lazy_resources_of_extraction_loaded_also_after_a_restart() -> None:
    pipeline = make_pipeline(workers=1, extract=loaded_before_the_page)  # pages after "hang" run in a new pool
    names = [*(f"ok-{n}" for n in range(3)), "hang", *(f"ok-{n}" for n in range(3, 6))]
    results = asyncio.run(extract_all(pipeline, names))
    assert pipeline.stats.get_value("extract/pool_restarts") == 1
    assert {results[name].text for name in names if name != "hang"} == {"date parser folding table language model"}


def test_a_dead_worker_costs_its_page_only() -> None:
    pipeline = make_pipeline(workers=2, timeout=30)
    names = [*(f"ok-{n}" for n in range(6)), "crash-1", *(f"ok-{n}" for n in range(6, 12)), "crash-2"]
    results = asyncio.run(extract_all(pipeline, names))
    assert results["crash-1"] == results["crash-2"] == "extract/worker_died"
    assert all(isinstance(results[name], Article) for name in names if name.startswith("ok"))
    assert pipeline.stats.get_value("extract/ok") == 12
    assert pipeline.stats.get_value("extract/pool_restarts") >= 3  # a pool breaks with them beside others, then alone


def test_rejections_are_counted_with_their_reason_and_cpu_time_is_recorded() -> None:
    pipeline = make_pipeline(workers=2)
    results = asyncio.run(extract_all(pipeline, ["short", "ok"]))
    assert results["short"] == "extract/too_short" and isinstance(results["ok"], Article)
    assert pipeline.stats.get_value("sites/example/extract/too_short") == 1
    assert pipeline.stats.get_value("extract/seconds") > 0
    assert pipeline.stats.get_value("extract/pool_restarts") is None


def test_a_page_past_the_time_limit_is_dropped_and_the_next_one_extracted() -> None:
    pipeline = make_pipeline(workers=1, timeout=1.0)  # the page after it waits for the only worker
    started = time.monotonic()
    results = asyncio.run(extract_all(pipeline, ["slow", "ok"]))
    print(f"a {SLOW:g} s page under a 1 s limit, then a quick one: {time.monotonic() - started:.2f} s")
    assert results["slow"] == "extract/timeout"
    assert isinstance(results["ok"], Article), "the pool recovered for the next page"
    assert pipeline.stats.get_value("extract/pool_restarts") == 1


def test_no_time_limit_when_the_timeout_is_zero() -> None:
    pipeline = make_pipeline(workers=1, timeout=0.0)
    results = asyncio.run(extract_all(pipeline, ["slow", "ok"]))
    assert isinstance(results["slow"], Article) and isinstance(results["ok"], Article)
    assert pipeline.stats.get_value("extract/pool_restarts") is None


def test_a_page_that_kills_its_worker_before_it_starts_is_dropped_after_a_few_pools() -> None:
    pipeline = make_pipeline(workers=1)
    names = ["doomed", *(f"ok-{n}" for n in range(4))]
    started = time.monotonic()
    results = asyncio.run(extract_all(pipeline, names))
    restarts = pipeline.stats.get_value("extract/pool_restarts")
    print(f"{restarts} pool restarts, {time.monotonic() - started:.2f} s")
    assert results["doomed"] == "extract/pool_broken"
    assert all(isinstance(results[name], Article) for name in names[1:]), "the pages waiting beside it run"
    assert pipeline.stats.get_value("sites/example/extract/pool_broken") == 1


def lowest_free_fd() -> int:
    fd = os.dup(0)
    os.close(fd)
    return fd


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + GUARD
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.01)


async def extract_with_no_file_descriptor_left(
    pipeline: ExtractPipeline, names: list[str], until_true: Callable[[], bool] = lambda: False
) -> dict[str, Any]:
    """`extract_all` in a process that can open no file (a pool needs pipes to start) until the condition holds
    or the pages are done."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free_fd(), hard))
    try:
        extracting = asyncio.ensure_future(extract_all(pipeline, names))
        await until(lambda: until_true() or extracting.done())
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        return await extracting
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_pool_that_failed_to_start_is_started_again(caplog: pytest.LogCaptureFixture) -> None:
    pipeline = make_pipeline(workers=1)

    def failed() -> bool:
        return "could not be started" in caplog.text

    results = asyncio.run(extract_with_no_file_descriptor_left(pipeline, ["ok-0", "ok-1"], failed))
    assert failed(), "the first start failed"
    assert all(isinstance(result, Article) for result in results.values()), results


def test_a_pool_that_cannot_start_stops_the_crawl_instead_of_dropping_every_page() -> None:
    pipeline = make_pipeline(workers=1)
    stops: list[str] = []

    async def stop(reason: str) -> None:
        stops.append(reason)

    pipeline.stop = stop
    names = [f"ok-{n}" for n in range(3)]
    results = asyncio.run(extract_with_no_file_descriptor_left(pipeline, names))
    assert set(results.values()) == {"extract/pool_failed"}
    assert stops == ["extract_pool_failed"]


def test_closing_waits_for_the_workers_without_blocking_the_event_loop(tmp_path: Path) -> None:
    pipeline = make_pipeline(workers=1, timeout=30, extract=announced_then_slow)
    marker = tmp_path / "started"

    async def close_while_a_page_runs() -> tuple[Any, bool]:
        extracting = asyncio.ensure_future(pipeline.process_item(page("slow", html=str(marker))))
        await until(marker.exists)
        closing = asyncio.ensure_future(pipeline.close_spider())
        await asyncio.sleep(0.1)
        ran_while_closing = not closing.done()
        await closing
        return await extracting, ran_while_closing

    result, ran_while_closing = asyncio.run(close_while_a_page_runs())
    assert ran_while_closing, "the event loop ran while the pool was closing"
    assert isinstance(result, Article), "the page that was running finished"


def test_the_extraction_settings_reach_the_options() -> None:
    settings = {key: getattr(project_settings, key) for key in dir(project_settings) if key.isupper()}
    crawler = get_crawler(Spider, {**settings, "EXTRACT_MAX_WORDS": 500, "EXTRACT_MIN_WORDS": 12})
    options = ExtractPipeline.from_crawler(crawler).options
    assert (options.max_words, options.min_words) == (500, 12)
