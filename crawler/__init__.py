"""The newsdedup Scrapy project: settings, items, seeds, spiders."""

from typing import Any

from crawler.redact import install as _install_log_redaction

_install_log_redaction()


def crawl_name(spider: Any) -> str:
    """The name of a spider's crawl in output and Redis keys: its seeds file's `name`, else the spider's."""
    return getattr(spider, "crawl_name", None) or spider.name
