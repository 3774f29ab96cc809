"""What flows between stages: the spider yields a `Page`, extraction turns it into an `Article` record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Page:
    """A fetched HTML page that may be an article; raw material for the extraction stage."""

    url: str
    site: str
    html: str
    fetched_at: str
    # The dates of the feed item or sitemap entry that listed the page (`listed_in`: feed, sitemap), ISO 8601.
    listed_in: str | None = None
    listed_published: str | None = None
    listed_modified: str | None = None
    warc: dict[str, Any] | None = None  # where the page is archived: {"file": key, "offset": int} (ARCHIVE_ENABLED)


@dataclass(slots=True)
class Article:
    """One stored record; its JSON Schema is `pipelines/record.schema.json`."""

    id: str
    url: str
    canonical_url: str
    site: str
    title: str | None
    authors: list[str]
    published: str | None
    language: str | None  # detected from the text when confident, else the declared one
    description: str | None
    tags: list[str]
    text: str
    word_count: int
    fetched_at: str
    paywalled: bool = False  # declared not free (isAccessibleForFree: false) and still gave its body
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    source: str | None = None  # an organisation signing on its own (a wire, the outlet), apart from the authors
    declared_language: str | None = None  # as the page declares it
    published_source: str | None = None  # where `published` comes from: jsonld, meta, time, feed, sitemap, url, text
    modified: str | None = None
    warc: dict[str, Any] | None = None  # the page's response record in the run's WARC archive: {"file", "offset"}
