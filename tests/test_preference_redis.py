"""The Redis index keeps what the copy preference needs (`DocInfo.published_source`), like the in-process one."""

from __future__ import annotations

import uuid

from model.urls import url_key
from pipelines.dedup.index import DedupConfig, DocInfo, NearDupIndex, preferred
from pipelines.dedup.shingles import shingle_hashes
from pipelines.dedup.redis_index import RedisNearDupIndex
from model.text import content_id
from tests.support import newsfarm
from tests.support.servers import RedisServer


def test_a_kept_articles_date_source_survives_the_redis_index(redis_server: RedisServer) -> None:
    text = " ".join(newsfarm.generate(1, 0)[0].paragraphs)
    shingles = shingle_hashes(text)
    signature = NearDupIndex().signature(shingles)
    crawl = f"pref{uuid.uuid4().hex[:8]}"
    index = RedisNearDupIndex(redis_server.client(), f"newsdedup:{{{crawl}}}", DedupConfig()).owned_by("w0")
    aggregator = DocInfo.of(content_id(text), "http://agg.test/a", "http://agg.test/a", "2001-01-01", "jsonld")
    assert index.find_or_add(aggregator, [url_key(aggregator.url)], shingles, signature) is None
    publisher = DocInfo.of("other", "http://pub.test/a", "http://pub.test/a", "2025-02-10T08:00:00+01:00", "meta")
    match = index.find_or_add(publisher, [url_key(publisher.url)], shingles, signature)
    assert match is not None and match.kept == aggregator
    assert index.docs[aggregator.id] == aggregator
    assert preferred(publisher, match.kept, same_article=match.reason == "same_url")
