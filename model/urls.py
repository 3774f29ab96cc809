"""URL canonicalization: one spelling per page before requesting, one key per article for dedup.

Before a request is made, tracking parameters (courlan's list: utm_*, mc_*, fbclid, gclid, xtor, …) and the
fragment are dropped and the other parameters sorted, so Scrapy's own request dupefilter sees one URL.
Every other parameter is kept: on many sites the query names the article (WordPress `?p=101`, Joomla
`index.php?option=com_content&view=article&id=12`, SPIP `spip.php?article123`, `news.php?sid=7`). The dedup
key goes further and folds the AMP and print renderings of an article onto the article itself.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from courlan import normalize_url
from courlan.clean import TRACKERS_RE

__all__ = ["is_http_url", "is_tracking_parameter", "request_url", "url_key"]

# Query parameters that select another rendering of the same article, not another article.
_VARIANT_PARAMS = frozenset({"amp", "outputtype", "print", "printable", "view", "format", "output"})
_VARIANT_VALUES = frozenset({"1", "true", "amp", "print", "printable", ""})
# Path segments that do the same: /amp/, /amp, /print/, trailing .amp or .amp.html.
_AMP_SEGMENT = re.compile(r"/(?:amp|print)(?=/|$)", re.IGNORECASE)
_AMP_SUFFIX = re.compile(r"\.amp(?=\.html?$|$)", re.IGNORECASE)


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def is_tracking_parameter(name: str) -> bool:
    """True for a query parameter known to track the visit (courlan's patterns), not to name a page.

    courlan searches its patterns anywhere in the name, so `ga` would also take `gallery` and `source` take
    `sourceid`; here a pattern counts only when it is a whole word of the name (a prefix such as `utm_`,
    or a word ending at `_`, `-` or the end).
    """
    name = name.lower()
    return any(
        match.group().endswith("_") or match.end() == len(name) or name[match.end()] in "_-"
        for match in TRACKERS_RE.finditer(name)
    )


def _kept_query(query: str) -> str:
    """The query without tracking parameters, the others sorted and spelled as given (a bare `article123`
    stays bare: servers that read the raw query string, as SPIP does, need it so)."""
    fields = [field for field in query.split("&") if field]
    kept = [field for field in fields if not is_tracking_parameter(unquote_plus(field.split("=", 1)[0]))]
    return "&".join(sorted(kept, key=lambda field: (unquote_plus(field.split("=", 1)[0]), field)))


def request_url(url: str) -> str:
    """The URL to request: normalized (courlan: case, default port, path), without fragment or tracking
    parameters, its other parameters kept and sorted."""
    try:
        parts = urlsplit(url)
        base = urlsplit(normalize_url(urlunsplit(parts._replace(query="", fragment="")), strict=True))
    except ValueError:  # not a URL urllib can split (a broken IPv6 host, a bad port): requested as given
        return url
    query = _kept_query(parts.query)
    return urlunsplit(base._replace(path=base.path or "/", query=query)) if query else base.geturl()


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
