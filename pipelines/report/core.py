"""Crawl report core: per-source health and story coverage, built from what a run stored.

Pure: no Scrapy, no I/O. The crawl's extension (one run) and `scrapy report` (a range of runs) read manifests,
records and duplicate logs from the store and hand them here; the dict this builds is report.json and the
only input of the HTML page. It stays bounded whatever the number of records (the timeline is binned, lists
are capped and say how much they left out), so a run of 10,000 articles gives a page as small as one of 10.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from model.walls import CHALLENGE_VENDORS
from pipelines.extract.dates import instant

__all__ = [
    "DROP_LABELS",
    "FIELDS",
    "NOTE",
    "OK",
    "REPORT_FORMAT",
    "REQUIRED_FIELDS",
    "UNHEALTHY",
    "UNHEALTHY_EXIT_CODE",
    "WARNING",
    "HealthRules",
    "Limits",
    "RunData",
    "SiteOwner",
    "bin_date",
    "build_report",
    "exit_code",
    "judge_source",
    "noun",
    "plural",
    "slim_record",
    "source_metrics",
    "source_yield",
    "source_yields",
    "verdict_lines",
]

REPORT_FORMAT = "newsdedup-report/1"
# `scrapy crawl` exits with this when REPORT_FAIL_ON_UNHEALTHY is set and a source is unhealthy: distinct from
# Scrapy's 1 (the crawl could not start) and 2 (usage error), so a cron or CI job can tell them apart.
UNHEALTHY_EXIT_CODE = 3

OK, NOTE, WARNING, UNHEALTHY = "ok", "note", "warning", "unhealthy"
_SEVERITY = {OK: 0, NOTE: 0, WARNING: 1, UNHEALTHY: 2}

# Why an article was not stored, as a reader names it, and the stage counters that add up to it.
DROPS: dict[str, tuple[str, ...]] = {
    "off_topic": ("select/off_topic", "select/off_topic_prefiltered"),
    "too_old": ("select/too_old",),
    "non_article": ("extract/empty", "extract/too_short", "extract/too_long", "extract/not_article", "extract/link_list"),
    "walled": ("extract/blocked/consent", "extract/blocked/paywall", "extract/soft_404"),
    "same_url": ("dedup/same_url",),
    "exact": ("dedup/exact",),
    "near_duplicate": ("dedup/near_duplicate",),
    "superseded": ("dedup/superseded",),
}
DROP_LABELS = {
    "off_topic": "off-topic",
    "too_old": "too old",
    "non_article": "not an article",
    "walled": "wall or soft 404",
    "same_url": "same URL",
    "exact": "exact copy",
    "near_duplicate": "near-duplicate",
    "superseded": "superseded",
}
EXTRACTION_FAILURES = ("extract/timeout", "extract/error", "extract/worker_died")
# Pages that are not the article they were asked for (model/walls.py), as the report names them.
WALLS = {
    "extract/blocked/consent": "consent wall",
    "extract/blocked/paywall": "paywall with only a teaser",
    "extract/soft_404": "soft 404 (a not-found page answered 200)",
}
_CHALLENGE = "crawl/blocked/challenge/"
# Responses a source answered that are not failures: HTML pages, feeds, sitemaps, non-HTML and empty bodies.
_FETCHED = ("crawl/pages/", "crawl/feeds", "crawl/sitemaps", "crawl/feed/invalid", "crawl/skipped/non_html/",
            "crawl/skipped/empty")  # fmt: skip
# Record metadata whose presence the report measures: label -> record field.
FIELDS = {"title": "title", "author": "authors", "date": "published", "language": "language"}
# A source whose records miss one of these is degraded; a missing author is only noted (many outlets sign nothing).
REQUIRED_FIELDS = ("title", "date", "language")
_RECORD_KEYS = ("id", "url", "site", "title", "authors", "published", "language", "word_count", "duplicates")
TIMELINE_MAX_BINS = 120
_UNDATED = dt.datetime.max.replace(tzinfo=dt.UTC)
TITLES_PER_CELL = 3
COPIES_PER_CLUSTER = 20

SiteOwner = Callable[[str], str | None]
"""The seeds' site a URL belongs to, or None."""


@dataclass(frozen=True)
class HealthRules:
    """Thresholds of the health verdict (settings REPORT_MIN_PAGES, REPORT_MAX_FAILED_SHARE, REPORT_MAX_MISSING_SHARE,
    REPORT_MAX_YIELD_DROP)."""

    min_pages: int = 5
    max_failed_share: float = 0.5
    max_missing_share: float = 0.5
    max_yield_drop: float = 0.5


@dataclass(frozen=True)
class Limits:
    """How many articles, duplicate clusters and copier pairs are listed (REPORT_MAX_LISTED; the rest is counted),
    and how many earlier runs a source's yield is compared with (REPORT_HISTORY_RUNS)."""

    max_listed: int = 200
    history_runs: int = 7


@dataclass
class RunData:
    """What the report needs from one stored run.

    `records` are slim records (see `slim_record`), `links` the run's duplicates log, `sites` the seeds'
    site names (so a source that answered nothing is judged too), `missing_parts` parts the manifest lists
    that storage no longer has.
    """

    manifest: Mapping[str, Any]
    prefix: str
    records: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    sites: Sequence[str] = ()
    missing_parts: list[str] = field(default_factory=list)


def slim_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the report uses: the text and description are dropped so 10,000 records fit in little memory."""
    return {key: record.get(key) for key in _RECORD_KEYS}


# -- per source ------------------------------------------------------------------------------------


def _counters(stats: Mapping[str, Any], prefix: str = "") -> Counter[str]:
    """Integer stats under `prefix` (e.g. `sites/techvibe/`), keyed without it; '' gives the run-wide ones."""
    counters: Counter[str] = Counter()
    for key, value in stats.items():
        if key.startswith(prefix) and isinstance(value, int) and not isinstance(value, bool):
            name = key[len(prefix) :]
            if prefix or not name.startswith("sites/"):
                counters[name] += value
    return counters


def _sites_in_stats(stats: Mapping[str, Any]) -> set[str]:
    return {key.split("/")[1] for key in stats if key.startswith("sites/") and key.count("/") >= 2}


def source_metrics(counters: Mapping[str, int], records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What one source did: fetched, failed, extracted, stored, dropped and why, and how complete its records are."""

    def total(*prefixes: str) -> int:
        return sum(value for key, value in counters.items() if key.startswith(prefixes))

    failed = {key.removeprefix("crawl/failed/"): value for key, value in sorted(counters.items())
              if key.startswith("crawl/failed/") and value}  # fmt: skip
    extraction_failures = {key.removeprefix("extract/"): counters[key] for key in EXTRACTION_FAILURES if counters.get(key)}
    stored = len(records)
    words = [int(record.get("word_count") or 0) for record in records]
    return {
        "pages_fetched": total(*_FETCHED),
        "html_pages": total("crawl/pages/"),
        "failed_requests": sum(failed.values()),
        "failed_by_reason": failed,
        "articles_extracted": counters.get("extract/ok", 0),
        "prefiltered": counters.get("select/off_topic_prefiltered", 0),
        "extraction_failures": sum(extraction_failures.values()),
        "extraction_failures_by_reason": extraction_failures,
        "stored": stored,
        "drops": {reason: sum(counters.get(key, 0) for key in keys) for reason, keys in DROPS.items()},
        "self_repeat_collapsed": counters.get("dedup/self_repeat_pages", 0),
        "already_stored": counters.get("crawl/skipped/already_stored", 0),
        "blocked": _blocked(counters),
        "throttled": _throttled(counters),
        "crawl_limits": _crawl_limits(counters),
        "median_words": int(statistics.median(words)) if words else None,
        "fields": {
            label: round(sum(1 for record in records if record.get(key)) / stored, 3) if stored else None
            for label, key in FIELDS.items()
        },
    }


def _throttled(counters: Mapping[str, int]) -> dict[str, Any]:
    """Answers that asked the crawl to slow down (429, 503), by status, and requests still refused after waiting."""
    statuses = {key: key.removeprefix("crawl/throttled/") for key in counters if key.startswith("crawl/throttled/")}
    by_status = {status: counters[key] for key, status in sorted(statuses.items()) if status.isdigit() and counters[key]}
    return {"by_status": by_status, "gave_up": counters.get("crawl/throttled/gave_up", 0)}


def _crawl_limits(counters: Mapping[str, int]) -> dict[str, int]:
    """URL traps found, and the requests not made because of them or of the site's request budget."""
    return {
        "traps": counters.get("crawl/traps", 0),
        "trap_requests_skipped": counters.get("crawl/skipped/trap", 0),
        "budget_requests_skipped": counters.get("crawl/skipped/budget", 0),
    }


def _blocked(counters: Mapping[str, int]) -> dict[str, int]:
    """Answers that were not the page asked for: bot challenges by vendor (`challenge/aws_waf`), consent walls,
    paywalls, soft 404s."""
    found = {key.removeprefix("crawl/blocked/"): value for key, value in sorted(counters.items())
             if key.startswith(_CHALLENGE) and value}  # fmt: skip
    found.update({key.removeprefix("extract/").removeprefix("blocked/"): counters[key] for key in WALLS
                  if counters.get(key)})  # fmt: skip
    return found


def noun(count: int, word: str) -> str:
    """`word` for one, its plural otherwise (copy, copies; page, pages)."""
    return word if count == 1 else word[:-1] + "ies" if word.endswith("y") else word + "s"


def plural(count: int, word: str) -> str:
    """`1 record`, `2,000 records`."""
    return f"{count:,} {noun(count, word)}"


def _breakdown(counts: Mapping[str, int]) -> str:
    """`http_404=2, TimeoutError=1` reads `HTTP 404: 2, TimeoutError: 1`."""
    names = {key: f"HTTP {key[5:]}" if key.startswith("http_") else key.replace("_", " ") for key in counts}
    return ", ".join(f"{names[key]}: {value}" for key, value in counts.items())


def _reason(level: str, text: str) -> dict[str, str]:
    return {"level": level, "text": text}


def _graded(share: float, limit: float) -> str:
    """Unhealthy at the limit, a warning from half of it, else only a note."""
    return UNHEALTHY if share >= limit else WARNING if share >= limit / 2 else NOTE


def judge_source(metrics: Mapping[str, Any], rules: HealthRules, earlier: Sequence[int] = ()) -> list[dict[str, str]]:
    """Why a source is healthy or not, worst first: each reason has a level (unhealthy, warning, note) and a sentence.

    `earlier` are its yields in earlier runs (`source_yield`), oldest first, to tell a source that silently stopped.
    """
    reasons = _wall_reasons(metrics, rules)
    walled = bool(reasons)  # then they, not a broken extraction, are why it gave no article
    challenged = sum(value for key, value in metrics["blocked"].items() if key.startswith("challenge/"))
    fetched, failed, pages = metrics["pages_fetched"], metrics["failed_requests"], metrics["html_pages"]
    failures = _breakdown(metrics["failed_by_reason"])
    extracted, stored = metrics["articles_extracted"], metrics["stored"]
    if not fetched and not failed and not challenged:
        reasons.append(_reason(UNHEALTHY, "nothing fetched: no response from its start pages, feeds or sitemaps "
                                          "(unreachable, or forbidden by robots.txt)"))  # fmt: skip
    elif not fetched and failed:
        what = f"all {failed} requests" if failed > 1 else "its only request"
        reasons.append(_reason(UNHEALTHY, f"{what} failed ({failures})"))
    elif failed:
        level = _graded(failed / (fetched + failed), rules.max_failed_share)
        reasons.append(_reason(level, f"{failed} of {plural(fetched + failed, 'request')} failed ({failures})"))
    attempted = pages - metrics["prefiltered"]  # pages without the seeds' keywords are not extracted
    if fetched and not extracted and not walled and (attempted or not pages):
        if attempted >= rules.min_pages:
            reasons.append(_reason(UNHEALTHY, f"0 articles from {plural(attempted, 'page')}: extraction or article "
                                              "detection broke"))  # fmt: skip
        else:
            reasons.append(_reason(WARNING, f"0 articles from {plural(attempted, 'page')}: too few pages found, "
                                            "check its start pages, feeds and sitemaps"))  # fmt: skip
    if metrics["extraction_failures"]:
        attempts = extracted + metrics["drops"]["non_article"] + metrics["extraction_failures"]
        share = metrics["extraction_failures"] / attempts
        reasons.append(_reason(_graded(share, rules.max_failed_share),
                               f"extraction failed on {metrics['extraction_failures']} of {plural(attempts, 'page')} "
                               f"({_breakdown(metrics['extraction_failures_by_reason'])})"))  # fmt: skip
    if extracted and not stored:
        why = ", ".join(f"{value} {DROP_LABELS[key]}" for key, value in metrics["drops"].items() if value)
        reasons.append(_reason(NOTE, f"no article stored from {extracted} extracted" + (f": {why}" if why else "")))
    for label, share in metrics["fields"].items():
        if share is not None and 1 - share >= rules.max_missing_share:
            level = WARNING if label in REQUIRED_FIELDS else NOTE
            reasons.append(_reason(level, f"{label} missing on {1 - share:.0%} of {plural(stored, 'record')}"))
    reasons += _yield_reasons(source_yield(metrics), earlier, rules)
    reasons += _throttle_reasons(metrics) + _limit_reasons(metrics)
    return sorted(reasons, key=lambda reason: -_SEVERITY[reason["level"]])


def _throttle_reasons(metrics: Mapping[str, Any]) -> list[dict[str, str]]:
    """A source that rate-limits the crawl: a warning when requests were still refused after every wait."""
    throttled = metrics["throttled"]
    if not throttled["by_status"]:
        return []
    answers = ", ".join(f"HTTP {status}: {value}" for status, value in throttled["by_status"].items())
    if throttled["gave_up"]:
        return [_reason(WARNING, f"stays throttled ({answers}): {plural(throttled['gave_up'], 'request')} still "
                                 "refused after waiting as asked; crawl it more slowly (DOWNLOAD_SLOTS delay) or "
                                 "raise THROTTLE_RETRY_TIMES")]  # fmt: skip
    return [_reason(NOTE, f"throttled ({answers}): every refused request got through after waiting as asked")]


def _limit_reasons(metrics: Mapping[str, Any]) -> list[dict[str, str]]:
    """A source cut short by its request budget (a warning: pages may be missing), or with URL traps avoided."""
    limits, reasons = metrics["crawl_limits"], []
    if limits["budget_requests_skipped"]:
        reasons.append(_reason(WARNING, f"request budget reached: {plural(limits['budget_requests_skipped'], 'request')} "
                                        "not made (max_requests in the seeds, CRAWL_MAX_REQUESTS_PER_SITE)"))  # fmt: skip
    if limits["traps"]:
        reasons.append(_reason(NOTE, f"{plural(limits['traps'], 'URL trap')} (a URL pattern giving only listings) "
                                     f"not followed: {plural(limits['trap_requests_skipped'], 'request')} not made"))  # fmt: skip
    return reasons


def _wall_reasons(metrics: Mapping[str, Any], rules: HealthRules) -> list[dict[str, str]]:
    """Name the walls a source put up: bot challenges (share of its requests), consent walls, paywalls and soft
    404s (share of its article pages). Graded like failures; a paywall only warns when no article got through."""
    blocked, reasons = metrics["blocked"], []
    requests = metrics["pages_fetched"] + metrics["failed_requests"]
    challenges = {key.removeprefix("challenge/"): value for key, value in blocked.items() if key.startswith("challenge/")}
    requests += sum(challenges.values())
    for vendor, value in challenges.items():
        reasons.append(_reason(_graded(value / requests, rules.max_failed_share),
                               f"bot challenge ({CHALLENGE_VENDORS.get(vendor, vendor)}) on {value} of "
                               f"{plural(requests, 'request')}"))  # fmt: skip
    extracted = metrics["articles_extracted"]
    pages = extracted + sum(metrics["drops"][key] for key in ("non_article", "walled")) + metrics["extraction_failures"]
    for key, label in WALLS.items():
        value = blocked.get(key.removeprefix("extract/").removeprefix("blocked/"), 0)
        if not value:
            continue
        share = value / pages
        level = (WARNING if not extracted else NOTE) if key == "extract/blocked/paywall" else _graded(share, rules.max_failed_share)
        reasons.append(_reason(level, f"{label} on {value} of {plural(pages, 'article page')}"))
    return reasons


def source_yield(metrics: Mapping[str, Any]) -> int:
    """Articles a source gave in a run: extracted, skipped before extraction as off topic, or not fetched because an
    earlier run stored them (so a scheduled run that finds nothing new still counts what the source lists)."""
    return int(metrics["articles_extracted"] + metrics["prefiltered"] + metrics["already_stored"])


def source_yields(stats: Mapping[str, Any]) -> dict[str, int]:
    """Each source's yield in a run, from its manifest's stats (what the report compares the next runs with)."""
    return {site: source_yield(source_metrics(_counters(stats, f"sites/{site}/"), ())) for site in _sites_in_stats(stats)}


def _yield_reasons(now: int, earlier: Sequence[int], rules: HealthRules) -> list[dict[str, str]]:
    """A source that silently stopped: no article where earlier runs had some (unhealthy), or a yield fallen
    more than REPORT_MAX_YIELD_DROP under the median of those runs (a warning)."""
    median = statistics.median(earlier) if earlier else 0
    if not median or now >= median * (1 - rules.max_yield_drop):
        return []
    runs = f"the last {len(earlier)} runs" if len(earlier) > 1 else "the last run"
    return [_reason(UNHEALTHY if not now else WARNING, f"gave {plural(now, 'article')}; median of {runs}: {median:g}")]


def judge_run(manifest: Mapping[str, Any], missing_parts: Sequence[str], fetched: int) -> list[dict[str, str]]:
    """Problems of the run as a whole: objects waiting in the spool or missing, an early end, nothing fetched."""
    reasons: list[dict[str, str]] = []
    spooled = manifest.get("failed_parts") or []
    if spooled:
        reasons.append(_reason(UNHEALTHY, f"storage refused {plural(len(spooled), 'object')}: kept in the local "
                                          "spool, the next run writes them"))  # fmt: skip
    missing = [key for key in missing_parts if key not in spooled]
    if missing:
        reasons.append(_reason(UNHEALTHY, f"{plural(len(missing), 'object')} named in the manifest missing from storage"))
    if "stats" not in manifest:
        reasons.append(_reason(NOTE, f"no crawl stats: the manifest was recovered by {manifest.get('recovered_by', '?')}"))
    elif not fetched:
        reasons.append(_reason(UNHEALTHY, "the run fetched nothing"))
    finish = manifest.get("finish_reason")
    if not finish:
        reasons.append(_reason(WARNING, "the run has not finished (running, or killed): the records written so far"))
    elif finish != "finished":
        reasons.append(_reason(WARNING, f"the crawl ended early ({finish})"))
    return sorted(reasons, key=lambda reason: -_SEVERITY[reason["level"]])


def _worst(levels: Iterable[str]) -> str:
    """The verdict for a set of levels: notes alone leave it ok."""
    return (OK, WARNING, UNHEALTHY)[max((_SEVERITY[level] for level in levels), default=0)]


# -- coverage and duplicates -----------------------------------------------------------------------


def _date(value: Any) -> dt.date | None:
    """The calendar date of a `published` value, in its own offset."""
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _moment(published: Any) -> dt.datetime:
    """The instant of a `published` value, to order records of any zone and precision (`dates.instant`: a day
    alone counts as its end, after the articles timed that day); undated ones last."""
    try:
        return instant(published) if published else _UNDATED
    except (TypeError, ValueError):
        return _UNDATED


def _bin_start(day: dt.date, unit: str) -> dt.date:
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    return day


def _bin_index(start: dt.date, day: dt.date, unit: str) -> int:
    """Position of `day`'s bin counted from the bin that starts at `start`."""
    day = _bin_start(day, unit)
    if unit == "month":
        return (day.year - start.year) * 12 + day.month - start.month
    if unit == "year":
        return day.year - start.year
    return (day - start).days // (7 if unit == "week" else 1)


def bin_date(start: str, unit: str, index: int) -> dt.date:
    """First day of the `index`-th bin of a timeline that starts at `start` (for axis labels)."""
    first = dt.date.fromisoformat(start)
    if unit == "month":
        months = first.month - 1 + index
        return first.replace(year=first.year + months // 12, month=months % 12 + 1)
    if unit == "year":
        return first.replace(year=first.year + index)
    return first + dt.timedelta(days=index * (7 if unit == "week" else 1))


def _timeline(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Articles per outlet and publication date, in the finest unit (day, week, month, year) that keeps the
    number of columns under TIMELINE_MAX_BINS; a few headlines per dot for its tooltip."""
    dated = [(day, record) for record in records if (day := _date(record.get("published")))]
    undated = Counter(record["site"] for record in records if not _date(record.get("published")))
    if not dated:
        return {"unit": "day", "start": None, "bins": 0, "cells": [], "undated": dict(undated)}
    low, high = min(day for day, _ in dated), max(day for day, _ in dated)
    unit = next(u for u in ("day", "week", "month", "year")
                if _bin_index(_bin_start(low, u), high, u) < TIMELINE_MAX_BINS or u == "year")  # fmt: skip
    start = _bin_start(low, unit)
    counts: Counter[tuple[str, int]] = Counter()
    titles: dict[tuple[str, int], list[str]] = defaultdict(list)
    for day, record in sorted(dated, key=lambda pair: (pair[0], _moment(pair[1]["published"]))):
        cell = (record["site"], _bin_index(start, day, unit))
        counts[cell] += 1
        if len(titles[cell]) < TITLES_PER_CELL and record.get("title"):
            titles[cell].append(record["title"])
    return {
        "unit": unit,
        "start": start.isoformat(),
        "bins": _bin_index(start, high, unit) + 1,
        "cells": [{"site": site, "bin": index, "start": bin_date(start.isoformat(), unit, index).isoformat(),
                   "count": count, "titles": titles[site, index]}
                  for (site, index), count in sorted(counts.items())],  # fmt: skip
        "undated": dict(undated),
    }


def _outlets(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Who covered the story: per outlet, how many articles, when it published the first and the latest (with
    their time when known, so that outlets on one busy day are told apart), its first headline."""
    by_site: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        by_site[record["site"]].append(record)
    rows = []
    for site, items in by_site.items():
        dated = sorted((r for r in items if _date(r.get("published"))), key=lambda r: _moment(r["published"]))
        first = dated[0] if dated else items[0]
        rows.append({
            "site": site,
            "articles": len(items),
            "first": dated[0]["published"] if dated else None,
            "last": dated[-1]["published"] if dated else None,
            "undated": len(items) - len(dated),
            "first_title": first.get("title"),
            "first_url": first.get("url"),
        })  # fmt: skip
    return sorted(rows, key=lambda row: (_moment(row["first"]), row["site"]))


def _site_resolver(records: Sequence[Mapping[str, Any]], owner: SiteOwner | None) -> Callable[[str], str]:
    """Name the outlet of any URL: the seeds' site that owns it, else the site of a stored record on the same
    host, else the host itself (a copy from an outlet the seeds do not list)."""
    hosts = {urlsplit(record["url"]).hostname: record["site"] for record in records if record.get("url")}

    def site_of(url: str) -> str:
        host = urlsplit(url).hostname or url
        return (owner(url) if owner else None) or hosts.get(host) or host

    return site_of


def _clusters(
    records: Sequence[Mapping[str, Any]], links: Sequence[Mapping[str, Any]], site_of: Callable[[str], str]
) -> list[dict[str, Any]]:
    """Each kept article with every copy dropped for it: from the records' `duplicates` and the runs' logs,
    which also name copies of articles kept in earlier runs."""
    by_id = {record["id"]: record for record in records}
    copies: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    kept_urls: dict[str, str] = {}
    for record in records:
        for link in record.get("duplicates") or []:
            copies[record["id"]][link["url"]] = link
    for link in links:
        kept_urls[link["kept_id"]] = link["kept_url"]
        copies[link["kept_id"]].setdefault(link["url"], link)
    clusters = []
    for kept_id, found in copies.items():
        record = by_id.get(kept_id)
        url = record["url"] if record else kept_urls[kept_id]
        kept = {
            "id": kept_id,
            "url": url,
            "site": record["site"] if record else site_of(url),
            "title": record.get("title") if record else None,
            "published": record.get("published") if record else None,
            "earlier_run": record is None,
        }
        listed = [{"url": link["url"], "site": site_of(link["url"]), "reason": link["reason"],
                   "similarity": 1.0 if link["reason"] == "exact" else link.get("similarity")}
                  for link in found.values()]  # fmt: skip
        listed.sort(key=lambda copy: (-(copy["similarity"] or 0), copy["url"]))
        clusters.append({"kept": kept, "copies": listed})
    clusters.sort(key=lambda c: (-len(c["copies"]), _moment(c["kept"]["published"]), c["kept"]["url"]))
    return clusters


def _copying(clusters: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Who copied whom: copies dropped per (copying outlet, original outlet) pair, most first."""
    pairs = Counter((copy["site"], cluster["kept"]["site"]) for cluster in clusters for copy in cluster["copies"])
    return [{"copier": copier, "original": original, "copies": n}
            for (copier, original), n in sorted(pairs.items(), key=lambda item: (-item[1], item[0]))]  # fmt: skip


def _capped(items: Sequence[Any], limit: int) -> dict[str, Any]:
    return {"items": list(items[:limit]), "total": len(items), "omitted": max(0, len(items) - limit)}


# -- the report ------------------------------------------------------------------------------------


@dataclass
class _Judged:
    """Each run's verdicts: a row per run, and per source its latest verdict, its history and summed counters."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    latest: dict[str, tuple[str, list[dict[str, str]]]] = field(default_factory=dict)
    history: dict[str, list[str | None]] = field(default_factory=dict)
    site_totals: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    run_totals: Counter[str] = field(default_factory=Counter)


def _judge_runs(
    runs: Sequence[RunData], rules: HealthRules, history: Sequence[Mapping[str, int]] = (), window: int = 0
) -> _Judged:
    """Judge each run, each source against its yields in the `window` runs before (`history`, then these runs)."""
    judged = _Judged()
    past = list(history)
    for position, run in enumerate(runs):
        stats = run.manifest.get("stats") or {}
        by_site: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in run.records:
            by_site[record["site"]].append(record)
        run_counters = _counters(stats)
        judged.run_totals.update(run_counters)
        verdicts: Counter[str] = Counter()
        # A manifest recovered from an interrupted run's parts has no stats: its sources cannot be judged.
        names = set(run.sites) | _sites_in_stats(stats) | set(by_site) if "stats" in run.manifest else set()
        yields: dict[str, int] = {}
        for site in sorted(names):
            counters = _counters(stats, f"sites/{site}/")
            judged.site_totals[site].update(counters)
            metrics = source_metrics(counters, by_site.get(site, []))
            earlier = [run_yields[site] for run_yields in past[-window:] if site in run_yields] if window else []
            reasons = judge_source(metrics, rules, earlier)
            yields[site] = source_yield(metrics)
            verdict = _worst(reason["level"] for reason in reasons)
            judged.latest[site] = (verdict, reasons)
            judged.history.setdefault(site, [None] * len(runs))[position] = verdict
            verdicts[verdict] += 1
        if names:
            past.append(yields)
        fetched = source_metrics(run_counters, ())["pages_fetched"]
        run_reasons = judge_run(run.manifest, run.missing_parts, fetched)
        judged.rows.append({
            "crawl": run.manifest.get("crawl"),
            "run_id": run.manifest.get("run_id"),
            "prefix": run.prefix,
            "started_at": run.manifest.get("started_at"),
            "finished_at": run.manifest.get("finished_at"),
            "finish_reason": run.manifest.get("finish_reason"),
            "elapsed_seconds": stats.get("elapsed_time_seconds"),
            "pages_fetched": fetched,
            "stored": len(run.records),
            "copies_dropped": len(run.links),
            "verdict": _worst([*(reason["level"] for reason in run_reasons), *verdicts.elements()]),
            "reasons": run_reasons,
            "sources": {level: verdicts[level] for level in (UNHEALTHY, WARNING, OK)},
        })  # fmt: skip
    return judged


def build_report(
    runs: Sequence[RunData],
    *,
    owner: SiteOwner | None = None,
    rules: HealthRules = HealthRules(),
    limits: Limits = Limits(),
    generated_at: str | None = None,
    history: Sequence[Mapping[str, int]] = (),
) -> dict[str, Any]:
    """The report of one or more runs of a crawl (ordered by run id, which starts with the start time).

    A source's health is judged on each run; its row shows the latest run's verdict, the history of verdicts,
    and counts summed over the runs. The report's verdict is the latest run's. `history` holds each source's
    yield in runs before these (`source_yields` of their manifests, oldest first): a source is compared with
    its last `limits.history_runs` runs.
    """
    if not runs:
        raise ValueError("no run to report on")
    runs = sorted(runs, key=lambda run: str(run.manifest.get("run_id", "")))
    judged = _judge_runs(runs, rules, history, limits.history_runs)
    records = [record for run in runs for record in run.records]
    by_site: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_site[record["site"]].append(record)
    sources = [
        {"site": site, "verdict": verdict, "reasons": reasons, "history": judged.history[site],
         **source_metrics(judged.site_totals[site], by_site.get(site, []))}
        for site, (verdict, reasons) in judged.latest.items()
    ]  # fmt: skip
    sources.sort(key=lambda source: (-_SEVERITY[source["verdict"]], source["site"]))
    clusters = _clusters(records, [link for run in runs for link in run.links], _site_resolver(records, owner))
    newest_first = sorted(records, key=lambda r: (bool(r.get("published")), _moment(r.get("published")), r["site"],
                                                  r["url"]), reverse=True)  # fmt: skip
    verdicts = Counter(source["verdict"] for source in sources)
    last = judged.rows[-1]
    return {
        "format": REPORT_FORMAT,
        "generated_at": generated_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "crawl": last["crawl"],
        "verdict": last["verdict"],
        "reasons": last["reasons"],
        "rules": asdict(rules),
        "totals": {
            "runs": len(runs),
            "sources": {level: verdicts[level] for level in (UNHEALTHY, WARNING, OK)},
            "duplicates_logged": sum(len(run.links) for run in runs),
            "elapsed_seconds": round(sum(float(row["elapsed_seconds"] or 0) for row in judged.rows), 1),
            **source_metrics(judged.run_totals, records),
        },
        "sources": sources,
        "runs": judged.rows,
        "coverage": {
            "outlets": _outlets(records),
            "timeline": _timeline(records),
            "articles": _capped([{"site": r["site"], "published": r.get("published"), "title": r.get("title"),
                                  "url": r["url"], "words": r.get("word_count"), "copies": len(r.get("duplicates") or [])}
                                 for r in newest_first], limits.max_listed),  # fmt: skip
        },
        "clusters": {
            **_capped(clusters, limits.max_listed),
            "items": [{"kept": cluster["kept"], "copies": _capped(cluster["copies"], COPIES_PER_CLUSTER)}
                      for cluster in clusters[: limits.max_listed]],  # fmt: skip
        },
        "copying": _capped(_copying(clusters), limits.max_listed),
    }


def exit_code(verdict: str | None, fail_on_unhealthy: bool) -> int:
    """The crawl's exit code for a report verdict: UNHEALTHY_EXIT_CODE only when asked to fail on it."""
    return UNHEALTHY_EXIT_CODE if fail_on_unhealthy and verdict == UNHEALTHY else 0


def verdict_lines(report: Mapping[str, Any]) -> list[str]:
    """The verdict as log lines: one headline, then one line per reason that is not a mere note."""
    counts = report["totals"]["sources"]
    lines = [
        f"Crawl health: {report['verdict']} ({counts[OK]} sources ok, {counts[WARNING]} with warnings, "
        f"{counts[UNHEALTHY]} unhealthy)"
    ]
    lines += [f"  run: {reason['level']}: {reason['text']}" for reason in report["reasons"]]
    lines += [
        f"  {source['site']}: {reason['level']}: {reason['text']}"
        for source in report["sources"]
        for reason in source["reasons"]
        if reason["level"] != NOTE
    ]
    return lines
