"""Runs already in storage: finding them, reading their records back, and finishing the ones that were killed."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from collections.abc import Container, Iterable, Iterator
from typing import Any

from model.warc import ArchivedExchange, Damage, read_warc
from pipelines.store.layout import OPEN_RUNS, open_marker_key
from pipelines.store.objects import ObjectStore
from pipelines.store.parts import read_part
from pipelines.store.spool import Spool


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


def unseen_runs_prefixes(crawl: str, known: Iterable[str], today: dt.date, max_days: int = 31) -> list[str]:
    """The key prefixes to list for the runs of `crawl` that a state knowing the runs `known` may lack: the days
    from the day before its newest run (a run it overlapped) to today, so that a start lists a day or two of a
    daily crawl, not its history; the whole crawl when it knows none, or when that is over `max_days` days."""
    newest = max((started for started in map(run_started, known) if started), default=None)
    if newest is None or (today - newest.date()).days >= max_days:
        return [f"{crawl}/"]
    first = newest.date() - dt.timedelta(days=1)
    return [f"{crawl}/{first + dt.timedelta(days=n):%Y-%m-%d}/" for n in range((today - first).days + 1)]


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
    described = ("started_at", "seeds", "sites")  # what its last progress manifest said of the run, if it wrote one
    recovered = {**{key: manifest[key] for key in described if manifest and key in manifest}, **recovered}
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
        "warc_files": [_warc_entry(store, key) for key in sorted(store.list(f"{run_prefix}/warc/"))],
    }


def archived(store: ObjectStore, warc_files: Iterable[dict[str, Any]]) -> Iterator[ArchivedExchange | Damage]:
    """The archived responses of the WARC files a manifest lists (`warc_files`), each file read when reached; a
    missing file, or one whose bytes are not those the manifest names, is reported as `Damage` (then read)."""
    for entry in warc_files:
        key = entry["key"]
        data = store.get(key)
        if data is None:
            yield Damage(key, 0, "missing from storage")
            continue
        if entry.get("sha256") not in (None, hashlib.sha256(data).hexdigest()):
            yield Damage(key, 0, "sha256 differs from the manifest's: the file changed since it was written")
        yield from read_warc(data, key)


def _warc_entry(store: ObjectStore, key: str) -> dict[str, Any]:
    """A WARC file of an interrupted run (written whole, or not at all) as its manifest lists it."""
    data = store.get(key) or b""
    pages = sum(isinstance(read, ArchivedExchange) for read in read_warc(data, key))
    return {"key": key, "records": pages, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
