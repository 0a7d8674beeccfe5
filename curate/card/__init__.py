"""Dataset card: ``OUTPUT/README.md``, a Hugging Face dataset card generated from ``stats.json``."""

from __future__ import annotations

import json
from typing import Any

import fsspec
import yaml

from curate.io import write_text

LANGUAGE_NAMES = {
    "bg": "Bulgarian", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek", "en": "English",
    "es": "Spanish", "et": "Estonian", "fi": "Finnish", "fr": "French", "ga": "Irish", "hr": "Croatian",
    "hu": "Hungarian", "it": "Italian", "lt": "Lithuanian", "lv": "Latvian", "mt": "Maltese", "nl": "Dutch",
    "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "sk": "Slovak", "sl": "Slovenian", "sv": "Swedish",
    "ca": "Catalan", "eu": "Basque", "gl": "Galician", "lb": "Luxembourgish",
}  # fmt: skip


def size_category(n: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]
    for bound, label in bounds:
        if n < bound:
            return label
    return "1B<n<10B"


def render_card(stats: dict[str, Any]) -> str:
    languages = stats["languages"]
    total_docs = stats["documents_written"]
    config = stats["config"]
    header = {
        "pretty_name": config["card"]["pretty_name"] or stats["pipeline"],
        "language": sorted(languages),
        "license": config["card"]["license"],
        "size_categories": [size_category(total_docs)],
        "task_categories": ["text-generation"],
        "configs": [
            {"config_name": lang, "data_files": [{"split": "train", "path": f"data/language={lang}/*.parquet"}]}
            for lang in sorted(languages)
        ],
    }
    lines = [
        "---",
        yaml.safe_dump(header, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# {header['pretty_name']}",
        "",
        f"Web text produced by curate (pipeline `{stats['pipeline']}`, config hash `{stats['config_hash']}`) "
        f"from {len(stats['inputs'])} input file(s): {stats['records_read']:,} records read, "
        f"{total_docs:,} documents kept in {len(languages)} language(s).",
        "",
        "## Languages",
        "",
        "| language | code | documents | characters | tokens | share of documents |",
        "|---|---|---:|---:|---:|---:|",
    ]
    tokens = (stats.get("tokenized") or {}).get("per_language", {})
    for lang, row in sorted(languages.items(), key=lambda kv: -kv[1]["documents"]):
        share = row["documents"] / total_docs if total_docs else 0.0
        n_tokens = f"{tokens[lang]:,}" if lang in tokens else "–"
        lines.append(f"| {LANGUAGE_NAMES.get(lang, lang)} | {lang} | {row['documents']:,} | "
                     f"{row['characters']:,} | {n_tokens} | {share:.1%} |")
    if stats.get("tokenized"):
        tok = stats["tokenized"]
        lines += ["", f"Tokenised into {tok['shards']} Megatron shard(s) ({tok['dtype']}, {tok['tokens']:,} tokens) "
                      f"under `tokenized/` with the tokenizer of sha256 `{tok['tokenizer_sha256'][:16]}…`; "
                      "`tokenized/blend.txt` holds the language blend."]
    lines += ["", "## Processing funnel", "", "| stage | in | dropped | out |", "|---|---:|---:|---:|"]
    from curate.stats import STAGE_ORDER

    order = {stage: i for i, stage in enumerate(STAGE_ORDER)}
    for stage, row in sorted(stats["stages"].items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])):
        lines.append(f"| {stage} | {row['in']:,} | {row['dropped']:,} | {row['out']:,} |")
    lines += ["", "### Drops by reason", "", "| stage | reason | documents |", "|---|---|---:|"]
    for stage, reasons in stats["drops"].items():
        for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"| {stage} | {reason} | {n:,} |")
    dedup = stats.get("dedup")
    if dedup:
        dropped = stats["drops"].get("dedup", {})
        entering = stats["stages"].get("dedup", {}).get("in", 0)
        lines += ["", "## Deduplication", "",
                  "| kind | enabled | documents dropped | share of documents reaching dedup |", "|---|---|---:|---:|"]
        for kind in ("exact", "url", "near"):
            n = dropped.get(f"{kind}_duplicate", 0)
            share = n / entering if entering else 0.0
            lines.append(f"| {kind} | {'yes' if dedup['kinds'].get(kind) else 'no'} | {n:,} | {share:.1%} |")
        mh = dedup["minhash"]
        lines += ["", f"Near-duplicates: MinHash LSH, {mh['ngram_size']}-word shingles, {mh['bands']} bands × "
                      f"{mh['rows_per_band']} rows ({mh['hash_function']}, {mh['scheme']}), scope {mh['scope']}, "
                      f"keep {mh['keep']}. Kept documents carry `cluster_size` (for up-sampling)."]
    if stats.get("pii_redactions"):
        lines += ["", "## PII redaction", "", "| type | redactions |", "|---|---:|"]
        for kind, n in stats["pii_redactions"].items():
            lines.append(f"| {kind} | {n:,} |")
    lines += [
        "",
        "## Pipeline configuration",
        "",
        "```yaml",
        yaml.safe_dump(config, sort_keys=False, allow_unicode=True).rstrip(),
        "```",
        "",
        "Software: " + ", ".join(f"{k} {v}" for k, v in sorted(stats["versions"].items())),
        "",
    ]
    return "\n".join(lines)


def write_card(output_dir: str, stats: dict[str, Any]) -> str:
    path = f"{output_dir.rstrip('/')}/README.md"
    write_text(render_card(stats), path)
    return path


def card_from_output(output_dir: str) -> str:
    """Regenerate the card of a finished run from its stats.json."""
    with fsspec.open(f"{output_dir.rstrip('/')}/stats.json", "r", encoding="utf-8") as fh:
        stats = json.load(fh)
    return write_card(output_dir, stats)
