"""Clean-up rules applied to trafilatura's paragraphs: boilerplate it systematically leaves in.

Every rule is general (a pattern or a structure, in English and French), never keyed to a site. A rule
removes a whole paragraph; it never edits words inside one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["clean_paragraphs"]

# A paragraph that is only one of these is page furniture, not article text.
_BOILERPLATE = [
    # share / follow widgets
    r"(partager|partagez|share)( (l'|l’)?(article|this( article| story)?|sur|on))?\s*:?",
    r"(suivez|follow)[- ]?(nous|us)( sur| on)?\b.{0,60}",
    r"(facebook|twitter|x|linkedin|whatsapp|pinterest|reddit|e-?mail|telegram|copier le lien|copy link)"
    r"([\s,/|·•]+(facebook|twitter|x|linkedin|whatsapp|pinterest|reddit|e-?mail|telegram))*",
    # ad slots
    r"(advertisement|publicité|publicite|sponsored|sponsorisé|annonce|pub)",
    # newsletter / subscription / community promos
    r".{0,80}\b(newsletter|abonnez-vous|inscrivez-vous|subscribe|sign up)\b.{0,160}",
    r".{0,120}\b(discord|whatsapp|telegram|google news)\b.{0,160}(rejoindre|rejoignez|join|accueille|suivre|follow).{0,120}",
    r".{0,120}\b(rejoindre|rejoignez|join)\b.{0,120}\b(discord|whatsapp|telegram|communauté|community)\b.{0,120}",
    # affiliate disclosures
    r".{0,160}\b(liens? (affiliés?|d'affiliation|d’affiliation)|commission d['’]affiliation|affiliate (links?|commission)|"
    r"we may earn|nous pouvons percevoir une commission)\b.{0,200}",
    # "related" and "read more" lead-ins
    r"(à lire aussi|a lire aussi|lire aussi|lire la suite|voir aussi|sur le même sujet|articles? (récents?|similaires?|liés?)|"
    r"read more|related( articles| stories)?|more from|recommended|you may also like|most read|les plus lus)\b.{0,160}",
    # comment counters and calls to comment
    r"\d+\s+(commentaires?|comments?|réactions?)",
    r"(laisser|laissez|ajouter|écrire|leave|add|post) (un |a )?(commentaire|comment|réponse|reply).{0,80}",
    r".{0,80}(dans|in) (le|les|the) commentaires?.{0,20}!?",
    # copyright and syndication notes
    r"(©|\(c\)|copyright)\s*.{0,120}",
    r"(tous droits réservés|all rights reserved).{0,60}",
    r"cet article (a été|est) (repris|publié|paru) (sur|dans|initialement).{0,160}",
    # bare URLs and image credits
    r"https?://\S+",
]
_BOILERPLATE_RE = re.compile(r"^\s*(?:" + "|".join(_BOILERPLATE) + r")\s*[.!…]*\s*$", re.IGNORECASE)
# Short teaser dates, "16 mars 2025", "March 16, 2025", "2025-03-16", alone on a line.
_LONE_DATE_RE = re.compile(
    r"^\s*(\d{1,2}\s+\w+\.?\s+\d{4}|\w+\.?\s+\d{1,2},\s+\d{4}|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})\s*$"
)


def clean_paragraphs(
    paragraphs: Iterable[str], title: str | None = None, language: str | None = None, author: str | None = None
) -> list[str]:
    """Drop boilerplate paragraphs and a leading copy of the title; keep order and wording of the rest."""
    del language, author
    kept = [p.strip() for p in paragraphs if p.strip()]
    if kept and title and _same(kept[0], title):
        kept = kept[1:]
    return [p for p in kept if not (_BOILERPLATE_RE.match(p) or _LONE_DATE_RE.match(p))]


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
