"""Keep credentials out of logs: Scrapy logs every overridden setting, secrets included."""

from __future__ import annotations

import logging
import re

# A setting named like a secret, as pprint shows it in Scrapy's "Overridden settings" line.
_SECRET_SETTING = re.compile(r"('[A-Z0-9_]*(?:SECRET|PASSWORD|TOKEN|_KEY)[A-Z0-9_]*':\s*)'[^']*'")
# The password in a URL's user info (redis://:password@host, https://user:password@host).
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with secret setting values and URL passwords replaced by ***."""
    return _URL_PASSWORD.sub(r"\1***@", _SECRET_SETTING.sub(r"\1'***'", text))


class RedactSecrets(logging.Filter):
    """Rewrites a record's message when it holds a secret; other records pass untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install() -> None:
    """Attach the filter to the loggers that print settings and URLs (idempotent)."""
    for name in ("scrapy.crawler", "scrapy.core.engine", "scrapy.downloadermiddlewares", "pipelines", "crawler"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
