"""Scrapy settings for newsdedup, grouped by stage. Every project setting is listed in the README's table."""

from __future__ import annotations

import os

BOT_NAME = "newsdedup"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
USER_AGENT = "newsdedup/0.1 (+https://github.com/newsdedup/newsdedup)"

# -- crawling: polite and bounded by default ---------------------------------------------------------
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Outputs of one response processed at once. A page gives at most one article; Scrapy starts this many tasks
# for every response, so its default (100) costs ~1.5 ms of CPU per page for nothing.
CONCURRENT_ITEMS = 4
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024  # also bounds gunzipped sitemaps and gzip bombs
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 5
DEPTH_LIMIT = 3  # start page -> listing page -> article; sitemap index -> sitemap -> article
COOKIES_ENABLED = False
# Only http(s): a hostile page must not make the crawler read local files or other schemes.
DOWNLOAD_HANDLERS = {"file": None, "s3": None, "ftp": None, "data": None}
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.PublicAddressesOnly": 50,
    "crawler.middlewares.SkipStored": 60,
    "crawler.budget.RequestBudget": 110,  # after robots.txt (100): a forbidden URL costs no budget
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.throttle.RateLimitRetry": 550,  # in RetryMiddleware's place
    # After decompression (590) and redirects (600), before retries (550): a bot challenge does not clear on a retry.
    "crawler.challenges.ChallengePages": 585,
}
BLOCK_PRIVATE_ADDRESSES = True  # refuse loopback, private and link-local hosts (cloud metadata, intranet)
SPIDER_MIDDLEWARES = {"crawler.budget.ListingTraps": 950}  # next to the spider: it sees every page's output
# Rate limits (crawler/throttle.py): a 429/503 pauses its domain for its Retry-After, else an exponential back-off.
THROTTLE_HTTP_CODES = [429, 503]
THROTTLE_RETRY_TIMES = 5  # a busy site may refuse a request several times before letting it through
THROTTLE_BACKOFF_BASE = 1.0  # seconds of the first back-off without Retry-After; doubled at each throttled answer
THROTTLE_MAX_DELAY = 60.0  # seconds: the longest pause, whatever Retry-After asks
# Budgets against traps (crawler/budget.py)
CRAWL_MAX_REQUESTS_PER_SITE = 5000  # per run, retries included; a site's seeds `max_requests` overrides it; 0 = none
CRAWL_TRAP_MIN_PAGES = 20  # a URL pattern with this many pages found through links and no article is a trap
TELNETCONSOLE_ENABLED = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = os.environ.get("NEWSDEDUP_LOG_LEVEL", "INFO")

# The seeds file used when `-a seeds=PATH` is not given.
NEWS_SEEDS = os.environ.get("NEWS_SEEDS", "seeds/openai.yaml")

# -- stages: spider -> extract -> select -> dedup -> store -----------------------------------------
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 300,
    "pipelines.select.SelectPipeline": 400,
    "pipelines.dedup.DedupPipeline": 500,
    "pipelines.store.StorePipeline": 900,
}
EXTENSIONS = {
    "pipelines.summary.CrawlSummary": 500,
    "pipelines.report.CrawlReport": 600,
    # Off like the telnet console: no endpoint running Python code inside a crawl of untrusted pages, and no job
    # file with its token in the user's profile on every scheduled run (and its aiohttp import at start-up).
    "scrapy.extensions.remote_control.RemoteControl": None,
}
COMMANDS_MODULE = "pipelines.report.commands"  # `scrapy crawl` with the report's exit code, `scrapy report`
DEFAULT_DROPITEM_LOG_LEVEL = "DEBUG"  # drops are expected and counted in stats, not warnings

# Extraction (pipelines/extract.py)
EXTRACT_MIN_WORDS = 80  # pages that do not declare themselves articles
EXTRACT_MIN_WORDS_DECLARED = 40  # declared articles (og:type, JSON-LD): news briefs are short
EXTRACT_FAVOR_PRECISION = True
EXTRACT_TIMEOUT = 30.0
EXTRACT_WORKERS = 0  # processes for trafilatura; 0 = one per CPU core
EXTRACT_MAX_WORDS = 20000  # a longer text is not an article (a 9 MB paragraph, a dump): extract/too_long

# Dedup (pipelines/dedup.py)
DEDUP_ENABLED = True
DEDUP_SHINGLE_SIZE = 5
DEDUP_NUM_PERM = 64
DEDUP_BANDS = 0  # 0 = chosen from the threshold
DEDUP_THRESHOLD = 0.8
DEDUP_PARAGRAPH_SIMILARITY = 0.9
DEDUP_STATE = True

# Storage (pipelines/store.py)
OUTPUT_URI = os.environ.get("OUTPUT_URI", "output")
STORE_PART_MAX_RECORDS = 1000
STORE_PART_MAX_BYTES = 8 * 1024 * 1024
S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL")  # else AWS_ENDPOINT_URL_S3 / the AWS default
S3_ADDRESSING_STYLE = os.environ.get("S3_ADDRESSING_STYLE", "auto")  # "path" for most S3-compatible servers
S3_CHECKSUM = os.environ.get("S3_CHECKSUM", "when_required")  # boto3's request_checksum_calculation
STORE_SPOOL_DIR = ".newsdedup-spool"  # parts that could not be written wait here
STORE_RECOVER_AFTER = 6 * 3600  # seconds: a run this old with parts and no manifest was killed; the next run lists it

# Crawl report (pipelines/report/)
REPORT_ENABLED = True
REPORT_FAIL_ON_UNHEALTHY = False
REPORT_MIN_PAGES = 5
REPORT_MAX_FAILED_SHARE = 0.5
REPORT_MAX_MISSING_SHARE = 0.5
REPORT_MAX_LISTED = 200
REPORT_HISTORY_RUNS = 7  # earlier runs (manifests) each source's yield is compared with
REPORT_MAX_YIELD_DROP = 0.5  # a yield this far under its median of those runs is a warning (0 articles: unhealthy)

# Scheduled and distributed runs (crawler/redis.py, crawler/queues.py, pipelines/dedup/redis_index.py)
ADDONS = {"crawler.redis.Distributed": 0}  # switches the scheduler to scrapy-redis when REDIS_URL is set
REDIS_URL = os.environ.get("REDIS_URL")  # unset = one process
REDIS_WORKER_TIMEOUT = 60
REDIS_OUTAGE_TIMEOUT = 300  # seconds a worker waits for Redis to answer again before it stops (exit 1)
CRAWL_SKIP_STORED = True
DEDUP_URL_TTL_DAYS = 30
# Scrapy's HTTP cache, for entry points only (feeds, sitemaps, start pages): revalidated with ETag/Last-Modified.
HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.RFC2616Policy"
HTTPCACHE_DIR = os.environ.get("HTTPCACHE_DIR", "httpcache")  # relative = under .scrapy/
HTTPCACHE_IGNORE_RESPONSE_CACHE_CONTROLS = ["no-cache"]  # else Scrapy sends no validators for no-cache feeds
HTTPCACHE_GZIP = True
