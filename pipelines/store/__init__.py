"""Storage stage: gzip JSON Lines parts and a manifest per run, on local disk or S3-compatible storage."""

from pipelines.store.pipeline import StorePipeline, store_from_settings

__all__ = ["StorePipeline", "store_from_settings"]
