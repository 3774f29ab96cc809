"""Extraction quality on the ScrapingHub/Zyte article benchmark: our pipeline beside plain trafilatura.

Ours is the pipeline's own code path: the `Page` the spider would yield for a sitemap entry, then
`extract_article` with default `ExtractionOptions`; a page it rejects scores as an empty extraction, since the
pipeline would store nothing. Figures are given for all pages and for the two halves split on the parity of the
page id (a hex digest), so rules tuned on one half can be checked on the other. Only the extraction call is timed,
in one process, with the two extractors taking turns page by page so that load from other processes hits both.

Then metadata on fundus-publishers (258 pages, 181 publishers, ground-truth title, authors and date), ours beside
trafilatura's `bare_extraction` on the same pages decoded as the spider decodes them.

    python -m bench.extraction --data ../shared/bench/extraction/scrapinghub [--fundus DIR] [--worst 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gzip
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trafilatura

from bench.scoring import Match, match, score
from trafilatura.settings import Document

from crawler.items import Article, Page
from crawler.pages import declared_encoding, decode_html
from pipelines.extract.core import ExtractionOptions, NotAnArticle, extract_article

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "extraction" / "scrapinghub"
DEFAULT_FUNDUS = ROOT.parent / "shared" / "bench" / "extraction" / "fundus-publishers"
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


@dataclass(frozen=True, slots=True)
class BenchPage:
    id: str
    url: str
    html: str
    body: str


@dataclass(slots=True)
class Extractor:
    """One contender: how to prepare a page's input (untimed) and extract its text (timed)."""

    name: str
    prepare: Callable[[BenchPage], Any]
    extract: Callable[[Any], str]
    texts: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    rejected: Counter[str] = field(default_factory=Counter)


def load_pages(data: Path) -> list[BenchPage]:
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        BenchPage(key, item.get("url", ""), gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes()).decode(),
                  item.get("articleBody", ""))
        for key, item in sorted(truth.items())
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class MetadataPage:
    """A fundus-publishers page with its ground truth (title, authors, published, …) and both extractions:
    ours (None when the pipeline rejects the page) and plain trafilatura's `bare_extraction`."""

    id: str
    url: str
    truth: dict[str, Any]
    ours: Article | None
    trafilatura: Document | None


def load_metadata_pages(data: Path) -> list[MetadataPage]:
    """Read and extract every fundus-publishers page, decoded as the spider decodes it."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    options = ExtractionOptions()
    pages = []
    for key, item in sorted(truth.items()):
        body = gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes())
        html = decode_html(body, declared_encoding(body, None)).text
        page = BenchPage(key, item["url"], html, item.get("articleBody", ""))
        try:  # fetched when fundus crawled it, so that later dates are refused as in a crawl
            crawled = dataclasses.replace(as_crawled(page), fetched_at=_crawled_at(item["crawl_date"]))
            ours: Article | None = extract_article(crawled, options)
        except NotAnArticle:
            ours = None
        plain = trafilatura.bare_extraction(html, url=page.url, with_metadata=True)
        pages.append(MetadataPage(key, page.url, item, ours, plain))
    return pages


def _folded(text: str | None) -> str:
    return " ".join((text or "").translate(_ZERO_WIDTH).casefold().split())


def title_author_report(pages: Sequence[MetadataPage]) -> None:
    """Shares of exact titles (casefolded, whitespace collapsed, zero-width characters removed) and of author
    hits (a ground-truth name contained in the extracted byline), over the pages whose truth has the field.

    The ground truth lists organisations among authors (dpa, BBC News); a record keeps an organisation signing
    on its own apart, in `source`, so our byline is `authors` and `source` together.
    """
    titled = [p for p in pages if p.truth.get("title")]
    signed = [p for p in pages if p.truth.get("authors")]
    ours = {p.id: (p.ours.title, "; ".join([*p.ours.authors, p.ours.source or ""])) if p.ours else (None, "")
            for p in pages}  # fmt: skip
    plain = {p.id: (p.trafilatura.title, p.trafilatura.author or "") if p.trafilatura else (None, "") for p in pages}
    print(f"{'metadata':<14}{'extractor':<13}{'title':>8}{'author':>8}")
    for name, found in (("trafilatura", plain), ("newsdedup", ours)):
        titles = sum(_folded(found[p.id][0]) == _folded(p.truth["title"]) for p in titled)
        authors = sum(any(_folded(a) in _folded(found[p.id][1]) for a in p.truth["authors"]) for p in signed)
        print(f"{f'all ({len(pages)})':<14}{name:<13}{titles / len(titled):>8.3f}{authors / len(signed):>8.3f}")


def _crawled_at(crawl_date: str) -> str:
    """fundus's crawl time has no offset: as UTC, it is at most 12 hours later (a crawler in UTC-12)."""
    return (dt.datetime.fromisoformat(crawl_date) + dt.timedelta(hours=12)).replace(tzinfo=dt.UTC).isoformat()


def date_report(pages: Sequence[MetadataPage]) -> None:
    """Share of pages whose date is the ground truth's calendar date (its date part, in its own offset), and the
    dates present but wrong, over the pages whose truth has a date; then our wrong dates, and the ground-truth
    dates days after the page's crawl (day and month swapped in the source)."""
    dated = [p for p in pages if p.truth.get("published")]
    after = [p for p in dated if dt.date.fromisoformat(p.truth["published"][:10])
             > dt.date.fromisoformat(p.truth["crawl_date"][:10]) + dt.timedelta(days=1)]  # fmt: skip
    ours = {p.id: p.ours.published if p.ours else None for p in pages}
    plain = {p.id: p.trafilatura.date if p.trafilatura else None for p in pages}
    print(f"{'dates':<14}{'extractor':<13}{'exact':>8}{'wrong':>8}{'missing':>8}")
    stored = [p for p in dated if p.ours]  # a page the pipeline rejects (too short, paywall) has no record at all
    for label, subset, name, found in (("all", dated, "trafilatura", plain), ("all", dated, "newsdedup", ours),
                                       ("stored", stored, "newsdedup", ours)):  # fmt: skip
        exact = sum((found[p.id] or "")[:10] == p.truth["published"][:10] for p in subset)
        missing = sum(not found[p.id] for p in subset)
        print(f"{f'{label} ({len(subset)})':<14}{name:<13}{exact / len(subset):>8.3f}"
              f"{len(subset) - exact - missing:>8}{missing:>8}")  # fmt: skip
    for p in dated:
        if ours[p.id] and ours[p.id][:10] != p.truth["published"][:10]:
            source = p.ours.published_source if p.ours else None
            print(f"  wrong: {p.id} truth {p.truth['published'][:10]}, ours {ours[p.id]} ({source})")
    for p in after:
        print(f"  truth {p.truth['published'][:10]} after the crawl ({p.truth['crawl_date'][:10]}), day and month "
              f"swapped: {p.id}")


def as_crawled(page: BenchPage) -> Page:
    """The `Page` the spider would yield for this HTML."""
    return Page(page.url, urlsplit(page.url).hostname or "", page.html, "")


def contenders() -> list[Extractor]:
    options = ExtractionOptions()
    return [
        Extractor("trafilatura", lambda page: page.html, lambda html: trafilatura.extract(html) or ""),
        Extractor("newsdedup", as_crawled, lambda page: extract_article(page, options).text),
    ]


def run(extractors: Sequence[Extractor], pages: Sequence[BenchPage]) -> None:
    """Extract every page with every extractor in turn, timing the extraction call only."""
    inputs = [[e.prepare(page) for e in extractors] for page in pages]
    for extractor, value in zip(extractors, inputs[0], strict=True):
        _text_or_rejection(extractor, value)  # untimed first call: trafilatura loads lazy resources
    for page, values in zip(pages, inputs, strict=True):
        for extractor, value in zip(extractors, values, strict=True):
            start = time.perf_counter()
            text, rejection = _text_or_rejection(extractor, value)
            extractor.seconds[page.id] = time.perf_counter() - start
            extractor.texts[page.id] = text
            if rejection:
                extractor.rejected[rejection] += 1


def _text_or_rejection(extractor: Extractor, value: Any) -> tuple[str, str | None]:
    try:
        return extractor.extract(value), None
    except NotAnArticle as exc:
        return "", exc.reason


def report(extractors: Sequence[Extractor], pages: Sequence[BenchPage], worst: int) -> None:
    subsets = {
        "all": pages,
        "even id": [p for p in pages if int(p.id, 16) % 2 == 0],
        "odd id": [p for p in pages if int(p.id, 16) % 2 == 1],
    }
    matches = {e.name: {p.id: match(p.body, e.texts[p.id]) for p in pages} for e in extractors}
    print(f"{'pages':<14}{'extractor':<13}{'precision':>14}{'recall':>16}{'F1':>16}{'pages/s':>10}{'R<0.5':>7}")
    for label, subset in subsets.items():
        for e in extractors:
            page_matches = [matches[e.name][p.id] for p in subset]
            s = score(page_matches)
            low_recall = sum(m.recall < 0.5 for m in page_matches)
            speed = len(subset) / sum(e.seconds[p.id] for p in subset)
            print(
                f"{f'{label} ({len(subset)})':<14}{e.name:<13}{s.precision:>7.3f} ± {s.precision_ci:.3f}"
                f"{s.recall:>8.3f} ± {s.recall_ci:.3f}{s.f1:>8.3f} ± {s.f1_ci:.3f}"
                f"{speed:>10.1f}{low_recall:>7}"
            )
    first, last = extractors[0], extractors[-1]
    print(f"\nthroughput {last.name} / {first.name}: {sum(first.seconds.values()) / sum(last.seconds.values()):.0%}")
    for e in extractors:
        if e.rejected:
            print(f"{e.name} rejected: " + ", ".join(f"{n} {reason}" for reason, n in e.rejected.most_common()))
    if worst:
        _print_worst(last.name, matches[last.name], pages, worst)


def _print_worst(name: str, matches: dict[str, Match], pages: Sequence[BenchPage], count: int) -> None:
    print(f"\n{name}: the {count} pages of lowest F1 (F1 precision recall id url)")
    f1 = {key: 2 * m.precision * m.recall / (m.precision + m.recall or 1) for key, m in matches.items()}
    for page in sorted(pages, key=lambda p: f1[p.id])[:count]:
        m = matches[page.id]
        print(f"  {f1[page.id]:.3f} {m.precision:.3f} {m.recall:.3f} {page.id[:12]} {page.url}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark folder (html/, ground-truth.json)")
    parser.add_argument("--fundus", type=Path, default=DEFAULT_FUNDUS, help="fundus-publishers folder (metadata)")
    parser.add_argument("--worst", type=int, default=0, metavar="N", help="also list our N lowest-F1 pages")
    args = parser.parse_args(argv)
    pages = load_pages(args.data)
    extractors = contenders()
    run(extractors, pages)
    print(f"{len(pages)} pages from {args.data}, trafilatura {trafilatura.__version__}")
    print("± is 1.96 σ of 1,000 bootstrap resamples of the pages, as in the published table\n")
    report(extractors, pages, args.worst)
    if args.fundus.is_dir():
        metadata = load_metadata_pages(args.fundus)
        print(f"\n{len(metadata)} pages from {args.fundus}")
        title_author_report(metadata)
        date_report(metadata)


if __name__ == "__main__":
    main()
