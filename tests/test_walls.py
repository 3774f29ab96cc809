"""The detectors of non-article answers (model/walls.py), on bytes and parsed pages: each marker, and the
article pages that carry a consent banner, a comment captcha or a few links and must not be taken for walls."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from lxml.html import fromstring

from model.walls import challenge_vendor, consent_markup, consent_wall, is_link_list, is_paywalled, soft_404

ARTICLE = "<p>" + " ".join(["Le conseil a voté le budget de la ville après trois heures de débat."] * 20) + "</p>"


@pytest.mark.parametrize(
    ("status", "headers", "body", "vendor"),
    [
        (202, {"x-amzn-waf-action": "challenge"}, b"<html><script src='/challenge.js'></script></html>", "aws_waf"),
        (202, {}, b"<script>window.gokuProps = {};</script><script>AwsWafIntegration.getToken()</script>", "aws_waf"),
        (403, {"server": "cloudflare"}, b"<html><head><title>Just a moment...</title></head></html>", "cloudflare"),
        (503, {}, b"<script>window._cf_chl_opt={cvId: '3'};</script>", "cloudflare"),
        (403, {"cf-mitigated": "challenge"}, b"", "cloudflare"),
        (403, {"x-datadome": "protected"}, b"<html></html>", "datadome"),
        (200, {}, b"<iframe src='https://geo.captcha-delivery.com/captcha/?initialCid=x'></iframe>", "datadome"),
        (403, {}, b"<div id='px-captcha'></div>", "perimeterx"),
        (200, {}, b"<title>Are you a robot?</title><div class='g-recaptcha'></div>", "captcha"),
        (429, {}, b"<form><div class='h-captcha' data-sitekey='x'></div></form>", "captcha"),
    ],
)
def test_bot_challenges_are_named_by_vendor(status: int, headers: dict[str, str], body: bytes, vendor: str) -> None:
    assert challenge_vendor(status, headers, body) == vendor


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        # Cloudflare's bot-management script is on the pages it lets through too.
        (200, {"server": "cloudflare"}, b"<script src='/cdn-cgi/challenge-platform/scripts/jsd/main.js'></script>"
                                        + ARTICLE.encode()),  # fmt: skip
        (200, {"x-datadome": "protected"}, ARTICLE.encode()),  # DataDome marks every answer of a site it protects
        (200, {}, b"<title>Budget</title>" + ARTICLE.encode() + b"<form><div class='g-recaptcha'></div></form>"),
        (404, {}, b"<title>Not found</title>"),
    ],
)
def test_pages_a_protection_lets_through_are_not_challenges(status: int, headers: dict[str, str], body: bytes) -> None:
    assert challenge_vendor(status, headers, body) is None


@pytest.mark.parametrize(
    "paragraphs",
    [
        ["Vos choix concernant l'utilisation de cookies",
         "Nous et nos 842 partenaires stockons et accédons à des informations sur votre appareil.",
         "Vous pouvez modifier vos choix à tout moment.", "Accepter et fermer", "Continuer sans accepter"],
        ["We use cookies", "We and our partners store and/or access information on a device, such as cookies.",
         "Accept all", "Manage preferences"],
        ["Wir verwenden Cookies und ähnliche Technologien.", "Alle akzeptieren", "Einstellungen"],
        ["Utilizziamo i cookie per migliorare la tua esperienza.", "Accetta tutti", "Rifiuta tutti"],
        ["Utilizamos cookies propias y de terceros.", "Aceptar todas", "Rechazar todas"],
    ],
)  # fmt: skip
def test_consent_dialogs_in_several_languages(paragraphs: list[str]) -> None:
    assert consent_wall(paragraphs)


def test_a_long_page_is_not_a_consent_dialog_whatever_its_banner() -> None:
    assert not consent_wall(["Accepter et fermer", "Tout refuser", *["Le conseil a voté le budget de la ville."] * 200])


def test_an_article_about_consent_buttons_is_not_a_wall() -> None:
    paragraphs = [
        "La CNIL a infligé une amende de 150 millions d'euros à Google pour ses bandeaux de cookies.",
        "Le régulateur reproche au moteur de recherche de ne pas offrir de bouton « Tout refuser » aussi simple "
        "que le bouton « Tout accepter », ce qui pousse les internautes à consentir.",
        *["Selon la décision, les internautes devaient cliquer plusieurs fois pour refuser le suivi publicitaire, "
          "alors qu'un seul clic suffisait pour l'accepter, ce que la loi interdit depuis 2020."] * 3,
    ]  # fmt: skip
    assert not consent_wall(paragraphs)


def test_consent_platform_markup() -> None:
    assert consent_markup('<div id="didomi-host"></div>')
    assert consent_markup('<div class="qc-cmp2-container"></div>')
    assert consent_markup('<div id="onetrust-banner-sdk"></div>')
    assert consent_markup('<div id="sp_message_container_123"></div>')
    assert not consent_markup("<html><body>" + ARTICLE + "</body></html>")


@pytest.mark.parametrize(
    ("title", "h1"),
    [
        ("Page introuvable - Le Journal", "Oups !"),
        ("Le Journal", "Erreur 404 : page introuvable"),
        ("404 Not Found", None),
        ("Seite nicht gefunden | Zeitung", None),
        ("Página no encontrada", None),
        ("Pagina non trovata – Giornale", None),
        ("Le Journal", "Cette page n'existe pas"),
    ],
)
def test_soft_404_pages_by_their_title_or_heading(title: str, h1: str | None) -> None:
    heading = f"<h1>{h1}</h1>" if h1 else ""
    assert soft_404(fromstring(f"<html><head><title>{title}</title></head><body>{heading}{ARTICLE}</body></html>"))


@pytest.mark.parametrize(
    "title",
    ["Le site de la mairie renvoyait une page introuvable depuis des mois", "404 : le film événement de l'été",
     "Pourquoi tant de pages « not found » sur les sites publics ?"],
)  # fmt: skip
def test_articles_about_missing_pages_are_not_soft_404s(title: str) -> None:
    assert soft_404(fromstring(f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{ARTICLE}</body></html>")) is None


@pytest.mark.parametrize(
    ("markup", "paywalled"),
    [
        ({"@type": "NewsArticle", "isAccessibleForFree": False}, True),
        ({"@type": "NewsArticle", "isAccessibleForFree": "False"}, True),
        ({"@graph": [{"@type": "WebPage"}, {"@type": "NewsArticle", "hasPart": {"isAccessibleForFree": "false"}}]}, True),
        ({"@type": "NewsArticle", "isAccessibleForFree": True}, False),
        ({"@type": "NewsArticle"}, False),
    ],
)
def test_paywall_declared_in_json_ld(markup: dict[str, object], paywalled: bool) -> None:
    page = f'<html><head><script type="application/ld+json">{json.dumps(markup)}</script></head><body></body></html>'
    assert is_paywalled(page, fromstring(page)) is paywalled


def test_paywall_declared_in_microdata() -> None:
    page = '<html><body><div itemscope><meta itemprop="isAccessibleForFree" content="false"></div></body></html>'
    assert is_paywalled(page, fromstring(page))


def test_a_list_of_links_is_told_from_an_article() -> None:
    months = [f"Agenda de {month} 2025" for month in ("janvier", "février", "mars", "avril", "mai", "juin")]
    events = [f"Concert au parc, soirée numéro {n}" for n in range(20)]
    assert is_link_list([*months, *(f"- {event}" for event in events)], [*months, *events], 0.5)
    article = ["Le conseil municipal a voté le budget, a expliqué le maire au Journal de la ville ce mardi soir."] * 6
    assert not is_link_list([*article, "Journal de la ville"], ["Journal de la ville", "Accueil", "Contact"], 0.5)
    brief = ["Le maire a signé.", "Accueil", "Contact", "Le budget est voté ce soir par le conseil."]
    assert not is_link_list(brief, ["Accueil", "Contact"], 0.5)
    assert not is_link_list([], ["x"], 0.5)


def test_a_long_article_is_never_read_for_its_links() -> None:
    def links() -> Iterator[str]:
        raise AssertionError("links read")
        yield ""

    assert not is_link_list(["un mot " * 40] * 5, links(), 0.5)
