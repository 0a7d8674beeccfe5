"""Quality filters: each rule fires on the text it targets, with its reason string, and keeps good prose."""

from __future__ import annotations

import pytest

from curate.errors import ConfigError
from curate.filters import Document, FilterSpec, build_filter, load_preset
from curate.filters.c4 import C4Quality
from curate.filters.fineweb import FineWebQuality
from curate.filters.gopher import GopherQuality, GopherRepetition
from curate.languages import load_language

GERMAN = (
    "Die Stadtbibliothek öffnet im Frühjahr wieder ihre Türen, nachdem das alte Gebäude zwei Jahre lang "
    "saniert wurde. Die Besucher finden dort nicht nur Bücher, sondern auch einen neuen Lesesaal mit viel Licht.\n"
    "Nach Angaben der Verwaltung wurden die Kosten eingehalten, obwohl die Preise für Baumaterial gestiegen sind. "
    "Der Bürgermeister dankte den Handwerkern und den Nachbarn für ihre Geduld während der langen Bauzeit.\n"
    "Am Eröffnungstag gibt es Führungen durch das Haus, eine Lesung für Kinder und am Abend ein kleines Konzert "
    "im Innenhof. Der Eintritt ist frei, und wer möchte, kann sich gleich einen neuen Ausweis ausstellen lassen."
)
POLISH = (
    "Nowy most na rzece został otwarty w sobotę rano, a pierwsi mieszkańcy przeszli po nim jeszcze przed "
    "przecięciem wstęgi. Budowa trwała prawie trzy lata i kosztowała więcej, niż planowano na początku.\n"
    "Burmistrz powiedział, że przeprawa skróci drogę do szpitala i do szkoły o kilkanaście minut. Kierowcy "
    "muszą jednak pamiętać, że na moście obowiązuje ograniczenie prędkości do czterdziestu kilometrów na godzinę.\n"
    "W przyszłym miesiącu przy moście powstanie także ścieżka rowerowa, o którą mieszkańcy prosili od dawna."
)


def doc(text: str, lang: str = "de") -> Document:
    return Document(text, load_language(lang))


@pytest.mark.parametrize(("text", "lang"), [(GERMAN, "de"), (POLISH, "pl")])
def test_good_prose_passes_every_filter(text, lang):
    _, filters = load_preset("default")
    assert [f.check(doc(text, lang)) for f in filters] == [None] * len(filters)


def test_stop_words_are_per_language():
    # Gopher's English stop-words would reject German prose; the German list keeps it.
    assert GopherQuality().check(doc(GERMAN, "de")) is None
    english_view = Document(GERMAN, load_language("en"))
    assert GopherQuality(min_stop_words=10).check(english_view) == "gopher_stop_words"


@pytest.mark.parametrize(
    ("filter_", "text", "reason"),
    [
        (GopherQuality(), "Zu kurz. Nur ein paar Wörter hier.", "gopher_short_doc"),
        (GopherQuality(), " ".join(["#tag"] * 60), "gopher_symbol_word_ratio"),
        (GopherQuality(), "\n".join(["• Punkt und noch ein Punkt mit der Liste"] * 30), "gopher_bullet_lines"),
        (GopherQuality(), " ".join(["1234 5678 90 der"] * 30), "gopher_alpha_words"),
        (GopherRepetition(), "\n".join(["Jetzt kaufen und sparen!"] * 10 + [GERMAN]), "dup_line_frac"),
        (GopherRepetition(), "\n\n".join(["Billige Uhren kaufen, billige Uhren kaufen."] * 6), "dup_para_frac"),
        (C4Quality(), GERMAN + " Lorem ipsum dolor sit amet.", "c4_lorem_ipsum"),
        (C4Quality(), GERMAN + " function() { return 1; }", "c4_curly_bracket"),
        (C4Quality(), "Ein Satz. Zwei Sätze. Drei", "c4_too_few_sentences"),
        (FineWebQuality(), "\n".join(["Startseite", "Über uns", "Kontakt", "Impressum"] * 3),
         "fineweb_line_punct_ratio"),
        (FineWebQuality(), "\n".join([f"Kurze Zeile {i}." for i in range(7)] + [GERMAN]), "fineweb_short_line_ratio"),
        (FineWebQuality(), GERMAN + "\nDer Eintritt ist frei.\nDer Eintritt ist frei.", "fineweb_char_dup_ratio"),
    ],
)
def test_each_rule_names_its_reason(filter_, text, reason):
    assert filter_.check(doc(text)) == reason


def test_unknown_filter_and_parameter_are_config_errors():
    with pytest.raises(ConfigError, match="unknown filter 'gopher_v9'.*gopher_quality_v1"):
        build_filter(FilterSpec("gopher_v9"), "preset.yaml")
    with pytest.raises(ConfigError, match="unknown key 'min_wrds'.*min_words"):
        build_filter(FilterSpec("gopher_quality_v1", {"min_wrds": 3}), "preset.yaml")
    assert build_filter(FilterSpec("gopher_quality_v1", {"min_words": 3}), "p").min_words == 3


def test_ngram_repetition_fractions_by_hand():
    from curate.filters.gopher import _NGrams

    words = "a b c d e a b c d e x".split()
    ngrams = _NGrams(words)
    assert ngrams.duplicate_char_fraction(5, 11) == pytest.approx(5 / 11)  # the second "a b c d e"
    assert ngrams.duplicate_char_fraction(6, 11) == 0.0
    assert ngrams.top_char_fraction(2, 11) == pytest.approx(4 / 11)  # "a b" twice
    assert _NGrams(["x", "y"]).duplicate_char_fraction(5, 2) == 0.0


def test_repeated_passages_are_caught_by_ngram_rules():
    spam = " ".join(["billige uhren online kaufen beste preise heute"] * 12)
    assert GopherRepetition().check(doc(spam)) in ("top_2_gram", "top_3_gram", "top_4_gram")
    repeated = GERMAN + " " + GERMAN.split("\n")[0]
    assert GopherRepetition().check(doc(repeated)) == "duplicated_5_n_grams"
