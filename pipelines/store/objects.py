"""Where objects go: a local directory or an S3 bucket (through boto3), behind one small protocol.

No Scrapy here. Objects are always written whole: a local file is renamed into place, an S3 object is one PUT
with its MD5, so a reader never sees half an object.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit


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


def content_type(key: str) -> str:
    return "application/json" if key.endswith(".json") else "application/gzip"
