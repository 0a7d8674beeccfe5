"""On a machine with a GPU (written for one H200): the ``embedding`` scorer gives the same scores on CUDA
(bfloat16) as on the CPU (float32), and how fast it scores end to end there. Prints one JSON line; exits 1
when a check fails.

    python benchmarks/gpu_classify_check.py                              # on the GPU machine, < 5 minutes
    python benchmarks/gpu_classify_check.py --device cpu --docs 200     # smoke test without a GPU

Steps (nothing downloaded; see ``bench_embedding.py`` for the synthetic texts, tokenizer and model):

1. build an XLM-R-base sized encoder with random weights (hidden 768, 12 layers, vocab 250002) and a
   FineWeb2-HQ-shaped MLP head (768-256-1, ReLU) in a temporary directory. Random weights map all texts to
   nearly the same embedding, so the head's first layer standardises the pooled embedding with the mean and
   standard deviation of a few calibration texts, as a trained head would discriminate between them;
2. score the first ``--cpu-docs`` texts (default 200) on the CPU in float32: the reference;
3. score all ``--docs`` texts (default 20,000, ``--chars`` 4,000 characters on average, so that most fill
   the 512 tokens) on ``--device`` end to end, timed: docs/s, the GPU busy fraction (GPU time of the model's
   forward passes over wall time) and NVML utilisation when available;
4. compare the first ``--cpu-docs`` device scores with the reference: max and mean absolute difference (also
   in units of the reference scores' standard deviation), Spearman and Pearson correlation. bfloat16 keeps
   about 3 significant digits, so the check asks for rank agreement (Spearman >= ``--min-spearman``, 0.98)
   and differences below ``--max-diff-std`` (0.5) and ``--mean-diff-std`` (0.1) standard deviations, not for
   equality (bfloat16 on a CPU, same model and head, 64 texts: max 0.12, mean 0.03, Spearman 0.998);
5. the model-only ceiling: random 512-token batches through the model alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_embedding import (  # noqa: E402
    build_model,
    make_scorer,
    measure,
    model_ceiling,
    synthetic_texts,
    write_mlp_head,
)


def calibrate(model_dir: Path, texts: list[str], device: str, max_tokens: int):
    """Per-dimension mean and standard deviation of the mean-pooled embeddings of ``texts``."""
    import numpy as np
    import torch
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = transformers.AutoModel.from_pretrained(str(model_dir), local_files_only=True, dtype=dtype).to(device)
    pooled = []
    with torch.inference_mode():
        for i in range(0, len(texts), 16):
            enc = tokenizer(texts[i:i + 16], truncation=True, max_length=max_tokens, padding=True,
                            return_tensors="pt").to(device)
            hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled.append(((hidden.float() * mask).sum(1) / mask.sum(1)).cpu().numpy())
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    pooled = np.concatenate(pooled).astype(np.float64)
    return pooled.mean(axis=0), pooled.std(axis=0)


def ranks(x):
    import numpy as np

    order = np.argsort(x, kind="stable")
    out = np.empty(len(x), dtype=np.float64)
    out[order] = np.arange(len(x), dtype=np.float64)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--arch", choices=("xlmr-base", "small"), default="xlmr-base")
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--cpu-docs", type=int, default=200, help="texts scored on the CPU as the reference")
    parser.add_argument("--calibration-docs", type=int, default=None, help="default 64 on CUDA, 16 on CPU")
    parser.add_argument("--chars", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--min-spearman", type=float, default=0.98)
    # bfloat16 on a CPU, same model and head, 64 texts: max 0.12, mean 0.03 standard deviations, Spearman 0.998
    parser.add_argument("--max-diff-std", type=float, default=0.5,
                        help="largest allowed |device - CPU| score difference, in reference standard deviations")
    parser.add_argument("--mean-diff-std", type=float, default=0.1,
                        help="largest allowed mean |device - CPU| score difference, in standard deviations")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"ok": False, "failures": ["no GPU visible to torch"], "torch": torch.__version__}))
        return 1
    started = time.perf_counter()
    texts = synthetic_texts(args.docs, args.chars, seed=1)
    cpu_docs = min(args.cpu_docs, len(texts))
    out: dict = {"device": args.device, "arch": args.arch, "docs": len(texts), "chars": args.chars,
                 "batch_size": args.batch_size, "max_tokens": args.max_tokens, "cpu_docs": cpu_docs,
                 "torch": torch.__version__, "cpu_count": os.cpu_count()}
    if args.device == "cuda":
        out["gpu"] = torch.cuda.get_device_name()
    with tempfile.TemporaryDirectory(prefix="gpu-classify-check-") as tmp:
        t0 = time.perf_counter()
        model_dir = Path(tmp) / "model"
        hidden = build_model(model_dir, args.arch, synthetic_texts(1500, 1000, seed=0))
        out["build_s"] = round(time.perf_counter() - t0, 1)

        t0 = time.perf_counter()
        calibration = synthetic_texts(args.calibration_docs or (64 if args.device == "cuda" else 16), args.chars,
                                      seed=2)
        mean, std = calibrate(model_dir, calibration, args.device, args.max_tokens)
        head = write_mlp_head(Path(tmp) / "head.safetensors", hidden, inner=256, mean=mean, std=std)
        out["calibrate_s"] = round(time.perf_counter() - t0, 1)

        # 2. the CPU reference (float32)
        cpu = make_scorer(model_dir, head, "cpu", min(args.batch_size, 32), args.max_tokens)
        cpu_result, reference = measure(cpu, texts[:cpu_docs])
        out.update({"cpu_docs_per_s": cpu_result["docs_per_s"], "cpu_threads": cpu_result["cpu_threads"],
                    "cpu_docs_per_s_per_core": cpu_result["docs_per_s_per_core"]})
        del cpu

        # 3. end to end on the device
        scorer = make_scorer(model_dir, head, args.device, args.batch_size, args.max_tokens)
        out["dtype"] = str(next(scorer._model.parameters()).dtype)
        result, scores = measure(scorer, texts)
        out.update({k: v for k, v in result.items() if k not in ("docs",)})
        whole = scorer._tokenizer.__class__.from_str(scorer._tokenizer.to_str())
        whole.no_truncation()
        lengths = np.array([len(e.ids) for e in whole.encode_batch(texts[:1000])])
        out["mean_tokens_per_doc"] = round(float(lengths.mean()), 1)
        out["share_at_max_tokens"] = round(float((lengths >= args.max_tokens).mean()), 3)

        # 4. agreement
        device_scores = scores[:cpu_docs]
        diff = np.abs(device_scores - reference)
        spread = float(np.std(reference)) or 1.0
        out.update({
            "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()), "reference_std": spread,
            "max_diff_in_std": round(float(diff.max()) / spread, 4),
            "mean_diff_in_std": round(float(diff.mean()) / spread, 4),
            "spearman": round(float(np.corrcoef(ranks(device_scores), ranks(reference))[0, 1]), 5),
            "pearson": round(float(np.corrcoef(device_scores, reference)[0, 1]), 5),
        })

        # 5. the model alone
        out["model_only_docs_per_s"] = round(model_ceiling(scorer, args.batch_size, args.max_tokens,
                                                           20 if args.device == "cuda" else 1), 1)
        if out.get("docs_per_s") and out["model_only_docs_per_s"]:
            out["end_to_end_over_model_only"] = round(out["docs_per_s"] / out["model_only_docs_per_s"], 3)
    failures = []
    if not np.isfinite(scores).all():
        failures.append(f"{int((~np.isfinite(scores)).sum())} scores are not finite")
    if not out["spearman"] >= args.min_spearman:
        failures.append(f"spearman {out['spearman']} < {args.min_spearman}")
    if not out["max_diff_in_std"] <= args.max_diff_std:
        failures.append(f"max |device - cpu| = {out['max_diff_in_std']} std > {args.max_diff_std}")
    if not out["mean_diff_in_std"] <= args.mean_diff_std:
        failures.append(f"mean |device - cpu| = {out['mean_diff_in_std']} std > {args.mean_diff_std}")
    out["total_s"] = round(time.perf_counter() - started, 1)
    out["ok"] = not failures
    out["failures"] = failures
    print(json.dumps(out))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
