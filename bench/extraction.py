"""Extraction quality on the ScrapingHub/Zyte article benchmark: our pipeline beside plain trafilatura.

Ours is the pipeline's own code path: `declared_page_type` as the spider computes it, then `extract_article`
with default `ExtractionOptions`; a page it rejects scores as an empty extraction, as it would store nothing.
Figures are given for all pages and for the two halves split on the parity of the page id (a hex digest), so
rules tuned on one half can be checked on the other. Only extraction is timed, one process, pages in memory.

    python -m bench.extraction --data ../shared/bench/extraction/scrapinghub [--worst 10]
"""

from __future__ import annotations

import argparse
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
from parsel import Selector

from bench.scoring import Match, match, score
from crawler.items import Page
from crawler.pages import declared_page_type
from pipelines.extract.core import ExtractionOptions, NotAnArticle, extract_article

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "extraction" / "scrapinghub"


@dataclass(frozen=True, slots=True)
class BenchPage:
    id: str
    url: str
    html: str
    body: str


@dataclass(slots=True)
class Run:
    """What one extractor produced on every page, and how long extraction alone took."""

    name: str
    texts: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    rejected: Counter[str] = field(default_factory=Counter)


def load_pages(data: Path) -> list[BenchPage]:
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        BenchPage(key, item.get("url", ""), gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8"),
                  item.get("articleBody", ""))
        for key, item in sorted(truth.items())
    ]  # fmt: skip


def as_crawled(page: BenchPage) -> Page:
    """The `Page` the spider would yield for this HTML, with its declared type computed the spider's way."""
    return Page(page.url, urlsplit(page.url).hostname or "", page.html, "", declared_page_type(Selector(text=page.html)))


def run(name: str, extract: Callable[[Any], str], inputs: dict[str, Any]) -> Run:
    """Extract every input, timing the extraction call only; a rejected page yields an empty text."""
    _text_or_rejection(extract, next(iter(inputs.values())))  # untimed first call: trafilatura loads lazy resources
    result = Run(name)
    for key, value in inputs.items():
        start = time.perf_counter()
        text, rejection = _text_or_rejection(extract, value)
        result.seconds += time.perf_counter() - start
        result.texts[key] = text
        if rejection:
            result.rejected[rejection] += 1
    return result


def _text_or_rejection(extract: Callable[[Any], str], value: Any) -> tuple[str, str | None]:
    try:
        return extract(value), None
    except NotAnArticle as exc:
        return "", exc.reason


def report(runs: Sequence[Run], pages: Sequence[BenchPage], worst: int) -> None:
    halves = {
        "all": pages,
        "even id": [p for p in pages if int(p.id, 16) % 2 == 0],
        "odd id": [p for p in pages if int(p.id, 16) % 2 == 1],
    }
    matches = {r.name: {p.id: match(p.body, r.texts[p.id]) for p in pages} for r in runs}
    print(f"{'pages':<9}{'extractor':<14}{'precision':>15}{'recall':>15}{'F1':>15}{'pages/s':>9}{'R<0.5':>7}")
    for label, subset in halves.items():
        for r in runs:
            ms = [matches[r.name][p.id] for p in subset]
            s = score(ms)
            speed = len(pages) / r.seconds if r.seconds else float("inf")
            low = sum(m.recall < 0.5 for m in ms)
            print(
                f"{label + f' ({len(subset)})':<9}{r.name:<14}{s.precision:>8.3f} ± {s.precision_ci:.3f}"
                f"{s.recall:>8.3f} ± {s.recall_ci:.3f}{s.f1:>8.3f} ± {s.f1_ci:.3f}{speed:>9.1f}{low:>7}"
            )
    for r in runs:
        if r.rejected:
            print(f"{r.name} rejected: " + ", ".join(f"{n} {reason}" for reason, n in r.rejected.most_common()))
    if worst:
        _print_worst(runs[-1].name, matches[runs[-1].name], pages, worst)


def _print_worst(name: str, matches: dict[str, Match], pages: Sequence[BenchPage], count: int) -> None:
    f1 = {k: 2 * m.precision * m.recall / (m.precision + m.recall or 1) for k, m in matches.items()}
    print(f"\nworst {count} pages for {name} (F1, precision, recall, url):")
    for page in sorted(pages, key=lambda p: f1[p.id])[:count]:
        m = matches[page.id]
        print(f"  {f1[page.id]:.3f} {m.precision:.3f} {m.recall:.3f} {page.id[:12]} {page.url}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark folder (html/, ground-truth.json)")
    parser.add_argument("--worst", type=int, default=0, help="also list our N lowest-F1 pages")
    args = parser.parse_args(argv)
    pages = load_pages(args.data)
    options = ExtractionOptions()
    runs = [
        run("trafilatura", lambda html: trafilatura.extract(html) or "", {p.id: p.html for p in pages}),
        run("newsdedup", lambda page: extract_article(page, options).text, {p.id: as_crawled(p) for p in pages}),
    ]
    print(f"{len(pages)} pages from {args.data}; trafilatura {trafilatura.__version__}; ± is 1.96 σ over 1,000 bootstraps")
    report(runs, pages, args.worst)


if __name__ == "__main__":
    main()
