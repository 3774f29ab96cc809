"""The dedup index in Redis beside the in-memory one: docs/s, memory per article, and the check-and-insert race.

Articles are generated like the distributed crawl test's (tests/support/newsfarm.py: real French sentences,
shuffled, one in ten with a near-copy). Shingles and signatures are computed once beforehand, so the figures
are those of the index calls the pipeline makes (`find_or_add`): in memory, over Redis one call at a time, and
over Redis pipelined (`find_or_add_many`). It starts its own redis-server on 127.0.0.1. The race: two threads
offer near-copies of a new article at the same moment, `--rounds` times, through datasketch's MinHashLSH on
Redis storage (query, then insert) and through RedisNearDupIndex (one Lua script); a round where both copies
are kept is a duplicate stored twice. Figures only: nothing here passes or fails.

    python -m bench.redis_dedup [--docs 5000] [--rounds 400] [--batch 100]
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from datasketch import LeanMinHash, MinHashLSH

from model.text import content_id
from model.urls import url_key
from pipelines.dedup.index import DedupConfig, DocInfo, Match, NearDupIndex
from pipelines.dedup.redis_index import Entry, RedisNearDupIndex
from pipelines.dedup.shingles import shingle_hashes
from tests.support import newsfarm
from tests.support.servers import RedisServer


def entry(article: newsfarm.FarmArticle, signer: NearDupIndex) -> Entry:
    """An article as the index takes it: DocInfo, URL keys, shingles, signature."""
    text = " ".join(article.paragraphs)
    shingles = shingle_hashes(text, signer.config.shingle_size)
    url = f"https://{article.outlet}.example{article.path}"
    return DocInfo(content_id(text), url, None, True), [url_key(url)], shingles, signer.signature(shingles)


def entries(count: int, config: DedupConfig) -> list[Entry]:
    """`count` articles, a tenth of them near-copies of another."""
    signer = NearDupIndex(config)
    articles = newsfarm.generate(articles=count * 10 // 11, clusters=count // 11, copies=1)
    return [entry(article, signer) for article in articles]


def timed(work: Callable[[], list[Match | None]]) -> tuple[float, list[Match | None]]:
    start = time.perf_counter()
    answers = work()
    return time.perf_counter() - start, answers


def race(rounds: int, offer: Callable[[int, int], bool]) -> int:
    """Rounds in which both threads kept their copy; `offer(side, round)` says whether that side's copy was kept."""
    barrier = threading.Barrier(2)
    kept = [[False, False] for _ in range(rounds)]

    def side(which: int) -> None:
        for n in range(rounds):
            barrier.wait()
            kept[n][which] = offer(which, n)

    threads = [threading.Thread(target=side, args=(which,)) for which in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(all(pair) for pair in kept)


def race_pairs(rounds: int, config: DedupConfig) -> list[list[Entry]]:
    """`rounds` pairs of near-copies (an article and its copy on another outlet)."""
    signer = NearDupIndex(config)
    by_cluster: dict[int, list[Entry]] = {}
    for article in newsfarm.generate(articles=rounds, clusters=rounds, copies=1, seed=11):
        by_cluster.setdefault(article.cluster or 0, []).append(entry(article, signer))
    return list(by_cluster.values())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=5000, help="articles indexed for the speed figures")
    parser.add_argument("--rounds", type=int, default=400, help="rounds of the two-worker race")
    parser.add_argument("--batch", type=int, default=100, help="find_or_add calls per Redis pipeline")
    args = parser.parse_args(argv)
    config = DedupConfig()
    docs = entries(args.docs, config)

    with RedisServer() as server:
        client = server.client()
        memory = NearDupIndex(config)
        spent_memory, expected = timed(lambda: [memory.find_or_add(*entry) for entry in docs])
        single = RedisNearDupIndex(client, f"newsdedup:{{bench-{uuid.uuid4().hex[:6]}}}", config).owned_by("bench")
        used_before = client.info("memory")["used_memory"]
        spent_single, answers_single = timed(lambda: [single.find_or_add(*entry) for entry in docs])
        bytes_per_doc = (client.info("memory")["used_memory"] - used_before) / len(single.docs)
        piped = RedisNearDupIndex(client, f"newsdedup:{{bench-{uuid.uuid4().hex[:6]}}}", config).owned_by("bench")
        batches = [docs[start : start + args.batch] for start in range(0, len(docs), args.batch)]
        spent_piped, answers_piped = timed(lambda: [m for batch in batches for m in piped.find_or_add_many(batch)])
        kept = sum(answer is None for answer in expected)
        print(f"Redis dedup benchmark: {len(docs):,} articles ({kept:,} kept, {len(docs) - kept:,} copies), "
              f"{config.bands} bands × {config.rows} rows, threshold {config.threshold}; redis-server on 127.0.0.1")
        print(f"  {'in memory (NearDupIndex)':<42}{len(docs) / spent_memory:>10,.0f} docs/s")
        print(f"  {'Redis, one call per article':<42}{len(docs) / spent_single:>10,.0f} docs/s   "
              f"{bytes_per_doc:,.0f} bytes per article in Redis")
        print(f"  {f'Redis, pipelined by {args.batch}':<42}{len(docs) / spent_piped:>10,.0f} docs/s")
        differ = [sum(a != b for a, b in zip(got, expected, strict=True)) for got in (answers_single, answers_piped)]
        print(f"  answers that differ from the in-memory index: one call {differ[0]}, pipelined {differ[1]}")

        pairs = race_pairs(args.rounds, config)
        basename = f"race-{uuid.uuid4().hex[:6]}".encode()
        lsh = [MinHashLSH(threshold=config.threshold, num_perm=config.num_perm, params=(config.bands, config.rows),
                          storage_config={"type": "redis", "basename": basename,
                                          "redis": {"host": "127.0.0.1", "port": server.port}})
               for _ in range(2)]  # fmt: skip

        def plain(side: int, n: int) -> bool:
            doc, _, _, signature = pairs[n][side]
            minhash = LeanMinHash(seed=config.seed, hashvalues=signature, scheme="affine32")  # as the core's signatures
            if lsh[side].query(minhash):
                return False
            lsh[side].insert(doc.id, minhash)
            return True

        race_prefix = f"newsdedup:{{race-{basename.decode()}}}"
        shared = [RedisNearDupIndex(server.client(), race_prefix, config).owned_by(f"w{i}") for i in range(2)]

        def atomic(side: int, n: int) -> bool:
            return shared[side].find_or_add(*pairs[n][side]) is None

        both_plain = race(len(pairs), plain)
        both_atomic = race(len(pairs), atomic)
        print(f"\nTwo workers offering near-copies of a new article at the same moment, {len(pairs)} times:")
        print(f"  datasketch MinHashLSH on Redis (query, then insert): both kept in {both_plain}/{len(pairs)} rounds")
        print(f"  RedisNearDupIndex (one Lua script):                  both kept in {both_atomic}/{len(pairs)} rounds")


if __name__ == "__main__":
    main()
