"""One exception for every expected drop: its stats key says why, and it logs below WARNING."""

from __future__ import annotations

from scrapy.exceptions import DropItem


class Drop(DropItem):
    """An item dropped on purpose; `reason` is its stats key (e.g. `dedup/near_duplicate`)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}", log_level="DEBUG")
        self.reason = reason
