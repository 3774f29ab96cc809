"""Metadata rules (pipelines/extract/metadata.py), the seeds' `languages` and the selection by language."""

from __future__ import annotations

import pytest
from lxml.html import document_fromstring

from model.items import Article
from model.pages import jsonld_objects
from model.seeds import SeedsError, parse_seeds
from pipelines.extract.metadata import (
    Byline, Language, TitleSources, byline, choose_title, detect_language, split_names, title_sources,
)
from pipelines.select import ArticleFilter

FRENCH = (
    "Le conseil d’administration d’OpenAI a rejeté mardi l’offre de rachat présentée par Elon Musk et un groupe "
    "d’investisseurs, estimant qu’elle ne servait pas la mission de l’organisation à but non lucratif. Selon "
    "plusieurs sources proches du dossier, la décision a été prise à l’unanimité après une réunion de plusieurs heures."
)


@pytest.mark.parametrize(
    "sources, expected",
    [
        # The site's name after the headline in the social and window titles, the headline alone in <h1>.
        (TitleSources(h1=("Kühltürme gesprengt",), social=("Kühltürme gesprengt - WELT",),
                      title=("Kühltürme gesprengt - WELT",)), "Kühltürme gesprengt"),
        # A section and a date too, in any script; the headline agreed on by h1 and JSON-LD.
        (TitleSources(h1=("南海トラフ、一時調査 巨大地震",), jsonld=("南海トラフ、一時調査\u3000巨大地震",),
                      title=("南海トラフ、一時調査 巨大地震：中日新聞Web",)), "南海トラフ、一時調査 巨大地震"),
        (TitleSources(h1=("Ukraine: Ziele und Risiken", "Top-Thema"), social=("Ukraine: Ziele und Risiken | DW | 28.04.2023",),
                      title=("Ukraine: Ziele und Risiken | Europa | DW | 28.04.2023",)), "Ukraine: Ziele und Risiken"),
        # A rewritten social title loses to the headline that <h1> and JSON-LD agree on.
        (TitleSources(h1=("Nur ein Drittel kam in die Schule",), jsonld=("Nur ein Drittel kam in die Schule",),
                      social=("Notbetrieb: Kinder erlebten heißen Montag",) * 2,
                      title=("Notbetrieb: Kinder erlebten heißen Montag",)), "Nur ein Drittel kam in die Schule"),
        # Only a window title: the segment that names the site (as it calls itself, or its host) goes.
        (TitleSources(title=("Musk : l’offre rejetée | Numerama",), site_names=("Numerama",)), "Musk : l’offre rejetée"),
        (TitleSources(title=("Tech Daily - Board rejects Musk bid",), site_names=("techdaily.com",)), "Board rejects Musk bid"),
        # A segment that does not name the site stays: it may be the headline's own.
        (TitleSources(title=("Paris - Berlin : le match",), site_names=("lequipe.fr",)), "Paris - Berlin : le match"),
        (TitleSources(), None),
    ],
)  # fmt: skip
def test_the_title_is_the_headline_the_fields_agree_on_without_the_site_name(
    sources: TitleSources, expected: str | None
) -> None:
    assert choose_title(sources) == expected


def test_title_sources_read_the_page_fields_and_the_site_names() -> None:
    tree = document_fromstring(
        '<html><head><title>OpenAI rejette l’offre – Le Journal</title><meta property="og:site_name" content="Le Journal">'
        '<meta property="og:title" content="OpenAI rejette l’offre">'
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "OpenAI rejette l&#8217;offre",'
        ' "publisher": {"@type": "Organization", "name": "Le Journal SA"}}</script></head>'
        "<body><h1>OpenAI rejette l’offre</h1></body></html>"
    )
    sources = title_sources(tree, "https://www.lejournal.example/a", list(jsonld_objects(tree)))
    assert sources.site_names == ("Le Journal", "Le Journal SA", "lejournal.example")
    assert choose_title(sources) == "OpenAI rejette l’offre"


def test_the_detected_language_wins_over_a_wrong_declaration_when_confident() -> None:
    assert detect_language(FRENCH, "en") == Language("fr", "en")
    assert detect_language(FRENCH, None).language == "fr"
    assert detect_language("OpenAI, Musk.", "de") == Language("de", "de"), "too little text: the declaration stands"


@pytest.mark.parametrize(
    "value, names",
    [
        ("Par Jean Dupont et Marie Curie", ["Jean Dupont", "Marie Curie"]),
        ("By Jane Doe, John Smith and Ann Lee", ["Jane Doe", "John Smith", "Ann Lee"]),
        ("Von Max Muster und Erika Mustermann", ["Max Muster", "Erika Mustermann"]),
        ("Trine Juncher Jørgensen og Tôrtia Reimer-Johansen", ["Trine Juncher Jørgensen", "Tôrtia Reimer-Johansen"]),
        ("María R. Sahuquillo; Y. Li", ["María R. Sahuquillo", "Y. Li"]),
    ],
)
def test_bylines_are_split_into_names(value: str, names: list[str]) -> None:
    assert split_names(value) == names


def test_organisations_signing_alone_are_the_source_not_authors() -> None:
    objects = [{"@type": "NewsArticle", "author": {"@type": "NewsMediaOrganization", "name": "BBC News"}}]
    assert byline(objects, None, ["BBC"]) == Byline([], "BBC News")
    people = [{"@type": "Article", "author": [{"@type": "Person", "name": "Rachel Brazil"}, {"name": "AFP"}]}]
    assert byline(people, "Brazil; Rachel", []) == Byline(["Rachel Brazil", "AFP"], None), "JSON-LD before trafilatura's"
    assert byline([], "Par Lucas Musset; Numerama", ["Numerama"]) == Byline(["Lucas Musset"], "Numerama")
    slug = [{"@type": "NewsArticle", "author": [{"@type": "Person", "name": "chuck-ross"}]}]
    assert byline(slug, "Chuck Ross", []) == Byline(["Chuck Ross"], None), "a profile slug is not a name"
    organisation = [{"@type": "NewsArticle", "author": {"@type": "Organization", "name": "毎日新聞"}}]
    assert byline(organisation, "松岡大地", []) == Byline(["松岡大地"], "毎日新聞"), "the page's byline still counts"


def article(language: str | None) -> Article:
    return Article(
        id="x", url="https://a.example/1", canonical_url="https://a.example/1", site="a", title="OpenAI", authors=[],
        published=None, language=language, description=None, tags=[], text="OpenAI", word_count=1, fetched_at="",
    )  # fmt: skip


def test_languages_keep_only_articles_in_them() -> None:
    rule = ArticleFilter(languages=["fr"])
    assert rule.reject_reason(article("en")) == "wrong_language"
    assert rule.reject_reason(article("fr")) is None
    assert rule.reject_reason(article(None)) is None, "unknown, not wrong"
    assert ArticleFilter().reject_reason(article("en")) is None


def test_seeds_languages_are_validated() -> None:
    text = "name: x\nlanguages: [FR, en]\nsites: [{name: a, feeds: ['https://a.example/feed']}]\n"
    assert parse_seeds(text).languages == ["fr", "en"]
    with pytest.raises(SeedsError, match=r"languages: .*'french'"):
        parse_seeds(text.replace("[FR, en]", "[french]"))
