"""The dedup and store adapters together, built from a Scrapy crawler with the project's settings."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import logging
import json
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider, signals
from scrapy.pipelines import ItemPipelineManager
from scrapy.utils.test import get_crawler

import crawler.settings as project_settings
from model.items import Article
from pipelines.dedup import DedupPipeline
from pipelines.dedup.shingles import exact_jaccard, shingle_hashes
from pipelines.drops import Drop
from pipelines.store import StorePipeline
from model.text import content_id


class TopicSpider(Spider):
    name = "test"
    crawl_name = "story"


def make_crawler(output: Path, **overrides: Any):  # noqa: ANN201
    settings = {key: getattr(project_settings, key) for key in dir(project_settings) if key.isupper()}
    settings.update(OUTPUT_URI=str(output), STORE_SPOOL_DIR=str(output / ".spool"), AUTOTHROTTLE_ENABLED=False)
    settings.update(ITEM_PIPELINES={"pipelines.dedup.DedupPipeline": 500, "pipelines.store.StorePipeline": 900})
    settings.update(overrides)
    crawler = get_crawler(TopicSpider, settings)
    crawler.spider = TopicSpider.from_crawler(crawler)
    return crawler


def article(url: str, text: str, published: str, canonical: str | None = None) -> Article:
    return Article(
        id=content_id(text), url=url, canonical_url=canonical or url, site=url.split("/")[2], title="T",
        authors=[], published=published, language="fr", description=None, tags=[], text=text,
        word_count=len(text.split()), fetched_at="2026-11-23T00:00:00+00:00", published_source="jsonld",
    )  # fmt: skip


class Run:
    """One crawl run's dedup and store stages, fed by hand and driven as Scrapy's engine drives them: opened and
    closed together by its ItemPipelineManager, then `spider_closed`; `settings` override the project's."""

    def __init__(self, output: Path, **settings: Any) -> None:
        self.crawler = make_crawler(output, **settings)
        self.manager = ItemPipelineManager.from_crawler(self.crawler)
        stages = {type(stage): stage for stage in self.manager.middlewares}
        self.dedup: DedupPipeline | None = stages.get(DedupPipeline)
        self.store: StorePipeline = stages[StorePipeline]
        self.dropped: list[str] = []
        self.log = _Recorder()

    async def __aenter__(self) -> Run:
        logging.getLogger("pipelines").addHandler(self.log)
        await self.manager.open_spider_async()
        await self.crawler.signals.send_catch_log_async(signal=signals.spider_opened, spider=self.crawler.spider)
        return self

    async def feed(self, *items: Article) -> None:
        for item in items:
            try:
                await self.manager.process_item_async(item)
            except Drop as drop:
                self.dropped.append(drop.reason)

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.manager.close_spider_async()
            await self.crawler.signals.send_catch_log_async(
                signal=signals.spider_closed, spider=self.crawler.spider, reason="finished"
            )
        finally:
            logging.getLogger("pipelines").removeHandler(self.log)

    def stat(self, key: str) -> Any:
        return self.crawler.stats.get_value(key)

    def log_text(self) -> str:
        return "\n".join(self.log.messages)


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def stored(output: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for part in sorted(output.rglob("part-*.jsonl.gz"))
        for line in gzip.decompress(part.read_bytes()).splitlines()
    ]


def duplicates_logged(output: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for log in output.rglob("duplicates-*.jsonl.gz") for line in gzip.decompress(log.read_bytes()).splitlines()]


@pytest.fixture
def story(sample_texts: list[str]) -> dict[str, str]:
    body = "\n".join(p.strip() for p in sample_texts[3].split("\n") if p.strip())
    paragraphs = body.split("\n")
    syndicated = "\n".join(["Cet article est publié avec l'accord de notre partenaire éditorial.", *paragraphs[:-1]])
    return {"body": body, "syndicated": syndicated}


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_one_copy_per_story_the_preferred_one_whatever_the_order(
    tmp_path: Path, story: dict[str, str], order: tuple[int, ...]
) -> None:
    """Each link says how the copy relates to the record kept, whichever copy it was compared with when it came:
    an AMP copy that arrived after the aggregator's is still the same URL as the publisher's page."""
    original = "https://origin.fr/2025/02/musk-openai/"
    copies = [
        article(original + "amp/", story["body"], "2025-02-11", canonical=original),
        article("https://aggregator.fr/musk-openai-copie", story["syndicated"], "2025-02-13"),
        article(original, story["body"], "2025-02-11"),
        article("https://mirror.fr/copie-exacte", story["body"], "2025-02-14"),
    ]

    async def crawl() -> Run:
        async with Run(tmp_path) as run:
            await run.feed(*(copies[i] for i in order))
        return run

    run = asyncio.run(crawl())
    records = stored(tmp_path)
    assert [r["url"] for r in records] == [original]
    links = {d["url"]: d for d in records[0]["duplicates"]}
    assert set(links) == {original + "amp/", "https://aggregator.fr/musk-openai-copie", "https://mirror.fr/copie-exacte"}
    assert links[original + "amp/"]["reason"] == "same_url"
    assert links["https://aggregator.fr/musk-openai-copie"]["reason"] == "near_duplicate"
    similarity = exact_jaccard(*(shingle_hashes(text, 5) for text in (story["syndicated"], story["body"])))
    assert links["https://aggregator.fr/musk-openai-copie"]["similarity"] == pytest.approx(similarity, abs=1e-4)
    assert links["https://mirror.fr/copie-exacte"]["reason"] == "exact"
    assert len(run.dropped) + (run.stat("dedup/superseded") or 0) == 3
    logged = {(d["kept_url"], d["url"]): d for d in duplicates_logged(tmp_path)}
    assert set(logged) == {(original, url) for url in links}
    assert all(logged[original, url]["reason"] == link["reason"] for url, link in links.items()), "log and record agree"
    manifest = json.loads(next(tmp_path.rglob("manifest.json")).read_text())
    assert manifest["records"] == 1 and manifest["duplicates_logged"] == 3


def test_later_runs_drop_copies_of_stored_articles_and_log_the_link(tmp_path: Path, story: dict[str, str]) -> None:
    original = "https://origin.fr/2025/02/musk-openai/"

    async def run_with(*items: Article) -> Run:
        async with Run(tmp_path) as run:
            await run.feed(*items)
        return run

    asyncio.run(run_with(article(original, story["body"], "2025-02-11")))
    second = asyncio.run(run_with(article(original + "?utm_source=x", story["body"], "2025-02-11")))
    assert second.dropped == ["dedup/same_url"]
    # An earlier-published copy arriving later cannot replace a stored record: it is linked instead.
    third = asyncio.run(run_with(article("https://aggregator.fr/copie", story["syndicated"], "2025-01-01")))
    assert third.dropped == ["dedup/near_duplicate"]
    assert [r["url"] for r in stored(tmp_path)] == [original]
    assert {d["url"] for d in duplicates_logged(tmp_path)} == {original + "?utm_source=x", "https://aggregator.fr/copie"}
    assert third.stat("dedup/state_docs_loaded") == 1


def test_records_are_written_in_parts_during_the_crawl(tmp_path: Path, sample_texts: list[str]) -> None:
    async def crawl() -> None:
        async with Run(tmp_path, STORE_PART_MAX_RECORDS=2) as run:
            for number, text in enumerate(sample_texts):
                await run.feed(article(f"https://site{number}.fr/a", text, "2025-02-11"))
            assert len(list(tmp_path.rglob("part-*.jsonl.gz"))) == 2  # before the run ends
            progress = json.loads(next(tmp_path.rglob("manifest.json")).read_text())
            assert progress["finish_reason"] is None and progress["records"] == 4, "the manifest follows the parts"
            assert run.dedup is not None and len(run.dedup.unwritten) == 1, "dedup holds only the records not written yet"

    asyncio.run(crawl())
    assert len(stored(tmp_path)) == 5
    manifest = json.loads(next(tmp_path.rglob("manifest.json")).read_text())
    assert [part["records"] for part in manifest["parts"]] == [2, 2, 1]
    assert manifest["finish_reason"] == "finished"
