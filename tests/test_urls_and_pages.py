"""URL canonicalization and the spider's page judgements (pure helpers)."""

from __future__ import annotations

import pytest
from lxml.html import document_fromstring

from model.pages import Decoded, binary_kind, decode_html, declared_page_type, is_listing_url
from model.urls import request_url, url_key


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.ex.fr/2025/02/openai-musk/",
        "http://ex.fr/2025/02/openai-musk",
        "https://ex.fr/2025/02/openai-musk/?utm_source=twitter&utm_medium=social",
        "https://ex.fr/2025/02/openai-musk/?xtor=RSS-1&fbclid=abc#comments",
        "https://ex.fr/2025/02/openai-musk/amp/",
        "https://ex.fr/amp/2025/02/openai-musk/",
        "https://amp.ex.fr/2025/02/openai-musk/",
        "https://ex.fr/2025/02/openai-musk/?amp=1",
        "https://ex.fr/2025/02/openai-musk/?print=1",
        "https://ex.fr/2025/02/openai-musk/print/",
    ],
)
def test_every_rendering_of_an_article_has_one_key(variant: str) -> None:
    assert url_key(variant) == url_key("https://ex.fr/2025/02/openai-musk/")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://ex.fr/2025/02/openai-musk/", "https://ex.fr/2025/02/openai-altman/"),
        ("https://ex.fr/article?id=1", "https://ex.fr/article?id=2"),
        ("https://ex.fr/x", "https://other.fr/x"),
        ("https://ex.fr/amplifier-le-son/", "https://ex.fr/le-son/"),
    ],
)
def test_different_articles_keep_different_keys(a: str, b: str) -> None:
    assert url_key(a) != url_key(b)


def test_request_url_drops_tracking_but_keeps_meaningful_parameters() -> None:
    assert request_url("https://Ex.fr/a/?id=3&utm_campaign=x&gclid=y#top") == "https://ex.fr/a/?id=3"


def test_declared_page_type() -> None:
    article = '<html><head><meta property="og:type" content="article"></head></html>'
    jsonld = '<script type="application/ld+json">{"@graph": [{"@type": "WebSite"}, {"@type": ["NewsArticle"]}]}</script>'
    microdata = '<div itemscope itemtype="https://schema.org/BlogPosting"></div>'
    listing = '<script type="application/ld+json">{"@type": "CollectionPage"}</script>'
    broken = '<script type="application/ld+json">{not json</script><p>hi</p>'
    assert declared_page_type(document_fromstring(article)) == "article"
    assert declared_page_type(document_fromstring(jsonld)) == "article"
    assert declared_page_type(document_fromstring(microdata)) == "article"
    assert declared_page_type(document_fromstring(listing)) == "listing"
    assert declared_page_type(document_fromstring(broken)) == "unknown"


@pytest.mark.parametrize(
    ("url", "listing"),
    [
        ("https://ex.fr/tag/openai/", True),
        ("https://ex.fr/category/tech/", True),
        ("https://ex.fr/page/2/", True),
        ("https://ex.fr/auteur/jean-dupont/", True),
        ("https://ex.fr/contact/", True),
        ("https://ex.fr/mentions-legales/", True),
        ("https://ex.fr/2025/02/11/openai-rejette-offre/", False),
        ("https://ex.fr/tech/openai-contacte-musk/", False),
    ],
)
def test_listing_urls(url: str, listing: bool) -> None:
    assert is_listing_url(url) is listing


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"%PDF-1.7\n...", "pdf"),
        (b"\x89PNG\r\n\x1a\n....", "image"),
        (b'  {"articles": []}', "json"),
        (b"\x00\x01binary", "binary"),
        (b"<!doctype html><p>ok</p>", None),
    ],
)
def test_binary_bodies_are_recognised_whatever_their_content_type(body: bytes, kind: str | None) -> None:
    assert binary_kind(body) == kind


def test_wrongly_declared_charset_falls_back_without_mojibake() -> None:
    body = "<p>L’Élysée a déjà réagi à l’offre</p>".encode("cp1252")
    decoded = decode_html(body, "utf-8")
    assert decoded.fell_back
    assert "L’Élysée a déjà réagi" in decoded.text
    assert "\ufffd" not in decoded.text
    assert decode_html("déjà".encode(), "utf-8") == Decoded("déjà", "utf-8", False, 0)


ARTICLE_FR = "<p>L’Élysée a déjà réagi à l’offre de Musk ; « c’est non », répète la société.</p>"


@pytest.mark.parametrize("declared", ["utf-8", None])
def test_a_utf8_page_with_stray_bytes_stays_utf8_with_the_stray_bytes_replaced(declared: str | None) -> None:
    body = ARTICLE_FR.encode() + b"<footer>\xa9 2025 Caf\xe9 M\xc3\xa9dia</footer>"
    decoded = decode_html(body, declared)
    assert decoded.encoding == "utf-8"
    assert ARTICLE_FR in decoded.text, "no mojibake in the article"
    assert decoded.replaced == 2
    assert decoded.fell_back == (declared is None)


@pytest.mark.parametrize("declared", ["cp1252", "gb18030", "iso8859-15"])
def test_a_stale_declared_charset_on_utf8_bytes_is_ignored(declared: str) -> None:
    decoded = decode_html(ARTICLE_FR.encode(), declared)
    assert (decoded.text, decoded.encoding, decoded.fell_back) == (ARTICLE_FR, "utf-8", True)


def test_windows_1252_pages_are_not_taken_for_utf8_by_an_accidental_sequence() -> None:
    body = ("<p>Prix : 12 €, déjà payé à l’avance ; voilà.</p>".encode("cp1252") + "Ã©".encode("cp1252"))
    decoded = decode_html(body, None)
    assert decoded.encoding == "cp1252"
    assert "12 €, déjà payé à l’avance" in decoded.text
    ascii_page = decode_html(b"<p>plain</p>", "cp1252")
    assert (ascii_page.encoding, ascii_page.fell_back) == ("cp1252", False), "ASCII agrees with its declaration"


