"""The WARC archive (ARCHIVE_ENABLED) and `scrapy reextract`: the pages a crawl fetched, kept beside its records
through the same store and spool, read back by warcio itself, and replayed through today's stages offline."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from demo.site import serve
from model.warc import ArchivedExchange, Damage, Exchange, WarcFile, read_warc, warc_name
from tests.support.newsfarm import serve as serve_farm
from tests.support.servers import CephRGW
from tests.test_crawl import ROOT, TOPIC, CrawlResult, crawl, crawl_command
from tests.test_reliability import s3_settings

ARCHIVE = ("ARCHIVE_ENABLED=True",)


def exchange(n: int, body: bytes | None = None, **fields: str) -> Exchange:
    return Exchange(
        url=f"https://outlet.fr/2025/02/story-{n}?id={n}", status=200,
        headers=[("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"), ("Content-Length", "12")],
        body=body if body is not None else f"<html><body><p>Article {n} é</p></body></html>".encode() * 20,
        fetched_at=f"2025-02-1{n % 10}T08:30:00+00:00", request_headers=[("User-Agent", "newsdedup")], fields=fields,
    )  # fmt: skip


def warc_of(*exchanges: Exchange) -> tuple[bytes, list[int]]:
    file = WarcFile(warc_name(0), "newsdedup/test")
    offsets = [file.add(item) for item in exchanges]
    return file.finish().data, offsets


def reads(data: bytes, name: str = "f.warc.gz") -> list[ArchivedExchange | Damage]:
    return list(read_warc(data, name))


# -- the WARC core (model/warc.py) --------------------------------------------------------------


def test_a_written_file_is_a_valid_warc_for_warcios_own_reader() -> None:
    pages = [exchange(n, Site="outlet", **{"Listed-In": "feed"}) for n in range(3)]
    data, offsets = warc_of(*pages)
    records = list(ArchiveIterator(io.BytesIO(data), check_digests="raise"))  # a wrong digest raises
    assert [r.rec_type for r in records] == ["warcinfo"] + ["request", "response"] * 3
    responses = [r for r in records if r.rec_type == "response"]
    requests = [r for r in records if r.rec_type == "request"]
    for page, response, request in zip(pages, responses, requests, strict=True):
        headers = response.rec_headers
        assert headers.get_header("WARC-Target-URI") == page.url == request.rec_headers.get_header("WARC-Target-URI")
        assert headers.get_header("WARC-Date") == page.fetched_at.replace("+00:00", "Z")
        assert headers.get_header("WARC-Concurrent-To") == request.rec_headers.get_header("WARC-Record-ID")
        digest = base64.b32encode(hashlib.sha1(page.body).digest()).decode()
        assert headers.get_header("WARC-Payload-Digest") == f"sha1:{digest}"
        assert headers.get_header("Newsdedup-Site") == "outlet"
        http = response.http_headers
        assert http.get_statuscode() == "200"
        assert http.get_header("Content-Encoding") is None, "the body is stored decoded: no header says otherwise"
        assert http.get_header("Content-Length") == str(len(page.body))
        assert request.http_headers.protocol == "GET" and request.http_headers.get_header("User-Agent") == "newsdedup"
    for page, offset in zip(pages, offsets, strict=True):  # each offset is where a reader seeks to get that page
        record = next(iter(ArchiveIterator(io.BytesIO(data[offset:]))))
        assert (record.rec_type, record.rec_headers.get_header("WARC-Target-URI")) == ("response", page.url)
        assert record.content_stream().read() == page.body


def test_pages_read_back_are_the_pages_written_with_their_offsets() -> None:
    pages = [exchange(n, Site="outlet", **{"Listed-Published": "2025-02-10"}) for n in range(3)]
    data, offsets = warc_of(*pages)
    read = reads(data, "run/warc/part-00000.warc.gz")
    assert [(r.file, r.offset) for r in read] == [("run/warc/part-00000.warc.gz", offset) for offset in offsets]
    for page, item in zip(pages, read, strict=True):
        assert isinstance(item, ArchivedExchange)
        back = item.exchange
        assert (back.url, back.status, back.body, back.fetched_at) == (page.url, 200, page.body, page.fetched_at)
        assert back.fields == {"Site": "outlet", "Listed-Published": "2025-02-10"}
        assert back.header("content-type") == "text/html; charset=utf-8"


def test_a_damaged_record_is_reported_by_file_and_offset_and_the_rest_is_read() -> None:
    data, offsets = warc_of(*(exchange(n) for n in range(4)))
    damaged = bytearray(data)
    damaged[offsets[1] + 20 : offsets[1] + 60] = b"\x00" * 40  # inside the second page's gzip member
    read = reads(bytes(damaged), "f")
    assert [type(r).__name__ for r in read] == ["ArchivedExchange", "Damage", "ArchivedExchange", "ArchivedExchange"]
    assert read[1].file == "f" and read[1].offset == offsets[1]
    assert [r.exchange.url for r in read if isinstance(r, ArchivedExchange)] == [exchange(n).url for n in (0, 2, 3)]


def test_a_truncated_file_gives_its_whole_records_then_says_where_it_was_cut() -> None:
    data, offsets = warc_of(*(exchange(n) for n in range(3)))
    read = reads(data[: offsets[2] + 50])
    assert [r.exchange.url for r in read[:2] if isinstance(r, ArchivedExchange)] == [exchange(0).url, exchange(1).url]
    assert isinstance(read[2], Damage) and read[2].offset == offsets[2] and "truncated" in read[2].error


def test_bytes_that_are_no_warc_are_damage_not_pages() -> None:
    assert [type(r) for r in reads(gzip.compress(b"<html>not a warc</html>"))] == [Damage]
    assert [type(r) for r in reads(b"\x1f\x8b\x08 then garbage")] == [Damage]
    assert [type(r) for r in reads(b"not a warc at all\r\n" * 10)] == [Damage]


@pytest.mark.parametrize("compressed", [True, False], ids=["warc.gz", "warc"])
def test_a_warc_written_by_another_tool_is_read(compressed: bool) -> None:
    """As a Common Crawl news WARC: warcinfo, request, response, metadata records, no Newsdedup fields."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=compressed)
    writer.write_record(writer.create_warcinfo_record("CC-NEWS-20250211.warc.gz", {"software": "StormCrawler"}))
    url, body = "https://outlet.fr/2025/02/story", b"<html><body><p>Un article.</p></body></html>"
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    request = writer.create_warc_record(url, "request", payload=io.BytesIO(b""),
                                        http_headers=StatusAndHeaders("GET /2025/02/story HTTP/1.1", [], is_http_request=True))  # fmt: skip
    writer.write_record(request)
    writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    writer.write_record(writer.create_warc_record(url, "metadata", payload=io.BytesIO(b"fetchTimeMs: 12\r\n")))
    [read] = reads(buffer.getvalue())
    assert isinstance(read, ArchivedExchange)
    assert (read.exchange.url, read.exchange.body, read.exchange.fields) == (url, body, {})
    assert read.exchange.fetched_at.endswith("+00:00")


# -- a crawl with the archive on, then `scrapy reextract` ---------------------------------------------


def reextract(source: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scrapy", "reextract", str(source), *args, "-s", "EXTRACT_WORKERS=2"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def manifests_of(output: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(output.rglob("manifest.json"))]


@pytest.fixture(scope="module")
def archived_crawl(tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    """The demo site crawled with the archive on, small WARC files (several per run); the site is gone after."""
    work = tmp_path_factory.mktemp("archived")
    with serve(day=1) as site:
        seeds = work / "demo.yaml"
        site.write_seeds(seeds, name="demo", keywords=TOPIC, since="2023-01-01")
        result = crawl(seeds, work / "out", *ARCHIVE, "ARCHIVE_FILE_MAX_BYTES=20000")
    assert result.returncode == 0, result.log[-3000:]
    return result


def test_the_archive_lists_every_page_with_its_digest_and_each_record_points_at_its_page(archived_crawl: CrawlResult) -> None:
    output, manifest = archived_crawl.output, archived_crawl.manifest
    files = manifest["warc_files"]
    assert len(files) >= 2, "ARCHIVE_FILE_MAX_BYTES rotates the files"
    assert [entry["key"].rsplit("/", 2)[-2:] for entry in files] == [["warc", warc_name(n)[5:]] for n in range(len(files))]
    pages = 0
    for entry in files:
        data = (output / entry["key"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"])
        read = reads(data, entry["key"])
        assert all(isinstance(r, ArchivedExchange) for r in read) and len(read) == entry["records"]
        pages += len(read)
    assert pages == manifest["stats"]["archive/pages"] == manifest["stats"]["item_scraped_count"] + manifest["stats"]["item_dropped_count"]
    records = archived_crawl.records()
    assert records
    for record in records:
        data = (output / record["warc"]["file"]).read_bytes()
        page = next(iter(ArchiveIterator(io.BytesIO(data[record["warc"]["offset"] :]))))
        assert page.rec_headers.get_header("WARC-Target-URI") == record["url"]


def test_reextract_gives_the_crawls_records_without_a_request(archived_crawl: CrawlResult, tmp_path: Path) -> None:
    manifest = archived_crawl.manifest
    result = reextract(archived_crawl.output, "--run", manifest["run_id"], "--out", str(tmp_path / "again"))
    assert result.returncode == 0, result.stderr[-3000:]
    again = CrawlResult(result.returncode, result.stderr, tmp_path / "again")

    def essentials(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted((r["id"], r["url"], r["text"], r["fetched_at"], r["published"], r["warc"]["file"]) for r in records)

    assert essentials(again.records()) == essentials(archived_crawl.records())
    assert sorted(d["url"] for d in again.duplicates_log()) == sorted(d["url"] for d in archived_crawl.duplicates_log())
    stats = again.stats
    assert "downloader/request_count" not in stats, "the site is gone: nothing was requested"
    assert stats["crawl/pages/archive"] == manifest["stats"]["archive/pages"]
    assert again.manifest["warc_files"] == [], "a replay archives nothing again"


def test_reextract_reports_a_damaged_file_and_replays_the_rest(archived_crawl: CrawlResult, tmp_path: Path) -> None:
    source = tmp_path / "copy"
    shutil.copytree(archived_crawl.output, source)
    first, *rest = archived_crawl.manifest["warc_files"]
    cut = source / first["key"]
    cut.write_bytes(cut.read_bytes()[:-200])
    result = reextract(source, "--since", "2000-01-01", "--out", str(tmp_path / "again"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Unreadable WARC data in {first['key']} at offset" in result.stderr
    assert "sha256 differs" in result.stderr
    stats = manifests_of(tmp_path / "again")[0]["stats"]
    assert stats["reextract/damaged"] == 2  # the digest, then the cut
    assert stats["crawl/pages/archive"] == archived_crawl.manifest["stats"]["archive/pages"] - 1, "all but the cut page"


def test_reextract_refuses_runs_without_an_archive_and_bad_arguments(tmp_path: Path) -> None:
    with serve_farm(articles=3, clusters=0) as farm:
        seeds = tmp_path / "farm.yaml"
        farm.write_seeds(seeds, name="farm")
        assert crawl(seeds, tmp_path / "out").returncode == 0
    no_archive = reextract(tmp_path / "out", "--since", "2000-01-01")
    assert no_archive.returncode == 2 and "have no archive: crawl with -s ARCHIVE_ENABLED=True" in no_archive.stderr
    unknown = reextract(tmp_path / "out", "--run", "20000101T000000Z-abcdef")
    assert unknown.returncode == 2 and "no finished run 20000101T000000Z-abcdef" in unknown.stderr
    assert reextract(tmp_path / "out").returncode == 2, "--run or --since is needed"
    alone = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "archive"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert alone.returncode != 0 and "run `scrapy reextract" in alone.stderr, "the replay spider needs an archive"


# -- integrity: a record never lands before its page; storage down -----------------------------------


def pointed_at_pages(records: list[dict[str, Any]], read: Any) -> list[str]:
    """The records whose `warc` does not lead to their page, `read(key)` giving a WARC file's bytes or None."""
    missing = []
    for record in records:
        data = read(record["warc"]["file"])
        page = next(iter(ArchiveIterator(io.BytesIO(data[record["warc"]["offset"] :])))) if data else None
        if page is None or page.rec_headers.get_header("WARC-Target-URI") != record["url"]:
            missing.append(record["url"])
    return missing


def listed_parts(output: Path) -> list[dict[str, Any]]:
    """The parts a run's manifest lists (it is renamed into place: never read half-written)."""
    manifests = manifests_of(output)
    return manifests[0]["parts"] if manifests else []


def test_a_killed_crawl_never_stored_a_record_whose_page_is_not_archived(tmp_path: Path) -> None:
    """WARC files are large and written when full; a record written before its file is would point at nothing
    once the crawl is killed. Records go out in parts of one, the kill comes after a few. The next run gives the
    killed one a manifest that lists its archive, and the archive replays."""
    output = tmp_path / "out"
    with serve_farm(articles=40, clusters=0, delay=0.05) as farm:
        seeds = tmp_path / "farm.yaml"
        farm.write_seeds(seeds, name="farm")
        command = crawl_command(seeds, output, *ARCHIVE, "STORE_PART_MAX_RECORDS=1")
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while len(listed_parts(output)) < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        [killed] = manifests_of(output)
        records = [json.loads(line) for part in output.rglob("part-*.jsonl.gz") for line in gzip.decompress(part.read_bytes()).splitlines()]
        assert len(records) >= 3 and killed["finish_reason"] is None, "killed mid-run"

        def read(key: str) -> bytes | None:
            return (output / key).read_bytes() if (output / key).exists() else None

        assert pointed_at_pages(records, read) == []
        assert crawl(seeds, output, "STORE_RECOVER_AFTER=0").returncode == 0
    [recovered] = [m for m in manifests_of(output) if m["run_id"] == killed["run_id"]]
    assert recovered["finish_reason"] == "interrupted"
    on_disk = sorted(str(path.relative_to(output)) for path in output.rglob("warc/*.warc.gz"))
    assert [entry["key"] for entry in recovered["warc_files"]] == on_disk
    for entry in recovered["warc_files"]:
        data = (output / entry["key"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["records"] == len(reads(data))
    replay = reextract(output, "--run", killed["run_id"], "--out", str(tmp_path / "again"))
    assert replay.returncode == 0, replay.stderr[-3000:]
    replayed = CrawlResult(0, "", tmp_path / "again").records()
    assert {r["id"] for r in records} <= {r["id"] for r in replayed}, "what the killed run stored, the replay stores"


@pytest.mark.s3
def test_archive_files_storage_refuses_wait_in_the_spool_and_land_with_the_next_run(
    ceph_rgw: CephRGW, s3_bucket: str, tmp_path: Path
) -> None:
    output = f"s3://{s3_bucket}/news"
    settings = [f"{k}={v}" for k, v in s3_settings(ceph_rgw, s3_bucket, tmp_path / "spool").items() if k != "OUTPUT_URI"]
    client = ceph_rgw.client()

    def keys() -> list[str]:
        return [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]

    def read(key: str) -> bytes | None:
        return client.get_object(Bucket=s3_bucket, Key=f"news/{key}")["Body"].read() if f"news/{key}" in keys() else None

    try:
        with serve_farm(articles=30, clusters=0, delay=0.1) as farm:
            seeds = tmp_path / "farm.yaml"
            farm.write_seeds(seeds, name="farm")
            command = crawl_command(seeds, output, *settings, *ARCHIVE, "ARCHIVE_FILE_MAX_BYTES=1")
            process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not any("/warc/" in key for key in keys()):
                time.sleep(0.02)
            ceph_rgw.stop_gateway()  # the rest of the run's pages and records go to the spool
            _, log = process.communicate(timeout=300)
            assert process.returncode == 1, log[-3000:]
            spooled = [path.name for path in (tmp_path / "spool").rglob("*.warc.gz")]
            assert spooled, "archive files storage refused are in the spool"
            ceph_rgw.start_gateway()
            assert crawl(seeds, output, *settings).returncode == 0, "the next run drains the spool"
    finally:
        if "rgw" not in ceph_rgw.pids():
            ceph_rgw.start_gateway()
    [first] = [m for m in (json.loads(client.get_object(Bucket=s3_bucket, Key=k)["Body"].read()) for k in keys()
                           if k.endswith("manifest.json")) if m["stats"].get("archive/pages")]  # fmt: skip
    assert first["failed_parts"] == [] and len(first["warc_files"]) == first["stats"]["archive/pages"], "one page a file"
    for entry in first["warc_files"]:
        data = read(entry["key"])
        assert data is not None and hashlib.sha256(data).hexdigest() == entry["sha256"], entry["key"]
    records = [
        json.loads(line)
        for key in keys() if key.endswith(".jsonl.gz") and "/part-" in key and first["run_id"] in key
        for line in gzip.decompress(client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()).splitlines()
    ]  # fmt: skip
    assert records and pointed_at_pages(records, read) == []
