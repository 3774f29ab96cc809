"""Test-only helpers: real S3 (Ceph RGW) and Redis servers started by the harness."""
