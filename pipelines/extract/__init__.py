"""Extraction stage: trafilatura plus general clean-up rules."""

from pipelines.extract.pipeline import ExtractPipeline

__all__ = ["ExtractPipeline"]
