"""Imported once, by the server the extraction workers fork from (ExtractPipeline's forkserver preload): what
every worker would otherwise load on its first pages is loaded there, once per crawl, before any page's time
limit runs, and a pool that replaces a broken one starts with it too.

- htmldate's parser of last resort (dateparser, for dates written in words on pages dated nowhere in their
  markup) reads its ~200 locales on its first parse that no locale recognizes: ~3 s of CPU and ~40 MiB.
- The word-folding table (`model.text.prepare`, ~0.4 s).
- py3langid's model, for the language of every record (~1.5 s).
"""

from htmldate.extractors import get_external_parser

from model import text
from pipelines.extract.metadata import language_identifier

text.prepare()
language_identifier()
get_external_parser().get_date_data("no date 00 in any locale 0000")
