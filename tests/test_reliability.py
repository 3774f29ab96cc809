"""Faults, each against real servers: storage outages, a killed crawler, private objects."""

from __future__ import annotations

import asyncio
import gzip
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from model.items import Article
from model.urls import url_key
from demo.site import serve
from tests.support.servers import CephRGW
from tests.test_crawl import ROOT, SCHEMA, TOPIC, crawl, crawl_command
from tests.test_pipelines import Run, article

pytestmark = pytest.mark.s3


def s3_settings(ceph: CephRGW, bucket: str, spool: Path) -> dict[str, Any]:
    return {
        "OUTPUT_URI": f"s3://{bucket}/news",
        "S3_ENDPOINT_URL": ceph.endpoint_url,
        "S3_ADDRESSING_STYLE": "path",
        "AWS_ACCESS_KEY_ID": ceph.access_key,
        "AWS_SECRET_ACCESS_KEY": ceph.secret_key,
        "AWS_REGION_NAME": ceph.region,
        "STORE_SPOOL_DIR": str(spool),
        "STORE_PART_MAX_RECORDS": 1,
    }


def stored_records(ceph: CephRGW, bucket: str) -> list[dict[str, Any]]:
    client = ceph.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return [
        json.loads(line)
        for key in sorted(keys)
        if "/part-" in key
        for line in gzip.decompress(client.get_object(Bucket=bucket, Key=key)["Body"].read()).splitlines()
    ]


def manifests(ceph: CephRGW, bucket: str) -> list[dict[str, Any]]:
    client = ceph.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []) if o["Key"].endswith("manifest.json")]
    return [json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read()) for key in keys]


@pytest.fixture
def texts(sample_texts: list[str]) -> list[str]:
    return sample_texts


@pytest.fixture
def gateway(ceph_rgw: CephRGW) -> Iterator[CephRGW]:
    """The session's Ceph RGW, restarted after a test that stops it."""
    yield ceph_rgw
    if "rgw" not in ceph_rgw.pids():
        ceph_rgw.start_gateway()


def records_of(texts: list[str]) -> list[Article]:
    return [article(f"https://outlet{n}.fr/2025/02/story-{n}", text, "2025-02-11") for n, text in enumerate(texts)]


def test_storage_down_mid_crawl_then_back_loses_nothing_and_doubles_nothing(
    gateway: CephRGW, s3_bucket: str, tmp_path: Path, texts: list[str]
) -> None:
    items = records_of(texts)

    async def crawl() -> Run:
        async with Run(tmp_path, **s3_settings(gateway, s3_bucket, tmp_path / "spool")) as run:
            await run.feed(*items[:2])
            gateway.stop_gateway()
            await run.feed(*items[2:4])  # storage down: these parts go to the spool
            assert run.stat("store/spooled_parts") == 2
            gateway.start_gateway()
            await run.feed(items[4])  # storage back: the spool drains first
        return run

    run = asyncio.run(crawl())
    assert sorted(r["url"] for r in stored_records(gateway, s3_bucket)) == sorted(i.url for i in items)
    [manifest] = manifests(gateway, s3_bucket)
    assert manifest["records"] == 5 and manifest["failed_parts"] == []
    assert run.stat("store/unsent_parts") is None
    assert not list((tmp_path / "spool").rglob("part-*")), "spool emptied"


def test_storage_that_never_comes_back_leaves_a_spool_for_the_next_run(
    gateway: CephRGW, s3_bucket: str, tmp_path: Path, texts: list[str]
) -> None:
    items = records_of(texts)
    settings = s3_settings(gateway, s3_bucket, tmp_path / "spool")

    async def first_run() -> Run:
        async with Run(tmp_path, **settings) as run:
            await run.feed(items[0])
            gateway.stop_gateway()
            await run.feed(*items[1:3])
        return run

    first = asyncio.run(first_run())
    assert first.stat("store/unsent_parts") == 3  # two parts and the manifest
    assert "will be written by the next run" in first.log_text()
    gateway.start_gateway()

    async def second_run() -> Run:
        async with Run(tmp_path, **settings) as run:
            await run.feed(items[3])
        return run

    second = asyncio.run(second_run())
    assert second.stat("store/unspooled_objects") == 3
    assert sorted(r["url"] for r in stored_records(gateway, s3_bucket)) == sorted(i.url for i in items[:4])
    by_run = {m["run_id"]: m for m in manifests(gateway, s3_bucket)}
    assert len(by_run) == 2
    assert all(m["failed_parts"] == [] for m in by_run.values())
    assert sum(m["records"] for m in by_run.values()) == 4


def test_objects_are_private(gateway: CephRGW, s3_bucket: str, tmp_path: Path, texts: list[str]) -> None:
    async def crawl() -> None:
        async with Run(tmp_path, **s3_settings(gateway, s3_bucket, tmp_path / "spool")) as run:
            await run.feed(*records_of(texts[:1]))

    asyncio.run(crawl())
    client = gateway.client()
    for obj in client.list_objects_v2(Bucket=s3_bucket)["Contents"]:
        grants = client.get_object_acl(Bucket=s3_bucket, Key=obj["Key"])["Grants"]
        assert all("URI" not in g["Grantee"] for g in grants), f"{obj['Key']} is shared: {grants}"




def test_a_crawl_killed_mid_run_then_run_again_stores_every_article_exactly_once(tmp_path: Path) -> None:
    output = tmp_path / "out"
    with serve(day=1) as site:
        seeds = tmp_path / "demo.yaml"
        site.write_seeds(seeds, name="demo", keywords=TOPIC, since="2023-01-01")
        command = crawl_command(seeds, output, "STORE_PART_MAX_RECORDS=1")
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while not list(output.rglob("part-*.jsonl.gz")) and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        assert list(output.rglob("part-*.jsonl.gz")), "the first run wrote a part before it was killed"
        killed = [json.loads(path.read_text()) for path in output.rglob("manifest.json")]
        assert all(manifest["finish_reason"] is None for manifest in killed), "killed before it finished"
        rerun = crawl(seeds, output, "STORE_RECOVER_AFTER=0")
        assert rerun.returncode == 0, rerun.log[-3000:]
        expected = sorted(url_key(story.url) for story in site.stories)
    stored = [url_key(record["url"]) for record in rerun.records()]
    assert sorted(stored) == expected, "every article stored, none twice, across both runs"
    manifests = [json.loads(path.read_text()) for path in output.rglob("manifest.json")]
    assert sorted(m["finish_reason"] for m in manifests) == ["finished", "interrupted"]
    assert sum(m["records"] for m in manifests) == len(expected)
    for part in output.rglob("part-*.jsonl.gz"):
        gzip.decompress(part.read_bytes())  # every visible part is whole


def test_a_full_spool_disk_stops_the_crawl_cleanly_and_damages_nothing(
    gateway: CephRGW, s3_bucket: str, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(spool)], check=True)
    settings = [f"{name}={value}" for name, value in s3_settings(gateway, s3_bucket, spool).items() if name != "OUTPUT_URI"]
    client = gateway.client()
    try:
        with serve(day=1) as site:
            seeds = tmp_path / "demo.yaml"
            site.write_seeds(seeds, name="demo", keywords=TOPIC, since="2023-01-01")
            articles = {url_key(url) for story in site.stories for url in [story.url, *(c.url for c in story.copies)]}
            command = crawl_command(seeds, f"s3://{s3_bucket}/news", *settings)
            process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not any(
                "/part-" in obj["Key"] for obj in client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])
            ):
                time.sleep(0.02)
            gateway.stop_gateway()
            _, log = process.communicate(timeout=300)
    finally:
        subprocess.run(["umount", str(spool)], check=True)
    assert process.returncode == 1, log[-3000:]
    assert "the spool cannot keep it" in log
    assert "Spider closed (spool_failed)" in log
    assert "Traceback" not in log
    gateway.start_gateway()
    stored = stored_records(gateway, s3_bucket)
    assert stored, "the part seen before the gateway stopped holds records"
    assert len({record["id"] for record in stored}) == len(stored), "none twice"
    for record in stored:  # what was stored before the failure is whole
        jsonschema.validate(record, SCHEMA)
        assert url_key(record["url"]) in articles, record["url"]
