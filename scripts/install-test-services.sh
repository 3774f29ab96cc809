#!/usr/bin/env bash
# Install the real programs the test suite starts: Ceph RGW (S3), Redis, and headless Chromium (the report page
# is checked as rendered, over the DevTools protocol; no chromedriver needed).
# Idempotent: a fast no-op when the binaries are already on PATH.
set -euo pipefail

PACKAGES=(radosgw ceph-mon ceph-osd ceph-common redis-server chromium fonts-dejavu-core)
BINARIES=(radosgw radosgw-admin ceph ceph-mon ceph-osd monmaptool redis-server chromium)

missing=()
for binary in "${BINARIES[@]}"; do
    command -v "$binary" >/dev/null 2>&1 || missing+=("$binary")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
else
    SUDO=(sudo)
fi

echo "install-test-services: missing ${missing[*]}; installing ${PACKAGES[*]}" >&2
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${PACKAGES[@]}"

for binary in "${BINARIES[@]}"; do
    command -v "$binary" >/dev/null 2>&1 || {
        echo "install-test-services: $binary still missing after install" >&2
        exit 1
    }
done
