"""Pure detectors of the answers that are not articles: bot challenges, consent walls, paywalls, soft 404s, link lists.

General markers only (a vendor's own headers and markup, consent and not-found wording in the major languages,
schema.org's `isAccessibleForFree`), never a rule for one site. The challenge detector runs on raw responses in a
downloader middleware (crawler/challenges.py), the others on parsed pages in extraction (pipelines/extract/core.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from lxml.html import HtmlElement

__all__ = [
    "CHALLENGE_VENDORS",
    "challenge_vendor",
    "consent_markup",
    "consent_wall",
    "is_paywalled",
    "is_link_list",
    "soft_404",
]

# Vendor -> how the report names it.
CHALLENGE_VENDORS = {
    "aws_waf": "AWS WAF",
    "cloudflare": "Cloudflare",
    "datadome": "DataDome",
    "perimeterx": "PerimeterX",
    "imperva": "Imperva",
    "captcha": "captcha page",
}
# Markup found only on a vendor's challenge page, never on the pages it lets through (Cloudflare injects its
# challenge-platform script into ordinary pages too, so that path alone proves nothing). Lower-cased literals:
# `in` on the lower-cased head costs a tenth of what case-insensitive regexes cost on every page the crawl fetches.
_CHALLENGE_MARKERS = {
    "aws_waf": (b"awswafintegration", b"awswaf.com", b"gokuprops"),
    "cloudflare": (b"_cf_chl_opt", b"cf-chl-"),
    "datadome": (b"captcha-delivery.com",),
    "perimeterx": (b"px-captcha", b"_pxcaptcha"),
    "imperva": (b"_incapsula_resource", b"incapsula incident id"),
}
_CHALLENGE_TITLES = {"cloudflare": (b"just a moment...", b"attention required! | cloudflare")}
# A captcha widget on its own is often a comment form's: it names a challenge page only when the answer is an error
# (or AWS WAF's 202) or the page's title asks to prove one is human.
_CAPTCHA_WIDGETS = (b"captcha", b"cf-turnstile")  # g-recaptcha, h-captcha and the vendors' own names include "captcha"
_CAPTCHA_TITLE = re.compile(
    rb"captcha|robot|are you (?:a )?human|verify you are human|access denied|v\xc3\xa9rification|security check|"
    rb"bot protection"
)
_TITLE = re.compile(rb"<title[^>]*>\s*([^<]{0,100})")
_CHALLENGE_STATUSES = frozenset({202, 401, 403, 405, 429, 503})
_SCANNED = 64 * 1024  # challenge pages are small; their markers sit near the top


def challenge_vendor(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """The vendor whose bot challenge this response is (a key of CHALLENGE_VENDORS), else None.

    `headers` maps lower-case names to values. AWS WAF marks its challenges with `x-amzn-waf-action` (and
    answers 202); Cloudflare with `cf-mitigated: challenge`; DataDome's header is on every response of a site
    it protects, so it only counts on an error answer.
    """
    if "x-amzn-waf-action" in headers:
        return "aws_waf"
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return "cloudflare"
    if status in _CHALLENGE_STATUSES and "x-datadome" in headers and status != 202:
        return "datadome"
    head = body[:_SCANNED].lower()
    for vendor, markers in _CHALLENGE_MARKERS.items():
        if any(marker in head for marker in markers):
            return vendor
    found = _TITLE.search(head)
    title = found.group(1) if found else b""
    for vendor, titles in _CHALLENGE_TITLES.items():
        if title.startswith(titles):
            return vendor
    if any(widget in head for widget in _CAPTCHA_WIDGETS) and (
        status in _CHALLENGE_STATUSES or _CAPTCHA_TITLE.search(title)
    ):
        return "captcha"
    return None


# Ids and classes of the consent-management platforms (Didomi, OneTrust, Quantcast Choice, Sourcepoint,
# Usercentrics, Cookiebot, TrustArc, Google Funding Choices, consentmanager) and of generic consent banners.
_CONSENT_MARKUP = re.compile(
    r"didomi|onetrust|optanon|qc-cmp|quantcast|sp_message|sp-message-container|usercentrics|cookiebot|"
    r"trustarc|truste-|fc-consent|cmpbox|consentmanager|cookie-?consent|consent-?(?:wall|banner|popup)|"
    r"cookie-?(?:wall|banner)|gdpr-?consent",
    re.IGNORECASE,
)
# The wording of consent dialogs (their buttons and their first lines), not the words of an article about
# cookies: English, French, German, Spanish, Italian, Portuguese, Dutch, Polish. Matched on lower-cased text, which
# is several times faster than IGNORECASE.
_CONSENT_WORDING = re.compile(
    r"\b(?:we use cookies|this (?:site|website) uses cookies|accept all(?: cookies)?|reject all|"
    r"manage (?:your )?(?:cookie )?(?:preferences|choices|settings|consent)|cookie (?:settings|preferences)|"
    r"your privacy choices|we and our (?:\d+ )?partners|continue without accepting|"
    # the purposes of IAB's Transparency and Consent Framework, worded alike by every CMP that implements it
    r"store and/or access information on a device|personali[sz]ed (?:advertising|ads) and content|"
    r"stocker et/ou accéder à des informations|publicités et contenu personnalisés|"
    r"informationen auf einem gerät speichern|almacenar (?:o|y/o) acceder a información|"
    r"archiviare e/o accedere a informazioni|armazenar e/ou aceder a informações|"
    r"(?:nous utilisons|ce site utilise) des cookies|utilisation (?:de|des) cookies|accepter et (?:fermer|continuer)|"
    r"tout accepter|tout refuser|continuer sans accepter|nos partenaires et nous|nous et nos (?:\d+ )?partenaires|"
    r"(?:gérer|paramétrer|personnaliser) (?:mes |vos |les )?(?:choix|préférences|cookies)|vos choix concernant|"
    r"wir verwenden cookies|alle akzeptieren|alle ablehnen|wir und unsere partner|zustimmen und weiter|"
    r"cookie-einstellungen|datenschutzeinstellungen|"
    r"utilizamos cookies|aceptar (?:todas|todo|las cookies)|rechazar todas|nosotros y nuestros socios|"
    r"configurar cookies|utilizziamo (?:i )?cookie|accetta tutt[io]|rifiuta tutt[io]|noi e i nostri partner|"
    r"gestisci (?:le )?preferenze|aceitar (?:todos|tudo|os cookies)|rejeitar todos|nós e os nossos parceiros|"
    r"wij gebruiken cookies|alle cookies accepteren|wij en onze partners|"
    r"używamy plików cookie|akceptuję wszystkie|zaakceptuj wszystkie|my i nasi partnerzy)"
)
_CONSENT_SHARE = 0.5  # of the extracted words, in paragraphs worded as a consent dialog
# Consent dialogs are short: a page with more words has a body, whatever banner it carries (and the regex costs
# more than the rest of the check on a long article).
_CONSENT_MAX_WORDS = 1000


def consent_markup(html: str) -> bool:
    """Whether the page carries a consent-management platform or banner: a page with no article body and this
    markup is a consent wall (the body is only sent after consent)."""
    return bool(_CONSENT_MARKUP.search(html))


def consent_wall(paragraphs: Sequence[str]) -> bool:
    """Whether the extracted page is a consent dialog: most of its words in paragraphs worded as one (a headline
    about consent buttons is news; a page made of them is the dialog)."""
    sizes = [len(paragraph.split()) for paragraph in paragraphs]
    total = sum(sizes)
    if not total or total > _CONSENT_MAX_WORDS:
        return False
    lowered = [paragraph.lower() for paragraph in paragraphs]
    if not _CONSENT_WORDING.search("\n".join(lowered)):  # one pass for the many pages without any
        return False
    worded = sum(size for size, paragraph in zip(sizes, lowered) if _CONSENT_WORDING.search(paragraph))
    return worded >= _CONSENT_SHARE * total


# A not-found page's title or heading, alone or beside the site's name, in the major languages.
_NOT_FOUND = re.compile(
    r"(?:(?:oops|oups|ups|erreur|error|fehler|errore|fout|błąd|erro)\W*)?(?:\b404\b\W*)?"
    r"(?:page (?:not found|introuvable|non trouvée|inexistante)|not found|(?:this )?page (?:does not|doesn['’]t) exist|"
    r"(?:the )?page (?:you requested |you are looking for )?(?:could not|cannot|can['’]t) be found|"
    r"(?:cette )?page n['’]existe (?:pas|plus)|seite nicht gefunden|(?:diese )?seite existiert nicht|"
    r"página no encontrada|(?:la )?página no existe|pagina non trovata|(?:la )?pagina non esiste|"
    r"página não encontrada|pagina niet gevonden|nie znaleziono strony|strona nie istnieje|sidan hittades inte|"
    r"(?:erreur|error|fehler|errore|erro|błąd) 404|404)(?:\W*(?:error|erreur|fehler))?\W*",
    re.IGNORECASE,
)
_TITLE_PARTS = re.compile(r"\s+[|–—·-]\s+|\s*[|–—·]\s*")  # title and site name; not ":" (headlines use it)


def soft_404(tree: HtmlElement) -> str | None:
    """The page's title or first heading when it says "not found" (a soft 404: a not-found page served as 200)."""
    title = next(tree.iter("title"), None)
    heading = next(tree.iter("h1"), None)
    headings = (title.text_content() if title is not None else None,
                " ".join(heading.text_content().split()) if heading is not None else None)  # fmt: skip
    for heading in headings:
        if heading and any(_NOT_FOUND.fullmatch(part) for part in _TITLE_PARTS.split(heading.strip()) if part):
            return heading.strip()
    return None


def is_paywalled(html: str, tree: HtmlElement) -> bool:
    """Whether the page declares its content not free (schema.org `isAccessibleForFree: false`, in JSON-LD or
    microdata): the paywall markup publishers give search engines. `html` is the page `tree` was parsed from:
    most pages do not name the property at all, and are not parsed for it."""
    if "isAccessibleForFree" not in html:
        return False
    for raw in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        if any(_is_false(value) for value in _values(data, "isAccessibleForFree")):
            return True
    return any(_is_false(value) for value in tree.xpath('//*[@itemprop="isAccessibleForFree"]/@content'))


def _values(node: Any, key: str) -> Iterator[Any]:
    if isinstance(node, list):
        for child in node:
            yield from _values(child, key)
    elif isinstance(node, dict):
        if key in node:
            yield node[key]
        for child in node.values():
            if isinstance(child, (list, dict)):
                yield from _values(child, key)


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() in ("false", "no", "0"))


def is_link_list(paragraphs: Sequence[str], link_texts: Iterable[str], share: float) -> bool:
    """Whether at least `share` of the extracted words are in paragraphs that are a link's whole text: a list of
    links (agenda, archive, sitemap pages), not an article, whose links are a few words inside its sentences.
    Link texts are short, so a page of long paragraphs is an article without reading its links."""
    sizes = [len(paragraph.split()) for paragraph in paragraphs]
    total = sum(sizes)
    if not total or sum(size for size in sizes if size <= _LINK_MAX_WORDS) < share * total:
        return False
    links = {_bare(text) for text in link_texts}
    return sum(size for size, paragraph in zip(sizes, paragraphs) if _bare(paragraph) in links) >= share * total


_LINK_MAX_WORDS = 30  # words of the longest link text counted (a headline)


def _bare(text: str) -> str:
    """Text without list bullets and with single spaces, as trafilatura writes a list item."""
    return " ".join(text.split()).lstrip("-•*· ")
