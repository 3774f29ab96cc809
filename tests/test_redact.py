"""Credentials never reach the logs."""

from __future__ import annotations

import logging

import pytest

from crawler.redact import RedactSecrets, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("{'AWS_SECRET_ACCESS_KEY': 'wJalrXUtnFEMI/K7MDENG',\n 'BOT_NAME': 'newsdedup'}", "wJalrXUtnFEMI/K7MDENG"),
        ("{'AWS_SESSION_TOKEN': 'FwoGZXIvYXdzEJr'}", "FwoGZXIvYXdzEJr"),
        ("{'REDIS_URL': 'redis://:s3cr3t@redis.internal:6379/0'}", "s3cr3t"),
        ("Records go to https://user:hunter2@minio.local/bucket", "hunter2"),
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


def test_filter_rewrites_formatted_records() -> None:
    record = logging.LogRecord("scrapy.crawler", logging.INFO, __file__, 1, "Overridden settings:\n%(s)s", ({"s": "{'AWS_SECRET_ACCESS_KEY': 'abc'}"},), None)
    RedactSecrets().filter(record)
    assert "abc" not in record.getMessage()
