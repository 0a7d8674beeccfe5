"""Language configs: every file loads and says where its numbers come from; a bad file is a clear error."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from curate.config import EU_LANGUAGES
from curate.errors import ConfigError
from curate.filters import family_classes, known_families
from curate.languages import WORD_SPLITS, language_config_dir, load_language, load_language_file
from curate.resources import bundled_dir


def test_one_config_per_target_language_and_each_loads():
    assert sorted(p.stem for p in bundled_dir("language_configs").glob("*.yaml")) == sorted(EU_LANGUAGES)
    for code in EU_LANGUAGES:
        language = load_language(code)
        assert language.code == code and language.lid_labels, code
        assert 0.0 <= language.lid_threshold <= 1.0, code
        assert language.word_split in WORD_SPLITS, code
        assert language.terminal_marks and "." in language.terminal_marks, code
        assert 7 <= len(language.gopher_stopword_set) <= 25, code  # Gopher's rule: a short list (English has 8)
        assert language.gopher_stopwords_source.strip(), code
        assert len(language.stopwords) >= 150, code  # justext's list, cleaned


def test_every_threshold_has_a_source_and_belongs_to_a_filter():
    families = set(known_families())
    for code in EU_LANGUAGES:
        for family, values in load_language(code).quality.items():
            assert family in families, (code, family)
            assert values["source"].strip(), (code, family)
            fields = {f.name for cls in family_classes(family) for f in dataclasses.fields(cls)}
            assert set(values) - {"source"} <= fields, (code, family)
    assert load_language("en").quality == {}  # English uses the papers' values
    assert load_language("de").quality["fineweb_quality"]["line_punct_thr"] == 0.0  # FineWeb-2 deu_Latn


def test_stop_word_lists_are_clean_single_words():
    for code in EU_LANGUAGES:
        language = load_language(code)
        split = WORD_SPLITS[language.word_split]
        for word in language.stopwords | language.gopher_stopword_set:
            assert split.findall(word) == [word], (code, word)
    maltese = load_language("mt")
    assert not any('"' in w or "(" in w for w in maltese.stopwords)  # justext's Maltese list has '"(għal'
    assert {"il-", "ta'"} <= maltese.gopher_stopword_set
    assert {"l'", "d'"} <= load_language("fr").gopher_stopword_set
    assert load_language("en").gopher_stopword_set == {"the", "be", "to", "of", "and", "that", "have", "with"}


def write_config(tmp_path: Path, changes: dict) -> Path:
    data = yaml.safe_load((language_config_dir() / "de.yaml").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path = tmp_path / "de.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


GOOD_REP = {"source": "a paper", "max_dup_line_frac": 0.3}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stopwords_sauce": "x"}, r"unknown key 'stopwords_sauce'.*known keys: code, name"),
        ({"lid_threshold": 1.5}, r"lid_threshold must be in \[0, 1\]"),
        ({"word_split": "by_magic"}, r"word_split 'by_magic' is unknown; known rules: unicode_words"),
        ({"stopwords_source": "nltk:German"}, r"stopwords_source must look like 'justext:<Name>'"),
        ({"stopwords_source": "justext:Klingon"}, r"justext has no stop-list 'Klingon'"),
        ({"gopher_stopwords": ["der", "zum Beispiel"]}, r"gopher_stopwords: 'zum Beispiel' is not one word"),
        ({"gopher_stopwords_source": ""}, r"gopher_stopwords_source: say where"),
        ({"terminal_punctuation": [".", "x"]}, r"terminal_punctuation: 'x' is not a punctuation mark"),
        ({"quality": {"gopher_qualty": {"source": "x"}}}, r"quality.gopher_qualty: unknown filter family; known: c4"),
        ({"quality": {"gopher_repetition": {"max_dup_line_frac": 0.3}}}, r"quality.gopher_repetition.source"),
        ({"quality": {"gopher_repetition": GOOD_REP | {"max_dup_lin_frac": 0.3}}},
         r"quality.gopher_repetition: unknown key 'max_dup_lin_frac'; known keys: source, max_dup_line_frac"),
        ({"quality": {"gopher_repetition": GOOD_REP | {"max_dup_line_frac": 3}}},
         r"quality.gopher_repetition: max_dup_line_frac must be in \[0, 1\], got 3"),
        ({"quality": {"gopher_repetition": GOOD_REP | {"max_dup_line_frac": "high"}}},
         r"quality.gopher_repetition.max_dup_line_frac: expected float, got 'high'"),
        ({"quality": {"gopher_repetition": GOOD_REP | {"top_ngram_max_char_frac": [[2, 1.5]]}}},
         r"top_ngram_max_char_frac for n=2 must be in \[0, 1\]"),
        ({"quality": {"gopher_quality": {"source": "x", "min_mean_word_length": 12}}},
         r"need 0 <= min_mean_word_length <= max_mean_word_length"),
        ({"quality": {"fineweb_quality": {"source": "x", "line_punct_thr": -0.1}}}, r"line_punct_thr must be in"),
        ({"code": "fr"}, r"code 'fr' does not match the file name"),
    ],
)
def test_bad_config_is_a_clear_error_naming_file_and_key(tmp_path, changes, message):
    path = write_config(tmp_path, changes)
    with pytest.raises(ConfigError, match=message) as info:
        load_language_file(path)
    assert str(path) in str(info.value)


def test_malformed_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "de.yaml"
    path.write_text("code: de\nname: [German\n")
    with pytest.raises(ConfigError, match="malformed YAML"):
        load_language_file(path)
