"""The Scrapy-free layer every other one may import: records and pages, URL keys, text normalisation, dates, seeds,
the stats-key helper, the stages' contract (events) and the Redis link. It imports neither `crawler` nor `pipelines`."""

from typing import Any


def crawl_name(spider: Any) -> str:
    """The name of a spider's crawl in output and Redis keys: its seeds file's `name`, else the spider's."""
    return getattr(spider, "crawl_name", None) or spider.name
