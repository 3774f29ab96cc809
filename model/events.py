"""The contract between the stages, the frontier and the report, as Scrapy signals (see scrapy.signals).

Records flow one way, dedup → store. What comes back from the store is what became of them: `records_settled`,
so that dedup lets go of a record once it is being written and saves its state only with what landed, and the
report builds itself from what the run wrote instead of reading it back. No signal here expects an answer.
"""

# Store → all: the run's key prefix in the store, sent once storage is checked. Argument: `run_prefix`.
run_opened = object()

# Store → dedup, report: a batch left the store's buffer. Arguments: `records` (Article list), `links` (the
# duplicates-log entries written with them) and `state`: WRITING when the batch is taken for writing (its
# records can no longer be withdrawn nor take links), then DURABLE (its part is in storage or in the local
# spool) or LOST (neither took it). Sent with send_catch_log: receivers must not raise.
records_settled = object()
WRITING, DURABLE, LOST = "writing", "durable", "lost"

# Dedup → store: a record dedup passed on is replaced by a preferred copy. Arguments: `article` and
# `replacement`, whose `duplicates` already say how each copy, `article` included, relates to it. Dedup sends
# it only for a record that is not WRITING yet, which the store therefore still holds and drops.
record_withdrawn = object()

# Dedup → store: a copy was dropped (or superseded). Argument: `link`, a dict with kept_id, kept_url, url,
# reason and, for near duplicates, similarity. The store appends it to the run's duplicates log.
duplicate_found = object()

# Archive → store: a WARC file of the run's pages is complete. Argument: `warc` (model.warc.FinishedWarc). The
# store writes it under the run prefix, spooled like a part when storage is down, and lists it in the manifest.
archive_written = object()

# Store → archive: the store is about to write records whose pages are archived in `files` (keys), or the run
# ends (`files` None). The archive hands over (archive_written) the file it is writing if it is one of them, so
# that a record never lands before its page. Sent with send_catch_log_async, awaited.
archive_needed = object()

# Store → dedup, report: the run is over, every object is written and its final manifest is in storage.
# Arguments: `manifest` (the dict written), `store` (the ObjectStore) and `run_prefix`. Not sent when the
# manifest could only be spooled: the next run finishes that run's business.
run_stored = object()

# Dedup → SkipStored: what earlier runs stored is known (the dedup state is read). Argument: `lookup`, a callable
# taking a URL key (model.urls.url_key) and saying whether an earlier run stored, or dropped a copy at, that key.
stored_lookup = object()

# Frontier → dedup: sent, and awaited, before a dead worker's requests go back to the queue. Argument: `worker`.
# Dedup forgets the articles that worker kept but never wrote, so that their pages, fetched again, are kept again.
worker_lost = object()

# Frontier → dedup: a worker leaves after its pipelines closed, everything it kept written. Argument: `worker`.
worker_finished = object()
