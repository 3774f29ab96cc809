"""Source data of the demo site: articles loaded from `demo/articles/*.yaml` and the aggregator's copies.

An article's body is a list of blocks (paragraph, sub-heading, figure, embedded post). Its *text* (the
paragraphs and sub-headings, in order) is what the duplicate ground truth is measured on.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

ARTICLES_DIR = Path(__file__).parent / "articles"
AGGREGATOR_FILE = "aggregator.yaml"
TEXT_KINDS = ("p", "h2")
SHINGLE_SIZE = 5


@dataclass(frozen=True)
class Block:
    """One body element: kind is "p", "h2", "figure" (caption) or "tweet" (text, author, date)."""

    kind: str
    text: str
    author: str = ""
    date: str = ""


@dataclass(frozen=True)
class Image:
    alt: str
    caption: str


@dataclass(frozen=True)
class Article:
    """An article as one outlet publishes it."""

    key: str
    outlet: str
    slug: str
    title: str
    author: str
    published: dt.datetime
    category: str
    tags: tuple[str, ...]
    blocks: tuple[Block, ...]
    on_topic: bool
    day: int = 1
    subtitle: str = ""
    image: Image | None = None
    source: str = ""
    links: dict[str, str] = field(default_factory=dict)
    origin: str = ""  # key of the original story, for the aggregator's copies
    copy_kind: str = ""  # "exact" or "syndicated" for the aggregator's copies

    @property
    def paragraphs(self) -> list[str]:
        return [b.text for b in self.blocks if b.kind == "p"]

    @property
    def text(self) -> str:
        """Paragraphs and sub-headings, one per line: the text duplicates are measured on."""
        return "\n".join(b.text for b in self.blocks if b.kind in TEXT_KINDS)

    @property
    def teaser(self) -> str:
        first = self.paragraphs[0]
        return first if len(first) <= 160 else first[:157].rsplit(" ", 1)[0] + "…"


@dataclass(frozen=True)
class CopySpec:
    """How the aggregator republishes a story: verbatim ("exact") or lightly edited ("syndicated")."""

    story: str
    kind: str
    day: int
    slug: str
    title: str
    published: dt.datetime
    intro: str = ""
    outro: str = ""
    drop: tuple[str, ...] = ()
    replace: tuple[tuple[str, str], ...] = ()


def slugify(value: str) -> str:
    """ASCII, lower-case, dash-separated form of `value`."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def shingles(text: str, size: int = SHINGLE_SIZE) -> set[tuple[str, ...]]:
    """Set of word n-grams of `text` (lower-cased `\\w+` words)."""
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: str, b: str) -> float:
    """Word-5-gram Jaccard similarity of two texts."""
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


def _block(raw: dict[str, Any]) -> Block:
    ((kind, value),) = raw.items()
    if kind == "tweet":
        return Block("tweet", value["text"], author=value["author"], date=value["date"])
    if kind not in (*TEXT_KINDS, "figure"):
        raise ValueError(f"unknown body block {kind!r}")
    return Block(kind, " ".join(str(value).split()))


def _article(raw: dict[str, Any]) -> Article:
    image = raw.get("image")
    return Article(
        key=str(raw["key"]),
        outlet=raw["outlet"],
        slug=raw["slug"],
        title=raw["title"],
        author=raw["author"],
        published=dt.datetime.fromisoformat(raw["published"]),
        category=raw["category"],
        tags=tuple(raw["tags"]),
        blocks=tuple(_block(b) for b in raw["body"]),
        on_topic=bool(raw["on_topic"]),
        day=int(raw.get("day", 1)),
        subtitle=" ".join(raw.get("subtitle", "").split()),
        image=Image(**image) if image else None,
        source=raw.get("source", ""),
        links=dict(raw.get("links", {})),
    )


def load_articles(directory: Path = ARTICLES_DIR) -> list[Article]:
    """Every outlet's own articles, in file-name order."""
    files = sorted(p for p in directory.glob("*.yaml") if p.name != AGGREGATOR_FILE)
    return [_article(yaml.safe_load(p.read_text(encoding="utf-8"))) for p in files]


def load_copy_specs(directory: Path = ARTICLES_DIR) -> list[CopySpec]:
    """The aggregator's republications, from `aggregator.yaml`."""
    raw = yaml.safe_load((directory / AGGREGATOR_FILE).read_text(encoding="utf-8"))
    return [
        CopySpec(
            story=str(c["story"]),
            kind=c["kind"],
            day=int(c["day"]),
            slug=c["slug"],
            title=c["title"],
            published=dt.datetime.fromisoformat(c["published"]),
            intro=" ".join(c.get("intro", "").split()),
            outro=" ".join(c.get("outro", "").split()),
            drop=tuple(c.get("drop", ())),
            replace=tuple((old, new) for old, new in c.get("replace", ())),
        )
        for c in raw["copies"]
    ]


def make_copy(original: Article, spec: CopySpec, outlet: str) -> Article:
    """The aggregator's version of `original`: same blocks, or edited ones for a syndicated copy."""
    blocks = list(original.blocks)
    if spec.kind == "syndicated":
        blocks = [b for b in blocks if b.kind in TEXT_KINDS]
        dropped = [b for b in blocks if spec.drop and b.text.startswith(spec.drop)]
        if len(dropped) != len(spec.drop):
            raise ValueError(f"copy of {original.key}: `drop` must match one paragraph per prefix")
        blocks = [b for b in blocks if b not in dropped]
        for old, new in spec.replace:
            hits = [i for i, b in enumerate(blocks) if old in b.text]
            if not hits:
                raise ValueError(f"copy of {original.key}: {old!r} not found")
            blocks[hits[0]] = replace(blocks[hits[0]], text=blocks[hits[0]].text.replace(old, new, 1))
        if spec.intro:
            blocks.insert(0, Block("p", spec.intro))
        if spec.outro:
            blocks.append(Block("p", spec.outro))
    elif spec.kind != "exact":
        raise ValueError(f"unknown copy kind {spec.kind!r}")
    return replace(
        original,
        key=f"{original.key}-{spec.kind}",
        outlet=outlet,
        slug=spec.slug,
        title=spec.title,
        published=spec.published,
        blocks=tuple(blocks),
        day=spec.day,
        links={} if spec.kind == "syndicated" else original.links,
        origin=original.key,
        copy_kind=spec.kind,
    )
