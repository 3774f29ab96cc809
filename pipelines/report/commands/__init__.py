"""Project commands (COMMANDS_MODULE): `scrapy crawl` with a health-aware exit code, and `scrapy report`."""
