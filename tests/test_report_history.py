"""A source compared with its own history (pipelines/report/core.py, reader.earlier_yields), and walls named in
the report, on hand-made runs and manifests in a local store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.report.core import HealthRules, Limits, build_report, exit_code, source_yields
from pipelines.report.reader import earlier_yields
from pipelines.store.objects import LocalStore
from tests.test_report import run_data, stats_for


def sources(history: list[dict[str, int]], stats: dict[str, Any], **options: Any) -> dict[str, dict[str, Any]]:
    report = build_report([run_data([], stats)], history=history, **options)
    return {source["site"]: source for source in report["sources"]}


def texts(source: dict[str, Any]) -> list[str]:
    return [reason["text"] for reason in source["reasons"]]


def test_a_source_that_gave_articles_and_gives_none_now_is_unhealthy() -> None:
    history = [{"tech": n} for n in (10, 12, 14, 12, 11, 13, 12)]
    found = sources(history, stats_for("tech", crawl__sitemaps=1, crawl__pages__sitemap=2, extract__empty=2))
    assert found["tech"]["verdict"] == "unhealthy"
    assert "gave 0 articles; median of the last 7 runs: 12" in texts(found["tech"])
    report = build_report([run_data([], stats_for("tech", crawl__sitemaps=1))], history=history)
    assert exit_code(report["verdict"], fail_on_unhealthy=True) == 3


def test_a_yield_fallen_under_the_setting_is_a_warning_and_a_small_dip_is_not() -> None:
    history = [{"tech": 12}] * 3
    fallen = sources(history, stats_for("tech", crawl__pages__sitemap=5, extract__ok=5))["tech"]
    assert fallen["verdict"] == "warning"
    assert "gave 5 articles; median of the last 3 runs: 12" in texts(fallen)
    dip = sources(history, stats_for("tech", crawl__pages__sitemap=7, extract__ok=7))["tech"]
    assert dip["verdict"] == "ok"
    tolerant = sources(history, stats_for("tech", crawl__pages__sitemap=5, extract__ok=5),
                       rules=HealthRules(max_yield_drop=0.8))["tech"]  # fmt: skip
    assert tolerant["verdict"] == "ok"


def test_articles_skipped_as_stored_count_as_yield_and_new_sources_have_no_history() -> None:
    history = [{"tech": 12}] * 3
    found = sources(history, {**stats_for("tech", crawl__sitemaps=1, crawl__skipped__already_stored=12),
                              **stats_for("new", crawl__sitemaps=1, crawl__pages__sitemap=3, extract__ok=3)})  # fmt: skip
    assert not any("median" in text for source in found.values() for text in texts(source))


def test_only_the_last_history_runs_count() -> None:
    history = [{"tech": 0}] * 5 + [{"tech": 9}]
    recent = sources(history, stats_for("tech", crawl__sitemaps=1), limits=Limits(history_runs=1))["tech"]
    assert "gave 0 articles; median of the last run: 9" in texts(recent)
    wide = sources(history, stats_for("tech", crawl__sitemaps=1), limits=Limits(history_runs=6))["tech"]
    assert not any("median" in text for text in texts(wide))


def test_a_range_of_runs_is_its_own_history() -> None:
    runs = [run_data([], stats_for("tech", crawl__pages__sitemap=4, extract__ok=4), run_id=f"2025021{n}T080000Z-aaaaaa")
            for n in range(3)]  # fmt: skip
    runs.append(run_data([], stats_for("tech", crawl__sitemaps=1), run_id="20250219T080000Z-aaaaaa"))
    (source,) = build_report(runs)["sources"]
    assert source["verdict"] == "unhealthy" and "gave 0 articles; median of the last 3 runs: 4" in texts(source)
    assert source["history"] == ["ok", "ok", "ok", "unhealthy"]


def test_walls_are_named_instead_of_a_broken_extraction() -> None:
    found = sources([], {
        **stats_for("walled", crawl__sitemaps=1, crawl__pages__sitemap=6, extract__blocked__consent=6),
        **stats_for("waf", crawl__blocked__challenge__aws_waf=2),
        **stats_for("gone", crawl__pages__sitemap=6, extract__soft_404=3, extract__ok=3),
    })  # fmt: skip
    assert texts(found["walled"]) == ["consent wall on 6 of 6 article pages"]
    assert found["walled"]["verdict"] == "unhealthy"
    assert texts(found["waf"]) == ["bot challenge (AWS WAF) on 2 of 2 requests"]
    assert "soft 404 (a not-found page answered 200) on 3 of 6 article pages" in texts(found["gone"])
    assert found["walled"]["drops"]["walled"] == 6


class CountingStore(LocalStore):
    """A local store that counts the objects read."""

    reads = 0

    def get(self, key: str) -> bytes | None:
        self.reads += 1
        return super().get(key)


def test_earlier_yields_reads_the_last_manifests_only(tmp_path: Path) -> None:
    store = CountingStore(tmp_path)
    prefixes = [f"story/2025-02-1{n}/2025021{n}T080000Z-aaaaaa" for n in range(6)]
    for n, prefix in enumerate(prefixes):
        stats = stats_for("tech", extract__ok=n, crawl__skipped__already_stored=1)
        manifest = {"run_id": prefix.rsplit("/")[-1], "finish_reason": "finished", "stats": stats}
        store.put(f"{prefix}/manifest.json", json.dumps(manifest).encode(), "")
        store.put(f"{prefix}/part-00000.jsonl.gz", b"not read", "")
    store.put("story/2025-02-13/20250213T090000Z-bbbbbb/manifest.json", json.dumps({"recovered_by": "x"}).encode(), "")
    store.put("story/2025-02-14/20250214T090000Z-dddddd/manifest.json",
              json.dumps({"finish_reason": None, "stats": stats_for("tech", extract__ok=1)}).encode(), "")  # open
    store.put("other/2025-02-14/20250214T080000Z-cccccc/manifest.json", json.dumps({"stats": {}}).encode(), "")
    assert earlier_yields(store, prefixes[5], 3) == [{"tech": 5}]  # 13T09: no stats, 14T09: open; 15 is the run
    assert store.reads == 3
    assert earlier_yields(store, prefixes[0], 3) == []
    assert earlier_yields(store, prefixes[5], 0) == []
    assert source_yields(stats_for("tech", extract__ok=2)) == {"tech": 2}
