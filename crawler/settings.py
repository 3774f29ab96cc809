"""Scrapy settings for newsdedup. The project's own settings, with their defaults, are in model/settings.py."""

from __future__ import annotations

import os

from model.settings import *  # noqa: F403  (the project's own settings and their defaults)

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
SPIDER_MIDDLEWARES = {
    "crawler.budget.ListingTraps": 950,  # next to the spider: it sees every page's output
    "crawler.archive.ArchivePages": 940,  # ARCHIVE_ENABLED
}
TELNETCONSOLE_ENABLED = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = os.environ.get("NEWSDEDUP_LOG_LEVEL", "INFO")

# -- stages: spider -> extract -> select -> dedup -> store -----------------------------------------
ITEM_PIPELINES = {
    "pipelines.select.TopicPrefilter": 200,  # pages without the seeds' keywords are not extracted
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

# Scheduled and distributed runs (crawler/redis.py, crawler/queues.py, pipelines/dedup/redis_index.py)
ADDONS = {"crawler.redis.Distributed": 0}  # switches the scheduler to scrapy-redis when REDIS_URL is set
# Scrapy's HTTP cache, for entry points only (feeds, sitemaps, start pages): revalidated with ETag/Last-Modified.
HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.RFC2616Policy"
HTTPCACHE_DIR = os.environ.get("HTTPCACHE_DIR", "httpcache")  # relative = under .scrapy/
HTTPCACHE_IGNORE_RESPONSE_CACHE_CONTROLS = ["no-cache"]  # else Scrapy sends no validators for no-cache feeds
HTTPCACHE_GZIP = True
