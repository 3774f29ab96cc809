"""URL canonicalization: one spelling per page before requesting, one key per article for dedup.

Tracking parameters (utm_*, xtor, fbclid, …) are dropped by courlan's strict normalization before a
request is made, so Scrapy's own request dupefilter sees one URL. The dedup key goes further and folds
the AMP and print renderings of an article onto the article itself.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from courlan import normalize_url

__all__ = ["is_http_url", "request_url", "url_key"]

# Query parameters that select another rendering of the same article, not another article.
_VARIANT_PARAMS = frozenset({"amp", "outputtype", "print", "printable", "view", "format", "output"})
_VARIANT_VALUES = frozenset({"1", "true", "amp", "print", "printable", ""})
# Path segments that do the same: /amp/, /amp, /print/, trailing .amp or .amp.html.
_AMP_SEGMENT = re.compile(r"/(?:amp|print)(?=/|$)", re.IGNORECASE)
_AMP_SUFFIX = re.compile(r"\.amp(?=\.html?$|$)", re.IGNORECASE)


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def request_url(url: str) -> str:
    """The URL to request: normalized, without tracking parameters or fragment."""
    try:
        return normalize_url(url, strict=True)
    except ValueError:
        return url


@functools.lru_cache(maxsize=4096)
def url_key(url: str) -> str:
    """A key equal for every spelling and rendering of one article URL (scheme, www, AMP, print, tracking).

    Cached (~35 µs each): a URL's key is asked for its request (SkipStored), then for its article's URL and
    canonical URL, most often the same string."""
    parts = urlsplit(request_url(url))
    host = (parts.hostname or "").removeprefix("www.").removeprefix("amp.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = _AMP_SUFFIX.sub("", _AMP_SEGMENT.sub("", parts.path)) or "/"
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not (name.lower() in _VARIANT_PARAMS and value.lower() in _VARIANT_VALUES)
    ]
    return urlunsplit(("", host, path.rstrip("/") or "/", urlencode(sorted(query)), "")).removeprefix("//")
