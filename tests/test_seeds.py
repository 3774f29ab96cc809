"""Seeds file parsing: the documented format loads, every kind of bad file is refused with file, key and problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from model.seeds import SeedsError, load_seeds, parse_seeds

ROOT = Path(__file__).resolve().parent.parent

GOOD = """
name: openai
keywords: [OpenAI, Altman]
since: 2025-01-01
sites:
  - name: numerama
    start_urls: ["https://www.numerama.com/tech/"]
    feeds: ["https://www.numerama.com/feed/"]
    sitemaps: ["https://www.numerama.com/sitemap_news.xml"]
    allow: ['/\\d{4}/']
    deny: ['/tag/', '/auteur/']
"""


def test_documented_example_loads() -> None:
    seeds = parse_seeds(GOOD)
    assert seeds.name == "openai"
    assert seeds.since == dt.date(2025, 1, 1)
    site = seeds.sites[0]
    assert site.domains == {"www.numerama.com"}
    assert site.is_article_url("https://www.numerama.com/2025/02/openai-musk/")
    assert not site.is_article_url("https://www.numerama.com/tag/2025/")  # deny wins over allow
    assert not site.is_article_url("https://www.numerama.com/tech/")  # allow not matched


def test_shipped_seed_files_are_valid() -> None:
    files = sorted((ROOT / "seeds").glob("*.yaml"))
    assert files, "seeds/ ships at least one topic file"
    for path in files:
        seeds = load_seeds(path)
        assert len(seeds.sites) >= 10, f"{path.name} lists at least 10 outlets"
        assert all(site.feeds or site.sitemaps for site in seeds.sites)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nsites: [\n", "line"),  # YAML syntax error names a position
        ("name: x\nsites:\n  - name: a\n    start_urls: ['https://a.fr/']\n    feed: ['https://a.fr/f']\n", "sites[0].feed: unknown key"),
        ("name: x\n", "sites: required key is missing"),
        ("name: x\nsites: []\n", "sites: List should have at least 1 item"),
        ("name: x\nsites:\n  - name: a\n    start_urls: ['https://a.fr/']\n    allow: ['(']\n", "sites[0].allow[0]: bad regex '('"),
        ("name: x\nsites:\n  - name: a\n    feeds: ['ftp://a.fr/feed']\n", "sites[0].feeds[0]: not an http(s) URL"),
        ("name: x\nsites:\n  - name: a\n    feeds: ['not a url']\n", "sites[0].feeds[0]: not an http(s) URL"),
        ("name: x\nsites:\n  - name: a\n", "sites[0]: a site needs at least one of start_urls, feeds, sitemaps"),
        ("name: Bad Name\nsites:\n  - name: a\n    feeds: ['https://a.fr/f']\n", "name: 'Bad Name' must be lower-case"),
        ("name: x\nsince: someday\nsites:\n  - name: a\n    feeds: ['https://a.fr/f']\n", "since: Input should be a valid date"),
        ("- just\n- a list\n", "(top level): expected a mapping"),
        ("name: x\nsites:\n  - {name: a, feeds: ['https://a.fr/f']}\n  - {name: a, feeds: ['https://b.fr/f']}\n", "site names must be unique"),
    ],
)
def test_bad_seeds_name_file_key_and_problem(text: str, expected: str) -> None:
    with pytest.raises(SeedsError) as info:
        parse_seeds(text, "topic.yaml")
    message = str(info.value)
    assert message.startswith("topic.yaml: ")
    assert expected in message


def test_unreadable_file_is_a_seeds_error(tmp_path: Path) -> None:
    with pytest.raises(SeedsError, match="cannot read seeds file"):
        load_seeds(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SeedsError, match=str(binary)):
        load_seeds(binary)
