"""Dedup stage: self-repeat collapse, URL keys, content hashes and MinHash LSH near-duplicates."""

from pipelines.dedup.pipeline import DedupPipeline

__all__ = ["DedupPipeline"]
