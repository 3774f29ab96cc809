"""Bundled demo news site: several outlets on loopback hosts, used by `make demo` and the crawl tests."""
