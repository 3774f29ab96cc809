"""The test harness's servers are real: S3 over HTTP to Ceph RGW, Redis over TCP.

Later storage tests rely on these semantics (auth failures, 404s, outages that
heal with data intact), so they are pinned here against the live processes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.support.servers import CephRGW, RedisServer

REPO_ROOT = Path(__file__).resolve().parents[1]


def _bucket_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def _wait_until_gone(pid: int, timeout: float = 5.0) -> bool:
    """True once ``pid`` no longer exists (a zombie awaiting its reaper counts as gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.mark.s3
def test_put_get_round_trip_over_http(ceph_rgw: CephRGW) -> None:
    bucket = _bucket_name()
    ceph_rgw.create_bucket(bucket)
    s3 = ceph_rgw.client()
    body = b'{"title": "Round trip"}\n' * 100

    put = s3.put_object(Bucket=bucket, Key="records/a.jsonl", Body=body)
    got = s3.get_object(Bucket=bucket, Key="records/a.jsonl")

    assert ceph_rgw.endpoint_url.startswith("http://127.0.0.1:")
    assert got["Body"].read() == body
    assert put["ETag"].strip('"') == hashlib.md5(body).hexdigest()


@pytest.mark.s3
def test_bad_credentials_are_rejected(ceph_rgw: CephRGW) -> None:
    s3 = ceph_rgw.client(access_key="NOSUCHKEY0000000", secret_key="wrong-secret")

    with pytest.raises(ClientError) as excinfo:
        s3.list_buckets()

    error = excinfo.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "InvalidAccessKeyId"


@pytest.mark.s3
def test_head_missing_bucket_is_404(ceph_rgw: CephRGW) -> None:
    with pytest.raises(ClientError) as excinfo:
        ceph_rgw.client().head_bucket(Bucket=_bucket_name())

    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.s3
def test_gateway_outage_fails_to_connect_then_recovers_with_data(ceph_rgw: CephRGW) -> None:
    bucket = _bucket_name()
    ceph_rgw.create_bucket(bucket)
    ceph_rgw.client().put_object(Bucket=bucket, Key="kept", Body=b"survives the outage")
    no_retry = ceph_rgw.client(config=Config(retries={"max_attempts": 1}, connect_timeout=2))

    ceph_rgw.stop_gateway()
    try:
        assert "rgw" not in ceph_rgw.pids()
        with pytest.raises(EndpointConnectionError):
            no_retry.get_object(Bucket=bucket, Key="kept")
    finally:
        ceph_rgw.start_gateway()

    assert no_retry.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"survives the outage"


@pytest.mark.s3
def test_restart_gateway_keeps_endpoint_and_data(ceph_rgw: CephRGW) -> None:
    bucket = _bucket_name()
    ceph_rgw.create_bucket(bucket)
    s3 = ceph_rgw.client()
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    endpoint, old_pid = ceph_rgw.endpoint_url, ceph_rgw.pids()["rgw"]

    ceph_rgw.restart_gateway()

    assert ceph_rgw.endpoint_url == endpoint
    assert ceph_rgw.pids()["rgw"] != old_pid
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


@pytest.mark.s3
def test_ceph_stop_leaves_no_daemon_behind() -> None:
    with CephRGW() as server:
        pids = server.pids()
        root = server.root
        assert set(pids) == {"mon", "osd", "rgw"}

    assert all(_wait_until_gone(pid) for pid in pids.values())
    assert not root.exists()


@pytest.mark.redis
def test_redis_set_get_round_trip(redis_server: RedisServer) -> None:
    """The URL alone (what a crawl gets as REDIS_URL) reaches this server: on loopback, persistence off."""
    url = urlsplit(redis_server.url)
    assert (url.scheme, url.hostname, url.path) == ("redis", "127.0.0.1", "/0")
    client = redis.Redis(host=url.hostname, port=url.port, db=0, decode_responses=True)

    client.set("newsdedup:test", "value")

    assert redis_server.client(decode_responses=True).get("newsdedup:test") == "value"
    assert client.info("server")["tcp_port"] == url.port == redis_server.port
    assert client.config_get("bind") == {"bind": "127.0.0.1"}
    assert client.config_get("save") == {"save": ""} and client.config_get("appendonly") == {"appendonly": "no"}


@pytest.mark.redis
def test_redis_dies_with_a_killed_harness(tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG: even a SIGKILLed test process leaves no server behind."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from tests.support.servers import RedisServer\n"
        "server = RedisServer(Path(sys.argv[1])).start()\n"
        "print(server.client().info('server')['process_id'], flush=True)\n"
        "time.sleep(60)\n"
    )
    harness = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert harness.stdout is not None
        redis_pid = int(harness.stdout.readline())
        os.kill(redis_pid, 0)
    finally:
        harness.kill()
        harness.wait()

    assert _wait_until_gone(redis_pid)


@pytest.mark.redis
def test_missing_binary_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")

    with pytest.raises(RuntimeError, match="install-test-services.sh"):
        RedisServer().start()
