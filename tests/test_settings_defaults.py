"""Every project setting has one default (model/settings.py), which applies under any settings module."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.utils.test import get_crawler

import crawler.settings as project_settings
from crawler.throttle import RateLimitRetry
from model import settings as defaults
from model.settings import setting
from pipelines.dedup import DedupPipeline
from pipelines.extract.pipeline import ExtractPipeline
from pipelines.store import StorePipeline


def test_the_settings_module_takes_every_default_unchanged() -> None:
    assert defaults.__all__, "the project has settings"
    for name in defaults.__all__:
        assert getattr(project_settings, name) == getattr(defaults, name), name


def test_components_behave_the_same_without_the_project_settings_module(tmp_path: Path) -> None:
    """Scrapy's `get_crawler()` knows only Scrapy's settings: dedup stays on, parts hold many records."""
    crawler = get_crawler(Spider, {"OUTPUT_URI": str(tmp_path)})
    crawler.spider = Spider.from_crawler(crawler, name="bare")
    dedup = DedupPipeline.from_crawler(crawler)
    assert (dedup.config.num_perm, dedup.config.threshold) == (defaults.DEDUP_NUM_PERM, defaults.DEDUP_THRESHOLD)
    store = StorePipeline.from_crawler(crawler)
    assert (store.max_records, store.max_bytes) == (defaults.STORE_PART_MAX_RECORDS, defaults.STORE_PART_MAX_BYTES)
    extract = ExtractPipeline.from_crawler(crawler)
    assert extract.options.min_words == defaults.EXTRACT_MIN_WORDS
    retry = RateLimitRetry(crawler.settings)
    assert retry.throttle_codes == set(defaults.THROTTLE_HTTP_CODES)


@pytest.mark.parametrize(
    ("name", "given", "read"),
    [("DEDUP_NUM_PERM", "128", 128), ("EXTRACT_FAVOR_PRECISION", "False", False), ("DEDUP_THRESHOLD", "0.7", 0.7),
     ("THROTTLE_HTTP_CODES", "429,503,520", ["429", "503", "520"]), ("OUTPUT_URI", "s3://bucket/x", "s3://bucket/x")],
)  # fmt: skip
def test_a_command_line_value_is_read_as_its_default_s_type(name: str, given: str, read: object) -> None:
    assert setting(get_crawler(Spider, {name: given}).settings, name) == read
