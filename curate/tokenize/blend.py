"""The language blend: temperature-sampling weights per dataset and Megatron ``--data-path`` lines."""

from __future__ import annotations

from typing import Any


def blend_weights(tokens: dict[str, int], temperature: float) -> dict[str, float]:
    """Sampling weight per dataset: ``(n_i / N) ** temperature``, normalised to sum to 1.

    Temperature (exponent) sampling as in XLM-R (Conneau et al. 2020, §3.1, alpha = 0.3) and mT5
    (Xue et al. 2021, §2.2, alpha = 0.3); ``temperature`` here is that exponent (Arivazhagan et al.
    2019 write it 1/T). 1 keeps the natural token shares, 0 gives every dataset the same weight.
    """
    sizes = {k: v for k, v in tokens.items() if v > 0}
    total = sum(sizes.values())
    raw = {k: (v / total) ** temperature for k, v in sizes.items()}
    norm = sum(raw.values())
    return {k: raw[k] / norm for k in sorted(raw)}


def blend_summary(tokens: dict[str, int], temperature: float, token_budget: int | None) -> dict[str, Any]:
    """Weights, natural shares and effective epochs (weight × budget / tokens) per dataset."""
    weights = blend_weights(tokens, temperature)
    total = sum(tokens[k] for k in weights)
    budget = token_budget if token_budget is not None else total
    return {
        "temperature": temperature,
        "token_budget": budget,
        "token_budget_is_total": token_budget is None,
        "datasets": {k: {"tokens": tokens[k], "share": tokens[k] / total, "weight": w,
                         "epochs": w * budget / tokens[k]} for k, w in weights.items()},
    }


def blend_text(manifest: dict[str, Any], root: str) -> str:
    """Megatron ``--data-path`` pairs, one ``weight prefix`` per line: a dataset's weight is spread over
    its shards by their tokens (``--data-path $(cat blend.txt)`` or ``--data-args-path blend.txt``)."""
    weights = {k: v["weight"] for k, v in manifest["blend"]["datasets"].items()}
    totals = {k: v["tokens"] for k, v in manifest["datasets"].items()}
    lines = []
    for shard in manifest["shards"]:
        weight = weights[shard["dataset"]] * shard["tokens"] / totals[shard["dataset"]]
        lines.append(f"{weight:.12g} {root}/{shard['prefix']}")
    return "\n".join(lines) + "\n"


def format_blend(manifest: dict[str, Any]) -> str:
    """A human-readable table of the blend (printed by the CLI)."""
    blend = manifest["blend"]
    budget = blend["token_budget"]
    note = " (the total written)" if blend["token_budget_is_total"] else ""
    out = [f"blend: temperature {blend['temperature']}, token budget {budget:,}{note}",
           f"{'dataset':<8} {'tokens':>15} {'share':>8} {'weight':>8} {'epochs':>8}"]
    for name, row in blend["datasets"].items():
        out.append(f"{name:<8} {row['tokens']:>15,} {row['share']:>8.4f} {row['weight']:>8.4f} {row['epochs']:>8.3f}")
    return "\n".join(out)
