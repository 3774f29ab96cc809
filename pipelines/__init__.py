"""Item pipelines of newsdedup: extract -> select -> dedup -> store, each a thin Scrapy adapter over a pure core."""
