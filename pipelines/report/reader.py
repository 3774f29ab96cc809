"""Read stored runs back for the report: manifests, record parts and duplicate logs, from any ObjectStore.

No Scrapy: the crawl's extension and `scrapy report` both read through here, from local disk or S3.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.seeds import Seeds, SeedsError, load_seeds
from pipelines.report.core import RunData, SiteOwner, slim_record, source_yields
from pipelines.store.objects import ObjectStore
from pipelines.store.parts import read_part

__all__ = ["RunRef", "earlier_yields", "find_runs", "load_run", "read_run", "seeds_of", "site_owner"]

# `<crawl>/<crawl date>/<run id>/manifest.json`, as pipelines.store.layout.RunLayout writes it.
_MANIFEST_KEY = re.compile(r"^(?P<crawl>[^/_][^/]*)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<run>[^/]+)/manifest\.json$")


@dataclass(frozen=True)
class RunRef:
    """One finished run found in storage (a run with a manifest is complete)."""

    crawl: str
    date: dt.date
    run_id: str

    @property
    def prefix(self) -> str:
        return f"{self.crawl}/{self.date.isoformat()}/{self.run_id}"


def find_runs(store: ObjectStore, crawl: str | None = None, since: dt.date | None = None) -> list[RunRef]:
    """Runs under the store, oldest first, of one crawl if named, from `since` (the crawl date, UTC) on."""
    runs = []
    for key in store.list(f"{crawl}/" if crawl else ""):
        match = _MANIFEST_KEY.match(key)
        if match:
            ref = RunRef(match["crawl"], dt.date.fromisoformat(match["date"]), match["run"])
            if since is None or ref.date >= since:
                runs.append(ref)
    return sorted(runs, key=lambda ref: (ref.date, ref.run_id))


def read_run(store: ObjectStore, manifest: Mapping[str, Any], prefix: str, sites: tuple[str, ...] = ()) -> RunData:
    """A run's slim records and duplicate links, read from the parts its manifest names (a manifest written
    before duplicates were kept in parts names one `duplicates_log`)."""
    run = RunData(manifest=manifest, prefix=prefix, sites=sites)
    for part in manifest.get("parts") or []:
        data = store.get(part["key"])
        if data is None:
            run.missing_parts.append(part["key"])
        else:
            run.records.extend(slim_record(record) for record in read_part(data))
    legacy_log = manifest.get("duplicates_log")
    for key in [part["key"] for part in manifest.get("duplicates_parts") or []] + ([legacy_log] if legacy_log else []):
        data = store.get(key)
        if data is None:
            run.missing_parts.append(key)
        else:
            run.links.extend(read_part(data))
    return run


def earlier_yields(store: ObjectStore, run_prefix: str, limit: int) -> list[dict[str, int]]:
    """Each source's yield in the last `limit` runs of the crawl before `run_prefix`, oldest first: a source
    is compared with its own history. Only manifests are read (their stats), at most `limit` of them."""
    crawl, date, run_id = run_prefix.split("/")
    current = (dt.date.fromisoformat(date), run_id)
    refs = [ref for ref in find_runs(store, crawl) if (ref.date, ref.run_id) < current][-limit:] if limit else []
    yields = []
    for ref in refs:
        data = store.get(f"{ref.prefix}/manifest.json")
        manifest = json.loads(data) if data else {}
        # A run still open has partial stats; a manifest recovered from a killed run's parts has none.
        if manifest.get("finish_reason") and "stats" in manifest:
            yields.append(source_yields(manifest["stats"]))
    return yields


def load_run(store: ObjectStore, ref: RunRef) -> RunData:
    """Read a run found by `find_runs`; the seeds file its manifest names, when still readable, lists its sites."""
    data = store.get(f"{ref.prefix}/manifest.json")
    if data is None:
        raise FileNotFoundError(f"{store.uri}/{ref.prefix}/manifest.json vanished while reading")
    manifest = json.loads(data)
    seeds = seeds_of(manifest)
    return read_run(store, manifest, ref.prefix, tuple(site.name for site in seeds.sites) if seeds else ())


def seeds_of(manifest: Mapping[str, Any]) -> Seeds | None:
    """The seeds file a run was crawled with, if it can still be read (it names the sites and their hosts)."""
    path = manifest.get("seeds")
    if not path or not Path(path).is_file():
        return None
    try:
        return load_seeds(path)
    except SeedsError:
        return None


def site_owner(seeds: Seeds) -> SiteOwner:
    """The seeds' site that owns a URL (its hosts and their subdomains), or None."""

    def owner(url: str) -> str | None:
        return next((site.name for site in seeds.sites if site.owns(url)), None)

    return owner
