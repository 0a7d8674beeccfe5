"""The ``embedding`` scorer (curate.classify.embedding) and its heads (curate.classify.heads), offline.

A tiny BERT (hidden 32, 2 layers, random weights) and a word-level tokenizer trained on a few multilingual
sentences are built in a temporary directory; heads are written with safetensors. Scores are compared with a
reference computed here with torch, one text at a time, without the scorer's batching, sorting or heads code.
"""

from __future__ import annotations

import json
import pickle
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from curate.classify.config import ClassifyConfig
from curate.classify.heads import inspect_head, load_head
from curate.errors import ConfigError
from curate.stage import Resources

HIDDEN = 32
SENTENCES = [
    "the cat sat on the mat and the dog slept",
    "der Hund läuft schnell über die Wiese",
    "le chat dort sur le canapé depuis midi",
    "kot śpi na kanapie a pies biega",
    "la gata duerme en el sofá toda la tarde",
    "kissa nukkuu sohvalla ja koira juoksee",
    "il gatto dorme sul divano tutto il giorno",
]
WORDS = sorted({w for s in SENTENCES for w in s.split()})


def _torch():
    torch = pytest.importorskip("torch", reason="the embedding scorer needs torch: pip install 'eurocurate[model]'")
    pytest.importorskip("transformers", reason="the embedding scorer needs transformers: pip install "
                        "'eurocurate[model]'")
    return torch


def _save_numpy(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> str:
    st = pytest.importorskip("safetensors.numpy", reason="heads are safetensors files: pip install safetensors")
    st.save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}, str(path),
                 metadata=metadata)
    return str(path)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch = _torch()
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    path = tmp_path_factory.mktemp("encoder")
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(SENTENCES, trainers.WordLevelTrainer(special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                                cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    fast.save_pretrained(str(path))
    config = transformers.BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=HIDDEN, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                                     pad_token_id=0, initializer_range=0.2)
    torch.manual_seed(0)
    transformers.BertModel(config).eval().save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def reference(model_dir):
    """embed(text, pooling, max_tokens): the pooled embedding of one text, computed plainly."""
    torch = _torch()
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    model = transformers.AutoModel.from_pretrained(str(model_dir)).eval()

    def embed(text: str, pooling: str = "mean", max_tokens: int = 64) -> np.ndarray:
        enc = tokenizer(text, truncation=True, max_length=max_tokens, return_tensors="pt")
        with torch.no_grad():
            hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state[0]
        vector = hidden[0] if pooling == "cls" else hidden.mean(dim=0)
        return vector.double().numpy()

    return embed


def _linear(tmp_path: Path, name: str, seed: int, out: int = 1, prefix: str = "") -> tuple[str, tuple]:
    rng = np.random.default_rng(seed)
    w, b = rng.normal(size=(out, HIDDEN)), rng.normal(size=out)
    return _save_numpy(tmp_path / name, {f"{prefix}weight": w, f"{prefix}bias": b}), (w, b)


def _mlp(tmp_path: Path, name: str, seed: int, inner: int = 16) -> tuple[str, tuple]:
    rng = np.random.default_rng(seed)
    w1, b1 = rng.normal(size=(inner, HIDDEN)), rng.normal(size=inner)
    w2, b2 = rng.normal(size=(1, inner)), rng.normal(size=1)
    path = _save_numpy(tmp_path / name, {"0.weight": w1, "0.bias": b1, "2.weight": w2, "2.bias": b2})
    return path, (w1, b1, w2, b2)


def _f32(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32).astype(np.float64)  # the head file stores float32


def _apply_linear(x, params):
    w, b = params
    return x @ _f32(w).T + _f32(b)


def _apply_mlp(x, params):
    w1, b1, w2, b2 = params
    return np.maximum(x @ _f32(w1).T + _f32(b1), 0) @ _f32(w2).T + _f32(b2)


def _scorer(model_dir, heads, **kw):
    from curate.classify.embedding import EmbeddingScorer

    kw.setdefault("max_tokens", 64)
    kw.setdefault("device", "cpu")
    return EmbeddingScorer(ClassifyConfig(name="edu", model=str(model_dir), heads=list(heads), **kw))


def _texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40))) for _ in range(n)]


# ---- scores ------------------------------------------------------------------------------------------------


def test_mean_pooling_linear_head_matches_reference(model_dir, reference, tmp_path):
    head, params = _linear(tmp_path, "lin.safetensors", 1)
    texts = SENTENCES + ["unbekannte Wörter überall", "the"]
    batch = _scorer(model_dir, [head], batch_size=4)(texts)
    expected = [_apply_linear(reference(t), params)[0] for t in texts]
    assert batch.scores.dtype == np.float64
    np.testing.assert_allclose(batch.scores, expected, atol=1e-5, rtol=1e-5)
    assert "truncated" not in batch.counts


def test_cls_pooling_mlp_head_matches_reference(model_dir, reference, tmp_path):
    head, params = _mlp(tmp_path, "mlp.safetensors", 2)
    batch = _scorer(model_dir, [head], pooling="cls")(SENTENCES)
    expected = [_apply_mlp(reference(t, "cls"), params)[0] for t in SENTENCES]
    np.testing.assert_allclose(batch.scores, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("combine", ["mean", "max"])
def test_two_heads_combined(model_dir, reference, tmp_path, combine):
    lin, lin_params = _linear(tmp_path, "lin.safetensors", 3)
    mlp, mlp_params = _mlp(tmp_path, "mlp.safetensors", 4)
    batch = _scorer(model_dir, [lin, mlp], combine_heads=combine)(SENTENCES)
    both = np.array([[_apply_linear(reference(t), lin_params)[0], _apply_mlp(reference(t), mlp_params)[0]]
                     for t in SENTENCES])
    assert not np.allclose(both[:, 0], both[:, 1])
    np.testing.assert_allclose(batch.scores, both.max(axis=1) if combine == "max" else both.mean(axis=1),
                               atol=1e-5, rtol=1e-5)


def test_class_head_scores_the_expected_class(model_dir, reference, tmp_path):
    head, params = _linear(tmp_path, "classes.safetensors", 5, out=4, prefix="classifier.")
    batch = _scorer(model_dir, [head])(SENTENCES)
    logits = np.array([_apply_linear(reference(t), params) for t in SENTENCES])
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(batch.scores, p @ np.arange(4), atol=1e-5, rtol=1e-5)
    assert ((batch.scores >= 0) & (batch.scores <= 3)).all()


def test_order_is_kept_across_length_buckets_and_windows(model_dir, reference, tmp_path):
    from curate.classify.embedding import WINDOW_BATCHES

    head, params = _linear(tmp_path, "lin.safetensors", 6)
    texts = _texts(3 * 3 * WINDOW_BATCHES + 5)  # batch_size 3: three windows and a partial one, lengths shuffled
    batch = _scorer(model_dir, [head], batch_size=3)(texts)
    expected = [_apply_linear(reference(t), params)[0] for t in texts]
    np.testing.assert_allclose(batch.scores, expected, atol=1e-5, rtol=1e-5)
    assert len(set(np.round(batch.scores, 6))) > len(texts) // 2  # distinct scores: a swap would show


def test_batch_size_does_not_change_scores(model_dir, tmp_path):
    head, _ = _mlp(tmp_path, "mlp.safetensors", 7)
    texts = _texts(30, seed=2)
    one = _scorer(model_dir, [head], batch_size=1)(texts).scores
    eight = _scorer(model_dir, [head], batch_size=8)(texts).scores
    np.testing.assert_allclose(one, eight, atol=1e-5, rtol=0)


def test_long_text_is_cut_to_max_tokens_and_counted(model_dir, reference, tmp_path):
    head, params = _linear(tmp_path, "lin.safetensors", 8)
    words = _texts(1, seed=3)[0].split() * 3
    long = " ".join(words)
    scorer = _scorer(model_dir, [head], max_tokens=8)
    batch = scorer([long, "the cat", " ".join(words[:6])])
    assert batch.counts["truncated"] == 1
    # [CLS] + 6 words + [SEP]: the long text scores as its first six words
    assert batch.scores[0] == pytest.approx(batch.scores[2], abs=1e-6)
    assert batch.scores[0] == pytest.approx(_apply_linear(reference(" ".join(words[:6]), max_tokens=8), params)[0],
                                            abs=1e-5)


def test_very_long_text_is_cut_before_tokenising(model_dir, reference, tmp_path):
    from curate.classify.embedding import CHARS_PER_TOKEN

    head, params = _linear(tmp_path, "lin.safetensors", 9)
    scorer = _scorer(model_dir, [head], max_tokens=8)
    huge = " ".join(["kissa nukkuu sohvalla"] * (8 * CHARS_PER_TOKEN))  # far past the character cut
    # past the character cut, yet 5 tokens (unknown words): tokenised whole, not truncated
    long_words = " ".join(["x" * 60, "kissa", "y" * 60, "z" * 60, "koira"])
    batch = scorer([huge, "kissa nukkuu sohvalla kissa nukkuu sohvalla", long_words])
    assert batch.counts["truncated"] == 1
    assert batch.scores[0] == pytest.approx(batch.scores[1], abs=1e-6)
    assert batch.scores[2] == pytest.approx(_apply_linear(reference(long_words, max_tokens=8), params)[0], abs=1e-5)


def test_empty_texts_are_nan_and_counted(model_dir, tmp_path):
    head, _ = _linear(tmp_path, "lin.safetensors", 10)
    batch = _scorer(model_dir, [head])(["", "the cat sat", "  \n ", None, "der Hund"])
    assert np.isnan(batch.scores[[0, 2, 3]]).all() and np.isfinite(batch.scores[[1, 4]]).all()
    assert batch.counts == {"empty_text": 3}


def test_pickled_scorer_carries_no_model(model_dir, tmp_path):
    head, _ = _linear(tmp_path, "lin.safetensors", 11)
    scorer = _scorer(model_dir, [head])
    before = scorer(SENTENCES).scores
    assert scorer._model is not None
    data = pickle.dumps(scorer)
    assert len(data) < 20_000 and b"torch" not in data
    copy = pickle.loads(data)
    assert copy._model is None and copy._heads is None and copy._tokenizer is None and not copy._ready
    np.testing.assert_allclose(copy(SENTENCES).scores, before, atol=1e-6)


# ---- configuration errors ---------------------------------------------------------------------------------


def _fake_model_dir(path: Path, hidden: int = HIDDEN, **config) -> Path:
    """The files the driver checks (no real weights: it never reads them)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": hidden, **config}))
    (path / "model.safetensors").write_bytes(b"")
    (path / "tokenizer.json").write_text("{}")
    return path


def _config_error(model, heads, match_path, **kw) -> str:
    from curate.classify.embedding import EmbeddingScorer

    with pytest.raises(ConfigError) as e:
        EmbeddingScorer(ClassifyConfig(name="edu", model=str(model), heads=[str(h) for h in heads], **kw))
    assert str(match_path) in str(e.value)
    return str(e.value)


def test_missing_model_pieces_are_config_errors(tmp_path):
    head, _ = _linear(tmp_path, "lin.safetensors", 12)
    _config_error(tmp_path / "nowhere", [head], tmp_path / "nowhere")
    model = _fake_model_dir(tmp_path / "m")
    (model / "config.json").unlink()
    _config_error(model, [head], model / "config.json")
    model = _fake_model_dir(tmp_path / "bin")
    (model / "model.safetensors").unlink()
    (model / "pytorch_model.bin").write_bytes(b"")
    assert "pytorch_model.bin is a pickle" in _config_error(model, [head], model / "model.safetensors")
    model = _fake_model_dir(tmp_path / "notok")
    (model / "tokenizer.json").unlink()
    _config_error(model, [head], model / "tokenizer.json")


def test_head_errors_name_the_file(tmp_path):
    model = _fake_model_dir(tmp_path / "m")
    _config_error(model, [tmp_path / "missing.safetensors"], tmp_path / "missing.safetensors")
    rng = np.random.default_rng(0)
    wrong = _save_numpy(tmp_path / "wrong.safetensors", {"0.weight": rng.normal(size=(256, 768)),
                                                         "0.bias": rng.normal(size=256),
                                                         "2.weight": rng.normal(size=(1, 256)),
                                                         "2.bias": rng.normal(size=1)})
    message = _config_error(model, [wrong], wrong)
    assert "768" in message and "hidden size 32" in message and "[256, 32]" in message
    assert "at least one head" in _config_error(model, [], "edu")


def test_max_tokens_beyond_the_model_is_a_config_error(tmp_path):
    head, _ = _linear(tmp_path, "lin.safetensors", 13)
    model = _fake_model_dir(tmp_path / "xlmr", model_type="xlm-roberta", max_position_embeddings=514, pad_token_id=1)
    assert "max_tokens <= 512" in _config_error(model, [head], "edu", max_tokens=1024)


def test_missing_libraries_name_the_extra(tmp_path, monkeypatch):
    from curate.classify import embedding

    head, _ = _linear(tmp_path, "lin.safetensors", 14)
    model = _fake_model_dir(tmp_path / "m")
    monkeypatch.setattr(embedding, "find_spec", lambda name: None if name == "torch" else object())
    message = _config_error(model, [head], "torch")
    assert "pip install 'eurocurate[model]'" in message and "torch==2.13.0" in message


def test_resources_ask_for_a_gpu_only_when_one_is_used(tmp_path, monkeypatch):
    from curate.classify.embedding import EmbeddingScorer

    head, _ = _linear(tmp_path, "lin.safetensors", 15)
    model = _fake_model_dir(tmp_path / "m")

    def resources(device: str) -> Resources:
        return EmbeddingScorer(ClassifyConfig(name="e", model=str(model), heads=[head], device=device,
                                              gpus=0.5)).resources

    assert resources("cpu") == Resources()
    assert resources("cuda") == Resources(gpus=0.5)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert resources("auto") == Resources()


def test_cuda_without_a_gpu_is_a_config_error_at_setup(model_dir, tmp_path, monkeypatch):
    torch = _torch()
    head, _ = _linear(tmp_path, "lin.safetensors", 16)
    scorer = _scorer(model_dir, [head], device="cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="device cuda, but this worker sees no GPU"):
        scorer(["the cat"])


def test_importing_the_scorer_imports_no_torch():
    code = ("import sys, curate.classify.embedding, curate.classify.heads\n"
            "print(sorted(m for m in ('torch', 'transformers', 'safetensors') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"


# ---- head layouts ------------------------------------------------------------------------------------------


def _layouts(rng):
    w1, b1, w2, b2 = rng.normal(size=(8, 6)), rng.normal(size=8), rng.normal(size=(1, 8)), rng.normal(size=1)
    lin_w, lin_b = rng.normal(size=(1, 6)), rng.normal(size=1)
    mlp = lambda x: np.maximum(x @ _f32(w1).T + _f32(b1), 0) @ _f32(w2).T + _f32(b2)  # noqa: E731
    lin = lambda x: x @ _f32(lin_w).T + _f32(lin_b)  # noqa: E731
    return [
        ({"weight": lin_w, "bias": lin_b}, lin, "linear 6-1"),
        ({"linear.weight": lin_w, "linear.bias": lin_b}, lin, "linear 6-1"),
        ({"head.weight": lin_w}, lambda x: x @ _f32(lin_w).T, "linear 6-1"),
        ({"0.weight": w1, "0.bias": b1, "2.weight": w2, "2.bias": b2}, mlp, "MLP (relu) 6-8-1"),
        ({"fc1.weight": w1, "fc1.bias": b1, "fc2.weight": w2, "fc2.bias": b2}, mlp, "MLP (relu) 6-8-1"),
        ({"layers.0.weight": w1, "layers.0.bias": b1, "layers.1.weight": w2, "layers.1.bias": b2}, mlp,
         "MLP (relu) 6-8-1"),
        ({"classifier.dense.weight": w1, "classifier.dense.bias": b1, "classifier.out_proj.weight": w2,
          "classifier.out_proj.bias": b2}, mlp, "MLP (relu) 6-8-1"),
        # the names sort the output layer first; the shapes say which comes first
        ({"a_out.weight": w2, "a_out.bias": b2, "b_in.weight": w1, "b_in.bias": b1}, mlp, "MLP (relu) 6-8-1"),
    ]


def test_head_layouts_are_recognised(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 6))
    for i, (tensors, forward, described) in enumerate(_layouts(rng)):
        path = _save_numpy(tmp_path / f"h{i}.safetensors", tensors)
        head = load_head(path, hidden_size=6)
        assert head.spec.describe() == described, tensors.keys()
        np.testing.assert_allclose(head.forward_numpy(x), forward(x)[:, 0], rtol=1e-6, atol=1e-6)


def test_torch_head_matches_numpy_head(tmp_path):
    torch = _torch()
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 6))
    for i, (tensors, _, _) in enumerate(_layouts(rng)):
        head = load_head(_save_numpy(tmp_path / f"h{i}.safetensors", tensors), hidden_size=6)
        got = head.to_torch(torch.device("cpu"))(torch.from_numpy(x)).double().numpy()
        np.testing.assert_allclose(got, head.forward_numpy(x), rtol=1e-5, atol=1e-5)
    classes = load_head(_save_numpy(tmp_path / "c.safetensors", {"weight": rng.normal(size=(3, 6))}), 6)
    got = classes.to_torch(torch.device("cpu"))(torch.from_numpy(x)).double().numpy()
    np.testing.assert_allclose(got, classes.forward_numpy(x), rtol=1e-5, atol=1e-5)


def test_bf16_and_activation_metadata(tmp_path):
    torch = _torch()
    from safetensors.torch import save_file

    w1, b1, w2 = torch.randn(4, 6), torch.randn(4), torch.randn(1, 4)
    path = tmp_path / "bf16.safetensors"
    save_file({"fc1.weight": w1.bfloat16(), "fc1.bias": b1.bfloat16(), "fc2.weight": w2.bfloat16()}, str(path),
              metadata={"activation": "gelu"})
    head = load_head(path, 6)
    x = torch.randn(3, 6)
    expected = torch.nn.functional.gelu(x @ w1.bfloat16().float().T + b1.bfloat16().float()) @ w2.bfloat16().float().T
    np.testing.assert_allclose(head.forward_numpy(x.numpy()), expected[:, 0].numpy(), rtol=1e-5, atol=1e-5)
    assert head.spec.describe() == "MLP (gelu) 6-4-1"


@pytest.mark.parametrize("tensors, why", [
    ({"weight": np.ones(6), "bias": np.ones(6)}, "not [out, in]"),
    ({"weight": np.ones((1, 6)), "running_mean": np.ones(1)}, "neither a weight nor a bias"),
    ({"weight": np.ones((2, 6)), "bias": np.ones(3)}, "expected [2]"),
    ({"0.weight": np.ones((8, 6)), "1.weight": np.ones((8, 8)), "2.weight": np.ones((1, 8))}, "3 linear layers"),
    ({"0.weight": np.ones((8, 6)), "2.weight": np.ones((1, 7))}, "do not chain"),
    ({"0.bias": np.ones(3)}, "has no weight"),
])
def test_unrecognised_head_layouts(tmp_path, tensors, why):
    path = _save_numpy(tmp_path / "bad.safetensors", tensors)
    with pytest.raises(ConfigError, match=re.escape(why)) as e:
        inspect_head(path, 6)
    assert path in str(e.value)


def test_not_a_safetensors_file(tmp_path):
    path = tmp_path / "head.pt"
    path.write_bytes(b"\x80\x04junk")
    with pytest.raises(ConfigError, match="not a safetensors file"):
        inspect_head(path)


REMOTE_CODE = '''
from transformers import BertConfig, BertModel


class CurateTestConfig(BertConfig):
    model_type = "curate-test-remote"


class CurateTestModel(BertModel):
    config_class = CurateTestConfig
'''


def test_model_code_runs_only_with_trust_remote_code(model_dir, reference, tmp_path):
    """A model whose config names code of its own (auto_map) is refused with the way out; with
    trust_remote_code the code in the directory runs, offline, and scores as the same weights do."""
    import shutil

    remote = tmp_path / "remote"
    shutil.copytree(model_dir, remote)
    config = json.loads((remote / "config.json").read_text())
    config.update(model_type="curate-test-remote", architectures=["CurateTestModel"],
                  auto_map={"AutoConfig": "modeling_curate_test.CurateTestConfig",
                            "AutoModel": "modeling_curate_test.CurateTestModel"})
    (remote / "config.json").write_text(json.dumps(config))
    (remote / "modeling_curate_test.py").write_text(REMOTE_CODE)
    head, params = _linear(tmp_path, "lin.safetensors", 21)
    with pytest.raises(ConfigError, match="trust_remote_code"):
        _scorer(remote, [head])(["the cat"])
    texts = _texts(12, seed=5)
    scores = _scorer(remote, [head], trust_remote_code=True)(texts).scores
    expected = [_apply_linear(reference(t), params)[0] for t in texts]
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)


def test_classify_command_with_an_embedding_model_on_ray_equals_local(model_dir, tmp_path, local_ray):
    """`curate classify --kind embedding` end to end: every document scored, every column kept, the same
    scores from the local runner and from Ray's actor pool (three input files: three work items)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from curate.cli import main

    head, _ = _linear(tmp_path, "lin.safetensors", 22)
    src = tmp_path / "in"
    src.mkdir()
    texts = _texts(30, seed=9)
    for k in range(3):
        lines = [json.dumps({"id": f"d{i}", "text": t, "language": "en", "url": f"https://x/{i}"})
                 for i, t in enumerate(texts) if i % 3 == k]
        (src / f"part-{k}.jsonl").write_text("\n".join(lines) + "\n")
    outputs = {}
    for runner in ("local", "ray"):
        out = tmp_path / runner
        args = ["classify", str(src), "--name", "edu", "--model", str(model_dir), "--heads", head,
                "--device", "cpu", "--max-tokens", "64", "--output", str(out), "--runner", runner, "--quiet"]
        assert main(args) == 0
        table = pa.concat_tables(pq.ParquetFile(f).read() for f in sorted((out / "data").rglob("*.parquet")))
        table = table.sort_by("id")
        assert table.num_rows == len(texts) and "url" in table.column_names
        outputs[runner] = (table.column("id").to_pylist(),
                           pc.map_lookup(table.column("signals"), "classifier.edu", "last").to_pylist())
        stats = json.loads((out / "stats.json").read_text())
        assert stats["classify"]["scorers"][0]["scored"] == len(texts)
    assert outputs["local"][0] == outputs["ray"][0]
    np.testing.assert_allclose(outputs["local"][1], outputs["ray"][1], rtol=1e-5, atol=1e-6)
