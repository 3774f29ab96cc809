"""Every record lands exactly once: the dedup state claims only what landed, the store neither replaces nor
loses records, the duplicates log and the manifest follow the run, and the report reads nothing back.

The stages run as Scrapy runs them (tests.test_pipelines.Run: one ItemPipelineManager opens and closes them
together), or in a real `scrapy crawl`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gzip
import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

from model.items import Article
from pipelines.store.layout import RunLayout
from pipelines.store.objects import LocalStore
from pipelines.store.parts import encode_part, part_name
from pipelines.store.runs import unseen_runs_prefixes
from pipelines.store.spool import Spool
from tests.support.newsfarm import serve as serve_farm
from tests.test_crawl import ROOT, crawl, crawl_command
from tests.test_pipelines import Run, article, duplicates_logged, stored


def _block(path: Path) -> None:
    """Put a regular file where a directory must be created: every write below it fails (even as root)."""
    if path.is_dir():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a directory")


def _unblock(path: Path) -> None:
    path.unlink()


def test_a_last_part_that_never_lands_is_not_claimed_by_the_state(tmp_path: Path, sample_texts: list[str]) -> None:
    """Scrapy closes dedup and store together: the state must wait for the store, and forget what was lost."""
    output, spool = tmp_path / "out", tmp_path / "spool"
    url = "https://site.fr/2025/02/article"

    async def run_with_storage_and_spool_failing_at_close() -> Run:
        async with Run(output, STORE_SPOOL_DIR=str(spool)) as run:
            await run.feed(article(url, sample_texts[0], "2025-02-11"))
            assert run.store.layout is not None
            _block(output / run.store.layout.run_prefix)  # storage refuses the run's objects
            _block(spool)  # and the spool cannot keep them (disk full)
        return run

    first = asyncio.run(run_with_storage_and_spool_failing_at_close())
    assert first.stat("store/lost_records") == 1
    assert first.store.layout is not None
    _unblock(output / first.store.layout.run_prefix)  # storage and disk are back
    _unblock(spool)
    assert stored(output) == []

    async def rerun() -> Run:
        async with Run(output, STORE_SPOOL_DIR=str(spool)) as run:
            await run.feed(article(url, sample_texts[0], "2025-02-11"))
        return run

    second = asyncio.run(rerun())
    assert second.dropped == [], "the lost article is not taken for a copy of itself"
    assert [record["url"] for record in stored(output)] == [url]


def test_the_state_is_saved_after_the_final_manifest(tmp_path: Path, sample_texts: list[str]) -> None:
    async def crawl() -> None:
        async with Run(tmp_path) as run:
            await run.feed(*(article(f"https://site{n}.fr/a", text, "2025-02-11") for n, text in enumerate(sample_texts)))

    asyncio.run(crawl())
    written = {path.name: path.stat().st_mtime_ns for path in tmp_path.rglob("*") if path.is_file()}
    manifest = json.loads(next(tmp_path.rglob("manifest.json")).read_text())
    assert manifest["finish_reason"] == "finished"
    assert written["dedup.npz"] > written["manifest.json"] > written["part-00000.jsonl.gz"]


def test_a_state_that_cannot_be_read_stops_the_crawl_and_is_kept(tmp_path: Path) -> None:
    with serve_farm(articles=6, clusters=0) as farm:
        seeds = tmp_path / "farm.yaml"
        farm.write_seeds(seeds, name="farm")
        output = tmp_path / "out"
        first = crawl(seeds, output)
        assert first.returncode == 0, first.log[-3000:]
        state = output / "farm" / "_state" / "dedup.npz"
        whole = state.read_bytes()
        for damaged in (whole[: len(whole) // 2], b""):
            state.write_bytes(damaged)
            broken = crawl(seeds, output)
            assert broken.returncode == 1, broken.log[-3000:]
            assert "dedup state" in broken.log and "cannot be used" in broken.log, broken.log[-3000:]
            assert "Traceback" not in broken.log.split("cannot be used")[0][-2000:]
            assert state.read_bytes() == damaged, "a state that could not be read is never overwritten"
        state.write_bytes(whole)
        again = crawl(seeds, output)
        assert again.returncode == 0, again.log[-3000:]
        assert again.stats.get("store/records", 0) == 0, "the restored state still knows every stored article"


def test_with_dedup_off_two_articles_with_the_same_text_are_both_stored(tmp_path: Path, sample_texts: list[str]) -> None:
    async def crawl() -> Run:
        async with Run(tmp_path, DEDUP_ENABLED=False) as run:
            await run.feed(
                article("https://a.fr/1", sample_texts[0], "2025-02-11"),
                article("https://b.fr/1", sample_texts[0], "2025-02-11"),
            )
        return run

    run = asyncio.run(crawl())
    assert sorted(record["url"] for record in stored(tmp_path)) == ["https://a.fr/1", "https://b.fr/1"]
    assert run.stat("store/records") == 2
    manifest = json.loads(next(tmp_path.rglob("manifest.json")).read_text())
    assert manifest["parts"][0]["bytes"] == run.stat("store/bytes")


def test_two_writes_draining_the_spool_at_once_write_each_object_once(tmp_path: Path, sample_texts: list[str]) -> None:
    output, spool_dir = tmp_path / "out", tmp_path / "spool"
    earlier = Spool(spool_dir, str(output))  # objects another crawl into the same output left behind

    async def crawl() -> Run:
        async with Run(output, STORE_SPOOL_DIR=str(spool_dir), STORE_PART_MAX_RECORDS=1) as run:
            for n in range(40):
                earlier.keep(f"other/2025-01-01/20250101T000000Z-aaaaaa/part-{n:05d}.jsonl.gz", gzip.compress(b"{}\n"))
            await asyncio.gather(*(
                run.feed(article(f"https://site{n}.fr/a", text, "2025-02-11")) for n, text in enumerate(sample_texts)
            ))  # fmt: skip
        return run

    run = asyncio.run(crawl())
    assert run.stat("store/spooled_parts") is None, "storage was up: nothing was spooled"
    assert "refused" not in run.log_text()
    assert len(LocalStore(output).list("other/")) == 40
    assert earlier.keys() == []
    assert len(stored(output / "story")) == 5


def test_the_duplicates_log_is_written_in_parts_during_the_run(tmp_path: Path, sample_texts: list[str]) -> None:
    mirrors = [f"https://mirror{n}.fr/a" for n in range(5)]

    async def crawl() -> None:
        async with Run(tmp_path, STORE_PART_MAX_RECORDS=2) as run:
            for n, text in enumerate(sample_texts[:4]):
                await run.feed(article(f"https://site{n}.fr/a", text, "2025-02-11"))
                await run.feed(article(mirrors[n], text, "2025-02-12"))
            # Each batch of two records is written with the links logged before it: the last link still waits.
            assert {entry["url"] for entry in duplicates_logged(tmp_path)} == set(mirrors[:3])
            assert json.loads(next(tmp_path.rglob("manifest.json")).read_text())["duplicates_logged"] == 3

    async def copies_only() -> None:
        async with Run(tmp_path, STORE_PART_MAX_RECORDS=2) as run:
            for url in [*mirrors, "https://mirror5.fr/a"]:
                await run.feed(article(url, sample_texts[4] if url == mirrors[4] else sample_texts[0], "2025-02-12"))
            deadline = time.monotonic() + 60
            while len(duplicates_logged(tmp_path)) < 4 + 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)  # the batch of links is written in the background
            assert len(duplicates_logged(tmp_path)) >= 4 + 2, "a run that finds only copies logs them as it goes"

    asyncio.run(crawl())
    assert {entry["url"] for entry in duplicates_logged(tmp_path)} == set(mirrors[:4])
    asyncio.run(copies_only())


def test_an_unwritable_spool_stops_the_crawl_at_start(tmp_path: Path) -> None:
    with serve_farm(articles=3, clusters=0) as farm:
        seeds = tmp_path / "farm.yaml"
        farm.write_seeds(seeds, name="farm")
        spool = tmp_path / "spool"
        _block(spool)
        result = crawl(seeds, tmp_path / "out", f"STORE_SPOOL_DIR={spool}")
        assert result.returncode == 1, result.log[-3000:]
        assert "STORE_SPOOL_DIR" in result.log and "cannot be written" in result.log
        assert not farm.fetch_counts(), "nothing fetched"


def test_the_report_is_built_without_reading_the_run_back(tmp_path: Path, sample_texts: list[str]) -> None:
    output = tmp_path / "out"
    reads: list[str] = []

    async def crawl() -> None:
        async with Run(output, STORE_PART_MAX_RECORDS=2) as run:
            await run.feed(*(article(f"https://site{n}.fr/a", text, "2025-02-11") for n, text in enumerate(sample_texts)))
            await run.feed(article("https://mirror.fr/a", sample_texts[0], "2025-02-12"))
            read = run.store.store.get

            def counted(key: str) -> bytes | None:
                reads.append(key)
                return read(key)

            run.store.store.get = counted  # type: ignore[method-assign]  # counts reads, storage stays real

    asyncio.run(crawl())
    assert reads == [], "the report reads nothing back"
    report = json.loads(next(output.rglob("report.json")).read_text())
    assert sorted(row["url"] for row in report["coverage"]["articles"]["items"]) == [f"https://site{n}.fr/a" for n in range(5)]
    assert report["totals"]["duplicates_logged"] == 1


def test_a_killed_crawl_has_a_manifest_listing_what_it_wrote(tmp_path: Path) -> None:
    output = tmp_path / "out"

    def listed() -> list[str]:
        """The parts the run's manifest lists (it is renamed into place: never read half-written)."""
        manifests = list(output.rglob("manifest.json"))
        return [part["key"].rsplit("/", 1)[-1] for part in json.loads(manifests[0].read_text())["parts"]] if manifests else []

    with serve_farm(articles=40, clusters=0, delay=0.05) as farm:
        seeds = tmp_path / "farm.yaml"
        farm.write_seeds(seeds, name="farm")
        process = subprocess.Popen(
            crawl_command(seeds, output, "STORE_PART_MAX_RECORDS=2"), cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while len(listed()) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
    parts = {path.name for path in output.rglob("part-*.jsonl.gz")}
    manifest = json.loads(next(output.rglob("manifest.json")).read_text())
    assert manifest["finish_reason"] is None, "the run never finished"
    assert len(listed()) >= 2 and set(listed()) <= parts, "the manifest lists the parts written while the run went on"
    assert list((output / "farm" / "_state" / "open-runs").iterdir()), "the run is still marked open"


def test_a_finished_run_is_no_longer_marked_open(tmp_path: Path, sample_texts: list[str]) -> None:
    open_runs = tmp_path / "story" / "_state" / "open-runs"

    async def crawl() -> None:
        async with Run(tmp_path) as run:
            await run.feed(article("https://site.fr/a", sample_texts[0], "2025-02-11"))
            assert list(open_runs.iterdir())

    asyncio.run(crawl())
    assert not list(open_runs.iterdir())


def test_a_start_lists_the_days_since_the_states_newest_run_not_the_crawls_history(
    tmp_path: Path, sample_texts: list[str]
) -> None:
    """Runs the state does not know (a killed run, a state that failed to save) are indexed at start, from the
    days since its newest run: a run of last month that it never knew is not read again."""
    output = tmp_path / "out"

    async def run(*items: Article) -> Run:
        async with Run(output) as run:
            await run.feed(*items)
        return run

    asyncio.run(run(article("https://a.fr/1", sample_texts[0], "2025-02-11")))
    today = dt.datetime.now(dt.UTC)
    store = LocalStore(output)
    for started, text in ((today - dt.timedelta(days=40), sample_texts[1]), (today, sample_texts[2])):
        layout = RunLayout.new("story", started)  # a run that stored its part, and whose state was never saved
        part = encode_part(part_name(0), [dataclasses.asdict(article(f"https://b.fr/{layout.run_id}", text, "2025-02-11"))])
        store.put(layout.part_key(part), part.data, "application/gzip")
    again = asyncio.run(run(article("https://c.fr/1", sample_texts[1], "2025-02-11"), article("https://c.fr/2", sample_texts[2], "2025-02-11")))
    assert again.stat("dedup/runs_reindexed") == 1, "today's unknown run, not last month's"
    assert [r["url"] for r in stored(output) if r["url"].startswith("https://c.fr/")] == ["https://c.fr/1"]


def test_the_days_listed_at_start_run_from_the_day_before_the_newest_known_run() -> None:
    today = dt.date(2026, 12, 3)
    known = ["story/2026-11-30/20261130T060000Z-aaaaaa", "story/2026-12-02/20261202T060000Z-bbbbbb"]
    assert unseen_runs_prefixes("story", known, today) == ["story/2026-12-01/", "story/2026-12-02/", "story/2026-12-03/"]
    assert unseen_runs_prefixes("story", [], today) == ["story/"], "a state that knows no run: the whole crawl"
    assert unseen_runs_prefixes("story", ["story/2026-10-01/20261001T060000Z-cccccc"], today) == ["story/"], "paused long"
