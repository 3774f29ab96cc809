"""Clean-up rules applied to trafilatura's paragraphs: the page furniture it systematically leaves in.

trafilatura keeps whatever sits inside the article container, so share and follow lines, newsletter and
community promos, affiliate disclosures, ad labels, "Read more:" links, comment counters, bylines, datelines,
copyright and syndication notes, and the headline itself come out as paragraphs of the text. Each rule here
recognises one kind by its wording (English and French) or its shape, and removes the whole paragraph; no rule
edits words inside a paragraph, and none is keyed to a site. Wording rules only fire on short paragraphs that
*are* the furniture (anchored, length-capped), so an article sentence that merely mentions a newsletter,
Discord or a comment stays. Measured by `make bench-extract`, tested in tests/test_cleanup.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from model.text import words

__all__ = ["RULES", "clean_paragraphs"]

# Furniture is short: a paragraph longer than this is article text whatever it says.
MAX_FURNITURE_WORDS = 70

_NETWORKS = (
    r"(?:twitter|x|facebook|instagram|linkedin|youtube|tiktok|threads|bluesky|mastodon|pinterest|reddit"
    r"|whatsapp|telegram|snapchat|flipboard|google news|google actualités|e-?mail|rss)"
)
# Related-content lead-ins: alone they head a teaser list, followed by a colon they introduce one link.
_RELATED_EN = (
    r"(?:related(?: articles?| stories| posts?| coverage| content| reading| links?| news)?"
    r"|read (?:more|also|next|this)|also read|see also|more (?:on|about) (?:this|that|the) (?:story|topic|subject)"
    r"|more from (?:\S+ ?){1,4}|more|also|recommended(?: for you| stories| articles)?"
    r"|you (?:may|might) (?:also )?(?:like|enjoy|be interested in)"
    r"|most (?:read|popular|viewed|shared)(?: (?:in|on|from|at) [\w .'’&-]{1,40})?|trending(?: now| stories)?"
    r"|further reading|editor'?s? picks?|don'?t miss|latest (?:news|stories|articles|posts)"
    r"|recent (?:posts|articles|stories|news)"
    r"|(?:more|top) (?:great |top |recent |popular )?(?:[\w'’&-]+ ){0,2}(?:stories|articles|news|headlines|videos))"
)
_RELATED_FR = (
    r"(?:(?:à |a )?lire (?:aussi|également|egalement|ensuite|la suite)|(?:à |a )?voir (?:aussi|également)"
    r"|sur le même sujet|sur le meme sujet|dans la même rubrique|(?:à |a )?découvrir(?: aussi| également)?"
    r"|découvrez (?:aussi|également)|en savoir plus|pour aller plus loin"
    r"|articles? (?:récents?|recents?|similaires?|liés?|associés?|populaires?|recommandés?)"
    r"|(?:les )?(?:plus lus|derniers articles|dernières actualités|dernières infos)|les articles les plus lus"
    r"|nos (?:derniers )?articles|vous (?:aimerez|aimeriez|pourriez aimer) (?:aussi|également)"
    r"|ça peut vous intéresser|plus d['’](?:articles|actualités|infos))"
)
# A byline's name: capitalised words (case-sensitive even inside the case-insensitive rules), then maybe
# ", Outlet" or "| date" ("By Jane Doe, Reuters", "Par Jean Dupont | 16 mars 2025").
_NAME = (
    r"(?-i:[A-ZÀ-Ý][\w'’.-]*(?:\s+(?:[A-ZÀ-Ý][\w'’.-]*|and|et|de|du|des|van|von|der|la|le|&)){0,5})"
    r"(?:\s*[,|/–—-]\s*(?-i:[A-Z0-9À-Ý][\w'’.]*)(?:\s+[^\s]+){0,5})?"
)


def _rule(en: str, fr: str) -> dict[str, str]:
    return {"en": en, "fr": fr}


# Each rule: a regular expression per language, matched (case-insensitively) against the whole paragraph, which
# may also start with a list bullet and end with punctuation.
RULES: dict[str, dict[str, str]] = {
    "share": _rule(
        rf"(?:share|tweet|pin|email)(?: (?:this|the) (?:article|story|post|page|video))?"
        rf"(?: (?:on|via|by) {_NETWORKS})?|like this (?:story|article)\? share it.{{0,60}}"
        rf"|share (?:this|the) (?:article|story)(?: with .{{0,40}})?|{_NETWORKS}(?:[\s,/|·•]+{_NETWORKS})*",
        rf"partag(?:er|ez)(?: (?:l['’]article|cet article|la vidéo|cette page))?(?: (?:sur|par|via) {_NETWORKS})?"
        rf"|copier le lien|{_NETWORKS}(?:[\s,/|·•]+{_NETWORKS})*",
    ),
    "follow": _rule(
        rf"follow (?:us|@?[\w'’.-]+(?: [\w'’.-]+){{0,8}})\b.{{0,120}}\b(?:on|at|via) (?:{_NETWORKS}|@\w+|https?://)"
        rf".{{0,160}}|follow us|follow @\w+.{{0,200}}"
        rf"|(?:reach|contact) (?:the )?(?:reporters?|writers?|authors?) (?:on|at) .{{0,160}}",
        rf"suivez(?:-nous| nous)?(?: .{{0,80}})? (?:sur|via) (?:{_NETWORKS}|@\w+|https?://).{{0,160}}|suivez-nous",
    ),
    "advertising": _rule(
        r"advertisement|advertising|ad|ads|sponsored(?: content| post)?|paid (?:content|post)|partner content"
        r"|(?:story|article) continues below(?: (?:this )?(?:advertisement|ad))?"
        r"|continue reading (?:below|the main story)|scroll (?:down )?to continue(?: with content| reading)?",
        r"publicité|publicite|pub|annonce|contenu sponsorisé|contenu partenaire|article sponsorisé"
        r"|la suite (?:de l['’]article |de cet article )?(?:après|apres|sous) (?:cette |la )?(?:publicité|pub|annonce)",
    ),
    "newsletter": _rule(
        r"(?:sign up|subscribe|register|get|receive|join)\b.{0,120}"
        r"\b(?:newsletters?|(?:in|to|into) your (?:inbox|letterbox|mailbox))\b.{0,200}"
        r"|.{0,100}\bour (?:free |daily |weekly |morning |evening )?newsletters?\b.{0,200}"
        r"|(?:[\w'’&-]+ ){0,4}newsletters?|.{0,120}\bdelivered (?:to|through) your (?:inbox|letterbox|door)\b.{0,200}"
        r"|subscribe(?: now| today| here)?|(?:already a subscriber|not a subscriber)\b.{0,160}",
        r"(?:inscrivez-vous|abonnez-vous|recevez|inscription)\b.{0,120}"
        r"\b(?:newsletters?|lettres? d['’]information|boîte (?:mail|e-?mail|de réception))\b.{0,200}"
        r"|abonnez-vous.{0,160}|.{0,100}\bnotre (?:newsletter|lettre d['’]information)\b.{0,200}"
        r"|(?:la |notre )?newsletter(?: gratuite)?",
    ),
    "community": _rule(
        r"(?=.*\b(?:join|welcome|find us|come)\b)"
        r"(?=.*\bour (?:\w+ )?(?:discord|telegram|whatsapp|slack|forum|server)\b).{0,360}"
        r"|join (?:our|the) (?:\w+ )?(?:community|channel|group|club)\b.{0,300}"
        r"|(?:if you (?:enjoyed|liked|value|appreciated?) (?:this|our) (?:article|story|journalism|reporting|work)"
        r"|support (?:our|independent) journalism)\b.{0,500}",
        r"(?=.*\b(?:rejoindre|rejoignez|rejoins|accueille|retrouvez)\b)"
        r"(?=.*\b(?:notre|nos) (?:\w+ )?(?:discord|telegram|whatsapp|serveur|forum)\b).{0,360}"
        r"|rejoignez(?:-nous| notre| nos)\b.{0,300}"
        r"|(?:si (?:vous avez aimé|cet article vous a plu)|soutenez(?:-nous| notre journalisme))\b.{0,500}",
    ),
    "affiliate": _rule(
        r"(?=.*\b(?:commission|affiliate|affiliation)\b)(?=.*\b(?:links?|buy|purchase|purchases)\b)"
        r"(?=.*\b(?:we|our|us)\b).{0,500}",
        r"(?=.*\b(?:commission|affiliés?|affiliation)\b)(?=.*\b(?:liens?|achetez|achat|achats)\b)"
        r"(?=.*\b(?:nous|notre|nos)\b).{0,500}",
    ),
    "related": _rule(
        rf"[\[(»>]*\s*{_RELATED_EN}\s*(?:[:>»|]\s*.{{0,250}})?[\])]?|also on \S+\.\w+\b.{{0,250}}",
        rf"[\[(»>]*\s*{_RELATED_FR}\s*(?:[:>»|]\s*.{{0,250}})?[\])]?",
    ),
    "comments": _rule(
        r"\d+\s+(?:comments?|replies|responses)|(?:comments?|replies|responses)(?:\s*\(\d+\))?"
        r"|(?:leave|post|add|write|view|show|see|read|load)(?: more| a| the| all| your)?(?: \d+)? "
        r"(?:comments?|reply|replies)(?: \S+){0,3}"
        r"|(?:tell us|let us know) what you think.{0,100}|(?:join the (?:conversation|discussion)).{0,100}"
        r"|(?:share|tell us|let us know|leave|what do you think|give us)\b"
        r"(?=.*\b(?:in|into|to) the comments?\b|.*\bcomments? (?:section|below)\b).{0,160}",
        r"\d+\s+(?:commentaires?|réactions?|réponses?)|(?:commentaires?|réactions?|réponses?)(?:\s*\(\d+\))?"
        r"|(?:laisser|laissez|ajouter|écrire|voir|afficher|lire)(?: un| une| les| vos)?(?: \d+)? "
        r"(?:commentaires?|réponses?|réactions?)(?: \S+){0,3}|(?:réagir|réagissez)(?: à cet article)?"
        r"|(?:partagez|dites-nous|donnez|laissez|exprimez|réagissez|et vous)\b"
        r"(?=.*\b(?:dans|en) (?:les |le )?commentaires?\b|.*\bcommentaires? ci-dessous\b).{0,160}",
    ),
    "copyright": _rule(
        r"(?:©|\(c\)|copyright\s*(?:©|\(c\)|c\b|\d{4})).{0,160}|.{0,120}\ball rights reserved\b.{0,120}"
        r"|this (?:copy|material|article) is for your personal,? non-commercial use only\b.{0,500}",
        r"(?:©|\(c\)|copyright\s*(?:©|\(c\)|c\b|\d{4})).{0,160}|.{0,120}\btous droits réservés\b.{0,120}"
        r"|.{0,60}\breproduction (?:strictement |totale ou partielle )?interdite\b.{0,120}",
    ),
    "syndication": _rule(
        r"(?:this (?:article|story|post|piece) (?:was|is|has been) (?:originally |first )?"
        r"(?:published|posted|appeared|republished|reprinted)|originally (?:published|appeared|posted))"
        r" (?:on|in|at|by|with)\b.{0,200}"
        r"|(?:sources?|credits?|photo|image|illustration|video)\s*:\s*[^.!?]{1,60}"
        r"|.{0,200}(?://|\|)\s*(?:sources?|credits?|photo)\s*:\s*[^.!?]{1,60}"
        r"|.{0,250}\((?:photo|credit|image)s?\s*:[^)]{1,80}\)\W*",
        r"cet article (?:a été|a d['’]abord été|est) (?:initialement |originellement )?"
        r"(?:repris|publié|paru|diffusé) (?:sur|dans|par|initialement)\b.{0,200}"
        r"|(?:sources?|crédits?(?: photo)?|photo|image|illustration|vidéo)\s*:\s*[^.!?]{1,60}"
        r"|.{0,200}(?://|\|)\s*(?:sources?|crédits?|photo)\s*:\s*[^.!?]{1,60}"
        r"|.{0,250}\((?:photo|crédit|image)s?\s*:[^)]{1,80}\)\W*",
    ),
    "credits": _rule(
        rf"(?:by|written by|posted by|story by|words by)(?:\s+{_NAME})?"
        r"|(?:(?:additional )?reporting|editing|writing|compiled|research|graphics|produced)(?: and \w+)? by\b.{0,300}"
        r"|.{0,300}\bcontributed (?:to )?(?:this|the) (?:report|story|article)\W*"
        r"|\(?(?:with|from) (?:afp|reuters|ap|the associated press|associated press|bloomberg|dpa|wire services?)\)?",
        rf"(?:par|écrit par|publié par|rédigé par)(?:\s+{_NAME})?"
        r"|propos recueillis par\b.{0,120}|\(?avec (?:afp|reuters|ap|l['’]afp|agences?|belga|dpa)\)?",
    ),
    "reading_time": _rule(
        r"(?:reading time\s*:?\s*)?\d+\s*(?:-\s*)?(?:min(?:ute)?s?|mn)\.?(?: read| reading time)?",
        r"(?:temps de lecture|lecture)\s*:?\s*\d+\s*(?:min(?:ute)?s?|mn)\.?|\d+\s*(?:min(?:ute)?s?|mn) de lecture",
    ),
    "tools": _rule(
        r"(?:order )?reprints?|print(?: this)?(?: article| story| page)?|text size|font size"
        r"|e-?mail this(?: article| story)?|save(?: this)?(?: article| story| for later)?|bookmark"
        r"|listen to (?:this )?(?:article|story)|copy link|(?:an )?error (?:has )?occurred.{0,60}"
        r"|(?:please )?enable javascript.{0,100}|(?:tags?|topics?|keywords?)(?:\s*:\s*[^.!?]{0,300})?",
        r"imprimer(?: l['’]article| cet article)?|envoyer(?: par e-?mail)?|taille du texte"
        r"|enregistrer(?: l['’]article)?|écouter (?:cet |l['’])article|une erreur (?:s['’]est produite|est survenue)"
        r".{0,60}|(?:mots?-clés?|étiquettes?|tags?|thèmes?)(?:\s*:\s*[^.!?]{0,300})?",
    ),
}

_FLAGS = re.IGNORECASE | re.DOTALL


def _compile(languages: Sequence[str]) -> re.Pattern[str]:
    alternatives = "|".join(f"(?:{rule[lang]})" for rule in RULES.values() for lang in languages)
    return re.compile(rf"\s*(?:[-•*·]\s+)?(?:{alternatives})\s*[.!…:]*\s*", _FLAGS)


# English is the lingua franca of page furniture ("Advertisement", "Share" on French sites too), so its rules
# apply everywhere; the French rules apply to French pages and to pages whose language is unknown.
_ENGLISH, _ENGLISH_AND_FRENCH = _compile(["en"]), _compile(["en", "fr"])

# Lone date and time lines: "16 mars 2025", "Updated: Nov. 19, 2019 10:30 a.m. EST", "Mercredi 12 février à 08h00".
_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec "
    "janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre décembre decembre "
    "janv févr fév avr juil déc"
)
_DATE_WORDS = frozenset(
    (
        f"{_MONTHS} monday tuesday wednesday thursday friday saturday sunday mon tue wed thu fri sat sun "
        "lundi mardi mercredi jeudi vendredi samedi dimanche am pm a m p h at on the of in and "
        "updated update published posted modified last edited à le du de et publié publiée mis mise jour "
        "modifié modifiée dernière ago il y hours hour minutes mins min days day heures heure jours hier "
        "yesterday today aujourd hui"
    ).split()
)
_DATE_SIGNAL = re.compile(
    r"\d{1,2}[:h]\d{2}|\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"
    r"|\d+\s+(?:hours?|minutes?|days?|heures?|jours?)\b|\b(?:" + "|".join(_MONTHS.split()) + r")\b",
    re.IGNORECASE,
)
_DATE_NUMBER = re.compile(r"\d+(?:h\d*|st|nd|rd|th|er|e)?")
_TIME_ZONE = re.compile(r"\b(?:[A-Z]{1,3}T|UTC)\b")
# A dateline alone on its line: "BAAR, SWITZERLAND", "NEW YORK, N.Y." (capitals, a comma, nothing else).
_DATELINE = re.compile(r"[A-Z][A-Z.'’ -]{1,30},\s*[A-Z][A-Z.'’ -]{1,30}\s*[-–—:]?\s*")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
# WordPress shortcodes that leaked as text: "[button link=…]" or a closing "[/button]".
_SHORTCODE = re.compile(r"\[[a-z_]+\s+[a-z_]+=[^\]]*\]|\[/[a-z_]+\]", re.IGNORECASE)
# A bare heading that opens a list of teasers or tags.
_LIST_HEADING = re.compile(
    rf"\s*[\[(»>]*\s*(?:{_RELATED_EN}|{_RELATED_FR}|tags?|topics?|keywords?|mots?-clés?|étiquettes?)"
    r"\s*[:.]?\s*[\])]?\s*",
    _FLAGS,
)
_TITLE_SEPARATORS = re.compile(r"\s+[|–—-]\s+|\s*[|]\s*")


def clean_paragraphs(
    paragraphs: Iterable[str], title: str | None = None, language: str | None = None, author: str | None = None
) -> list[str]:
    """Drop furniture paragraphs, the headline repeated at the top and a teaser list after a "related" heading.

    `title` and `author` come from the page metadata: a paragraph that is only the headline or only the
    author's name is a byline block, not text. Order and wording of the kept paragraphs are untouched.
    """
    code = (language or "").split("-")[0].lower()
    furniture = _ENGLISH_AND_FRENCH if code in ("", "fr") else _ENGLISH
    kept = _drop_headline([p.strip() for p in paragraphs if p.strip()], title)
    author_words = words(author) if author else None
    result: list[str] = []
    in_teasers = False
    for paragraph in kept:
        tokens = words(paragraph)
        if in_teasers and _is_teaser(paragraph, tokens):
            continue
        in_teasers = False
        if not _has_text(paragraph) or tokens == author_words or _is_furniture(paragraph, tokens, furniture):
            # A lone "Related articles" / "Articles récents" heading opens a list of teasers and dates.
            in_teasers = len(tokens) <= 6 and bool(_LIST_HEADING.fullmatch(paragraph))
            continue
        result.append(paragraph)
    # A keyword list closing the text is the page's tag cloud ("stock car 2018, stock car brasil, …").
    if result and _is_keyword_list(result[-1]):
        result.pop()
    return result


def _has_text(paragraph: str) -> bool:
    """Letters or digits, not a separator line ("___", "* * *")."""
    return any(character.isalnum() for character in paragraph)


def _is_furniture(paragraph: str, tokens: list[str], furniture: re.Pattern[str]) -> bool:
    if len(tokens) > MAX_FURNITURE_WORDS:
        return False
    text = unicodedata.normalize("NFKC", paragraph)
    return bool(
        furniture.fullmatch(text)
        or _is_date_line(text, tokens)
        or _mostly_links(text)
        or (len(tokens) <= 25 and _EMAIL.search(text))
        or _SHORTCODE.search(text)
        or _DATELINE.fullmatch(text)
    )


def _is_teaser(paragraph: str, tokens: list[str]) -> bool:
    """A teaser headline, a truncated blurb (ending in an ellipsis), its date, or a comma-separated tag list."""
    if not _has_text(paragraph) or _is_date_line(paragraph, tokens) or _is_keyword_list(paragraph, min_items=3):
        return True
    unquoted = paragraph.rstrip("\"”»’)]' ")
    return len(tokens) <= 30 and (unquoted.endswith(("…", "...")) or not unquoted.endswith((".", "!", "?")))


def _is_keyword_list(paragraph: str, min_items: int = 5) -> bool:
    """Comma-separated short items (tags, keywords) and no sentence: nothing but the list, no final period."""
    items = paragraph.split(",")
    return len(items) >= min_items and not paragraph.endswith(".") and all(0 < len(i.split()) <= 5 for i in items)


def _is_date_line(text: str, tokens: list[str]) -> bool:
    """A line made only of a date, a time and the words around them (no other content)."""
    if len(tokens) > 12 or not _DATE_SIGNAL.search(text):
        return False
    zones = {zone.casefold() for zone in _TIME_ZONE.findall(text)}  # EST, AMT, CEST…
    return all(t in _DATE_WORDS or t in zones or _DATE_NUMBER.fullmatch(t) for t in tokens)


def _mostly_links(text: str) -> bool:
    """Bare URLs, or a line whose characters are mostly URLs ("More: https://…, https://…")."""
    urls = sum(len(m) for m in _URL.findall(text))
    return urls > 0 and urls >= 0.4 * len(text.strip())


def _drop_headline(paragraphs: list[str], title: str | None) -> list[str]:
    """Remove the headline repeated at the top, and the short kicker lines ("Review", a section name) above it."""
    if not title:
        return paragraphs
    # "Headline | Site" and "Site - Headline": the headline is the whole title or one of its parts.
    candidates = [words(title), *(words(part) for part in _TITLE_SEPARATORS.split(title) if len(words(part)) >= 3)]
    for index, paragraph in enumerate(paragraphs[:3]):
        if words(paragraph) in candidates:
            if all(len(words(p)) <= 5 for p in paragraphs[:index]):
                return paragraphs[index + 1 :]
            return paragraphs[:index] + paragraphs[index + 1 :]
    return paragraphs
