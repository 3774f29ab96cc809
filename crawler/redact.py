"""Keep credentials out of logs: Scrapy logs every overridden setting, and requests show their URL, user info included.

Every log record is redacted when it is made (a log record factory), whichever logger made it: a filter on a
logger is not applied to the records of its child loggers, and Scrapy replaces its root handler when the
crawler starts, so neither carries a filter to every record.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["install", "redact", "redact_record"]

# A setting named like a secret, as pprint shows it in Scrapy's "Overridden settings" line.
_SECRET_SETTING = re.compile(r"('[A-Z0-9_]*(?:SECRET|PASSWORD|TOKEN|_KEY)[A-Z0-9_]*':\s*)'[^']*'")
# The password in a URL's user info (redis://:password@host, https://user:password@host), scheme or not: error
# messages print the bare netloc (`invalid hostname: user:password@host`).
_URL_PASSWORD = re.compile(r"((?:\b[a-z][a-z0-9+.-]*://)?[^:/@\s]*:)[^@\s/]+@", re.IGNORECASE)
_TRACEBACKS = logging.Formatter()


def redact(text: str) -> str:
    """`text` with secret setting values and URL passwords replaced by ***."""
    text = _SECRET_SETTING.sub(r"\1'***'", text)
    return _URL_PASSWORD.sub(r"\1***@", text) if "@" in text else text  # the regex tries every position of the text


def redact_record(record: logging.LogRecord) -> None:
    """Rewrite a record's message, and the traceback it carries, when they hold a secret."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        return  # a malformed call: the handler reports it as logging does, the caller must not fail here
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))  # formatters use it as given


def _handled(record: logging.LogRecord) -> bool:
    """Whether a handler will take the record, as `Logger.callHandlers` finds them (no handler at all: the last
    resort's). Scrapy makes a DEBUG record for every item, its whole text in the message, that an INFO handler then
    drops: formatting and redacting those cost the crawl's main process more than its own work on the page."""
    logger: logging.Logger | None = logging.getLogger(record.name)
    found = False
    while logger is not None:
        for handler in logger.handlers:
            found = True
            if record.levelno >= handler.level:
                return True
        logger = logger.parent if logger.propagate else None
    return not found


class _RedactingFactory:
    """The log record factory in place, with every record that a handler will take redacted."""

    def __init__(self, make: Any) -> None:
        self.make = make

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.make(*args, **kwargs)
        if _handled(record):
            redact_record(record)
        return record


def install() -> None:
    """Redact every log record of the process from now on (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(factory))
