"""The project's own settings, each with its one default: `crawler/settings.py` takes them all (so `scrapy settings
--get` shows them), and every component reads them through `setting`, which falls back on the default here, so that
it behaves the same under any settings module (`get_crawler()` in tests, another project). Each is in the README's
settings table. Scrapy's own settings keep Scrapy's defaults."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

# -- crawling ----------------------------------------------------------------------------------------
BLOCK_PRIVATE_ADDRESSES = True  # refuse loopback, private and link-local hosts (cloud metadata, intranet)
# Rate limits (crawler/throttle.py): a 429/503 pauses its domain for its Retry-After, else an exponential back-off.
THROTTLE_HTTP_CODES = [429, 503]
THROTTLE_RETRY_TIMES = 5  # a busy site may refuse a request several times before letting it through
THROTTLE_BACKOFF_BASE = 1.0  # seconds of the first back-off without Retry-After; doubled at each throttled answer
THROTTLE_MAX_DELAY = 60.0  # seconds: the longest pause, whatever Retry-After asks
# Budgets against traps (crawler/budget.py)
CRAWL_MAX_REQUESTS_PER_SITE = 5000  # per run, retries included; a site's seeds `max_requests` overrides it; 0 = none
CRAWL_TRAP_MIN_PAGES = 20  # a URL pattern with this many pages found through links and no article is a trap
CRAWL_SKIP_STORED = True
# The seeds file used when `-a seeds=PATH` is not given.
NEWS_SEEDS = os.environ.get("NEWS_SEEDS", "seeds/openai.yaml")

# -- extraction (pipelines/extract/) -----------------------------------------------------------------
EXTRACT_MIN_WORDS = 80  # pages that do not declare themselves articles
EXTRACT_MIN_WORDS_DECLARED = 40  # declared articles (og:type, JSON-LD): news briefs are short
EXTRACT_FAVOR_PRECISION = True
EXTRACT_TIMEOUT = 30.0
EXTRACT_WORKERS = 0  # processes for trafilatura; 0 = one per CPU core
EXTRACT_MAX_WORDS = 20000  # a longer text is not an article (a 9 MB paragraph, a dump): extract/too_long

# -- dedup (pipelines/dedup/) ------------------------------------------------------------------------
DEDUP_ENABLED = True
DEDUP_SHINGLE_SIZE = 5
DEDUP_NUM_PERM = 64
DEDUP_BANDS = 0  # 0 = chosen from the threshold
DEDUP_THRESHOLD = 0.8
DEDUP_PARAGRAPH_SIMILARITY = 0.9
DEDUP_STATE = True
DEDUP_URL_TTL_DAYS = 30

# -- storage (pipelines/store/) ----------------------------------------------------------------------
OUTPUT_URI = os.environ.get("OUTPUT_URI", "output")
STORE_PART_MAX_RECORDS = 1000
STORE_PART_MAX_BYTES = 8 * 1024 * 1024
S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL")  # else AWS_ENDPOINT_URL_S3 / the AWS default
S3_ADDRESSING_STYLE = os.environ.get("S3_ADDRESSING_STYLE", "auto")  # "path" for most S3-compatible servers
S3_CHECKSUM = os.environ.get("S3_CHECKSUM", "when_required")  # boto3's request_checksum_calculation
STORE_SPOOL_DIR = ".newsdedup-spool"  # parts that could not be written wait here
STORE_RECOVER_AFTER = 6 * 3600.0  # seconds: a run this old with parts and no manifest was killed; the next run lists it

# -- archive (crawler/archive.py, model/warc.py) --------------------------------------------------
ARCHIVE_ENABLED = False  # keep every page that became a Page as WARC records beside the run (`scrapy reextract`)
ARCHIVE_FILE_MAX_BYTES = 32 * 1024 * 1024  # a WARC file is held in memory until this size, then written as one object

# -- crawl report (pipelines/report/) ----------------------------------------------------------------
REPORT_ENABLED = True
REPORT_FAIL_ON_UNHEALTHY = False
REPORT_MIN_PAGES = 5
REPORT_MAX_FAILED_SHARE = 0.5
REPORT_MAX_MISSING_SHARE = 0.5
REPORT_MAX_LISTED = 200
REPORT_HISTORY_RUNS = 7  # earlier runs (manifests) each source's yield is compared with
REPORT_MAX_YIELD_DROP = 0.5  # a yield this far under its median of those runs is a warning (0 articles: unhealthy)

# -- distributed runs (model/redis.py, crawler/queues.py, pipelines/dedup/redis_index.py) -----------
REDIS_URL = os.environ.get("REDIS_URL")  # unset = one process
REDIS_WORKER_TIMEOUT = 60.0
REDIS_OUTAGE_TIMEOUT = 300.0  # seconds a worker waits for Redis to answer again before it stops (exit 1)

__all__ = [name for name in dir() if name.isupper()]  # what `crawler/settings.py` takes
_DEFAULTS: dict[str, Any] = {name: globals()[name] for name in __all__}


def setting(settings: BaseSettings, name: str) -> Any:
    """The value of project setting `name`, typed as its default (a `-s NAME=…` string is converted), the default
    when `settings` does not have it."""
    default = _DEFAULTS[name]
    if isinstance(default, bool):
        return settings.getbool(name, default)
    if isinstance(default, int):
        return settings.getint(name, default)
    if isinstance(default, float):
        return settings.getfloat(name, default)
    if isinstance(default, list):
        return settings.getlist(name, default)
    return settings.get(name, default)
