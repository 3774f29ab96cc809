"""Credentials never reach the logs."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from crawler.redact import redact, redact_record
from tests.test_crawl import crawl
from tests.test_exit_codes import free_port


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("{'AWS_SECRET_ACCESS_KEY': 'wJalrXUtnFEMI/K7MDENG',\n 'BOT_NAME': 'newsdedup'}", "wJalrXUtnFEMI/K7MDENG"),
        ("{'AWS_SESSION_TOKEN': 'FwoGZXIvYXdzEJr'}", "FwoGZXIvYXdzEJr"),
        ("{'REDIS_URL': 'redis://:s3cr3t@redis.internal:6379/0'}", "s3cr3t"),
        ("Records go to https://user:hunter2@minio.local/bucket", "hunter2"),
        ("ValueError: invalid hostname: reader:hunter2@127.0.0.1", "hunter2"),
    ],
)
def test_secrets_are_redacted(text: str, secret: str) -> None:
    assert secret not in redact(text)
    assert "***" in redact(text)


def test_other_text_is_untouched() -> None:
    text = "{'AWS_ACCESS_KEY_ID_FILE': None, 'BOT_NAME': 'newsdedup', 'OUTPUT_URI': 's3://bucket/x'}"
    assert redact("{'BOT_NAME': 'newsdedup', 'OUTPUT_URI': 's3://bucket/x'}") == (
        "{'BOT_NAME': 'newsdedup', 'OUTPUT_URI': 's3://bucket/x'}"
    )
    assert "s3://bucket/x" in redact(text)


def test_formatted_records_are_rewritten() -> None:
    args = ({"s": "{'AWS_SECRET_ACCESS_KEY': 'abc'}"},)
    record = logging.LogRecord("scrapy.crawler", logging.INFO, __file__, 1, "Overridden settings:\n%(s)s", args, None)
    redact_record(record)
    assert "abc" not in record.getMessage()


@pytest.fixture
def root_output() -> Iterator[io.StringIO]:
    """What a handler on the root logger prints, as Scrapy's root handler does."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield output
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.parametrize(
    "name",
    ["scrapy.crawler", "scrapy.downloadermiddlewares.retry", "scrapy.core.scraper", "pipelines.store.pipeline",
     "crawler.spiders.news", "twisted", "boto3.resources", "a.library.nobody.named", ""],
)  # fmt: skip
def test_every_logger_is_redacted(root_output: io.StringIO, name: str) -> None:
    password = uuid.uuid4().hex
    logger = logging.getLogger(name)
    logger.warning("Retrying %(request)s (failed %(n)d times)", {"request": f"<GET https://u:{password}@ex.fr/a>", "n": 1})
    logger.info("Overridden settings:\n%s", {"AWS_SECRET_ACCESS_KEY": password})
    try:
        raise ConnectionError(f"cannot reach redis://:{password}@redis.internal:6379/0")
    except ConnectionError:
        logger.exception("Storage refused %s", f"s3://bucket via https://k:{password}@rgw.local")
    printed = root_output.getvalue()
    assert printed.count("***") >= 4, printed
    assert password not in printed, printed


class _Costly:
    """An argument whose formatting is counted: Scrapy passes each item to a DEBUG "Scraped from" record."""

    def __init__(self) -> None:
        self.formatted = 0

    def __repr__(self) -> str:
        self.formatted += 1
        return "{'text': '...'}"


def test_records_that_no_handler_takes_are_left_unformatted(
    root_output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = logging.getLogger()
    handler = next(h for h in root.handlers if isinstance(h, logging.StreamHandler) and h.stream is root_output)
    monkeypatch.setattr(root, "handlers", [handler])  # without pytest's capture handlers, which take every level
    handler.setLevel(logging.INFO)  # LOG_LEVEL=INFO: Scrapy's root handler drops DEBUG records
    item = _Costly()
    logging.getLogger("scrapy.core.scraper").debug("Scraped from %(src)s\n%(item)r", {"src": "<200 x>", "item": item})
    assert item.formatted == 0
    logging.getLogger("scrapy.core.scraper").info("Scraped from %(src)s\n%(item)r", {"src": "<200 x>", "item": item})
    assert item.formatted >= 1 and "Scraped from <200 x>" in root_output.getvalue()


def test_a_crawl_logs_no_password(tmp_path: Path) -> None:
    """Scrapy's settings dump, its middlewares, tracebacks and the spider print settings and requests."""
    secret, password = uuid.uuid4().hex, uuid.uuid4().hex
    base = f"http://reader:{password}@127.0.0.1:{free_port()}"
    site = {"name": "locked", "start_urls": [f"{base}/"], "feeds": [f"{base}/feed/"]}
    seeds = tmp_path / "locked.yaml"
    seeds.write_text(yaml.safe_dump({"name": "locked", "sites": [site]}), encoding="utf-8")
    endpoint = f"http://key:{secret}@127.0.0.1:{free_port()}"  # a Scrapy setting: in the settings dump
    result = crawl(seeds, tmp_path / "out", f"AWS_SECRET_ACCESS_KEY={secret}", f"AWS_ENDPOINT_URL={endpoint}")
    assert "Overridden settings" in result.log and "'AWS_SECRET_ACCESS_KEY': '***'" in result.log
    assert "http://key:***@127.0.0.1" in result.log
    # Scrapy's HTTP client refuses user info in a URL (ValueError, not retried): robots.txt middleware, its
    # traceback and the spider print the URL.
    assert "[scrapy.downloadermiddlewares.robotstxt] ERROR: Error downloading <GET http://reader:***@127.0.0.1" in result.log
    assert "[crawler.spiders.news] INFO: Skipped <GET http://reader:***@127.0.0.1" in result.log
    assert "invalid hostname: reader:***@127.0.0.1" in result.log
    assert secret not in result.log
    assert password not in result.log, [line for line in result.log.splitlines() if password in line]
