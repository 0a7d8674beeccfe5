"""Speed of the ``embedding`` scorer (curate.classify.embedding) end to end: docs/s (and docs/s per core on
a CPU) on a random-weight encoder built from a config, with an MLP head (FineWeb2-HQ's shape: hidden-256-1).

Nothing is downloaded and no file is needed: the texts are synthetic multilingual-ish documents (Latin with
diacritics, Cyrillic and Greek pseudo-words, Zipf-distributed, sentences and paragraphs) generated here;
the tokenizer is a SentencePiece-style Unigram (Metaspace, XLM-R's special tokens) trained on them; the model
is ``XLMRobertaModel`` with random weights:

* ``--arch small`` (default): hidden 128, 2 layers, 2 heads, for a quick CPU run;
* ``--arch xlmr-base``: XLM-R-base sized (hidden 768, 12 layers, 12 heads, intermediate 3072, vocab 250002).

Random weights cost exactly what trained ones do; the tokenizer's vocabulary is smaller than XLM-R's
(tokens/doc and chars/token are printed: XLM-R's own tokenizer makes 3.5-5 characters per token of
European text; at the default 2,000 characters most documents fill ``--max-tokens``).

What it prints: docs/s = documents / wall-clock seconds of ``scorer(texts)`` (tokenising, batching, the model,
pooling and the head; model load and a warm-up excluded), on CPU also per core (torch's intra-op threads);
the model-only ceiling (random ``--max-tokens`` batches of ``--batch-size`` through the model alone, no
tokenising, no padding waste); on CUDA the GPU busy fraction (GPU time of the model's forward passes,
measured with CUDA events, over the wall-clock time) and, when NVML is importable, the mean of
``torch.cuda.utilization()`` sampled every 50 ms.

    python benchmarks/bench_embedding.py                          # small model, CPU, ~30 s
    python benchmarks/bench_embedding.py --arch xlmr-base --device cuda --docs 20000 --batch-size 128
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ARCHS = {
    "small": {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 512,
              "vocab_size": None},
    "xlmr-base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                  "intermediate_size": 3072, "vocab_size": 250002},
}
_ALPHABETS = {
    "latin": ("bcdfghjklmnprstvwzbcdfghklmnprstšžčřłń", "aeiouaeiouaeiouyáéíóúäöüåøæ"),
    "cyrillic": ("бвгджзклмнпрстфхцчшщ", "аеиоуыэюяё"),
    "greek": ("βγδζθκλμνξπρστφχψ", "αεηιουωάέήίόύώ"),
}


def synthetic_texts(n: int, chars: int, seed: int = 0) -> list[str]:
    """``n`` documents of 0.5-1.5 x ``chars`` characters: per pseudo-language a Zipf-distributed lexicon of
    syllable words and a pool of sentences of 4-18 words, drawn into paragraphs of 2-6 sentences."""
    rng = random.Random(0)  # the same pseudo-languages for every seed: the tokenizer is trained on seed 0
    pools = []
    for alphabet, (consonants, vowels) in sorted(_ALPHABETS.items()):
        for _ in range(3 if alphabet == "latin" else 1):
            syllables = [rng.choice(consonants) + rng.choice(vowels) + rng.choice(["", "", rng.choice(consonants)])
                         for _ in range(120)]
            words = list({"".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(6000)})
            weights = [1.0 / (r + 1) for r in range(len(words))]
            sentences = []
            for _ in range(3000):
                sentence = rng.choices(words, weights, k=rng.randint(4, 18))
                sentences.append(sentence[0].capitalize() + " " + " ".join(sentence[1:]) + rng.choice(".....?!"))
            pools.append(sentences)
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        sentences = rng.choice(pools)
        target = max(1, int(rng.uniform(0.5, 1.5) * chars))
        paragraphs, size = [], 0
        while size < target:
            paragraphs.append(" ".join(rng.choices(sentences, k=rng.randint(2, 6))))
            size += len(paragraphs[-1]) + 1
        texts.append("\n".join(paragraphs)[:target])
    return texts


def build_model(path: Path, arch: str, train_texts: list[str], vocab_size: int = 4000, seed: int = 0) -> int:
    """A tokenizer trained on ``train_texts`` and a random ``arch`` encoder, saved into ``path``; its hidden size."""
    import torch
    import transformers
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0-4
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(train_texts, trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials,
                                                                 unk_token="<unk>"))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                         pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>",
                                         model_max_length=512).save_pretrained(str(path))
    shape = dict(ARCHS[arch])
    shape["vocab_size"] = shape["vocab_size"] or tok.get_vocab_size()
    config = transformers.XLMRobertaConfig(**shape, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                                           bos_token_id=0, eos_token_id=2)
    torch.manual_seed(seed)
    transformers.XLMRobertaModel(config).eval().save_pretrained(str(path))
    return int(config.hidden_size)


def write_mlp_head(path: Path, hidden: int, inner: int = 256, seed: int = 0, mean: Any = None, std: Any = None) -> str:
    """A FineWeb2-HQ-shaped MLP head (``nn.Sequential(Linear(hidden, inner), ReLU, Linear(inner, 1))``).
    With ``mean``/``std`` of the pooled embeddings, the first layer standardises them first, so that random
    weights still spread the scores of different texts."""
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    w1 = rng.normal(size=(inner, hidden)) / math.sqrt(hidden)
    b1 = np.zeros(inner)
    if mean is not None:
        w1 = w1 / np.maximum(np.asarray(std, dtype=np.float64), 1e-6)
        b1 = -w1 @ np.asarray(mean, dtype=np.float64)
    w2, b2 = rng.normal(size=(1, inner)) / math.sqrt(inner), np.zeros(1)
    tensors = {"0.weight": w1, "0.bias": b1, "2.weight": w2, "2.bias": b2}
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}, str(path))
    return str(path)


def make_scorer(model_dir: Path, head: str, device: str, batch_size: int, max_tokens: int) -> Any:
    from curate.classify.config import ClassifyConfig
    from curate.classify.embedding import EmbeddingScorer

    scorer = EmbeddingScorer(ClassifyConfig(name="bench", model=str(model_dir), heads=[head], device=device,
                                            batch_size=batch_size, max_tokens=max_tokens))
    scorer.setup()
    scorer._ready = True
    return scorer


class GpuTimer:
    """Wraps the scorer's model: CUDA events around every forward pass, summed after a synchronise."""

    def __init__(self, model: Any) -> None:
        self.model, self.events = model, []

    def __call__(self, **kwargs: Any) -> Any:
        import torch

        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        out = self.model(**kwargs)
        end.record()
        self.events.append((start, end))
        return out

    def seconds(self) -> float:
        import torch

        torch.cuda.synchronize()
        return sum(s.elapsed_time(e) for s, e in self.events) / 1000.0


class UtilizationSampler(threading.Thread):
    """``torch.cuda.utilization()`` every 50 ms while scoring (needs NVML: nvidia-ml-py)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        import torch

        while not self.stop.is_set():
            try:
                self.samples.append(float(torch.cuda.utilization()))
            except Exception:  # noqa: BLE001 - NVML missing: no samples, reported as null
                return
            time.sleep(0.05)


def model_ceiling(scorer: Any, batch_size: int, max_tokens: int, batches: int) -> float:
    """docs/s of the model alone on random full-length batches (the device's ceiling for this model)."""
    import torch

    model, device = scorer._model, scorer._device
    vocab = int(model.config.vocab_size)
    ids = torch.randint(5, vocab, (batch_size, max_tokens), device=device)
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        model(input_ids=ids, attention_mask=mask)  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(batches):
            model(input_ids=ids, attention_mask=mask).last_hidden_state.mean()
        if device.type == "cuda":
            torch.cuda.synchronize()
    return batches * batch_size / (time.perf_counter() - start)


def measure(scorer: Any, texts: list[str]) -> tuple[dict[str, Any], Any]:
    """Score ``texts`` once (after a small warm-up): docs/s and, on CUDA, the GPU busy fraction; and the scores."""
    import numpy as np
    import torch

    scorer(texts[: min(len(texts), scorer.config.batch_size)])  # warm-up: kernels, allocator
    cuda = scorer._device.type == "cuda"
    timer = sampler = None
    if cuda:
        timer = GpuTimer(scorer._model)
        scorer._model = timer
        sampler = UtilizationSampler()
        sampler.start()
        torch.cuda.synchronize()
    start = time.perf_counter()
    batch = scorer(texts)
    wall = time.perf_counter() - start
    result: dict[str, Any] = {"docs": len(texts), "seconds": round(wall, 3), "docs_per_s": round(len(texts) / wall, 1),
                              "truncated": int(batch.counts.get("truncated", 0)),
                              "nan_scores": int(np.isnan(batch.scores).sum())}
    if cuda:
        sampler.stop.set()
        sampler.join()
        scorer._model = timer.model
        result["gpu_busy_fraction"] = round(timer.seconds() / wall, 3)
        result["nvml_utilization_pct"] = round(float(np.mean(sampler.samples)), 1) if sampler.samples else None
    else:
        threads = torch.get_num_threads()
        result["cpu_threads"] = threads
        result["docs_per_s_per_core"] = round(len(texts) / wall / threads, 2)
    return result, batch.scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(ARCHS), default="small")
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--chars", type=int, default=2000, help="mean characters per document")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--ceiling-batches", type=int, default=None, help="model-only batches (default 3 on CPU, "
                        "20 on CUDA)")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the text report")
    args = parser.parse_args(argv)

    import torch
    from tokenizers import Tokenizer

    texts = synthetic_texts(args.docs, args.chars, seed=1)
    with tempfile.TemporaryDirectory(prefix="bench-embedding-") as tmp:
        model_dir = Path(tmp) / "model"
        t0 = time.perf_counter()
        hidden = build_model(model_dir, args.arch, synthetic_texts(1500, 1000, seed=0))
        head = write_mlp_head(Path(tmp) / "head.safetensors", hidden)
        build_s = time.perf_counter() - t0
        scorer = make_scorer(model_dir, head, args.device, args.batch_size, args.max_tokens)
        whole = Tokenizer.from_str(scorer._tokenizer.to_str())
        whole.no_truncation()
        tokens = [len(e.ids) for e in whole.encode_batch(texts[:500])]
        chars_per_token = sum(len(t) for t in texts[:500]) / sum(tokens)
        result, _ = measure(scorer, texts)
        cuda = scorer._device.type == "cuda"
        batches = args.ceiling_batches or (20 if cuda else 3)
        ceiling = model_ceiling(scorer, args.batch_size, args.max_tokens, batches)
    dtype = str(next(scorer._model.parameters()).dtype)
    result.update({"arch": args.arch, "device": str(scorer._device), "dtype": dtype,
                   "batch_size": args.batch_size, "max_tokens": args.max_tokens, "chars": args.chars,
                   "mean_tokens_per_doc": round(sum(tokens) / len(tokens), 1),
                   "chars_per_token": round(chars_per_token, 2),
                   "model_only_docs_per_s": round(ceiling, 1), "build_s": round(build_s, 1),
                   "torch": torch.__version__, "cpu_count": os.cpu_count()})
    if cuda:
        result["gpu"] = torch.cuda.get_device_name()
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"embedding scorer, {args.arch} ({result['dtype']}) on {result['device']}"
          + (f" ({result['gpu']})" if cuda else f", {result['cpu_threads']} threads"))
    print(f"  {result['docs']} docs of ~{args.chars} chars, {result['mean_tokens_per_doc']} tokens/doc before the "
          f"cut at {args.max_tokens} ({result['chars_per_token']} chars/token), batch {args.batch_size}: "
          f"{result['seconds']} s, {result['docs_per_s']} docs/s"
          + ("" if cuda else f", {result['docs_per_s_per_core']} docs/s per core")
          + f"; {result['truncated']} truncated")
    print(f"  model only ({args.max_tokens}-token batches): {result['model_only_docs_per_s']} docs/s")
    if cuda:
        print(f"  GPU busy: {result['gpu_busy_fraction']:.1%} of wall time (CUDA events); NVML utilisation: "
              f"{result['nvml_utilization_pct']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
