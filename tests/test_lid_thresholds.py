"""curate.lid's data-derived thresholds of issue 19 (language_configs/lid_thresholds/) and the letter and
word tests that use them. Offline; the derivation checks skip without ../shared/data."""

from __future__ import annotations

import sys

import pytest
from conftest import REPO, shared

import curate.lid as lid
import curate.lid_tables as lid_tables
from curate.errors import ConfigError
from curate.lid import TARGETS, LanguageIdentifier


@pytest.fixture(scope="module")
def identifier():
    model = LanguageIdentifier()
    model.setup()
    return model


def test_threshold_files_load_with_provenance():
    thresholds = lid.word_agreement_thresholds()
    assert thresholds and set(thresholds) <= TARGETS
    assert all(0.0 < value <= 1.0 for value in thresholds.values())
    assert thresholds.get("en", 0.0) > 0.5  # fastText names English words alone reliably
    assert "hr" not in thresholds or thresholds["hr"] < 0.1  # ... Croatian ones hardly (sh)
    priors = lid.cluster_priors()
    assert set(priors) <= TARGETS
    assert all(all(m in TARGETS for m in lid._CLUSTER_OF[code]) for code in priors)


#: The readers of language_configs/lid_thresholds/, by file.
LOADERS = {"cluster_priors.yaml": lid_tables.cluster_priors, "alphabets.yaml": lid_tables.standard_letters,
           "word_agreement.yaml": lid_tables.word_agreement_thresholds}


@pytest.mark.parametrize(("name", "body", "error"), [
    ("cluster_priors.yaml", "log_priors: {gl: 1}\n", "source"),
    ("cluster_priors.yaml", "source: ''\nlog_priors: {gl: 1}\n", "source: say how"),
    ("cluster_priors.yaml", "source: x\nlog_priors: {xx: 1}\n", "log_priors.xx: not one of the target languages"),
    ("cluster_priors.yaml", "source: x\nlog_priors: {gl: yes}\n", "log_priors.gl must be a number"),
    ("cluster_priors.yaml", "source: x\nlog_priors: {fi: 1}\n", "log_priors.fi: not in a cluster of targets only"),
    ("word_agreement.yaml", "source: x\nquantile: 0.05\nthresholds: {en: 1.5}\n",
     r"word_agreement.yaml: thresholds.en must be in \[0, 1\]"),
    ("alphabets.yaml", "letters: {mt: à}\n", "expected a mapping with source and letters"),
    ("alphabets.yaml", "source: x\nletters: {xx: é}\n", "letters.xx: not one of the target languages"),
    ("alphabets.yaml", "source: x\nletters: {mt: À}\n", "letters.mt: expected lower-case letters"),
    ("alphabets.yaml", "source: x\nletters: {mt: 'a1'}\n", "letters.mt: expected lower-case letters"),
])
def test_threshold_file_errors_name_the_file_and_key(tmp_path, monkeypatch, name, body, error):
    (tmp_path / "lid_thresholds").mkdir()
    (tmp_path / "lid_thresholds" / name).write_text(body, encoding="utf-8")
    monkeypatch.setattr("curate.languages.language_config_dir", lambda: tmp_path)
    loader = LOADERS[name]
    loader.cache_clear()
    try:
        with pytest.raises(ConfigError, match=error):
            loader()
    finally:
        loader.cache_clear()


def test_standard_letters_complete_the_measured_alphabets():
    standard = lid_tables.standard_letters()
    assert set(standard) == TARGETS
    alphabets = lid.alphabets()
    # The measured Maltese alphabet lacks the grave accents of Maltese orthography (università, libertà).
    assert "à" in alphabets["mt"][0] and "ħ" in alphabets["mt"][0]
    assert all(set(letters) <= alphabets[code][0] for code, letters in standard.items() if code in alphabets)


def test_one_foreign_letter_refuses_a_short_sentence(identifier):
    # Lower Sorbian: one ě (Czech writes it, Polish does not) in 22 letters.
    text = "Mjasec jo wobswěśował śpu."
    assert identifier._foreign_letters(text, "pl")[0] == 1
    assert identifier.predict([text])[0][0] != "pl"
    # Short Maltese sentences with a grave accent keep their language (both und without the standard alphabet:
    # the measured one lacks à).
    texts = ["Il-libertà hija sabiħa ħafna.", "L-università qiegħda fil-belt."]
    assert [lang for lang, _ in identifier.predict(texts)] == ["mt", "mt"]


def test_word_agreement_counts_words_of_two_letters_or_more():
    labels = {"the": "en", "cat": "en", "wis": "sco", "here": "en"}
    assert lid.word_agreement(labels.get, "The cat wis here.", "en") == 0.75
    assert lid.word_agreement(labels.get, "The cat", "en") is None  # too few words to test
    assert lid.word_agreement(labels.get, " ".join(["the"] * (lid.WORD_AGREEMENT_MAX_WORDS + 1)), "en") is None


def test_short_scots_is_not_english_word_by_word(identifier):
    # Written for this test (not from a benchmark file); English by both models as a whole.
    text = "Awbody hes the richt tae gang tae the schuil an lairn aboot the warld."
    words = lid_tables._WORD.findall(text.lower())
    share = sum(identifier._word_label(w) == "en" for w in words) / len(words)
    assert share < lid.word_agreement_thresholds()["en"]
    assert identifier.predict([text])[0][0] not in TARGETS


def test_a_short_english_sentence_keeps_its_language(identifier):
    assert identifier.predict(["The council will open the new library in the autumn."])[0][0] == "en"


def test_letters_no_target_writes_refuse_a_target(identifier):
    # Silesian (ō, ŏ: no target's alphabet has them) in a short sentence with a single such letter.
    text = "Ta funkcyjŏ prowadzi do wzrostu abo rozpadu."
    assert identifier.predict([text])[0][0] != "pl"
    foreign, total, unknown = identifier._foreign_letters(" ".join(text.split()), "pl")
    assert unknown == 1 and foreign == 1
    # Letters some target writes (German ü in a Polish sentence naming a town) are not such letters.
    assert identifier._foreign_letters("Pojechaliśmy wczoraj do Lübeck na wycieczkę.", "pl")[2] == 0


def test_a_long_text_naming_one_odd_letter_keeps_its_language(identifier):
    text = ("Wczoraj w Warszawie odbyła się konferencja o współpracy gospodarczej z Japonią, na której mówiono "
            "o inwestycjach w Tōkyō, o nowych połączeniach lotniczych i o wymianie studentów między uczelniami "
            "obu krajów, a przedstawiciele firm podpisali kilka umów handlowych.")
    assert identifier.predict([text])[0][0] == "pl"


def test_cluster_priors_are_used(identifier, monkeypatch):
    text = "O meu pai é piloto de voos nacionais."  # valid Galician and Portuguese alike
    scores = identifier.scores(text)
    monkeypatch.setattr(identifier, "_cluster_priors", {})
    plain = identifier.decide(*scores).language
    monkeypatch.setattr(identifier, "_cluster_priors", {"gl": 5.0})
    assert plain == "pt" and identifier.decide(*scores).language == "gl"


@pytest.mark.parametrize("script", ["derive_lid_word_agreement", "derive_lid_cluster_priors"])
def test_derivation_scripts_reproduce_the_files(script):
    path = shared("langid")
    sys.path.insert(0, str(REPO / "scripts"))
    module = __import__(script)
    assert module.main(["--data-dir", str(path.parent), "--check"]) == 0
