"""Extraction quality on two public benchmarks: our pipeline beside plain trafilatura, like for like.

Ours is the pipeline's own code path: the `Page` the spider would yield for a sitemap entry (its HTML decoded as
the spider decodes it), then `extract_article` with default `ExtractionOptions`; a page it rejects scores as an
empty extraction, since the pipeline would store nothing. Beside it, trafilatura with its defaults, and like for
like: `bare_extraction` with the options the pipeline gives it (`fast=True, include_comments=False`, the URL) and
the metadata a record has (`with_metadata=True`), with and without `favor_precision`.
Only the extraction call is timed, in one process, the extractors taking turns page by page so that load from
other processes hits them all.

Sets: ScrapingHub (all pages, then the halves split on the parity of the page id, a hex digest: the rules were
written from even-id pages, so the odd-id half is the headline) and fundus-publishers (all, then by the language
of the ground-truth body: de, en, fr, other). Then metadata on fundus-publishers (ground-truth title, authors and
date), ours beside trafilatura's `bare_extraction`.

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

from model.items import Article, Page
from model.pages import declared_encoding, decode_html
from model.seeds import load_seeds
from pipelines.extract.core import ExtractionOptions, NotAnArticle, extract_article
from pipelines.extract.metadata import detect_language
from pipelines.select import ArticleFilter

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
    rejected: dict[str, str] = field(default_factory=dict)  # page id -> reason


def load_pages(data: Path) -> list[BenchPage]:
    """Every page of a benchmark folder (ground-truth.json, html/<id>.html.gz), decoded as the spider decodes it."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key, item in sorted(truth.items()):
        body = gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes())
        html = decode_html(body, declared_encoding(body, None)).text
        pages.append(BenchPage(key, item.get("url", ""), html, item.get("articleBody", "")))
    return pages


def parity_subsets(pages: Sequence[BenchPage]) -> dict[str, Sequence[BenchPage]]:
    """All pages, then the even-id and odd-id halves (ids are hex digests)."""
    return {
        "all": pages,
        "even id": [p for p in pages if int(p.id, 16) % 2 == 0],
        "odd id": [p for p in pages if int(p.id, 16) % 2 == 1],
    }


def language_subsets(pages: Sequence[BenchPage]) -> dict[str, Sequence[BenchPage]]:
    """All pages, then by the language of the ground-truth body (py3langid): de, en, fr, other."""
    language = {p.id: detect_language(p.body, None).language for p in pages}
    groups: dict[str, Sequence[BenchPage]] = {"all": pages}
    for code in ("de", "en", "fr"):
        groups[code] = [p for p in pages if language[p.id] == code]
    groups["other"] = [p for p in pages if language[p.id] not in ("de", "en", "fr")]
    return groups


@dataclass(frozen=True, slots=True)
class MetadataPage:
    """A fundus-publishers page with its ground truth (title, authors, published, …) and both extractions:
    ours (None when the pipeline rejects the page) and plain trafilatura's `bare_extraction`."""

    id: str
    url: str
    truth: dict[str, Any]
    ours: Article | None
    trafilatura: Document | None


def load_metadata_pages(data: Path, pages: Sequence[BenchPage]) -> list[MetadataPage]:
    """Extract every fundus-publishers page, fetched when fundus crawled it (later dates are refused as in a crawl)."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    options = ExtractionOptions()
    extracted = []
    for page in pages:
        item = truth[page.id]
        try:
            crawled = dataclasses.replace(as_crawled(page), fetched_at=_crawled_at(item["crawl_date"]))
            ours: Article | None = extract_article(crawled, options)
        except NotAnArticle:
            ours = None
        plain = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)
        extracted.append(MetadataPage(page.id, page.url, item, ours, plain))
    return extracted


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


def like_for_like(html: str, url: str, **options: Any) -> str:
    """trafilatura as the pipeline runs it, with the fields a record has: its options, the URL, metadata."""
    doc = trafilatura.bare_extraction(html, url=url, fast=True, include_comments=False, with_metadata=True, **options)
    return (doc.text or "") if doc else ""


def contenders() -> list[Extractor]:
    """trafilatura with its defaults, then like the pipeline (its options, the URL, and metadata read too), then
    the pipeline (last)."""
    options = ExtractionOptions()

    def plain(**kwargs: Any) -> Callable[[BenchPage], str]:
        return lambda page: trafilatura.extract(page.html, **kwargs) or ""

    return [
        Extractor("trafilatura", lambda page: page, plain()),
        Extractor("traf fast", lambda page: page, lambda page: like_for_like(page.html, page.url)),
        Extractor("traf fast+prec", lambda page: page,
                  lambda page: like_for_like(page.html, page.url, favor_precision=True)),  # fmt: skip
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
                extractor.rejected[page.id] = rejection


def _text_or_rejection(extractor: Extractor, value: Any) -> tuple[str, str | None]:
    try:
        return extractor.extract(value), None
    except NotAnArticle as exc:
        return "", exc.reason


def report(extractors: Sequence[Extractor], subsets: dict[str, Sequence[BenchPage]], worst: int) -> None:
    """One row per subset and extractor: precision, recall, F1 (± bootstrap), ms/page, pages of recall < 0.5;
    then CPU ratios, our rejections by reason and the rejected pages that have a ground-truth body."""
    pages = subsets["all"]
    matches = {e.name: {p.id: match(p.body, e.texts[p.id]) for p in pages} for e in extractors}
    print(f"{'pages':<14}{'extractor':<16}{'precision':>14}{'recall':>16}{'F1':>16}{'ms/page':>9}{'R<0.5':>7}")
    for label, subset in subsets.items():
        if not subset:
            continue
        for e in extractors:
            page_matches = [matches[e.name][p.id] for p in subset]
            s = score(page_matches)
            low_recall = sum(m.recall < 0.5 for m in page_matches)
            ms = 1000 * sum(e.seconds[p.id] for p in subset) / len(subset)
            print(
                f"{f'{label} ({len(subset)})':<14}{e.name:<16}{s.precision:>7.3f} ± {s.precision_ci:.3f}"
                f"{s.recall:>8.3f} ± {s.recall_ci:.3f}{s.f1:>8.3f} ± {s.f1_ci:.3f}{ms:>9.1f}{low_recall:>7}"
            )
    ours = extractors[-1]
    for e in extractors[:-1]:
        print(f"CPU per page {ours.name} / {e.name}: {sum(ours.seconds.values()) / sum(e.seconds.values()):.2f}×")
    reasons = Counter(ours.rejected.values())
    with_body = [key for key in ours.rejected if any(p.id == key and p.body.strip() for p in pages)]
    print(f"{ours.name} rejected: " + (", ".join(f"{n} {reason}" for reason, n in reasons.most_common()) or "none")
          + f"; with a ground-truth body: {len(with_body)} of {len(pages)} pages ({len(with_body) / len(pages):.1%})")
    for key in with_body:
        print(f"  rejected {ours.rejected[key]}: {key}")
    if worst:
        _print_worst(ours.name, matches[ours.name], pages, worst)


def _print_worst(name: str, matches: dict[str, Match], pages: Sequence[BenchPage], count: int) -> None:
    print(f"\n{name}: the {count} pages of lowest F1 (F1 precision recall id url)")
    f1 = {key: 2 * m.precision * m.recall / (m.precision + m.recall or 1) for key, m in matches.items()}
    for page in sorted(pages, key=lambda p: f1[p.id])[:count]:
        m = matches[page.id]
        print(f"  {f1[page.id]:.3f} {m.precision:.3f} {m.recall:.3f} {page.id[:12]} {page.url}")


def prefilter_report(pages: Sequence[BenchPage], ours: Extractor) -> None:
    """TopicPrefilter with the demo seeds' keywords (seeds/openai.yaml): its cost per page beside extraction's, and
    the pages it skips, which are pages whose records selection would have dropped (checked here too)."""
    keywords = load_seeds(ROOT / "seeds" / "openai.yaml").keywords
    rule = ArticleFilter(keywords)
    start = time.perf_counter()
    kept = {p.id for p in pages if rule.may_be_on_topic(p.html)}
    seconds = time.perf_counter() - start
    on_topic = {p.id for p in pages if ours.texts[p.id] and rule._keyword_re.search(ours.texts[p.id])}  # type: ignore[attr-defined]
    print(f"prefilter ({', '.join(keywords)}): {1000 * seconds / len(pages):.2f} ms/page against "
          f"{1000 * sum(ours.seconds.values()) / len(pages):.1f} ms/page of extraction; skips {len(pages) - len(kept)} "
          f"of {len(pages)} pages; of the {len(on_topic)} whose text has a keyword, {len(on_topic - kept)} skipped")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="ScrapingHub folder (html/, ground-truth.json)")
    parser.add_argument("--fundus", type=Path, default=DEFAULT_FUNDUS, help="fundus-publishers folder")
    parser.add_argument("--worst", type=int, default=0, metavar="N", help="also list our N lowest-F1 pages per set")
    args = parser.parse_args(argv)
    print(f"trafilatura {trafilatura.__version__}; ± is 1.96 σ of 1,000 bootstrap resamples of the pages")
    sets = [(args.data, parity_subsets)]
    if args.fundus.is_dir():
        sets.append((args.fundus, language_subsets))
    for data, subsets in sets:
        pages = load_pages(data)
        extractors = contenders()
        run(extractors, pages)
        print(f"\n{len(pages)} pages from {data}")
        report(extractors, subsets(pages), args.worst)
        prefilter_report(pages, extractors[-1])
    if args.fundus.is_dir():
        metadata = load_metadata_pages(args.fundus, load_pages(args.fundus))
        print(f"\nmetadata of {len(metadata)} pages from {args.fundus}")
        title_author_report(metadata)
        date_report(metadata)


if __name__ == "__main__":
    main()
