"""The storage core against a real S3-compatible server (Ceph RGW over HTTP on 127.0.0.1)."""

from __future__ import annotations

import pytest

from pipelines.store.objects import S3Options, S3Store, StorageError, open_store
from tests.support.servers import CephRGW, free_port

pytestmark = pytest.mark.s3


def options(ceph: CephRGW, **overrides: str) -> S3Options:
    values = {
        "endpoint_url": ceph.endpoint_url,
        "addressing_style": "path",
        "access_key_id": ceph.access_key,
        "secret_access_key": ceph.secret_key,
        "region_name": ceph.region,
        **overrides,
    }
    return S3Options(**values)


def test_objects_round_trip_under_the_prefix(ceph_rgw: CephRGW, s3_bucket: str) -> None:
    store = open_store(f"s3://{s3_bucket}/news/out", options(ceph_rgw))
    assert isinstance(store, S3Store)
    store.check()
    store.put("crawl/2026-11-23/run/part-00000.jsonl.gz", b"\x1f\x8bdata", "application/gzip")
    assert store.get("crawl/2026-11-23/run/part-00000.jsonl.gz") == b"\x1f\x8bdata"
    assert store.get("crawl/missing") is None
    assert store.list("crawl/") == ["crawl/2026-11-23/run/part-00000.jsonl.gz"]
    raw = ceph_rgw.client().list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert [obj["Key"] for obj in raw] == ["news/out/crawl/2026-11-23/run/part-00000.jsonl.gz"], "probe objects removed"
    head = ceph_rgw.client().head_object(Bucket=s3_bucket, Key=raw[0]["Key"])
    assert head["ContentType"] == "application/gzip"


def test_listing_pages_through_more_than_a_thousand_keys(ceph_rgw: CephRGW, s3_bucket: str) -> None:
    store = open_store(f"s3://{s3_bucket}", options(ceph_rgw))
    client = ceph_rgw.client()
    for number in range(1005):
        client.put_object(Bucket=s3_bucket, Key=f"many/{number:04d}", Body=b"")
    assert len(store.list("many/")) == 1005


def test_bad_credentials_are_refused_at_check(ceph_rgw: CephRGW, s3_bucket: str) -> None:
    store = open_store(f"s3://{s3_bucket}/x", options(ceph_rgw, secret_access_key="wrong"))
    with pytest.raises(StorageError, match=r"HTTP 403.*(access denied|SignatureDoesNotMatch|AccessDenied)"):
        store.check()


def test_missing_bucket_is_named_at_check(ceph_rgw: CephRGW) -> None:
    store = open_store("s3://no-such-bucket-here/x", options(ceph_rgw))
    with pytest.raises(StorageError, match="bucket does not exist"):
        store.check()


def test_unreachable_endpoint_is_a_clear_error(ceph_rgw: CephRGW) -> None:
    store = open_store("s3://bucket/x", options(ceph_rgw, endpoint_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(StorageError, match="cannot reach s3://bucket/x"):
        store.check()
