"""Model-based scoring (curate.classify): fastText models curate trains load in fastText itself and give the
same probabilities; `curate train-classifier` and `curate classify` end to end (every document scored, every
input column kept, the top fraction per language exact, quality buckets); local = Ray; resume; bad models,
bad inputs and a pipeline's classify:/select: sections."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import REPO, SAMPLE_WARC, SHARED_DATA

from curate.classify import ClassifyConfig
from curate.classify import fasttext_format as ff
from curate.classify import train as tr
from curate.classify.command import classify_documents
from curate.classify.scorers import build_scorer
from curate.classify.text import fasttext_line, tokenize
from curate.cli import main
from curate.errors import ConfigError, InputError, OutputError
from curate.runners import runner_for
from curate.select import SelectConfig, keep_count

sys.path.insert(0, str(REPO / "benchmarks"))
import classifier_data  # noqa: E402

# Prose written for these tests (three languages), and junk made from its words by the benchmark's generators.
PROSE = {
    "en": [
        "The library opens at nine in the morning and closes at six in the evening.",
        "Most visitors come to read the newspapers or to borrow books for the weekend.",
        "Last year the town council decided to renovate the old reading room.",
        "The work took longer than planned because the roof had to be repaired first.",
        "Children can join a reading club that meets every Wednesday afternoon.",
        "Volunteers help older people who want to learn how to use the computers.",
        "In winter the building is warm and quiet, and many students study there.",
        "The librarian says that the number of members has grown every year since the renovation.",
        "A small café on the ground floor sells coffee, tea and cakes made by a local baker.",
        "Next spring the library will host an exhibition about the history of the harbour.",
        "Old photographs, maps and letters will be shown for the first time.",
        "Anyone who has pictures of the harbour from before the war is invited to bring them in.",
    ],
    "de": [
        "Die Bibliothek öffnet um neun Uhr morgens und schließt um sechs Uhr abends.",
        "Die meisten Besucher kommen, um Zeitungen zu lesen oder Bücher für das Wochenende auszuleihen.",
        "Im vergangenen Jahr beschloss der Stadtrat, den alten Lesesaal zu renovieren.",
        "Die Arbeiten dauerten länger als geplant, weil zuerst das Dach repariert werden musste.",
        "Kinder können einem Leseklub beitreten, der sich jeden Mittwochnachmittag trifft.",
        "Freiwillige helfen älteren Menschen, die den Umgang mit Computern lernen möchten.",
        "Im Winter ist das Gebäude warm und ruhig, und viele Studenten lernen dort.",
        "Die Bibliothekarin sagt, dass die Zahl der Mitglieder seit der Renovierung jedes Jahr gewachsen ist.",
        "Ein kleines Café im Erdgeschoss verkauft Kaffee, Tee und Kuchen von einem Bäcker aus dem Ort.",
        "Im nächsten Frühjahr zeigt die Bibliothek eine Ausstellung über die Geschichte des Hafens.",
        "Alte Fotografien, Karten und Briefe werden zum ersten Mal gezeigt.",
        "Wer Bilder des Hafens aus der Zeit vor dem Krieg besitzt, wird gebeten, sie vorbeizubringen.",
    ],
    "fr": [
        "La bibliothèque ouvre à neuf heures du matin et ferme à six heures du soir.",
        "La plupart des visiteurs viennent lire les journaux ou emprunter des livres pour le week-end.",
        "L'année dernière, le conseil municipal a décidé de rénover l'ancienne salle de lecture.",
        "Les travaux ont duré plus longtemps que prévu, car il a d'abord fallu réparer le toit.",
        "Les enfants peuvent rejoindre un club de lecture qui se réunit chaque mercredi après-midi.",
        "Des bénévoles aident les personnes âgées qui veulent apprendre à utiliser les ordinateurs.",
        "En hiver, le bâtiment est chaud et calme, et beaucoup d'étudiants y travaillent.",
        "La bibliothécaire explique que le nombre de membres augmente chaque année depuis la rénovation.",
        "Un petit café au rez-de-chaussée vend du café, du thé et des gâteaux d'un boulanger du quartier.",
        "Au printemps prochain, la bibliothèque accueillera une exposition sur l'histoire du port.",
        "De vieilles photographies, des cartes et des lettres seront montrées pour la première fois.",
        "Toute personne possédant des images du port d'avant la guerre est invitée à les apporter.",
    ],
}


def authored_documents(seed: int, per_language: int = 40) -> list[dict]:
    """Prose (label 1) and junk of the four kinds (label 0) from :data:`PROSE`, every language."""
    rng = random.Random(seed)
    out = []
    for lang, sentences in PROSE.items():
        counts: dict[str, int] = {}
        for s in sentences:
            for w in classifier_data._WORD.findall(s):
                counts[w] = counts.get(w, 0) + 1
        vocab = sorted(counts, key=lambda w: (-counts[w], w))
        weights = [counts[w] for w in vocab]
        for i in range(per_language):
            if i % 2 == 0:
                text, label, kind = classifier_data._prose(rng, sentences), 1, "prose"
            else:
                kind = classifier_data.JUNK[(i // 2) % 4]
                text, label = classifier_data._junk(rng, kind, vocab, weights, sentences), 0
            out.append({"id": f"{lang}-{seed}-{i:03d}", "text": text, "language": lang, "label": label, "kind": kind})
    return out


def read_data(folder: Path) -> pa.Table:
    """Every part file under ``folder`` (as the check reads them: language=*/part-*.parquet)."""
    return pa.concat_tables([pq.read_table(f) for f in sorted(Path(folder).glob("**/part-*.parquet"))],
                            promote_options="default")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """A model trained with `curate train-classifier` on authored documents, and held-out test documents."""
    folder = tmp_path_factory.mktemp("trained")
    train = authored_documents(seed=1)
    write_jsonl(folder / "pos.jsonl", [{"text": r["text"]} for r in train if r["label"]])
    (folder / "neg.txt").write_text("".join(r["text"].replace("\n", " ") + "\n" for r in train if not r["label"]))
    model = folder / "quality.bin"
    assert main(["train-classifier", "--positive", str(folder / "pos.jsonl"), "--negative", str(folder / "neg.txt"),
                 "--output", str(model), "--seed", "3"]) == 0
    return model, authored_documents(seed=2)


# --- the fastText format ---------------------------------------------------------------------------------


def test_fnv1a_sign_extends_bytes_as_fasttext_does() -> None:
    # ASCII bytes are the plain FNV-1a; a byte >= 0x80 enters as 0xFFFFFFxx (C++ int8_t)
    assert ff.fnv1a("") == 2166136261
    assert ff.fnv1a("a") == ((2166136261 ^ 0x61) * 16777619) & 0xFFFFFFFF
    assert ff.fnv1a("é") == ((((2166136261 ^ 0xFFFFFFC3) * 16777619 & 0xFFFFFFFF) ^ 0xFFFFFFA9) * 16777619) & 0xFFFFFFFF


def test_a_model_curate_writes_loads_in_fasttext_with_the_same_probabilities(tmp_path: Path) -> None:
    import fasttext

    docs = authored_documents(seed=5)
    lines = [tokenize(d["text"], "curate-v1") for d in docs]
    labels = np.array([d["label"] for d in docs])
    for ngrams in (1, 2, 3):
        model = tr.fit(lines, labels, tr.TrainOptions(ngrams=ngrams, epochs=5, dim=16, seed=ngrams))
        ff.save(model, str(tmp_path / f"m{ngrams}.bin"))
        loaded = fasttext.load_model(str(tmp_path / f"m{ngrams}.bin"))
        # unseen text too: out-of-vocabulary words still hash into the word n-grams
        texts = [d["text"] for d in authored_documents(seed=6)[:60]] + ["zzz qqq völlig neue wörter ŝ"]
        ours = tr.predict(model, [tokenize(t, "curate-v1") for t in texts])
        for text, p in zip(texts, ours, strict=True):
            got = dict(zip(*loaded.predict(fasttext_line(text, "curate-v1"), k=-1), strict=True))
            assert got[tr.POSITIVE] == pytest.approx(p + 1e-5, abs=2e-6), text  # fastText adds 1e-5


def test_auc_counts_ties_half() -> None:
    assert tr.auc(np.array([0.9, 0.8, 0.1]), np.array([1, 1, 0])) == 1.0
    assert tr.auc(np.array([0.5, 0.5]), np.array([1, 0])) == 0.5
    assert tr.auc(np.array([0.1, 0.9]), np.array([1, 0])) == 0.0
    assert tr.auc(np.array([0.3]), np.array([1])) is None


def test_training_is_deterministic_for_a_seed() -> None:
    docs = authored_documents(seed=7)
    pos = [d["text"] for d in docs if d["label"]]
    neg = [d["text"] for d in docs if not d["label"]]
    a, report_a = tr.train(pos, neg, tr.TrainOptions(seed=4, epochs=3))
    b, report_b = tr.train(pos, neg, tr.TrainOptions(seed=4, epochs=3))
    assert np.array_equal(a.input, b.input) and np.array_equal(a.output, b.output)
    assert report_a["validation"] == report_b["validation"]


# --- train-classifier and classify from the command line -----------------------------------------------


def test_train_classifier_reports_held_back_metrics(trained: tuple[Path, list[dict]], capsys) -> None:
    model, _ = trained
    report = json.loads(Path(f"{model}.json").read_text())
    v = report["validation"]
    assert report["positives"] == report["negatives"] == 60
    assert v["documents"] == 12 and v["positives"] == 6  # 10 % of each class held back
    assert v["auc"] >= 0.9 and v["precision"] is not None and v["recall"] is not None
    assert report["normalization"] == "curate-v1" and report["positive_label"] == tr.POSITIVE


def test_classify_scores_every_document_and_keeps_every_column(trained, tmp_path: Path, capsys) -> None:
    model, test = trained
    rows = [{**r, "extra": i, "nested": {"a": [i]}} for i, r in enumerate(test)]
    src = write_jsonl(tmp_path / "test.jsonl", rows)
    assert main(["classify", str(src), "--name", "quality", "--model", str(model), "--output",
                 str(tmp_path / "out")]) == 0
    assert "classifier.quality: 120 of 120 documents scored" in capsys.readouterr().out
    files = sorted((tmp_path / "out" / "data").glob("language=*/part-*.parquet"))
    assert {f.parent.name for f in files} == {"language=de", "language=en", "language=fr"}
    table = pa.concat_tables([pq.read_table(f) for f in files])
    assert table.num_rows == len(test)
    assert {"id", "text", "language", "label", "kind", "extra", "nested", "signals"} <= set(table.column_names)
    scores = pc.map_lookup(table.column("signals"), "classifier.quality", "last").to_numpy(zero_copy_only=False)
    assert np.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()
    by_id = {r["id"]: r["label"] for r in test}
    labels = np.array([by_id[i] for i in table.column("id").to_pylist()])
    assert tr.auc(scores, labels) >= 0.9  # held-out documents, other sentences mixed than in training
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    scorer = stats["classify"]["scorers"][0]
    assert stats["documents_read"] == stats["documents_written"] == 120 and scorer["scored"] == 120
    assert scorer["label"] == tr.POSITIVE and scorer["normalization"] == "curate-v1"
    assert sum(scorer["languages"]["de"]["histogram"]["counts"]) == 40
    assert (tmp_path / "out" / "README.md").exists()


@pytest.mark.parametrize("fraction", [0.3, 0.1, 0.5])
def test_keep_top_keeps_the_exact_fraction_per_language(trained, tmp_path: Path, fraction: float) -> None:
    model, test = trained
    src = write_jsonl(tmp_path / "test.jsonl", test)
    select = SelectConfig(score=["quality"], keep_top=fraction, buckets=4)
    stats = classify_documents([str(src)], str(tmp_path / "out"), [ClassifyConfig(name="quality", model=str(model))],
                               select, runner_for("local"))
    for lang in PROSE:
        table = read_data(tmp_path / "out" / "data" / f"language={lang}")
        assert table.num_rows == keep_count(40, fraction)
        assert abs(table.num_rows - fraction * 40) <= 1
        assert set(table.column("quality_bucket").to_pylist()) <= {0, 1, 2, 3}
        kept = pc.map_lookup(table.column("signals"), "classifier.quality", "last").to_numpy(zero_copy_only=False)
        assert kept.min() >= stats["select"]["languages"][lang]["threshold"]["score"]
    assert stats["dropped"] == {"select/below_top_fraction": 120 - 3 * keep_count(40, fraction)}


def test_ray_scores_equal_local(trained, tmp_path: Path, local_ray) -> None:
    model, test = trained
    src = tmp_path / "in"
    src.mkdir()
    for k in range(3):  # three files: three items for the actor pool
        write_jsonl(src / f"part-{k}.jsonl", test[k::3])
    config = [ClassifyConfig(name="quality", model=str(model))]
    outputs = {}
    for name in ("local", "ray"):
        classify_documents([str(src)], str(tmp_path / name), config, None, runner_for(name))
        table = read_data(tmp_path / name / "data").sort_by("id")
        outputs[name] = (table.column("id").to_pylist(),
                         pc.map_lookup(table.column("signals"), "classifier.quality", "last").to_pylist())
    assert outputs["local"] == outputs["ray"]


def test_rerun_resumes_and_a_finished_run_is_reused(trained, tmp_path: Path) -> None:
    model, test = trained
    src = tmp_path / "in"
    src.mkdir()
    for k in range(2):
        write_jsonl(src / f"part-{k}.jsonl", test[k::2])
    out = tmp_path / "out"
    config = [ClassifyConfig(name="quality", model=str(model))]
    first = classify_documents([str(src)], str(out), config, None, runner_for("local"))
    again = classify_documents([str(src)], str(out), config, None, runner_for("local"))
    assert again == first  # finished: nothing redone
    # an interrupted run: stats.json not yet written, one file's marker and outputs missing
    (out / "stats.json").unlink()
    done = out / "_work" / "done"
    done.mkdir(parents=True)
    marker = json.dumps({"number": 0, "path": str(src / "part-0.jsonl"), "rows": 60, "languages": {}, "outputs": [],
                         "counts": {}, "score_seconds": {}, "seconds": 0})
    (done / "00000.json").write_text(marker)  # file 0 claims done (with no outputs): must not be scored again
    resumed = classify_documents([str(src)], str(out), config, None, runner_for("local"))
    assert resumed["documents_read"] == 120  # file 0's recorded rows + file 1 scored again
    with pytest.raises(OutputError, match="other inputs or settings"):
        classify_documents([str(src)], str(out), [ClassifyConfig(name="other", model=str(model))], None,
                           runner_for("local"))


def test_input_without_id_or_language_gets_them(trained, tmp_path: Path) -> None:
    model, test = trained
    src = tmp_path / "language=fr"
    src.mkdir()
    pq.write_table(pa.table({"text": [r["text"] for r in test[:5]] + [""]}), src / "docs.parquet")
    stats = classify_documents([str(src)], str(tmp_path / "out"), [ClassifyConfig(name="q", model=str(model))],
                               None, runner_for("local"))
    table = read_data(tmp_path / "out" / "data" / "language=fr")
    assert table.column("id").to_pylist() == [f"docs.parquet#{i}" for i in range(6)]
    scores = pc.map_lookup(table.column("signals"), "classifier.q", "last").to_pylist()
    assert np.isnan(scores[-1]) and all(np.isfinite(scores[:-1]))  # an empty text: NaN, counted
    assert stats["classify"]["scorers"][0]["counts"] == {"empty_text": 1}


# --- errors ---------------------------------------------------------------------------------------------


def test_a_missing_or_wrong_model_is_one_clear_error(trained, tmp_path: Path, capsys) -> None:
    model, test = trained
    src = write_jsonl(tmp_path / "test.jsonl", test[:3])
    out = tmp_path / "out"
    assert main(["classify", str(src), "--name", "q", "--model", str(tmp_path / "nope.bin"), "--output", str(out)]) == 2
    assert "nope.bin does not exist" in capsys.readouterr().err
    (tmp_path / "junk.bin").write_bytes(b"not a model at all")
    assert main(["classify", str(src), "--name", "q", "--model", str(tmp_path / "junk.bin"), "--output", str(out)]) == 2
    assert "not a fastText model file" in capsys.readouterr().err
    assert main(["classify", str(src), "--name", "q", "--model", str(model), "--label", "__label__nope",
                 "--output", str(out)]) == 2
    assert "has no label '__label__nope'" in capsys.readouterr().err
    assert main(["classify", str(src), "--name", "bad name", "--model", str(model), "--output", str(out)]) == 2
    assert not (out / "data").exists() and not (out / "stats.json").exists()
    with pytest.raises(ConfigError, match="keep_top"):
        classify_documents([str(src)], str(out), [ClassifyConfig(name="q", model=str(model))],
                           SelectConfig(score=["q"], keep_top=1.5), runner_for("local"))
    with pytest.raises(ConfigError, match="classifier.other"):
        classify_documents([str(src)], str(out), [ClassifyConfig(name="q", model=str(model))],
                           SelectConfig(score=["other"], keep_top=0.5), runner_for("local"))


def test_bad_inputs_are_clear_errors(trained, tmp_path: Path) -> None:
    model, _ = trained
    config = [ClassifyConfig(name="q", model=str(model))]
    with pytest.raises(InputError, match="not found"):
        classify_documents([str(tmp_path / "missing.jsonl")], str(tmp_path / "o1"), config, None, runner_for("local"))
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "nobody.parquet")
    with pytest.raises(InputError, match="no 'text' column"):
        classify_documents([str(tmp_path / "nobody.parquet")], str(tmp_path / "o2"), config, None, runner_for("local"))
    assert not list((tmp_path / "o2").glob("data/**/*.parquet"))  # nothing half written
    with pytest.raises(ConfigError, match="not a fastText model|heads belong"):
        build_scorer(ClassifyConfig(name="q", model=str(model), heads=["h.safetensors"]))
    with pytest.raises(ConfigError, match="directory"):
        tr.train_classifier([str(tmp_path / "nobody.parquet")], [str(tmp_path / "nobody.parquet")], str(tmp_path),
                            tr.TrainOptions())


def test_train_classifier_needs_both_classes(tmp_path: Path, capsys) -> None:
    (tmp_path / "pos.txt").write_text("one good document\n")
    (tmp_path / "empty.txt").write_text("\n\n")
    assert main(["train-classifier", "--positive", str(tmp_path / "pos.txt"), "--negative",
                 str(tmp_path / "empty.txt"), "--output", str(tmp_path / "m.bin")]) == 2
    assert "needs positive and negative documents" in capsys.readouterr().err
    assert not (tmp_path / "m.bin").exists()


# --- the pipeline's classify: and select: sections ------------------------------------------------------


def test_pipeline_classify_and_select_after_dedup(trained, tmp_path: Path) -> None:
    from curate.config import load_pipeline
    from curate.pipeline import run

    model, _ = trained
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"""
name: classified
input: {{paths: ["{SAMPLE_WARC}"]}}
output: {{dir: "{tmp_path / 'out'}"}}
dedup: {{buckets: 2}}
classify:
  - name: quality
    model: {model.name}
select: {{score: quality, keep_top: 0.5, buckets: 2}}
""")
    (tmp_path / model.name).write_bytes(model.read_bytes())  # relative to the pipeline file
    (tmp_path / f"{model.name}.json").write_bytes(Path(f"{model}.json").read_bytes())
    config = load_pipeline(pipeline, {"runner": "local"})
    assert config.classify[0].model == str(tmp_path / model.name)
    result = run(config)
    stats = result.stats
    table = read_data(tmp_path / "out" / "data")
    assert table.num_rows == stats["documents_written"] > 0
    assert "quality_bucket" in table.column_names
    assert stats["records_read"] == stats["documents_written"] + stats["dropped"]
    assert set(stats["select"]["languages"]) == set(stats["languages"])
    per_language = pc.value_counts(table.column("language").cast(pa.string())).to_pylist()
    for entry in per_language:
        assert entry["counts"] == stats["select"]["languages"][entry["values"]]["kept"]
    assert "Model-based selection" in (tmp_path / "out" / "README.md").read_text()


def test_pipeline_refuses_a_missing_model_before_writing(tmp_path: Path) -> None:
    from curate.config import load_pipeline
    from curate.pipeline import run

    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"""
input: {{paths: ["{SAMPLE_WARC}"]}}
output: {{dir: "{tmp_path / 'out'}"}}
classify: [{{name: q, model: missing.bin}}]
""")
    with pytest.raises(ConfigError, match="missing.bin does not exist"):
        run(load_pipeline(pipeline, {"runner": "local"}))
    assert not (tmp_path / "out").exists()
    pipeline.write_text(f"""
input: {{paths: ["{SAMPLE_WARC}"]}}
classify: [{{name: q, model: m.bin}}]
select: {{score: other, keep_top: 0.3}}
""")
    with pytest.raises(ConfigError, match="computed by no classify"):
        load_pipeline(pipeline)


# --- the check, on the shared sentences ---------------------------------------------------------


def test_auc_on_held_out_sentences_of_28_languages(tmp_path: Path) -> None:
    """Issue 17's check, on documents made from ../shared/data/langid (the training and test documents use
    disjoint halves of each language's sentences): AUC >= 0.85, keep-top 0.3 within one document."""
    folder = SHARED_DATA / "langid"
    if not folder.exists():
        pytest.skip(f"shared test data not found at {folder} (set CURATE_SHARED_DATA)")
    data = classifier_data.build(seed=11, folder=folder)
    paths = classifier_data.write(tmp_path, data)
    model = tmp_path / "q.bin"
    assert main(["train-classifier", "--positive", str(paths["positive"]), "--negative", str(paths["negative"]),
                 "--output", str(model)]) == 0
    assert main(["classify", str(paths["test"]), "--name", "q", "--model", str(model), "--output",
                 str(tmp_path / "all"), "--quiet"]) == 0
    table = read_data(tmp_path / "all" / "data")
    scores = pc.map_lookup(table.column("signals"), "classifier.q", "last").to_numpy(zero_copy_only=False)
    labels = np.array(table.column("label").to_pylist())
    assert table.num_rows == len(data["test"]) and np.isfinite(scores).all()
    assert tr.auc(scores, labels) >= 0.85
    assert main(["classify", str(paths["test"]), "--name", "q", "--model", str(model), "--keep-top", "0.3",
                 "--output", str(tmp_path / "top"), "--quiet"]) == 0
    kept = read_data(tmp_path / "top" / "data")
    counts = pc.value_counts(kept.column("language").cast(pa.string())).to_pylist()
    assert len(counts) == 28
    assert all(abs(c["counts"] - 0.3 * 36) <= 1 for c in counts)
