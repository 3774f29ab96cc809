"""The end-of-crawl summary names every skip and drop by reason."""

from __future__ import annotations

from pipelines.summary import summarize


def test_summary_lists_drops_by_stage_and_reason() -> None:
    text = summarize(
        {
            "finish_reason": "finished",
            "elapsed_time_seconds": 4.0,
            "downloader/response_count": 40,
            "extract/ok": 12,
            "extract/too_short": 3,
            "select/off_topic": 2,
            "dedup/near_duplicate": 1,
            "dedup/exact": 2,
            "dedup/self_repeat_paragraphs": 7,
            "dedup/self_repeat_pages": 2,
            "crawl/failed/http_404": 1,
            "robotstxt/forbidden": 5,
            "store/records": 7,
            "store/run": "s3://b/p/demo/2026-11-23/run",
        }
    )
    first, *rest = text.splitlines()
    assert first == (
        "Crawl summary (finished): 40 pages fetched in 4.0 s, 10.0 pages/s; 12 articles extracted, 7 stored in "
        "s3://b/p/demo/2026-11-23/run"
    )
    assert "  self-repeated paragraphs collapsed: 7 in 2 pages" in rest
    assert "  skipped while crawling: failed/http_404=1, robotstxt/forbidden=5" in rest
    assert "  dropped by extraction: too_short=3" in rest
    assert "  dropped by selection: off_topic=2" in rest
    assert "  dropped as duplicates: exact=2, near_duplicate=1" in rest


def test_a_replay_of_the_archive_says_so_and_lists_what_it_could_not_read() -> None:
    text = summarize(
        {
            "finish_reason": "finished", "elapsed_time_seconds": 2.0, "crawl/pages/archive": 30, "extract/ok": 20,
            "store/records": 9, "reextract/damaged": 1, "reextract/skipped/not_in_seeds": 4,
        }
    )  # fmt: skip
    first, *rest = text.splitlines()
    assert first.startswith("Crawl summary (finished): 30 pages replayed from the archive in 2.0 s, 15.0 pages/s; ")
    assert "  not replayed from the archive: reextract/damaged=1, reextract/skipped/not_in_seeds=4" in rest


def test_an_archiving_crawl_says_what_it_archived() -> None:
    stats = {"archive/pages": 12, "archive/files": 2, "archive/bytes": 3_400_000, "archive/lost_files": 1}
    rest = summarize(stats).splitlines()[1:]
    assert "  archived: 12 pages in 2 WARC files (3.4 MB)" in rest
    assert "  storage problems: archive/lost_files=1" in rest


def test_quiet_crawl_has_a_one_line_summary() -> None:
    assert summarize({"finish_reason": "finished"}).count("\n") == 0


def test_storage_problems_and_hostile_sites_are_listed_with_the_counters_emitted() -> None:
    text = summarize({"finish_reason": "finished", "store/spooled_parts": 2, "store/lost_records": 3, "store/records": 1,
                      "crawl/throttled/429": 4, "crawl/traps": 1})  # fmt: skip
    assert "  storage problems: lost_records=3, spooled_parts=2" in text.splitlines()
    assert "  slowed or stopped by the sites: throttled/429=4, traps=1" in text.splitlines()
