"""Pure parts of the rate-limit and trap defences: Retry-After, the per-domain back-off, URL patterns, traps,
and the seeds' `max_requests`."""

from __future__ import annotations

import datetime as dt

import pytest

from crawler.budget import TrapDetector, url_template
from model.seeds import SeedsError, parse_seeds
from crawler.throttle import Backoff, parse_retry_after

NOW = dt.datetime(2025, 3, 1, 8, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Sat, 01 Mar 2025 08:00:30 GMT", 30.0),  # IMF-fixdate
        ("Saturday, 01-Mar-25 08:01:00 GMT", 60.0),  # obsolete RFC 850 form
        ("Sat Mar  1 08:00:05 2025", 5.0),  # asctime, no zone: GMT
        ("Sat, 01 Mar 2025 07:00:00 GMT", 0.0),  # in the past: no wait
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str, seconds: float) -> None:
    assert parse_retry_after(header, NOW) == seconds


@pytest.mark.parametrize("header", [None, "", "  ", "-5", "soon", "nan", "inf", "Sat, 99 Foo 2025"])
def test_an_absent_or_unreadable_retry_after_is_none(header: str | None) -> None:
    assert parse_retry_after(header, NOW) is None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_back_off_doubles_per_domain_and_resets_on_an_answer() -> None:
    clock = Clock()
    backoff = Backoff(base=1.0, cap=5.0, clock=clock)
    waits = []
    for _ in range(4):
        waits.append(backoff.throttled("a.example", None))
        clock.now += waits[-1]  # the next request goes out once the pause is over
    assert waits == [1.0, 2.0, 4.0, 5.0], "doubled, capped"
    assert backoff.throttled("b.example", None) == 1.0, "per domain"
    clock.now += 10
    backoff.answered("a.example")
    assert backoff.throttled("a.example", None) == 1.0


def test_answers_to_requests_sent_before_a_pause_neither_lengthen_nor_shorten_it() -> None:
    clock = Clock()
    backoff = Backoff(base=1.0, cap=60.0, clock=clock)
    assert backoff.throttled("a.example", None) == 1.0
    clock.now += 0.25
    assert backoff.throttled("a.example", None) == 0.75, "same pause, one back-off step for four refusals"
    assert backoff.throttled("a.example", None) == 0.75
    clock.now += 0.75
    assert backoff.throttled("a.example", None) == 2.0, "a request sent after the pause refused again: next step"


def test_retry_after_sets_the_pause_within_the_cap() -> None:
    clock = Clock()
    backoff = Backoff(base=1.0, cap=30.0, clock=clock)
    assert backoff.throttled("a.example", 7.0) == 7.0
    assert backoff.throttled("a.example", 2.0) == 7.0, "a shorter Retry-After does not shorten the pause"
    assert backoff.throttled("b.example", 3600.0) == 30.0


@pytest.mark.parametrize(
    ("urls", "same"),
    [
        (["https://x.fr/agenda/j01/", "https://x.fr/agenda/j01/j02/", "https://x.fr/agenda/j07/j02/j19/"], True),
        (["https://x.fr/actu/page/2/", "https://x.fr/actu/page/317/"], True),
        (["https://x.fr/2025/01/02/", "https://x.fr/2019/12/31/"], True),
        (["https://x.fr/search?q=a&color=red", "https://x.fr/search?q=b&size=m&brand=z"], True),
        (["https://x.fr/2025/01/openai-lance-gpt-5/", "https://x.fr/2025/01/musk-attaque-openai/"], False),
        (["https://x.fr/actu/page/2/", "https://x.fr/tech/page/2/"], False),
        (["https://x.fr/agenda/j01/", "https://y.fr/agenda/j01/"], False),
        (["https://x.fr/search", "https://x.fr/search?q=a"], False),
    ],
)
def test_url_templates_group_calendar_pagination_and_facet_siblings_only(urls: list[str], same: bool) -> None:
    assert (len({url_template(url) for url in urls}) == 1) is same


def test_a_pattern_is_a_trap_after_enough_listings_and_no_article() -> None:
    detector = TrapDetector(min_pages=3)
    assert detector.judge("cal", "https://x.fr/agenda/j01/", article=False) is None
    assert detector.judge("cal", "https://x.fr/agenda/j01/j02/", article=False) is None
    assert not detector.is_trap("cal", "https://x.fr/agenda/j03/")
    assert detector.judge("cal", "https://x.fr/agenda/j01/j03/", article=False) == "x.fr/agenda/j#"
    assert detector.is_trap("cal", "https://x.fr/agenda/j05/j06/j07/")
    assert detector.judge("cal", "https://x.fr/agenda/j09/", article=False) is None, "reported once"
    assert not detector.is_trap("other", "https://x.fr/agenda/j05/"), "per site"
    assert not detector.is_trap("cal", "https://x.fr/2025/01/un-article/")


def test_a_pattern_that_gave_an_article_is_never_a_trap() -> None:
    detector = TrapDetector(min_pages=2)
    detector.judge("s", "https://x.fr/article/1", article=False)
    detector.judge("s", "https://x.fr/article/2", article=True)
    for n in range(3, 50):
        assert detector.judge("s", f"https://x.fr/article/{n}", article=False) is None
    assert not detector.is_trap("s", "https://x.fr/article/99")


SITE = "name: t\nsites:\n  - name: a\n    feeds: ['https://a.fr/feed']\n"


def test_seeds_take_a_positive_integer_max_requests() -> None:
    assert parse_seeds(SITE).sites[0].max_requests is None
    assert parse_seeds(SITE + "    max_requests: 300\n").sites[0].max_requests == 300


@pytest.mark.parametrize("value", ["0", "-1", "'300'", "1.5", "true", "[1]"])
def test_a_bad_max_requests_stops_the_crawl_naming_the_key(value: str) -> None:
    with pytest.raises(SeedsError, match=r"x\.yaml: sites\[0\]\.max_requests: "):
        parse_seeds(SITE + f"    max_requests: {value}\n", "x.yaml")
