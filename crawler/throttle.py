"""Rate limits: a site that answers 429 or 503 is waited for, per domain, and the refused request retried then.

Scrapy's RetryMiddleware retries a 429 at once, so a source that asks for two seconds of quiet loses every page
it refused (scrapy/scrapy#3849), and AutoThrottle reads a fast error answer as a reason to go faster
(scrapy/scrapy#4424). Here the refused request's downloader slot (its domain) sends nothing for as long as the
`Retry-After` header says, or for an exponential back-off when it says nothing, through the slot's own pause
(`Slot.latercall`, how DOWNLOAD_DELAY waits): nothing sleeps, other domains go on. The slot's delay is raised
to that wait too, so its next requests are spaced the way the site asked; AutoThrottle lowers it again as the
site answers.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import monotonic
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.utils.asyncio import call_later

from model.settings import setting
from model.stats import count

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy import Request
    from scrapy.http import Response
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

__all__ = ["Backoff", "RateLimitRetry", "parse_retry_after"]


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds a `Retry-After` header asks to wait (RFC 9110 10.2.3: delay-seconds or an HTTP-date, read at
    `now`); 0 for a date in the past, None when the header is absent or unreadable."""
    if not value or not (value := value.strip()):
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass
class _Pause:
    until: float = 0.0  # monotonic time before which the domain is left alone
    streak: int = 0  # throttled answers in a row, each to a request sent after the previous pause


class Backoff:
    """When each domain may be asked again: the wait its `Retry-After` asks for, else `base` doubled at every
    throttled answer in a row (reset by an answer that is not throttled), never more than `cap` seconds.

    Answers to requests sent before a pause began say nothing new: they neither lengthen the streak nor
    shorten the pause (four requests refused at once cost one back-off step, not four); only a Retry-After
    asking for a later time pushes the pause further.
    """

    def __init__(self, base: float, cap: float, clock: Callable[[], float] = monotonic) -> None:
        self.base = base
        self.cap = cap
        self.clock = clock
        self.pauses: dict[str, _Pause] = {}

    def throttled(self, domain: str, retry_after: float | None) -> float:
        """Note a throttled answer from `domain`; returns how long from now the domain is to be left alone."""
        now = self.clock()
        pause = self.pauses.setdefault(domain, _Pause())
        if now >= pause.until:
            pause.streak += 1
            wait = retry_after if retry_after is not None else self.base * 2 ** (pause.streak - 1)
        elif retry_after is not None:
            wait = retry_after  # the site's own word may still push the pause further
        else:
            return pause.until - now
        pause.until = max(pause.until, now + min(wait, self.cap))
        return pause.until - now

    def answered(self, domain: str) -> None:
        """An answer that is not throttled: the domain's next throttled answer starts a new streak."""
        if domain in self.pauses:
            self.pauses[domain].streak = 0


class RateLimitRetry(RetryMiddleware):
    """RetryMiddleware that waits for a throttled domain instead of retrying at once.

    A THROTTLE_HTTP_CODES answer (429, 503) pauses its download slot for the wait `Backoff` gives (Retry-After
    or exponential back-off from THROTTLE_BACKOFF_BASE, capped at THROTTLE_MAX_DELAY), raises the slot's delay
    to it, and is retried up to THROTTLE_RETRY_TIMES times (a request may wait several times before a busy
    site lets it through); other answers and network errors are retried as RetryMiddleware does. Stats:
    crawl/throttled/<status> for every throttled answer, crawl/throttled/gave_up for a request still refused
    after its last retry (it then fails as crawl/failed/http_<status>).
    """

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.throttle_codes = {int(code) for code in setting(settings, "THROTTLE_HTTP_CODES")}
        self.throttle_retry_times = setting(settings, "THROTTLE_RETRY_TIMES")
        self.backoff = Backoff(setting(settings, "THROTTLE_BACKOFF_BASE"), setting(settings, "THROTTLE_MAX_DELAY"))

    def process_response(self, request: Request, response: Response) -> Request | Response:
        slot_key = request.meta.get("download_slot")
        if response.status not in self.throttle_codes:
            if slot_key:
                self.backoff.answered(slot_key)
            return super().process_response(request, response)
        site = request.meta.get("site")
        count(self.crawler.stats, f"crawl/throttled/{response.status}", site)
        if request.meta.get("dont_retry", False):
            return response
        header = response.headers.get("Retry-After")
        retry_after = parse_retry_after(header.decode("latin-1") if header else None, dt.datetime.now(dt.UTC))
        if slot_key:
            self._pause(slot_key, self.backoff.throttled(slot_key, retry_after))
        retry = get_retry_request(
            request,
            spider=self.crawler.spider,
            reason=f"throttled_{response.status}",
            max_retry_times=request.meta.get("max_retry_times", self.throttle_retry_times),
            priority_adjust=request.meta.get("priority_adjust", self.priority_adjust),
            give_up_log_level="WARNING",
        )
        if retry is None:
            count(self.crawler.stats, "crawl/throttled/gave_up", site)
            return response
        return retry

    def _pause(self, slot_key: str, seconds: float) -> None:
        """Send nothing from the slot for `seconds`, then space its requests by as much."""
        downloader = self.crawler.engine.downloader
        slot = downloader.slots.get(slot_key)
        if slot is None or seconds <= 0:
            return
        slot.delay = max(slot.delay, seconds)
        if slot.latercall:
            slot.latercall.cancel()
        # The downloader's own resume of a paused slot (private in the pinned Scrapy): it clears `latercall`
        # and sends what the slot's delay then allows.
        slot.latercall = call_later(seconds, downloader._latercall, slot)
        logger.debug("%s throttled: its next request in %.1f s", slot_key, seconds)
