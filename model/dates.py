"""Dates as records carry them (ISO 8601, with time and offset when known, else the day), and which sources of a
publication date are trusted. Shared by the spider (feed and sitemap dates), extraction and dedup (which copy is
earliest)."""

from __future__ import annotations

import datetime as dt
import email.utils

__all__ = ["TRUSTED_SOURCES", "instant", "iso_date", "iso_format"]

# Dates from the page's own markup and from the feed or sitemap that listed it; a URL or text date is a guess.
TRUSTED_SOURCES = frozenset({"meta", "jsonld", "time", "feed", "sitemap"})


def iso_date(value: str | None) -> str | None:
    """A date as a feed, sitemap or meta tag writes it (ISO 8601 or RFC 822), as ISO 8601: with its time and offset
    when it has them, the day alone when it is a day; None when it is not a full date."""
    if not value or not (value := value.strip()):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if len(value) <= 10 and "T" not in value:
        return moment.date().isoformat()
    return iso_format(moment)


def instant(value: str) -> dt.datetime:
    """The moment an ISO date stands for, in UTC, to compare dates of any zone and precision. A day alone stands
    for its last moment (a copy dated only by its day is never earlier than one timed on that day); a time without
    offset is read as UTC."""
    moment = dt.datetime.fromisoformat(value)
    if len(value) <= 10:
        moment += dt.timedelta(days=1, microseconds=-1)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def iso_format(moment: dt.datetime) -> str:
    """ISO 8601 to the second, with the offset when known."""
    return moment.replace(microsecond=0).isoformat()
