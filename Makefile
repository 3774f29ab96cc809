# newsdedup: `make demo` and `make test` work on a fresh machine (they run `make setup` first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
SCRAPINGHUB ?= ../shared/bench/extraction/scrapinghub

.PHONY: setup services demo test bench bench-extract bench-dedup bench-redis bench-pipeline clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

# Debian packages the tests need: Ceph RGW (a real S3-compatible server) and redis-server.
services:
	bash scripts/install-test-services.sh

demo: setup
	$(BIN)/python -m demo.run

test: setup services
	$(BIN)/python -m pytest

bench: bench-dedup bench-extract bench-redis bench-pipeline

bench-dedup: setup
	$(BIN)/python -m bench.dedup --data $(SCRAPINGHUB)

bench-redis: setup services
	$(BIN)/python -m bench.redis_dedup

bench-extract: setup
	$(BIN)/python -m bench.extraction --data $(SCRAPINGHUB)

# The whole crawl (local directory and Ceph RGW) against plain trafilatura on a 2,400-page local site.
bench-pipeline: setup services
	$(BIN)/python -m bench.pipeline --data $(SCRAPINGHUB)

clean:
	rm -rf output .newsdedup-spool .pytest_cache
