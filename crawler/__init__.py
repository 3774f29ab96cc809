"""The newsdedup Scrapy project: settings, items, seeds, spiders."""

from crawler.redact import install as _install_log_redaction

_install_log_redaction()

