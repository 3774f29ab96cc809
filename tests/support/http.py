"""One way to run the test sites' HTTP servers: each in a daemon thread, shut down and closed when the block ends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import HTTPServer


@contextmanager
def serving(server: HTTPServer, name: str = "test-site") -> Iterator[HTTPServer]:
    """Serve `server` until the block ends (an ExitStack holds several)."""
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
