"""The local spool: objects storage refused, kept whole on disk until storage answers again."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pipelines.store.objects import LocalStore, ObjectStore, StorageError, content_type


class Spool:
    """Objects that storage refused, kept on local disk under their keys until they can be written.

    One spool directory per output URI, so a spool is only ever drained into the store it was meant for.
    Parts drain before manifests: a manifest never names a part that is not stored yet. Several processes
    (workers of one crawl on one machine) may share it: an object another one drained meanwhile is skipped.
    """

    def __init__(self, root: str | Path, store_uri: str) -> None:
        self.dir = Path(root) / hashlib.sha256(store_uri.encode()).hexdigest()[:16]
        self.store_uri = store_uri
        self._objects = LocalStore(self.dir / "objects")

    def check(self) -> None:
        """Raise StorageError unless the spool can take an object now: found at start, not during an outage."""
        try:
            self.keep(".probe", b"")
            self._objects.delete(".probe")
        except OSError as exc:
            raise StorageError(f"spool directory {self.dir} (STORE_SPOOL_DIR) cannot be written: {exc}") from exc

    def keep(self, key: str, data: bytes) -> Path:
        """Write `key` to the spool whole (raises OSError, e.g. disk full, without leaving half a file)."""
        (self.dir / "uri").parent.mkdir(parents=True, exist_ok=True)
        (self.dir / "uri").write_text(self.store_uri)
        self._objects.put(key, data, "")
        return self.dir / "objects" / key

    def get(self, key: str) -> bytes | None:
        return self._objects.get(key)

    def keys(self) -> list[str]:
        return sorted(self._objects.list(""), key=lambda key: (key.endswith("manifest.json"), key))

    def drain(self, store: ObjectStore, on_manifest: Any = None) -> list[str]:
        """Write every spooled object to `store`, oldest run first; stops at the first failure (raises).

        `on_manifest(data) -> data` may rewrite a spooled manifest before it is written.
        """
        written = []
        for key in self.keys():
            data = self._objects.get(key)
            if data is None:  # drained by another process meanwhile
                continue
            if key.endswith("manifest.json") and on_manifest is not None:
                data = on_manifest(data)
            store.put(key, data, content_type(key))
            self._objects.delete(key)
            written.append(key)
        return written
