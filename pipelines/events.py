"""Signals between stages, so that stages stay decoupled (Scrapy's own mechanism, see scrapy.signals)."""

# Sent by dedup when a record it passed on is superseded by a preferred copy. Arguments: `article`,
# `replacement`. The store answers True when the record was not written yet and is now taken back; with
# no True answer the record stays stored and the preferred copy is dropped instead.
record_withdrawn = object()

# Sent by dedup for every copy dropped (or superseded). Receivers: `link`, a dict with kept_id, kept_url,
# url, reason and, for near duplicates, similarity. The store appends it to the run's duplicates log.
duplicate_found = object()

# Sent by the store after a run's manifest is written. Arguments: `manifest` (the dict written), `store`
# (the ObjectStore the run wrote to) and `run_prefix` (the run's key prefix in that store).
run_stored = object()

# Sent by the store when it takes records out of its buffer to write them. Arguments: `ids`. From then on a
# record can neither be withdrawn nor take links into its own `duplicates`, so dedup lets go of it.
records_written = object()

# Sent by the store when neither storage nor the spool took a part (disk full). Arguments: `ids`, the ids
# of its records. Dedup forgets them, so that later copies of those articles are not dropped for them.
records_lost = object()

# Sent by the store when a run starts writing. Arguments: `run_prefix`, the run's key prefix in the store.
run_opened = object()
