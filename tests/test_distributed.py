"""Distributed mode against a real redis-server: `scrapy crawl` workers sharing one frontier and one dedup index.

The site is generated (tests/support/newsfarm.py): 300 distinct articles on six loopback outlets, 30 of them
with two near-copies on other outlets, reachable from home pages, feeds and sitemaps alike.
"""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings

from crawler.redis import Distributed
from model.urls import url_key
from pipelines.dedup.index import DedupConfig, DocInfo, NearDupIndex
from pipelines.dedup.shingles import shingle_hashes
from pipelines.dedup.redis_index import RedisNearDupIndex, config_name
from model.text import content_id
from tests.support import newsfarm
from tests.support.servers import RedisServer, free_port
from tests.test_crawl import ROOT, crawl_command

pytestmark = pytest.mark.redis


def distributed(redis_url: str, *settings: str) -> list[str]:
    """Settings of a worker: Redis, the already-stored skip, one extraction process (three workers, two cores)."""
    return [
        f"REDIS_URL={redis_url}",
        'ADDONS={"crawler.redis.Distributed": 0}',
        'DOWNLOADER_MIDDLEWARES={"crawler.middlewares.PublicAddressesOnly": 50, "crawler.middlewares.SkipStored": 60}',
        "REDIS_WORKER_TIMEOUT=3",
        "EXTRACT_WORKERS=1",
        *settings,
    ]


def start_workers(
    count: int, seeds: Path, output: Path, settings: list[str], first: int = 0
) -> list[subprocess.Popen[bytes]]:
    """`count` crawl processes, logging to logs/worker-<first + n>.log beside the output."""
    logs = output.parent / "logs"
    logs.mkdir(exist_ok=True)
    return [
        subprocess.Popen(
            crawl_command(seeds, output, *settings), cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=(logs / f"worker-{n}.log").open("wb"),
        )  # fmt: skip
        for n in range(first, first + count)
    ]


def wait(workers: list[subprocess.Popen[bytes]]) -> list[int]:
    return [worker.wait(timeout=300) for worker in workers]


def stored_records(output: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for part in sorted(output.rglob("part-*.jsonl.gz"))
        for line in gzip.decompress(part.read_bytes()).splitlines()
    ]


def manifests_stats(output: Path) -> Counter[str]:
    totals: Counter[str] = Counter()
    for path in output.rglob("manifest.json"):
        totals.update({k: v for k, v in json.loads(path.read_text())["stats"].items() if isinstance(v, int)})
    return totals


def assert_stored_once(farm: newsfarm.NewsFarm, records: list[dict[str, Any]]) -> None:
    stored = Counter(url_key(record["url"]) for record in records)
    assert len(records) == len(farm.distinct) + len(farm.clusters())
    for article in farm.distinct:
        assert stored[url_key(farm.url(article))] == 1, farm.url(article)
    for cluster, copies in farm.clusters().items():
        assert sum(stored[url_key(farm.url(copy))] for copy in copies) == 1, f"cluster {cluster}"


def crawl_keys(client: Any, crawl: str) -> list[str]:
    return sorted(key.decode() for key in client.scan_iter(f"newsdedup:{{{crawl}}}:*"))


def test_three_workers_fetch_every_page_once_and_store_every_story_once(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    crawl = f"farm{uuid.uuid4().hex[:8]}"
    with newsfarm.serve(articles=300, clusters=30) as farm:
        seeds = farm.write_seeds(tmp_path / "farm.yaml", name=crawl)
        codes = wait(start_workers(3, seeds, tmp_path / "out", distributed(redis_server.url)))
        fetched = farm.fetch_counts()
    assert codes == [0, 0, 0], (tmp_path / "logs").joinpath("worker-0.log").read_text()[-3000:]
    pages = {farm.url(article) for article in farm.articles}
    assert pages <= set(fetched), "every article page was fetched"
    assert set(fetched.values()) == {1}, [url for url, n in fetched.items() if n > 1]
    records = stored_records(tmp_path / "out")
    assert_stored_once(farm, records)
    per_run = [json.loads(path.read_text())["records"] for path in (tmp_path / "out").rglob("manifest.json")]
    assert len(per_run) == 3 and all(per_run), "each worker stored its share in its own run"
    stats = manifests_stats(tmp_path / "out")
    assert stats["dedup/near_duplicate"] + stats["dedup/superseded"] == 2 * len(farm.clusters())
    client = redis_server.client()
    left = [key for key in crawl_keys(client, crawl) if ":dedup:" not in key]
    assert left == [], "the last worker out cleared the frontier"
    prefix = f"newsdedup:{{{crawl}}}:dedup:{config_name(DedupConfig())}"
    assert client.hlen(f"{prefix}:pending") == 0, "every kept article is confirmed as written"
    assert client.scard(f"{prefix}:runs") == 3


def test_a_worker_killed_mid_crawl_loses_nothing_and_stores_nothing_twice(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    crawl = f"farm{uuid.uuid4().hex[:8]}"
    client = redis_server.client()
    prefix = f"newsdedup:{{{crawl}}}"
    dedup = f"{prefix}:dedup:{config_name(DedupConfig())}"
    output = tmp_path / "out"
    with newsfarm.serve(articles=300, clusters=30, delay=0.05) as farm:
        seeds = farm.write_seeds(tmp_path / "farm.yaml", name=crawl)
        settings = distributed(redis_server.url, "STORE_PART_MAX_RECORDS=4")
        victim = start_workers(1, seeds, output, settings)[0]
        deadline = time.monotonic() + 120
        while not any(f"-{victim.pid}-" in worker.decode() for worker in client.hkeys(f"{prefix}:workers")):
            assert time.monotonic() < deadline and victim.poll() is None, "the victim joins the crawl"
            time.sleep(0.02)
        # The others start once the victim is in: on a loaded machine they could otherwise do all the work first.
        workers = [victim, *start_workers(2, seeds, output, settings, first=1)]
        try:
            while time.monotonic() < deadline:  # until the victim has written a part and kept more since
                names = [worker.decode() for worker in client.hkeys(f"{prefix}:workers")]
                name = next((worker for worker in names if f"-{victim.pid}-" in worker), None)
                run = client.hget(f"{dedup}:writers", name) if name else None
                written = len(stored_records(output / run.decode())) if run else 0
                # kept, not durable yet (a durable record is confirmed at once)
                pending = sum(who.decode() == name for _, who in client.hscan_iter(f"{dedup}:pending")) if name else 0
                if written and pending:
                    break
                time.sleep(0.02)
        finally:
            victim.send_signal(signal.SIGKILL)
        codes = wait(workers)
        fetched = farm.fetch_counts()
    assert written and pending, "the victim was killed with records written and others not yet"
    assert codes == [-signal.SIGKILL, 0, 0], (tmp_path / "logs" / "worker-1.log").read_text()[-3000:]
    assert {farm.url(article) for article in farm.articles} <= set(fetched)
    records = stored_records(output)
    assert_stored_once(farm, records)
    stats = manifests_stats(output)
    assert stats["scheduler/requeued_from_dead_workers"] > 0
    logs = "".join(path.read_text() for path in (tmp_path / "logs").glob("worker-*.log"))
    assert f"Worker {name} stopped answering" in logs
    print(f"killed with {written} records written, {pending} kept but unwritten; "
          f"{stats['dedup/unwritten_forgotten']} forgotten, {stats['scheduler/requeued_from_dead_workers']} requests "
          f"requeued, {sum(n > 1 for n in fetched.values())} pages fetched twice")  # fmt: skip
    assert client.hlen(f"{dedup}:pending") == 0
    assert [key for key in crawl_keys(client, crawl) if ":dedup:" not in key] == []


def _doc(text: str, url: str) -> tuple[DocInfo, list[str], Any, Any]:
    shingles = shingle_hashes(text)
    return DocInfo(content_id(text), url, None, True), [url_key(url)], shingles, NearDupIndex().signature(shingles)


def test_racing_workers_never_both_keep_near_duplicates(redis_server: RedisServer) -> None:
    """Two clients offer near-copies of a new article at the same moment, 400 times: exactly one is kept."""
    crawl = f"race{uuid.uuid4().hex[:8]}"
    articles = newsfarm.generate(articles=400, clusters=400, copies=1)
    pairs: dict[int, list[newsfarm.FarmArticle]] = {}
    for article in articles:
        pairs.setdefault(article.cluster or 0, []).append(article)
    rounds = [
        [_doc(" ".join(article.paragraphs), f"http://race.test/{n}/{side}") for side, article in enumerate(pair)]
        for n, pair in pairs.items()
    ]
    barrier = threading.Barrier(2)
    kept = [[False, False] for _ in rounds]

    def worker(side: int) -> None:
        index = RedisNearDupIndex(redis_server.client(), f"newsdedup:{{{crawl}}}", DedupConfig()).owned_by(f"w{side}")
        for n, docs in enumerate(rounds):
            barrier.wait()
            kept[n][side] = index.find_or_add(*docs[side]) is None

    threads = [threading.Thread(target=worker, args=(side,)) for side in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(rounds) == 400
    assert [sum(pair) for pair in kept] == [1] * 400, "one copy of each article kept, never both, never none"


def test_a_copy_met_while_another_worker_supersedes_finds_the_kept_one(redis_server: RedisServer) -> None:
    """One client replaces its kept article by a preferred copy while another offers a third copy of it, at the
    same moment, 400 times: the third copy always finds one of them (else two would be stored)."""
    crawl = f"race{uuid.uuid4().hex[:8]}"
    clusters: dict[int, list[newsfarm.FarmArticle]] = {}
    for article in newsfarm.generate(articles=400, clusters=400, copies=2):
        clusters.setdefault(article.cluster or 0, []).append(article)
    rounds = [
        [_doc(" ".join(article.paragraphs), f"http://race.test/{n}/{side}") for side, article in enumerate(copies)]
        for n, copies in clusters.items()
    ]
    barrier = threading.Barrier(2)
    found: list[bool | None] = [None] * len(rounds)
    indexes = [
        RedisNearDupIndex(redis_server.client(), f"newsdedup:{{{crawl}}}", DedupConfig()).owned_by(f"w{side}")
        for side in (0, 1)
    ]

    def superseder() -> None:
        for old, new, _ in rounds:
            assert indexes[0].find_or_add(*old) is None
            barrier.wait()
            indexes[0].supersede_and_add(old[0].id, *new)

    def meeter() -> None:
        for n, (_, _, third) in enumerate(rounds):
            barrier.wait()
            found[n] = indexes[1].find_or_add(*third) is not None

    threads = [threading.Thread(target=superseder), threading.Thread(target=meeter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(rounds) == 400
    doubled = found.count(False)
    print(f"{doubled} of {len(rounds)} third copies kept beside the superseding one")
    assert doubled == 0
    assert found.count(True) == 400
    assert sorted(indexes[0].docs) == sorted(new[0].id for _, new, _ in rounds), "only the preferred copies kept"


def test_the_redis_index_gives_the_in_memory_answers(redis_server: RedisServer) -> None:
    """Both indexes driven as DedupPipeline drives its index: `find_or_add` for every article, nothing for a copy
    found (the index itself files the copy's URL under the article kept)."""
    articles = newsfarm.generate(articles=60, clusters=20, copies=2)
    memory = NearDupIndex()
    shared = RedisNearDupIndex(redis_server.client(), f"newsdedup:{{eq{uuid.uuid4().hex[:8]}}}", DedupConfig())
    offers = [_doc(" ".join(article.paragraphs), f"http://eq.test{article.path}") for article in articles]
    reasons: Counter[str] = Counter()
    for n, offer in enumerate(offers):
        expected = memory.find_or_add(*offer)
        assert shared.find_or_add(*offer) == expected, n
        reasons[expected.reason if expected else "kept"] += 1
    assert reasons == {"kept": 60, "near_duplicate": 40}
    assert sorted(shared.docs) == sorted(memory.docs)
    # every page again, as a later run meets it: known by its URL now, each copy as the article kept for it
    for n, offer in enumerate(offers):
        expected = memory.find_or_add(*offer)
        assert expected is not None and expected.reason == "same_url", n
        assert shared.find_or_add(*offer) == expected, n


def test_supersede_and_remove_follow_the_in_memory_index(redis_server: RedisServer) -> None:
    texts = [" ".join(a.paragraphs) for a in newsfarm.generate(articles=2, clusters=0)]
    index = RedisNearDupIndex(redis_server.client(), f"newsdedup:{{sr{uuid.uuid4().hex[:8]}}}", DedupConfig())
    first, second = _doc(texts[0], "http://a.test/1"), _doc(texts[0] + " Mise à jour.", "http://b.test/1")
    assert index.find_or_add(*first) is None
    match = index.find_or_add(*second)
    assert match is not None and match.reason == "near_duplicate" and match.kept.id == first[0].id
    index.supersede_and_add(first[0].id, *second)
    again = index.find_or_add(*_doc(texts[0], "http://c.test/1"))
    assert again is not None and again.kept.id == second[0].id, "the superseded copy now finds the one kept instead"
    index.remove(second[0].id)
    assert len(index.docs) == 0
    assert index.find_or_add(*first) is None, "a removed article and the ids that stood for it are forgotten"
    assert index.find_or_add(*_doc(texts[1], "http://a.test/1")) is not None, "its URL keys were kept for it"


def test_only_written_articles_count_as_stored_and_url_keys_expire(redis_server: RedisServer) -> None:
    client = redis_server.client()
    base = RedisNearDupIndex(client, f"newsdedup:{{st{uuid.uuid4().hex[:8]}}}", DedupConfig(), url_ttl_days=30)
    index = base.owned_by("worker-a")
    text = " ".join(newsfarm.generate(articles=1, clusters=0)[0].paragraphs)
    doc = _doc(text, "http://a.test/2025/01/x/")
    assert index.find_or_add(*doc) is None
    assert not index.is_stored(doc[1][0]), "kept but not written yet: fetched again if met"
    assert index.pending("worker-a") == [doc[0].id]
    index.confirm(index.pending("worker-a"))
    assert index.is_stored(doc[1][0])
    assert index.is_stored(url_key("https://www.a.test/2025/01/x/amp/")), "AMP and www variants too"
    ttl = client.pttl(f"{index.prefix}:url:{doc[1][0]}")
    assert 29 * 86_400_000 < ttl <= 30 * 86_400_000, "the URL key lives DEDUP_URL_TTL_DAYS from when last seen"


def test_the_add_on_switches_the_scheduler_only_with_redis_url() -> None:
    plain = Settings()  # Scrapy's defaults, as `scrapy crawl` starts from
    Distributed().update_settings(plain)
    assert plain["SCHEDULER"] == "scrapy.core.scheduler.Scheduler"
    shared = Settings()
    shared.set("REDIS_URL", "redis://127.0.0.1:1/0", "cmdline")
    Distributed().update_settings(shared)
    assert shared["SCHEDULER"] == "crawler.queues.RedisScheduler"


def test_the_redis_password_is_never_logged(tmp_path: Path) -> None:
    password = uuid.uuid4().hex
    with RedisServer() as server, newsfarm.serve(articles=6, clusters=1) as farm:
        server.client().config_set("requirepass", password)
        url = server.url.replace("redis://", f"redis://:{password}@")
        seeds = farm.write_seeds(tmp_path / "farm.yaml", name="secret")
        result = subprocess.run(
            crawl_command(seeds, tmp_path / "out", *distributed(url)), cwd=ROOT, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(stored_records(tmp_path / "out")) == 6
    assert password not in result.stderr


def test_an_unreachable_redis_stops_the_crawl_before_any_request(tmp_path: Path) -> None:
    with newsfarm.serve(articles=4, clusters=0) as farm:
        seeds = farm.write_seeds(tmp_path / "farm.yaml", name="unreachable")
        url = f"redis://:secret-{uuid.uuid4().hex}@127.0.0.1:{free_port()}/0"
        result = subprocess.run(
            crawl_command(seeds, tmp_path / "out", *distributed(url)), cwd=ROOT, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        requests = list(farm.request_log)
    assert result.returncode == 1
    assert "Redis (REDIS_URL) cannot be reached, nothing crawled" in result.stderr
    assert requests == []
    assert "secret-" not in result.stderr
