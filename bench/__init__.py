"""Benchmarks run by `make bench`: figures to read and compare, never pass/fail tests."""
