"""The ScrapingHub/Zyte article-body metric, reimplemented so our figures compare with its published table.

As in the benchmark's `evaluate.py`: texts are split into `\\w+` tokens (case kept), each text becomes a
multiset of word 4-grams, and a page's true/false positives and false negatives are scaled to sum to 1 so
long pages weigh no more than short ones. Precision is averaged over the pages where something was
extracted, recall over the pages that have a body; F1 comes from the two averages. The ± figures are
1.96 standard deviations of 1,000 bootstrap resamples of the pages, the convention of the published table.
"""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["Match", "Scores", "match", "score"]

_TOKEN = re.compile(r"\w+")
NGRAM = 4


class Match(NamedTuple):
    """One page's shingle agreement, scaled so that tp + fp + fn == 1 (all zero when both texts are empty)."""

    tp: float
    fp: float
    fn: float

    @property
    def precision(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


@dataclass(frozen=True, slots=True)
class Scores:
    """Averaged precision, recall and F1 with their bootstrap ± (1.96 σ)."""

    precision: float
    recall: float
    f1: float
    precision_ci: float
    recall_ci: float
    f1_ci: float


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    # A text shorter than one n-gram still counts as one (shorter) shingle, as in the reference script.
    starts = range(max(1, len(tokens) - NGRAM + 1))
    return Counter(tuple(tokens[i : i + NGRAM]) for i in starts if tokens[i : i + NGRAM])


def match(true: str, pred: str) -> Match:
    """Compare an extracted text with the ground-truth body of the same page."""
    expected, got = _shingles(true), _shingles(pred)
    tp = sum((expected & got).values())
    fp = sum((got - expected).values())
    fn = sum((expected - got).values())
    total = tp + fp + fn
    return Match(tp / total, fp / total, fn / total) if total else Match(0.0, 0.0, 0.0)


def _averages(matches: Sequence[Match]) -> tuple[float, float, float]:
    precisions = [m.precision for m in matches if m.tp + m.fp > 0]
    recalls = [m.recall for m in matches if m.tp + m.fn > 0]
    precision = statistics.fmean(precisions) if precisions else 0.0
    recall = statistics.fmean(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def score(matches: Sequence[Match], n_bootstrap: int = 1000, seed: int = 0) -> Scores:
    """Benchmark figures for a set of pages; the bootstrap is seeded so a rerun prints the same ±."""
    precision, recall, f1 = _averages(matches)
    rng = random.Random(seed)
    samples = [_averages(rng.choices(matches, k=len(matches))) for _ in range(n_bootstrap)] if matches else []
    spread = [1.96 * statistics.stdev(column) if len(column) > 1 else 0.0 for column in zip(*samples)] or [0.0] * 3
    return Scores(precision, recall, f1, *spread)
