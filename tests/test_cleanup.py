"""Clean-up rules: each removes its furniture paragraph, in English and French, and keeps article sentences
that merely mention the same words."""

from __future__ import annotations

import pytest

from pipelines.extract.cleanup import RULES, clean_paragraphs

BODY = (
    "Le conseil d'administration a confirmé mardi soir le retour du dirigeant, après plusieurs jours de "
    "négociations tendues avec les investisseurs et les salariés de l'entreprise."
)

# (rule, language, paragraph): every rule, in both languages, on wording seen in scraped pages.
FURNITURE = [
    ("share", "en", "Share this article"),
    ("share", "en", "Facebook Twitter LinkedIn Email"),
    ("share", "en", "Like this story? Share it with a friend!"),
    ("share", "fr", "Partager l'article :"),
    ("share", "fr", "LinkedIn"),
    ("follow", "en", "Follow The New York Times Opinion section on Facebook, Twitter (@NYTopinion) and Instagram."),
    ("follow", "en", "Follow AP's full coverage of Brexit at https://www.apnews.com/Brexit"),
    ("follow", "fr", "Suivez-nous sur Google Actualités"),
    ("advertising", "en", "Advertisement"),
    ("advertising", "en", "Story continues below advertisement"),
    ("advertising", "fr", "Publicité"),
    ("advertising", "fr", "La suite de l'article après cette publicité"),
    ("newsletter", "en", "Sign up for our daily newsletter to get the best stories in your inbox."),
    ("newsletter", "en", "Pick Six Newsletter"),
    ("newsletter", "fr", "Inscrivez-vous à notre newsletter pour ne rien manquer de l'actualité tech."),
    ("newsletter", "fr", "Abonnez-vous"),
    ("community", "en", "Want to talk about it? Join our Discord server, where thousands of readers hang out."),
    ("community", "en", "Join our community of 20,000 readers."),
    ("community", "en", "If you enjoyed this article, we have a proposition for you: join our membership programme."),
    ("community", "fr", "Envie de rejoindre une communauté de passionnés ? Notre Discord vous accueille, "
     "c'est un lieu d'entraide et de passion autour de la tech."),
    ("affiliate", "en", "We may earn a commission when you buy through links on our site."),
    ("affiliate", "fr", "Notre blog est alimenté par les lecteurs. Lorsque vous achetez via des liens sur notre site, "
     "nous pouvons percevoir une commission d'affiliation.Advertisement"),
    ("related", "en", "Read more: Why the board fired its chief executive"),
    ("related", "en", "[Related: Salesforce Dreamforce Keynote: AI, Integration]"),
    ("related", "en", "Also on rt.com Journalists threatened with arrests"),
    ("related", "en", "Most read in world news"),
    ("related", "fr", "Lire aussi : OpenAI rejette l'offre d'Elon Musk"),
    ("related", "fr", "À lire également"),
    ("comments", "en", "12 comments"),
    ("comments", "en", "Tell us what YOU think..."),
    ("comments", "en", "Share your thoughts in the comments below!"),
    ("comments", "fr", "Partagez votre perception dans le commentaire !"),
    ("comments", "fr", "Laisser un commentaire"),
    ("copyright", "en", "Copyright ©2019 Dow Jones & Company, Inc. All Rights Reserved."),
    ("copyright", "en", "This copy is for your personal, non-commercial use only. To order copies, visit our site."),
    ("copyright", "fr", "© 2025 Fusions Hebdo — Tous droits réservés. Reproduction interdite sans autorisation."),
    ("syndication", "en", "This article was originally published on The Conversation."),
    ("syndication", "en", "SOURCE: Al Jazeera News"),
    ("syndication", "fr", "Cet article a été repris sur le site Univers FreeBox"),
    ("syndication", "fr", "Source : [X / Twitter](#)"),
    ("syndication", "fr", "La réaction officielle de Satya Nadella, CEO de Microsoft // Source : X"),
    ("credits", "en", "By Jane Doe, Reuters"),
    ("credits", "en", "Reporting by Rodrigo Campos; Editing by Nick Zieminski and Dan Grebler"),
    ("credits", "en", "Associated Press writers Alan Fram and Zeke Miller contributed to this report."),
    ("credits", "fr", "Par Claire Dumas — Rubrique Technologies"),
    ("credits", "fr", "(avec AFP)"),
    ("reading_time", "en", "5 min read"),
    ("reading_time", "fr", "Temps de lecture : 3 minutes"),
    ("tools", "en", "- Order Reprints"),
    ("tools", "en", "Text size"),
    ("tools", "fr", "Imprimer l'article"),
    ("tools", "fr", "Mots-clés : OpenAI, Sam Altman, Elon Musk"),
]

# Article sentences that use the rules' words and must stay.
ARTICLE_SENTENCES = [
    ("en", "Substack, the newsletter platform, said on Tuesday that paid subscriptions doubled to two million."),
    ("en", "Discord, which says it has 150 million monthly users, raised $500 million from investors last year."),
    ("en", "Share prices fell 3% after the chief executive's comments on the earnings call."),
    ("en", "By Monday the company had restored service for most of its customers in the region."),
    ("en", "Copyright law in the European Union was overhauled in 2019 after years of lobbying."),
    ("en", "Readers can follow the trial, which opens on Monday, on the court's public register."),
    ("en", "Amazon cut the commission it pays publishers for affiliate links, a blow to review sites."),
    ("en", "“We welcome everyone to our community,” the mayor said after the vote on Tuesday."),
    ("en", "Read the comments of the minister in full on the government's website."),
    ("fr", "La newsletter payante de l'ancien journaliste compte désormais plus de 20 000 abonnés."),
    ("fr", "Discord, qui revendique 150 millions d'utilisateurs, a levé 500 millions de dollars l'an dernier."),
    ("fr", "Par ailleurs, le conseil d'administration rejoindra la nouvelle entité dès le mois prochain."),
    ("fr", "Les commentaires du patron de Microsoft ont rassuré les investisseurs, selon plusieurs analystes."),
    ("fr", "La publicité en ligne représente encore l'essentiel des revenus du réseau social."),
    ("fr", "Source de tensions depuis 2018, le dossier oppose les deux cofondateurs devant la justice."),
    ("fr", "« Nous accueillons tout le monde dans notre communauté », a déclaré le maire mardi soir."),
]


@pytest.mark.parametrize(("rule", "language", "paragraph"), FURNITURE)
def test_each_rule_removes_its_furniture(rule: str, language: str, paragraph: str) -> None:
    assert clean_paragraphs([BODY, paragraph, BODY], language=language) == [BODY, BODY], rule


def test_every_rule_has_english_and_french_wording_and_a_test() -> None:
    assert all(set(patterns) == {"en", "fr"} for patterns in RULES.values())
    assert {(rule, lang) for rule, lang, _ in FURNITURE} == {(rule, lang) for rule in RULES for lang in ("en", "fr")}


@pytest.mark.parametrize(("language", "sentence"), ARTICLE_SENTENCES)
def test_article_sentences_that_mention_the_words_stay(language: str, sentence: str) -> None:
    assert clean_paragraphs([sentence], language=language) == [sentence]
    assert clean_paragraphs([sentence], language=None) == [sentence]


def test_english_furniture_labels_are_removed_from_french_pages_but_not_the_reverse() -> None:
    assert clean_paragraphs([BODY, "Advertisement"], language="fr") == [BODY]
    assert clean_paragraphs([BODY, "Publicité"], language="en") == [BODY, "Publicité"]
    assert clean_paragraphs([BODY, "Publicité"], language=None) == [BODY]


def test_headline_and_kicker_at_the_top_are_removed() -> None:
    title = "Sam Altman reprend les rênes d'OpenAI"
    assert clean_paragraphs([title, BODY], title=title) == [BODY]
    assert clean_paragraphs(["Actualités télécom", title, BODY], title=f"{title} | Univers Telecom") == [BODY]
    # Not the top of the text, or a long paragraph before it: the headline is quoted, not repeated.
    assert clean_paragraphs([BODY, BODY, BODY, title], title=title) == [BODY, BODY, BODY, title]
    assert clean_paragraphs([BODY, title, BODY], title=title) == [BODY, BODY]


def test_the_authors_name_alone_is_a_byline() -> None:
    assert clean_paragraphs([BODY, "Lucas Musset"], author="Lucas Musset") == [BODY]
    assert clean_paragraphs([BODY, "Lucas Musset"]) == [BODY, "Lucas Musset"]


@pytest.mark.parametrize(
    "line",
    ["16 mars 2025", "Mercredi 12 Février 2025 à 08h00", "Updated: Nov. 19, 2019 10:30 a.m. EST",
     "November 20, 2019 - 11:28 AMT", "Publié le 16/03/2025 à 10h15", "3 hours ago"],
)  # fmt: skip
def test_lone_dates_and_timestamps_are_removed(line: str) -> None:
    assert clean_paragraphs([BODY, line, BODY]) == [BODY, BODY]


def test_a_date_inside_a_sentence_stays() -> None:
    sentence = "Le 16 mars 2025, la société a annoncé son rachat."
    assert clean_paragraphs([sentence]) == [sentence]
    assert clean_paragraphs(["2018.04.05 ~ OPEN RUN"]) == ["2018.04.05 ~ OPEN RUN"]


def test_bare_urls_emails_shortcodes_datelines_and_empty_lines_are_removed() -> None:
    furniture = [
        "https://www.barrons.com/articles/home-depot-stock-earnings-report-51574168486",
        "www.example.com",
        "Reach the reporters on Twitter at http://twitter.com/MegKinnardAP and http://twitter.com/emarvelous",
        "Write to Al Root at allen.root@dowjones.com",
        '[button link="http://example.com/submit/" type="big"] Send us YOUR review[/button]',
        "BAAR, SWITZERLAND",
        "___",
    ]
    assert clean_paragraphs([BODY, *furniture, BODY]) == [BODY, BODY]
    linked = "For more information on the solution, please visit the company's page at www.example.com today."
    assert clean_paragraphs([linked]) == [linked]


def test_a_related_heading_takes_its_teaser_list_with_it() -> None:
    teasers = [
        "Articles récents",
        "Les nouveautés de la semaine chez Free : du “plus” pour les abonnés Free Mobile",
        "C’est parti pour les nouveautés de la semaine ! Nous faisons un point sur les…",
        "16 mars 2025",
        "Free Mobile envoie un mail à ses abonnés pour leur faire profiter du “compagnon idéal”",
        "L'opérateur annonce que son offre Le Chat Pro devra être activée…",
        "15 mars 2025",
    ]
    assert clean_paragraphs([BODY, *teasers], language="fr") == [BODY]
    # The list ends at the first finished sentence: the text after it stays.
    assert clean_paragraphs(["Related stories", "A teaser headline", BODY], language="en") == [BODY]


def test_a_closing_tag_list_is_removed_but_not_a_list_inside_the_text() -> None:
    tags = "stock car 2018, stock car brasil, stock car cascavel, stock car interlagos, stock car taruma"
    assert clean_paragraphs([BODY, tags]) == [BODY]
    assert clean_paragraphs([tags, BODY]) == [tags, BODY]


def test_long_paragraphs_are_never_furniture() -> None:
    long_promo = "Sign up for our newsletter. " + BODY * 3
    assert clean_paragraphs([long_promo]) == [long_promo.strip()]


def test_sample_articles_keep_their_text_and_lose_the_furniture(sample_texts: list[str]) -> None:
    furniture = [
        "Advertisement", "Source : [X", "Partager l'article", "LinkedIn", "commission d’affiliation", "Discord",
        "Articles récents", "16 mars 2025", "Cet article a été repris", "Partagez votre perception", "Source : Fusacq",
        "Mercredi 12 Février 2025",
    ]  # fmt: skip
    for text in sample_texts:
        lines = text.split("\n")
        kept = clean_paragraphs(lines, language="fr", author="Lucas Musset")
        assert not [line for line in kept for marker in furniture if marker in line]
        # Every article paragraph (20+ words ending a sentence) is kept, in order.
        substantial = [
            line.strip()
            for line in lines
            if len(line.split()) >= 20 and line.rstrip().endswith(".") and not any(m in line for m in furniture)
        ]
        assert len(substantial) >= 3
        assert [line for line in kept if line in substantial] == substantial
