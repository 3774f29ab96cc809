"""The extraction adapter's worker pool: a page stuck in extraction, or killing its worker, costs that page only."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import signal
from typing import Any

import pytest
from htmldate.extractors import get_external_parser
from scrapy import Spider
from scrapy.utils.test import get_crawler

from crawler.items import Article, Page
from pipelines import text
from pipelines.drops import Drop
from pipelines.extract.core import ExtractionOptions, NotAnArticle
from pipelines.extract.pipeline import Extract, ExtractPipeline

GUARD = 120  # seconds: only so that a regression fails instead of hanging the suite


def stub_extract(page: Page, options: ExtractionOptions) -> Article:
    """Runs in the workers: an article per page, except the pages whose URL asks for trouble."""
    if "hang" in page.url:  # catastrophic backtracking: stuck in C, never back in Python to see a signal
        re.match(r"(a+)+$", "a" * 64 + "b")
    if "crash" in page.url:
        os.kill(os.getpid(), signal.SIGKILL)
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
    }
    return dataclasses.replace(stub_extract(page, options), text=" ".join(name for name, ok in loaded.items() if ok))


def page(name: str) -> Page:
    return Page(f"https://news.example/{name}", "example", "<html></html>", "2026-11-24T00:00:00+00:00")


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
    assert {results[name].text for name in names if name != "hang"} == {"date parser folding table"}


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


@pytest.mark.parametrize("timeout", [0.0])
def test_no_time_limit_when_the_timeout_is_zero(timeout: float) -> None:
    results = asyncio.run(extract_all(make_pipeline(workers=1, timeout=timeout), ["ok"]))
    assert isinstance(results["ok"], Article)
