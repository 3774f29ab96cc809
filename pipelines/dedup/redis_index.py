"""The dedup index in Redis, shared by every worker of a distributed crawl.

The same interface and answers as `pipelines.dedup.index.NearDupIndex` (URL keys, content ids, MinHash LSH
bands, every candidate confirmed by the exact Jaccard of the shingle sets), with the state in Redis and each
check-and-insert ONE Lua script: two workers holding near-duplicate copies at the same moment never both keep
theirs. (datasketch's Redis storage answers a query and takes an insert separately, so both copies get through
that gap; bench/redis_dedup.py measures it.) Signatures are computed here with the core's datasketch
permutations; the script receives the band hashes and the shingle set, and does the rest.

Keys, under `newsdedup:{crawl}:dedup:<config>` (a different dedup configuration starts its own index):
`:docs` (hash id → JSON DocInfo), `:aliases` (superseded id → id kept instead), `:shingles` (id → sorted
big-endian uint32 shingle hashes), `:claims` (id → JSON list of the URL keys it holds), `:bands` (band number
and 64-bit band hash → space-separated ids), `:url:<url key>` (→ id; expires DEDUP_URL_TTL_DAYS after last seen),
`:pending` (id → worker that kept it and has not finished writing it), `:writers` (worker → its run prefix),
`:runs` (run prefixes whose records are all indexed).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping, MutableSet, Sequence
from typing import TYPE_CHECKING

import numpy as np
import xxhash

from pipelines.dedup.index import DedupConfig, DocInfo, Match, NearDupIndex

if TYPE_CHECKING:
    import redis

__all__ = ["RedisNearDupIndex"]

# One (keys, shingles, signature) entry per document, as `find_or_add` takes them.
Entry = tuple[DocInfo, Sequence[str], np.ndarray, np.ndarray]

_LUA_COMMON = """
local K_DOCS, K_ALIASES, K_SHINGLES, K_CLAIMS, K_PENDING, K_BANDS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

-- The id a (possibly superseded) id stands for now, and its DocInfo; nil when it was removed.
local function resolve(id)
  for _ = 1, 64 do
    local next_id = redis.call('HGET', K_ALIASES, id)
    if not next_id then break end
    id = next_id
  end
  local info = redis.call('HGET', K_DOCS, id)
  if info then return id, info end
  return nil
end
"""

# KEYS: docs, aliases, shingles, claims, pending, bands, <url keys>.
# ARGV: mode ('find' = find_or_add, 'add'), id, DocInfo JSON, shingles, threshold, url ttl (ms, 0 = none),
#       owner ('' = none), superseded id ('' = none), <band fields>.
# Returns {reason, kept id, kept DocInfo JSON, similarity} for a match, after indexing the kept article under
# the copy's URL keys too (no later run fetches the copy again); else inserts the article and returns false.
# An add that supersedes an id aliases it to the new one in the same script: no other worker ever sees the
# old id resolve to nothing, which would let it keep its own copy.
_FIND_OR_ADD = _LUA_COMMON + """
local mode, id, doc, shingles = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local threshold, ttl, owner, superseded = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], ARGV[8]
local n_url = #KEYS - 6
local fields = {unpack(ARGV, 9)}

-- A sorted big-endian uint32 array as a Lua array of numbers (struct.unpack, 200 values per call).
local function decode(blob)
  local values, n, pos = {}, #blob / 4, 1
  while #values < n do
    local k = math.min(200, n - #values)
    local chunk = {struct.unpack('>' .. string.rep('I4', k), blob, pos)}
    for j = 1, k do values[#values + 1] = chunk[j] end
    pos = chunk[k + 1]
  end
  return values
end

local function shared(a, b)
  local i, j, count = 1, 1, 0
  while i <= #a and j <= #b do
    if a[i] == b[j] then count, i, j = count + 1, i + 1, j + 1
    elseif a[i] < b[j] then i = i + 1
    else j = j + 1 end
  end
  return count
end

-- Index `id` under the URL keys not held yet, and remember them as its own (for `remove`).
local function claim(id)
  local claims = cjson.decode(redis.call('HGET', K_CLAIMS, id) or '[]')
  local before = #claims
  for i = 1, n_url do
    local set
    if ttl > 0 then set = redis.call('SET', KEYS[6 + i], id, 'NX', 'PX', ttl)
    else set = redis.call('SET', KEYS[6 + i], id, 'NX') end
    if set then claims[#claims + 1] = KEYS[6 + i] end
  end
  if #claims > before then redis.call('HSET', K_CLAIMS, id, cjson.encode(claims)) end
end

local function found(reason, kept, info, similarity)
  claim(kept)
  return {reason, kept, info, similarity}
end

local buckets = nil  -- the ids in each band's bucket (false: none), as the search found them
if mode == 'find' then
  for i = 1, n_url do
    local held = redis.call('GET', KEYS[6 + i])
    if held then
      local kept, info = resolve(held)
      if ttl > 0 then redis.call('PEXPIRE', KEYS[6 + i], ttl) end  -- seen again
      if kept then return found('same_url', kept, info, '1') end
    end
  end
  local kept, info = resolve(id)
  if kept then return found('exact', kept, info, '1') end
  buckets = redis.call('HMGET', K_BANDS, unpack(fields))
  local seen, candidates = {}, {}
  for _, ids in ipairs(buckets) do
    if ids then
      for candidate in string.gmatch(ids, '%S+') do
        if not seen[candidate] then seen[candidate] = true; candidates[#candidates + 1] = candidate end
      end
    end
  end
  local best, best_id, mine = -1, nil, nil
  for _, candidate in ipairs(candidates) do
    local other = redis.call('HGET', K_SHINGLES, candidate)
    if other then
      local n_mine, n_other = #shingles / 4, #other / 4
      if math.min(n_mine, n_other) >= threshold * math.max(n_mine, n_other) then  -- else they cannot reach it
        mine = mine or decode(shingles)
        local inter = shared(mine, decode(other))
        local similarity = inter / (n_mine + n_other - inter)
        if similarity >= threshold and (similarity > best or (similarity == best and candidate > best_id)) then
          best, best_id = similarity, candidate
        end
      end
    end
  end
  if best_id then
    local kept_id, kept_info = resolve(best_id)
    if kept_id then return found('near_duplicate', kept_id, kept_info, string.format('%.17g', best)) end
  end
end

local new = redis.call('HEXISTS', K_DOCS, id) == 0
redis.call('HSET', K_DOCS, id, doc)
claim(id)
if redis.call('HSETNX', K_SHINGLES, id, shingles) == 1 then
  buckets = buckets or redis.call('HMGET', K_BANDS, unpack(fields))
  local updates = {}
  for b, field in ipairs(fields) do
    updates[#updates + 1] = field
    updates[#updates + 1] = buckets[b] and (buckets[b] .. ' ' .. id) or id
  end
  redis.call('HSET', K_BANDS, unpack(updates))
end
if new and owner ~= '' then redis.call('HSET', K_PENDING, id, owner) end
if superseded ~= '' and superseded ~= id then
  redis.call('HSET', K_ALIASES, superseded, id)
  redis.call('HDEL', K_DOCS, superseded)
  redis.call('HDEL', K_PENDING, superseded)
end
return false
"""

# KEYS: docs, aliases, shingles, claims, pending, bands. ARGV: n_ids, <ids>, then per id "1" when band fields
# follow for it (it has shingles) else "0", then the band fields of those ids, `bands` each.
_REMOVE = _LUA_COMMON + """
local n_ids, n_bands = tonumber(ARGV[1]), tonumber(ARGV[2])
local gone = {}
for i = 1, n_ids do gone[ARGV[2 + i]] = true end
local next_field = 3 + 2 * n_ids
for i = 1, n_ids do
  local id = ARGV[2 + i]
  redis.call('HDEL', K_DOCS, id)
  redis.call('HDEL', K_PENDING, id)
  for _, key in ipairs(cjson.decode(redis.call('HGET', K_CLAIMS, id) or '[]')) do
    if redis.call('GET', key) == id then redis.call('DEL', key) end
  end
  redis.call('HDEL', K_CLAIMS, id)
  if ARGV[2 + n_ids + i] == '1' then
    local fields = {unpack(ARGV, next_field, next_field + n_bands - 1)}
    next_field = next_field + n_bands
    for b, ids in ipairs(redis.call('HMGET', K_BANDS, unpack(fields))) do
      if ids then
        local rest = {}
        for other in string.gmatch(ids, '%S+') do if other ~= id then rest[#rest + 1] = other end end
        if #rest > 0 then redis.call('HSET', K_BANDS, fields[b], table.concat(rest, ' '))
        else redis.call('HDEL', K_BANDS, fields[b]) end
      end
    end
  end
  redis.call('HDEL', K_SHINGLES, id)
end
local aliases = redis.call('HGETALL', K_ALIASES)
for i = 1, #aliases, 2 do
  if gone[aliases[i]] or gone[aliases[i + 1]] then redis.call('HDEL', K_ALIASES, aliases[i]) end
end
"""

# KEYS: docs, aliases, shingles, claims, pending, bands, url key. ARGV: url ttl (ms, 0 = none).
# 1 when the URL key belongs to an article that is written (not pending), and the key's life is renewed.
_IS_STORED = _LUA_COMMON + """
local held = redis.call('GET', KEYS[7])
if not held then return 0 end
local kept = resolve(held)
if not kept or redis.call('HEXISTS', K_PENDING, kept) == 1 then return 0 end
if tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[7], ARGV[1]) end
return 1
"""


def config_name(config: DedupConfig) -> str:
    """The part of the key namespace that pins the dedup configuration."""
    return f"s{config.shingle_size}-p{config.num_perm}-b{config.bands}-t{config.threshold:g}-seed{config.seed}"


class RedisNearDupIndex:
    """NearDupIndex's interface (find_or_add, add, remove, signature, docs, runs) over Redis, with its
    supersede-then-add as one atomic `supersede_and_add`.

    `owner` names the worker whose new articles are *pending* until `confirm`: kept but maybe not written yet,
    so a dead worker's unwritten articles can be forgotten (`remove`) and fetched again, and an incremental
    crawl skips only URLs whose article is written (`is_stored`). An index without owner adds articles that
    are already stored (re-indexed from stored runs).
    """

    def __init__(
        self, client: redis.Redis, prefix: str, config: DedupConfig, url_ttl_days: float = 0, owner: str | None = None
    ) -> None:
        self.client = client
        self.config = config
        self.owner = owner
        self.crawl_prefix = prefix
        self.url_ttl_days = url_ttl_days
        self.prefix = f"{prefix}:dedup:{config_name(config)}"
        self.url_ttl_ms = int(url_ttl_days * 86_400_000)
        self._core = NearDupIndex(config)  # for its datasketch signatures only
        names = ("docs", "aliases", "shingles", "claims", "pending", "bands")  # the scripts' first KEYS, in order
        self._fixed = [f"{self.prefix}:{name}" for name in names]
        self._find_or_add = client.register_script(_FIND_OR_ADD)
        self._remove = client.register_script(_REMOVE)
        self._is_stored = client.register_script(_IS_STORED)
        self.docs = _Docs(client, self._fixed[0])
        self.runs = _Runs(client, f"{self.prefix}:runs")

    def owned_by(self, owner: str) -> RedisNearDupIndex:
        """The same index, adding new articles as pending for `owner`."""
        return RedisNearDupIndex(self.client, self.crawl_prefix, self.config, self.url_ttl_days, owner)

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        return self._core.signature(shingles)

    def band_fields(self, signature: np.ndarray) -> list[bytes]:
        """The bucket of each LSH band of the signature: the band's number, then a 64-bit hash of its rows."""
        rows = self.config.rows
        return [bytes([b]) + xxhash.xxh3_64_digest(signature[b * rows : (b + 1) * rows].tobytes())
                for b in range(self.config.bands)]  # fmt: skip

    # -- the calls the pipeline makes ----------------------------------------------------------------

    def find_or_add(
        self, doc: DocInfo, url_keys: Sequence[str], shingles: np.ndarray, signature: np.ndarray
    ) -> Match | None:
        """The kept article this one duplicates (by URL, exact text, then near text), else add it: atomically.

        A match also indexes the kept article under this copy's URL keys, in the same script."""
        keys, args = self._call("find", doc, url_keys, shingles, signature)
        return self._match(self._find_or_add(keys=keys, args=args))

    def find_or_add_many(self, entries: Iterable[Entry]) -> list[Match | None]:
        """`find_or_add` for many articles in one round trip (a Redis pipeline; each script stays atomic)."""
        with self.client.pipeline(transaction=False) as pipe:
            for doc, url_keys, shingles, signature in entries:
                keys, args = self._call("find", doc, url_keys, shingles, signature)
                self._find_or_add(keys=keys, args=args, client=pipe)
            return [self._match(answer) for answer in pipe.execute()]

    def add(self, doc: DocInfo, url_keys: Iterable[str], shingles: np.ndarray, signature: np.ndarray) -> None:
        """Index a kept article under its URL keys, content id and signature (URL keys already held stay so)."""
        keys, args = self._call("add", doc, list(url_keys), shingles, signature)
        self._find_or_add(keys=keys, args=args)

    def supersede_and_add(
        self, old_id: str, new: DocInfo, url_keys: Iterable[str], shingles: np.ndarray, signature: np.ndarray
    ) -> None:
        """Index `new` (as `add`) kept instead of `old_id`, in one script: everything that found the old one
        now finds the new one, and nothing ever finds neither."""
        keys, args = self._call("add", doc=new, url_keys=list(url_keys), shingles=shingles, signature=signature,
                                superseded=old_id)  # fmt: skip
        self._find_or_add(keys=keys, args=args)

    def remove(self, doc_id: str) -> None:
        """Forget an article that never landed, and the superseded ids that stood for it."""
        aliases = {k.decode(): v.decode() for k, v in self.client.hgetall(self._fixed[1]).items()}

        def resolves_to(other: str) -> str:
            for _ in range(64):
                if other not in aliases:
                    break
                other = aliases[other]
            return other

        gone = [doc_id, *sorted(old for old in aliases if resolves_to(old) == doc_id)]
        blobs = self.client.hmget(self._fixed[2], gone)
        fields = [self.band_fields(self.signature(_decode(blob))) for blob in blobs if blob is not None]
        has_fields = ("1" if blob is not None else "0" for blob in blobs)
        args = [len(gone), self.config.bands, *gone, *has_fields, *(field for fs in fields for field in fs)]
        self._remove(keys=self._fixed, args=args)

    def is_stored(self, url_key: str) -> bool:
        """Whether the article at this URL key is written (not pending); renews the key's time to live."""
        return bool(self._is_stored(keys=[*self._fixed, self._url(url_key)], args=[self.url_ttl_ms]))

    # -- workers -------------------------------------------------------------------------------------

    def open_run(self, worker: str, run_prefix: str) -> None:
        """Record where `worker` writes its records, to tell later which of its pending articles landed."""
        self.client.hset(f"{self.prefix}:writers", worker, run_prefix)

    def run_of(self, worker: str) -> str | None:
        run = self.client.hget(f"{self.prefix}:writers", worker)
        return run.decode() if run else None

    def pending(self, worker: str) -> list[str]:
        """Ids of the articles `worker` kept and has not confirmed as written."""
        owner = worker.encode()
        return [doc_id.decode() for doc_id, who in self.client.hscan_iter(self._fixed[4]) if who == owner]

    def pending_owner(self, doc_id: str) -> str | None:
        """The worker that kept `doc_id` and has not confirmed it as written, if any."""
        owner = self.client.hget(self._fixed[4], doc_id)
        return owner.decode() if owner else None

    def confirm(self, ids: Sequence[str]) -> None:
        """These articles are written: no longer pending."""
        if ids:
            self.client.hdel(self._fixed[4], *ids)

    def forget_writer(self, worker: str) -> None:
        self.client.hdel(f"{self.prefix}:writers", worker)

    # -- helpers -------------------------------------------------------------------------------------

    def _url(self, url_key: str) -> str:
        return f"{self.prefix}:url:{url_key}"

    def _call(
        self, mode: str, doc: DocInfo, url_keys: Sequence[str], shingles: np.ndarray, signature: np.ndarray,
        superseded: str = "",
    ) -> tuple[list[str], list[str | bytes | float | int]]:
        if not doc.id or any(c.isspace() for c in doc.id):
            raise ValueError(f"a document id must be a non-empty word, got {doc.id!r}")
        info = json.dumps({name: value for name, value in dataclasses.asdict(doc).items() if name != "id"})
        keys = [*self._fixed, *(self._url(key) for key in url_keys)]
        args: list[str | bytes | float | int] = [
            mode, doc.id, info, _encode(shingles), repr(self.config.threshold), self.url_ttl_ms, self.owner or "",
            superseded, *self.band_fields(signature),
        ]  # fmt: skip
        return keys, args

    @staticmethod
    def _match(answer: list[bytes] | None) -> Match | None:
        if not answer:
            return None
        reason, kept_id, info, similarity = (part.decode() for part in answer)
        similarity_value = float(similarity)
        return Match(
            DocInfo(kept_id, **json.loads(info)),
            reason,
            round(similarity_value, 4) if reason == "near_duplicate" else similarity_value,
        )


def _encode(shingles: np.ndarray) -> bytes:
    """Sorted uint32 hashes as big-endian bytes, which the Lua script reads with struct.unpack('>I4')."""
    return shingles.astype(">u4").tobytes()


def _decode(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=">u4").astype(np.uint32)


class _Docs(Mapping[str, DocInfo]):
    """The `docs` of NearDupIndex, read from the Redis hash."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client, self.key = client, key

    def __getitem__(self, doc_id: str) -> DocInfo:
        info = self.client.hget(self.key, doc_id)
        if info is None:
            raise KeyError(doc_id)
        return DocInfo(doc_id, **json.loads(info))

    def __iter__(self) -> Iterator[str]:
        return (doc_id.decode() for doc_id in self.client.hkeys(self.key))

    def __len__(self) -> int:
        return int(self.client.hlen(self.key))


class _Runs(MutableSet[str]):
    """The `runs` of NearDupIndex, a Redis set."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client, self.key = client, key

    def __contains__(self, run: object) -> bool:
        return isinstance(run, str) and bool(self.client.sismember(self.key, run))

    def __iter__(self) -> Iterator[str]:
        return (run.decode() for run in self.client.smembers(self.key))

    def __len__(self) -> int:
        return int(self.client.scard(self.key))

    def add(self, run: str) -> None:
        self.client.sadd(self.key, run)

    def discard(self, run: str) -> None:
        self.client.srem(self.key, run)
