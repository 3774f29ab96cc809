"""Pure storage core: where objects go (local directory or S3) and how records become gzip JSON Lines parts.

No Scrapy here. Objects are always written whole: a local file is renamed into place, an S3 object is one
PUT with its MD5, so a reader never sees half a part.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import secrets
import tempfile
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

__all__ = [
    "FinishedPart",
    "LocalStore",
    "ObjectStore",
    "encode_part",
    "part_name",
    "RunLayout",
    "S3Store",
    "read_part",
    "Spool",
    "StorageError",
    "open_store",
]


class StorageError(RuntimeError):
    """Storage cannot be used (unreachable, unauthorised, missing bucket, disk error); the message says which."""


class ObjectStore(Protocol):
    """Where records land: keys are '/'-separated paths relative to the output URI."""

    uri: str

    def check(self) -> None:
        """Raise StorageError unless objects can be written and read here now."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def list(self, prefix: str) -> list[str]: ...

    def delete(self, key: str) -> None:
        """Remove `key`; a key that is not there is not an error."""


class LocalStore:
    """A directory on local disk (the default OUTPUT_URI is `./output`)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.uri = str(self.root)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-"):
                pass
        except OSError as exc:
            raise StorageError(f"cannot write to output directory {self.root}: {exc}") from exc

    def put(self, key: str, data: bytes, content_type: str) -> None:
        del content_type
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            return None

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.exists():
            return []
        return sorted(
            str(path.relative_to(self.root)) for path in base.rglob("*") if path.is_file() and not path.name.startswith(".")
        )

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)


class S3Store:
    """An S3 bucket and prefix, through boto3 (AWS S3, MinIO, Ceph RGW, R2, …)."""

    def __init__(self, bucket: str, prefix: str, client: Any, uri: str) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.uri = uri

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
            probe = self._key(f".probe-{secrets.token_hex(6)}")
            self.client.put_object(Bucket=self.bucket, Key=probe, Body=b"")
            self.client.delete_object(Bucket=self.bucket, Key=probe)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "?")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
            hint = {
                "404": "the bucket does not exist",
                "NoSuchBucket": "the bucket does not exist",
                "403": "access denied: check the credentials and the bucket policy",
            }.get(str(code), "")
            detail = f"HTTP {status}" + (f" {code}" if str(code) != str(status) else "") + (f": {hint}" if hint else "")
            raise StorageError(f"cannot write to {self.uri}: {detail}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot reach {self.uri}: {exc}") from exc

    def put(self, key: str, data: bytes, content_type: str) -> None:
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, ContentMD5=md5, ContentType=content_type
        )

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        strip = len(self._key(""))
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            keys.extend(obj["Key"][strip:] for obj in page.get("Contents", []))
        return sorted(keys)


@dataclass(frozen=True)
class S3Options:
    """Settings S3_ENDPOINT_URL, S3_ADDRESSING_STYLE, S3_CHECKSUM and Scrapy's AWS_* credentials."""

    endpoint_url: str | None = None
    addressing_style: str = "auto"
    checksum: str = "when_required"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    region_name: str | None = None


def open_store(uri: str, s3: S3Options | None = None) -> ObjectStore:
    """The store an OUTPUT_URI names: `s3://bucket/prefix`, or a local directory path."""
    parts = urlsplit(uri)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise StorageError(f"OUTPUT_URI {uri!r} names no bucket (expected s3://bucket/prefix)")
        return S3Store(parts.netloc, parts.path, _s3_client(s3 or S3Options()), uri)
    if parts.scheme in ("", "file"):
        return LocalStore(parts.path if parts.scheme == "file" else uri)
    raise StorageError(f"OUTPUT_URI {uri!r}: unsupported scheme {parts.scheme!r} (use s3:// or a local path)")


def _s3_client(options: S3Options) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        s3={"addressing_style": options.addressing_style},
        request_checksum_calculation=options.checksum,
        response_checksum_validation=options.checksum,
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=60,
    )
    session = boto3.session.Session(
        aws_access_key_id=options.access_key_id,
        aws_secret_access_key=options.secret_access_key,
        aws_session_token=options.session_token,
        region_name=options.region_name,
    )
    return session.client("s3", endpoint_url=options.endpoint_url, config=config)


@dataclass(frozen=True)
class FinishedPart:
    """A complete gzip JSON Lines part, ready to be written as one object."""

    name: str
    data: bytes
    records: int
    sha256: str

    def manifest_entry(self, key: str) -> dict[str, Any]:
        return {"key": key, "records": self.records, "bytes": len(self.data), "sha256": self.sha256}


def encode_part(name: str, records: Iterable[dict[str, Any]]) -> FinishedPart:
    """Records as one gzip JSON Lines object; the same records always give the same bytes (mtime=0).

    Level 6, gzip's own default: on article text it compresses as well as the module's default 9, a quarter faster.
    """
    buffer = io.BytesIO()
    count = 0
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
            count += 1
    data = buffer.getvalue()
    return FinishedPart(name, data, count, hashlib.sha256(data).hexdigest())


def read_part(data: bytes) -> list[dict[str, Any]]:
    """The records (or duplicates-log entries) of one gzip JSON Lines part."""
    return [json.loads(line) for line in gzip.decompress(data).splitlines() if line.strip()]


def part_name(index: int) -> str:
    return f"part-{index:05d}.jsonl.gz"


def duplicates_part_name(index: int) -> str:
    return f"duplicates-{index:05d}.jsonl.gz"


@dataclass(frozen=True)
class RunLayout:
    """Keys of one crawl run: `<name>/<crawl date>/<run id>/…` under the output URI."""

    crawl: str
    started: dt.datetime
    run_id: str

    @classmethod
    def new(cls, crawl: str, now: dt.datetime | None = None) -> RunLayout:
        now = now or dt.datetime.now(dt.UTC)
        return cls(crawl, now, f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}")

    @property
    def run_prefix(self) -> str:
        return f"{self.crawl}/{self.started:%Y-%m-%d}/{self.run_id}"

    def part_key(self, part: FinishedPart) -> str:
        return f"{self.run_prefix}/{part.name}"

    @property
    def manifest_key(self) -> str:
        return f"{self.run_prefix}/manifest.json"

    @property
    def open_marker_key(self) -> str:
        return open_marker_key(self.crawl, self.run_id)


def open_marker_key(crawl: str, run_id: str) -> str:
    """A small object that stands while a run is open: the next runs find killed runs without listing history."""
    return f"{crawl}/{OPEN_RUNS}/{run_id}"


OPEN_RUNS = "_state/open-runs"


class Spool:
    """Objects that storage refused, kept on local disk under their keys until they can be written.

    One spool directory per output URI, so a spool is only ever drained into the store it was meant for.
    Parts drain before manifests: a manifest never names a part that is not stored yet. Several processes
    (workers of one crawl on one machine) may share it: an object another one drained meanwhile is skipped.
    """

    def __init__(self, root: str | Path, store_uri: str) -> None:
        self.dir = Path(root) / hashlib.sha256(store_uri.encode()).hexdigest()[:16]
        self.store_uri = store_uri
        self._objects = LocalStore(self.dir / "objects")

    def check(self) -> None:
        """Raise StorageError unless the spool can take an object now: found at start, not during an outage."""
        try:
            self.keep(".probe", b"")
            self._objects.delete(".probe")
        except OSError as exc:
            raise StorageError(f"spool directory {self.dir} (STORE_SPOOL_DIR) cannot be written: {exc}") from exc

    def keep(self, key: str, data: bytes) -> Path:
        """Write `key` to the spool whole (raises OSError, e.g. disk full, without leaving half a file)."""
        (self.dir / "uri").parent.mkdir(parents=True, exist_ok=True)
        (self.dir / "uri").write_text(self.store_uri)
        self._objects.put(key, data, "")
        return self.dir / "objects" / key

    def get(self, key: str) -> bytes | None:
        return self._objects.get(key)

    def keys(self) -> list[str]:
        return sorted(self._objects.list(""), key=lambda key: (key.endswith("manifest.json"), key))

    def drain(self, store: ObjectStore, on_manifest: Any = None) -> list[str]:
        """Write every spooled object to `store`, oldest run first; stops at the first failure (raises).

        `on_manifest(data) -> data` may rewrite a spooled manifest before it is written.
        """
        written = []
        for key in self.keys():
            data = self._objects.get(key)
            if data is None:  # drained by another process meanwhile
                continue
            if key.endswith("manifest.json") and on_manifest is not None:
                data = on_manifest(data)
            store.put(key, data, content_type(key))
            self._objects.delete(key)
            written.append(key)
        return written


def content_type(key: str) -> str:
    return "application/json" if key.endswith(".json") else "application/gzip"


MANIFEST_FORMAT = "newsdedup-manifest/1"


def runs_in(keys: list[str]) -> dict[str, list[str]]:
    """Group object keys by run prefix (`<crawl>/<date>/<run id>`), leaving out `_state/` and the like."""
    runs: dict[str, list[str]] = {}
    for key in keys:
        parts = key.split("/")
        if len(parts) == 4 and not parts[1].startswith("_"):
            runs.setdefault("/".join(parts[:3]), []).append(parts[3])
    return runs


def stored_runs(
    store: ObjectStore, spool: Spool, under: str, skip: Container[str] = ()
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(run prefix, records) of every run stored under `under` but those in `skip`, parts still in the spool
    included: what dedup reindexes when its state does not know a run.

    The spool is listed before the store: a part drained meanwhile is in the store by the time it is listed.
    """
    spooled = {key for key in spool.keys() if key.startswith(under)}
    keys = spooled | set(store.list(under))
    for prefix, names in sorted(runs_in(sorted(keys)).items()):
        if prefix in skip:
            continue
        records = []
        for name in sorted(n for n in names if n.startswith("part-")):
            key = f"{prefix}/{name}"
            data = (spool.get(key) if key in spooled else None) or store.get(key)
            records += read_part(data or gzip.compress(b""))
        yield prefix, records


def run_started(run_prefix: str) -> dt.datetime | None:
    """When a run started, from its id (`20261123T083000Z-…`); None for a prefix that is not a run."""
    try:
        return dt.datetime.strptime(run_prefix.rsplit("/", 1)[-1].split("-", 1)[0], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=dt.UTC
        )
    except ValueError:
        return None


def run_prefix_of(crawl: str, run_id: str) -> str | None:
    started = run_started(run_id)
    return f"{crawl}/{started:%Y-%m-%d}/{run_id}" if started else None


def open_runs(store: ObjectStore, crawl: str) -> list[str]:
    """Prefixes of the runs of `crawl` still marked open (running, killed, or whose final manifest could only be
    spooled): only the open markers are listed, not the crawl's history."""
    prefixes = (run_prefix_of(crawl, key.rsplit("/", 1)[-1]) for key in store.list(f"{crawl}/{OPEN_RUNS}/"))
    return sorted(prefix for prefix in prefixes if prefix)


def is_final(manifest: dict[str, Any] | None) -> bool:
    """A manifest is rewritten after every part with no finish reason; the last one, when the run ends, has one."""
    return bool(manifest and manifest.get("finish_reason"))


def recover_run(store: ObjectStore, run_prefix: str, idle_since: dt.datetime, recovered_by: str) -> dict[str, Any] | None:
    """Give an open run that has written nothing since `idle_since` its final manifest (finish_reason
    `interrupted`) and close it; returns that manifest, or None for a run that finished or is still writing."""
    crawl, _, run_id = run_prefix.split("/")
    data = store.get(f"{run_prefix}/manifest.json")
    manifest = json.loads(data) if data else None
    if is_final(manifest):  # finished, but its marker could not be removed then
        store.delete(open_marker_key(crawl, run_id))
        return None
    last_write = dt.datetime.fromisoformat(manifest["updated_at"]) if manifest else run_started(run_prefix)
    if last_write is None or last_write >= idle_since:
        return None
    recovered = recovered_manifest(store, run_prefix, recovered_by)
    store.put(f"{run_prefix}/manifest.json", json.dumps(recovered, indent=2).encode(), "application/json")
    store.delete(open_marker_key(crawl, run_id))
    return recovered


def recovered_manifest(store: ObjectStore, run_prefix: str, recovered_by: str) -> dict[str, Any]:
    """A manifest for an interrupted run, from the parts it did write (each part is whole or absent)."""
    names = runs_in(store.list(f"{run_prefix}/")).get(run_prefix, [])
    entries: dict[str, list[dict[str, Any]]] = {"part-": [], "duplicates-": []}
    for name in sorted(names):
        kind = next((kind for kind in entries if name.startswith(kind)), None)
        if kind is None:
            continue
        key = f"{run_prefix}/{name}"
        data = store.get(key) or b""
        entries[kind].append(
            {"key": key, "records": len(read_part(data)), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        )
    crawl, _, run_id = run_prefix.split("/")
    return {
        "format": MANIFEST_FORMAT,
        "crawl": crawl,
        "run_id": run_id,
        "finish_reason": "interrupted",
        "recovered_by": recovered_by,
        "records": sum(part["records"] for part in entries["part-"]),
        "parts": entries["part-"],
        "failed_parts": [],
        "duplicates_parts": entries["duplicates-"],
        "duplicates_logged": sum(part["records"] for part in entries["duplicates-"]),
    }
