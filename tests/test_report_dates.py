"""The report's coverage by publication datetime: who published first on one busy day, across time zones."""

from __future__ import annotations

from pipelines.report.core import build_report
from pipelines.report.html import render_html
from tests.test_report import record, run_data, stats_for


def test_first_publication_is_told_apart_on_one_day_in_any_zone() -> None:
    records = [
        record("lemonde", 1, published="2025-02-11T10:00:00+01:00"),  # 09:00 UTC
        record("apnews", 2, published="2025-02-11T03:30:00-05:00"),  # 08:30 UTC: first
        record("lemonde", 3, published="2025-02-11T18:00:00+01:00"),
        record("daily", 4, published="2025-02-11"),  # the day alone: after every article timed that day
        record("undated", 5, published=None),
    ]
    stats = {**stats_for("lemonde", dedup__kept=2), **stats_for("apnews", dedup__kept=1)}
    report = build_report([run_data(records, stats)])
    outlets = report["coverage"]["outlets"]
    assert [(row["site"], row["first"], row["last"]) for row in outlets] == [
        ("apnews", "2025-02-11T03:30:00-05:00", "2025-02-11T03:30:00-05:00"),
        ("lemonde", "2025-02-11T10:00:00+01:00", "2025-02-11T18:00:00+01:00"),
        ("daily", "2025-02-11", "2025-02-11"),
        ("undated", None, None),
    ]
    newest = [article["url"] for article in report["coverage"]["articles"]["items"]]
    assert newest == [r["url"] for r in (records[3], records[2], records[0], records[1], records[4])]
    page = render_html(report)
    assert "2025-02-11 03:30 -05:00" in page and "2025-02-11 10:00 +01:00" in page
