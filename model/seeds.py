"""Seeds file: which outlets to crawl, where to start, and what to keep.

The YAML format is a contract with users (see README, "Seeds file"). Loading is strict: an unknown key, a
bad regex or a bad URL stops the crawl before any request, with a message naming the file, the key and
the problem, because a typo silently ignored would cost a whole scheduled run.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator
from pydantic.functional_validators import AfterValidator, BeforeValidator

__all__ = ["Seeds", "SeedsError", "SiteSeed", "load_seeds"]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class SeedsError(ValueError):
    """A seeds file that cannot be used; the message names the file, the key and the problem."""


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value


def _compile_regex(value: Any) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise ValueError(f"a regex must be a string, got {value!r}")
    try:
        return re.compile(value)
    except re.error as exc:
        raise ValueError(f"bad regex {value!r}: {exc}") from None


def _check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(f"{value!r} must be lower-case letters, digits, '.', '_' or '-' (it names output keys)")
    return value


Url = Annotated[str, AfterValidator(_check_url)]
Regex = Annotated[re.Pattern[str], BeforeValidator(_compile_regex)]
Slug = Annotated[str, AfterValidator(_check_slug)]


class SiteSeed(BaseModel):
    """One outlet: where its articles are found and which URLs count as articles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Slug
    start_urls: list[Url] = Field(default_factory=list)
    feeds: list[Url] = Field(default_factory=list)
    sitemaps: list[Url] = Field(default_factory=list)
    allow: list[Regex] = Field(default_factory=list)
    deny: list[Regex] = Field(default_factory=list)
    max_requests: Annotated[StrictInt, Field(ge=1)] | None = None  # None: CRAWL_MAX_REQUESTS_PER_SITE

    @model_validator(mode="after")
    def _has_an_entry_point(self) -> SiteSeed:
        if not (self.start_urls or self.feeds or self.sitemaps):
            raise ValueError("a site needs at least one of start_urls, feeds, sitemaps")
        return self

    @property
    def domains(self) -> set[str]:
        """Host names of the site's entry points: links are followed only within them."""
        return {urlsplit(url).hostname or "" for url in (*self.start_urls, *self.feeds, *self.sitemaps)}

    def owns(self, url: str) -> bool:
        """True when `url` is on one of the site's hosts or their subdomains (www. aside)."""
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        return any(host == d or host.endswith(f".{d}") for d in (d.removeprefix("www.") for d in self.domains))

    def is_article_url(self, url: str) -> bool:
        """True when `url` passes the site's allow and deny regexes."""
        if self.allow and not any(rx.search(url) for rx in self.allow):
            return False
        return not any(rx.search(url) for rx in self.deny)


class Seeds(BaseModel):
    """A whole seeds file: the crawl's name, its topic, date and language filters, and its sites."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Slug
    keywords: list[str] = Field(default_factory=list)
    since: dt.date | None = None
    languages: list[str] = Field(default_factory=list)
    sites: list[SiteSeed] = Field(min_length=1)

    @field_validator("keywords")
    @classmethod
    def _keywords_not_blank(cls, value: list[str]) -> list[str]:
        if any(not kw.strip() for kw in value):
            raise ValueError("keywords must not be blank")
        return value

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: list[str]) -> list[str]:
        codes = [code.strip().lower() for code in value]
        bad = [code for code in codes if not (code.isascii() and code.isalpha() and len(code) in (2, 3))]
        if bad:
            raise ValueError(f"languages must be ISO 639-1 codes such as 'fr' or 'en', got {', '.join(map(repr, bad))}")
        return codes

    @field_validator("sites")
    @classmethod
    def _unique_site_names(cls, value: list[SiteSeed]) -> list[SiteSeed]:
        names = [site.name for site in value]
        dupes = sorted({name for name in names if names.count(name) > 1})
        if dupes:
            raise ValueError(f"site names must be unique, repeated: {', '.join(dupes)}")
        return value

    def site(self, name: str) -> SiteSeed:
        return next(site for site in self.sites if site.name == name)


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _describe(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    return str(error["msg"]).removeprefix("Value error, ")


def parse_seeds(text: str, source: str = "<seeds>") -> Seeds:
    """Parse and validate seeds YAML; `source` names the file in error messages."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SeedsError(f"{source}: {where}YAML error: {problem}") from None
    if not isinstance(data, dict):
        raise SeedsError(f"{source}: (top level): expected a mapping with 'name' and 'sites'")
    try:
        return Seeds.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_key_path(err['loc'])}: {_describe(err)}" for err in exc.errors())
        raise SeedsError(f"{source}: {problems}") from None


def load_seeds(path: str | Path) -> Seeds:
    """Read a seeds file; any problem becomes a SeedsError naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedsError(f"{path}: cannot read seeds file: {exc}") from None
    return parse_seeds(text, str(path))
