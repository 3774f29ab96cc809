"""The raw pages of a crawl as gzip WARC files (ISO 28500, through warcio), written in memory and read back.

A file is a `warcinfo` record, then for each page a `request` and a `response` record, each its own gzip
member: a reader seeks to a record's offset and decompresses from there. What the crawl knew of a page beyond
its HTTP exchange (its site in the seeds, the feed or sitemap entry that listed it) travels as `Newsdedup-*`
fields of the response record, which other tools ignore.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

# The body is stored as Scrapy hands it over, decompressed and whole: headers that describe another encoding
# of it on the wire would make the record lie.
_WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
_FIELD_PREFIX = "Newsdedup-"
_GZIP_MEMBER = b"\x1f\x8b\x08"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One fetched page as a WARC file keeps it: the request, the response, and what the crawl knew of it."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    fetched_at: str  # ISO 8601, seconds: WARC-Date
    method: str = "GET"
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)  # Newsdedup-<name>: site, listed_in, …

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


@dataclass(frozen=True, slots=True)
class ArchivedExchange:
    """An exchange read back, with where it is: the file and the offset of its response record."""

    exchange: Exchange
    file: str
    offset: int


@dataclass(frozen=True, slots=True)
class Damage:
    """A part of a WARC file that could not be read; reading goes on at the next record after it."""

    file: str
    offset: int
    error: str


@dataclass(frozen=True, slots=True)
class FinishedWarc:
    """A complete WARC file, ready to be written as one object."""

    name: str
    data: bytes
    records: int  # response records: pages
    sha256: str

    def manifest_entry(self, key: str) -> dict[str, object]:
        return {"key": key, "records": self.records, "bytes": len(self.data), "sha256": self.sha256}


class WarcFile:
    """A gzip WARC file being written in memory; `add` returns where the page's response record starts.

    warcio writes each record; each is then compressed as its own gzip member at level 6, gzip's own default
    (warcio's 9 costs 40% more CPU on HTML for 0.5% fewer bytes), as the parts are.
    """

    def __init__(self, name: str, software: str) -> None:
        self.name = name
        self._buffer = io.BytesIO()
        self._record = io.BytesIO()
        self._writer = WARCWriter(self._record, gzip=False, warc_version="1.1")
        self._write(self._writer.create_warcinfo_record(name, {"software": software, "format": "WARC File Format 1.1"}))
        self.records = 0

    @property
    def size(self) -> int:
        return self._buffer.tell()

    def add(self, exchange: Exchange) -> int:
        writer = self._writer
        target = {"WARC-Date": _warc_date(exchange.fetched_at)}
        path = exchange.url.split("/", 3)[3] if exchange.url.count("/") >= 3 else ""
        request = writer.create_warc_record(
            exchange.url, "request", payload=io.BytesIO(b""), warc_headers_dict=target,
            http_headers=StatusAndHeaders(f"{exchange.method} /{path} HTTP/1.1", exchange.request_headers, is_http_request=True),
        )  # fmt: skip
        headers = [(key, value) for key, value in exchange.headers if key.lower() not in _WIRE_HEADERS]
        headers.append(("Content-Length", str(len(exchange.body))))
        response = writer.create_warc_record(
            exchange.url, "response", payload=io.BytesIO(exchange.body),
            warc_headers_dict={**target, **{_FIELD_PREFIX + name: value for name, value in exchange.fields.items()}},
            http_headers=StatusAndHeaders(f"{exchange.status} {_reason(exchange.status)}", headers, protocol="HTTP/1.1"),
        )  # fmt: skip
        response.rec_headers.add_header("WARC-Concurrent-To", request.rec_headers.get_header("WARC-Record-ID"))
        self._write(request)
        offset = self._buffer.tell()
        self._write(response)
        self.records += 1
        return offset

    def finish(self) -> FinishedWarc:
        data = self._buffer.getvalue()
        return FinishedWarc(self.name, data, self.records, hashlib.sha256(data).hexdigest())

    def _write(self, record: object) -> None:
        self._record.seek(0)
        self._record.truncate()
        self._writer.write_record(record)
        member = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        self._buffer.write(member.compress(self._record.getbuffer()) + member.flush())


def warc_name(index: int) -> str:
    return f"warc/part-{index:05d}.warc.gz"


def read_warc(data: bytes, file: str) -> Iterator[ArchivedExchange | Damage]:
    """The HTTP responses of a WARC file (gzip or not, this project's or another tool's: Common Crawl, wget,
    Heritrix), in order. A damaged record is reported as `Damage` and reading resumes at the next gzip member;
    a truncated file gives its whole records, then its damage (warcio alone would yield the cut record's
    first bytes as a whole page, or stop without a word). Cut at a record boundary, a file is whole to any reader:
    the manifest's sha256 tells (pipelines.store.runs.archived)."""
    whole = _whole_members(data)
    yield from _read_records(data[:whole], file)
    if whole < len(data):
        yield Damage(file, whole, f"truncated: the file ends {len(data) - whole} bytes into the record at this offset")


def _read_records(data: bytes, file: str) -> Iterator[ArchivedExchange | Damage]:
    start = 0
    while start < len(data):
        records = ArchiveIterator(io.BytesIO(data[start:]), check_digests=False)
        position = start  # where the next record begins
        try:
            for record in records:
                exchange = _exchange(record) if record.rec_type == "response" and record.http_headers else None
                offset = start + records.get_record_offset()  # read after the content: it reads the record to its end
                if getattr(record.raw_stream, "limit", 0) > 0:  # an uncompressed file cut inside this record
                    yield Damage(file, offset, "truncated: the file ends inside the record at this offset")
                    return
                position = offset + records.get_record_length()
                if exchange is not None:
                    yield ArchivedExchange(exchange, file, offset)
            if data[position:].strip():  # warcio skips what is not a record, warning on stderr
                yield Damage(file, position, f"not WARC records: {len(data) - position} bytes after the last whole record")
            return
        except Exception as exc:  # warcio raises ArchiveLoadFailed, zlib.error, EOFError, even AttributeError on a cut header
            yield Damage(file, position, f"{type(exc).__name__}: {str(exc)[:60]!r}")
            start = data.find(_GZIP_MEMBER, position + 1)
            if start < 0:
                return


def _whole_members(data: bytes, chunk: int = 1 << 16) -> int:
    """How many leading bytes of a gzip WARC are whole gzip members (one per record); an uncompressed file, or
    a member that is corrupt rather than cut (the reader reports it), ends the check there."""
    if not data.startswith(_GZIP_MEMBER):
        return len(data)
    view, position = memoryview(data), 0
    while position < len(data):
        member, fed = zlib.decompressobj(31), position
        try:
            while not member.eof and fed < len(data):
                member.decompress(view[fed : fed + chunk])
                fed += chunk
        except zlib.error:
            return len(data)
        if not member.eof:
            return position
        position = min(fed, len(data)) - len(member.unused_data)
    return position


def _exchange(record: object) -> Exchange:
    rec_headers, http_headers = record.rec_headers, record.http_headers  # type: ignore[attr-defined]
    fields = {
        name[len(_FIELD_PREFIX):]: value for name, value in rec_headers.headers if name.startswith(_FIELD_PREFIX)
    }
    status = http_headers.get_statuscode()
    return Exchange(
        url=rec_headers.get_header("WARC-Target-URI"),
        status=int(status) if status and status.isdigit() else 0,
        headers=list(http_headers.headers),
        body=record.content_stream().read(),  # type: ignore[attr-defined]
        fetched_at=_iso_date(rec_headers.get_header("WARC-Date") or ""),
        fields=fields,
    )


def _warc_date(iso: str) -> str:
    """WARC-Date is UTC with a Z; the crawl's timestamps are ISO 8601 with +00:00."""
    return iso.replace("+00:00", "Z")


def _iso_date(warc_date: str) -> str:
    return warc_date.replace("Z", "+00:00")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
