"""The add-on that turns distributed mode on: with REDIS_URL, the crawl's frontier is in Redis (crawler/queues.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from model.settings import setting

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


class Distributed:
    """Scrapy add-on: with REDIS_URL set, schedule requests through the crawl's shared Redis frontier.

    An add-on because `-s REDIS_URL=…` on the command line must be able to switch the scheduler, which a
    settings module cannot see. Dedup needs no switch: its pipeline asks `redis_link` itself.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        if setting(settings, "REDIS_URL"):
            settings.set("SCHEDULER", "crawler.queues.RedisScheduler", "addon")
            # Outermost, so that they see a request's final fate: what the spider gave, or a failure for good.
            settings["SPIDER_MIDDLEWARES"]["crawler.queues.SettleScraped"] = 0
            settings["DOWNLOADER_MIDDLEWARES"]["crawler.queues.SettleFailed"] = 0
