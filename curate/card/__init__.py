"""Dataset card: ``OUTPUT/README.md``, a Hugging Face dataset card generated from ``stats.json``, with
PNG plots under ``OUTPUT/plots/`` and the AI Act training-content summary ``OUTPUT/ai_act_summary.{md,json}``.

Everything is a pure function of ``stats.json``: the same stats give byte-identical files. Missing or
partial stats (a run that died, no documents, a language without documents) are said plainly; no number
is shown that stats.json does not hold.

Optional ``stats.json`` keys read here (see :mod:`curate.card.stats_extra` and :mod:`curate.card.ai_act`):
``content`` (words, length histograms, domains, crawl dates, drops by language), ``crawler``,
``tdm_opt_out``; ``config.card.top_domains_share`` and ``config.ai_act``; ``classify`` and ``select``
(model-based scoring and selection, :mod:`curate.card.selection`). A stats.json with ``"command":
"classify"`` (a ``curate classify --output DIR``) gets that module's own card, without the AI Act summary.

Imports: the bottom modules (:mod:`curate.io`, :mod:`curate.schema`, :mod:`curate.fields`) and its own
modules; never stages, runners, :mod:`curate.config` or :mod:`curate.pipeline` (they import it).
"""

from __future__ import annotations

import json
from typing import Any

import fsspec
import yaml

from curate.card.ai_act import AiActConfig, build_summary, render_json, render_markdown
from curate.card.selection import render_selection_card, score_panels, selection_section
from curate.io import write_text

__all__ = ["AiActConfig", "card_from_output", "render_card", "render_selection_card", "write_card",
           "write_card_files"]

LANGUAGE_NAMES = {
    "bg": "Bulgarian", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek", "en": "English",
    "es": "Spanish", "et": "Estonian", "fi": "Finnish", "fr": "French", "ga": "Irish", "hr": "Croatian",
    "hu": "Hungarian", "it": "Italian", "lt": "Lithuanian", "lv": "Latvian", "mt": "Maltese", "nl": "Dutch",
    "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "sk": "Slovak", "sl": "Slovenian", "sv": "Swedish",
    "ca": "Catalan", "eu": "Basque", "gl": "Galician", "lb": "Luxembourgish",
}  # fmt: skip

#: Stage order of the funnel (kept in sync with curate.stats.STAGE_ORDER, not imported: the card only reads JSON).
STAGE_ORDER = ("read", "url_filter", "prefilter", "extract", "langid", "quality", "pii", "dedup")

#: Measured language-ID weaknesses (BENCHMARKS.md, "Language ID", issue 3: curate.lid on sentences).
LID_WEAKNESSES = {
    "hr": "sentence F1 0.779; confused with Bosnian (hr→bs is the largest remaining error)",
    "gl": "sentence F1 0.839 (0.742 with stage thresholds); confused with Portuguese and Spanish",
    "es": "sentence F1 0.897; Galician and Catalan sentences are taken for Spanish",
    "ca": "sentence F1 0.909; confused with Spanish",
    "pt": "sentence F1 0.934; receives Galician",
    "mt": "sentence F1 0.944",
    "lb": "paragraph F1 0.816 for lid.176 alone; 0.966 on sentences with curate.lid",
}

#: size_categories values the Hugging Face Hub accepts for datasets.
SIZE_CATEGORIES = ("n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B",
                   "1B<n<10B", "10B<n<100B", "100B<n<1T", "n>1T")

DEFAULT_TOP_DOMAINS_SHARE = 0.1


def size_category(n: int) -> str:
    bound = 1_000
    for label in SIZE_CATEGORIES[:-1]:
        if n < bound:
            return label
        bound *= 10
    return SIZE_CATEGORIES[-1]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _fmt(value: int | None, missing: str = "not recorded") -> str:
    return f"{value:,}" if value is not None else missing


def card_facts(stats: dict[str, Any]) -> dict[str, Any]:
    """The figures the card, the plots and the AI Act summary show, taken from stats.json only."""
    config = stats.get("config") or {}
    languages = stats.get("languages") or {}
    content = stats.get("content") or {}
    tokens = (stats.get("tokenized") or {}).get("per_language") or {}
    words = content.get("words")
    total_docs = _int(stats.get("documents_written"))
    configured = list((config.get("langid") or {}).get("languages") or [])
    rows = []
    for code in sorted(set(languages) | set(configured)):
        row = languages.get(code) or {}
        docs = _int(row.get("documents")) or 0
        rows.append({
            "code": code, "name": LANGUAGE_NAMES.get(code, code), "documents": docs,
            "characters": _int(row.get("characters")) or 0,
            "words": (words.get(code, 0) if docs else 0) if words is not None else None,
            "tokens": _int(tokens.get(code)) if tokens else None,
            "share": docs / total_docs if total_docs else 0.0,
        })
    rows.sort(key=lambda r: (-r["documents"], r["code"]))
    stages = stats.get("stages") or {}
    order = {s: i for i, s in enumerate(STAGE_ORDER)}
    funnel = [{"stage": s, "in": v.get("in", 0), "dropped": v.get("dropped", 0), "out": v.get("out", 0)}
              for s, v in sorted(stages.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))]
    with_docs = [r for r in rows if r["documents"]]
    return {
        "complete": bool(stats) and "documents_written" in stats,
        "documents": total_docs,
        "characters": sum(r["characters"] for r in rows) if languages else None,
        "words": sum(r["words"] for r in rows) if words is not None else None,
        "tokens": _int((stats.get("tokenized") or {}).get("tokens")),
        "languages": [r["code"] for r in with_docs],
        "language_rows": rows,
        "funnel": funnel,
        "length_histogram": content.get("length_histogram") or {},
        "length_bin_edges": content.get("length_bin_edges") or [],
    }


def card_header(stats: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    config = stats.get("config") or {}
    card_cfg = config.get("card") or {}
    langs = sorted(facts["languages"])
    header: dict[str, Any] = {
        "pretty_name": card_cfg.get("pretty_name") or stats.get("pipeline") or "curate output",
        "license": card_cfg.get("license") or "other",
        "task_categories": ["text-generation"],
        "tags": ["curate", "web-crawl"],
    }
    if langs:
        header["language"] = langs
    if facts["documents"] is not None:
        header["size_categories"] = [size_category(facts["documents"])]
    if langs:
        columns, features = loadable_columns()
        header["configs"] = [
            {"config_name": lang, "data_files": [{"split": "train", "path": f"data/language={lang}/*.parquet"}],
             "columns": columns}
            for lang in langs
        ]
        # explicit features: `datasets` has no type for the Arrow map column `signals`, so it must not infer them
        header["dataset_info"] = [{"config_name": lang, "features": features} for lang in langs]
    return header


def loadable_columns() -> tuple[list[str], list[dict[str, str]]]:
    """The output columns `datasets` can load (all but Arrow maps: ``signals``) and their feature dtypes."""
    import pyarrow as pa

    from curate.schema import OUTPUT_SCHEMA

    columns, features = [], []
    for f in OUTPUT_SCHEMA:
        if pa.types.is_map(f.type):
            continue
        if pa.types.is_timestamp(f.type):
            dtype = f"timestamp[{f.type.unit}" + (f", tz={f.type.tz}]" if f.type.tz else "]")
        else:
            dtype = {"float": "float32", "double": "float64"}.get(str(f.type), str(f.type))
        columns.append(f.name)
        features.append({"name": f.name, "dtype": dtype})
    return columns, features


def _incomplete_card(header: dict[str, Any]) -> str:
    return "\n".join([
        "---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
        f"# {header['pretty_name']}", "",
        "**This run has no complete statistics: `stats.json` is missing or partial (the run did not finish).** "
        "No figures are shown; rerun the pipeline, then `curate card OUTPUT_DIR`.", "",
    ])


def render_card(stats: dict[str, Any], plots: dict[str, str] | None = None) -> str:
    """The card's Markdown; ``plots`` maps plot names to the relative paths of PNGs written beside it."""
    stats = stats or {}
    if stats.get("command") == "classify":
        return render_selection_card(stats, plots)
    facts = card_facts(stats)
    header = card_header(stats, facts)
    if not facts["complete"]:
        return _incomplete_card(header)
    plots = plots or {}
    config = stats.get("config") or {}
    content = stats.get("content")
    total_docs = facts["documents"]
    inputs = stats.get("inputs") or []
    lines = ["---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
             f"# {header['pretty_name']}", "", "## Summary", ""]
    lines.append(
        f"Web text produced by curate (pipeline `{stats.get('pipeline')}`, config hash `{stats.get('config_hash')}`) "
        f"from {len(inputs)} input file(s): {_fmt(_int(stats.get('records_read')))} records read, "
        f"{total_docs:,} documents kept in {len(facts['languages'])} language(s)"
        + (f", {facts['words']:,} words" if facts["words"] is not None else "")
        + (f", {facts['characters']:,} characters" if facts["characters"] is not None else "")
        + (f", {facts['tokens']:,} tokens" if facts["tokens"] is not None else "") + ".")
    if not total_docs:
        lines += ["", "**This run kept no documents at all**: the dataset is empty (see the funnel below for why)."]
    lines += ["", f"Load one language with `datasets.load_dataset(\"<this directory or repo>\", "
              f"\"{(facts['languages'] or ['de'])[0]}\")`; the per-document `signals` map is not loadable by "
              "`datasets` (no map type) and is left out there; read it from the Parquet files with pyarrow.",
              "", "## Languages", "",
              "| language | code | documents | characters | tokens | words | share of documents |",
              "|---|---|---:|---:|---:|---:|---:|"]
    tokenized = bool(stats.get("tokenized"))
    for r in facts["language_rows"]:
        if not r["documents"]:
            lines.append(f"| {r['name']} | {r['code']} | 0 (no documents kept) | – | – | – | 0.0% |")
            continue
        words = _fmt(r["words"], "not recorded")
        tokens = _fmt(r["tokens"], "not recorded") if tokenized else "not tokenised"
        lines.append(f"| {r['name']} | {r['code']} | {r['documents']:,} | {r['characters']:,} | {tokens} | {words} | "
                     f"{r['share']:.1%} |")
    if content is None:
        lines += ["", "Words, document lengths, domains and crawl dates are not recorded in this stats.json "
                      "(no `content` block)."]
    if tokenized:
        tok = stats["tokenized"]
        lines += ["", f"Tokenised into {tok.get('shards')} Megatron shard(s) ({tok.get('dtype')}, "
                      f"{_fmt(_int(tok.get('tokens')))} tokens) under `tokenized/` with the tokenizer of sha256 "
                      f"`{str(tok.get('tokenizer_sha256'))[:16]}…`; `tokenized/blend.txt` holds the language blend."]
        rehydrate = tok.get("rehydrate")
        if isinstance(rehydrate, dict) and isinstance(rehydrate.get("table"), dict):
            table = rehydrate["table"]
            lines += ["", f"Rehydrated (FineWeb-2's up-sampling by duplicate-cluster size) with the table "
                          f"`{table.get('name')}`: a document whose near-duplicate cluster had n members is written "
                          "weight(n) times, the weight of the largest cluster size ≤ n below; copies lie in "
                          "separate passes over the language. Token counts in this card are after rehydration: "
                          f"{_fmt(_int(rehydrate.get('documents_before')))} → "
                          f"{_fmt(_int(rehydrate.get('documents_after')))} documents, "
                          f"{_fmt(_int(rehydrate.get('tokens_before')))} → {_fmt(_int(rehydrate.get('tokens_after')))} "
                          "tokens.", "", "| table | cluster size ≥ : copies |", "|---|---|"]
            for name, pairs in [("default", table.get("default") or []),
                                *sorted((table.get("languages") or {}).items())]:
                lines.append(f"| {name} | {', '.join(f'{n}: {c}' for n, c in pairs)} |")
            lines += ["", "| language | documents before | documents after | tokens before | tokens after |",
                      "|---|---:|---:|---:|---:|"]
            for lang, row in sorted((rehydrate.get("languages") or {}).items()):
                lines.append(f"| {lang} | {_fmt(_int(row.get('documents_before')))} | "
                             f"{_fmt(_int(row.get('documents_after')))} | {_fmt(_int(row.get('tokens_before')))} | "
                             f"{_fmt(_int(row.get('tokens_after')))} |")
            if rehydrate.get("warning"):
                lines += ["", f"Warning: {rehydrate['warning']}."]
    titles = {"languages": "Documents and tokens per language", "funnel": "Filter funnel",
              "lengths": "Document length distribution per language"}
    if any(name in plots for name in titles):  # the selection plot is in its own section
        lines += ["", "## Plots", ""]
        for name in ("languages", "funnel", "lengths"):
            if name in plots:
                lines += [f"![{titles[name]}]({plots[name]})", ""]
        lines.pop()
    lines += _funnel_section(stats, facts)
    lines += _dedup_section(stats)
    lines += _decontam_section(stats)
    lines += selection_section(stats, plots)
    lines += _lid_section(stats, facts)
    lines += _domains_section(stats, content)
    lines += _sources_section(stats, content, inputs)
    if stats.get("pii_redactions"):
        lines += ["", "## PII redaction", "", "| type | redactions |", "|---|---:|"]
        for kind, n in sorted(stats["pii_redactions"].items()):
            lines.append(f"| {kind} | {_fmt(_int(n))} |")
    lines += ["", "## Pipeline configuration", "",
              f"Config hash `{stats.get('config_hash')}` (curate's hash of the exact configuration below).", "",
              "```yaml", yaml.safe_dump(config, sort_keys=True, allow_unicode=True).rstrip(), "```", "",
              "## Software versions", "", "| package | version |", "|---|---|"]
    for k, v in sorted((stats.get("versions") or {}).items()):
        lines.append(f"| {k} | {v} |")
    lines += _limitations_section(stats, facts)
    lines += ["", "## AI Act", "", "The public summary of training content (AI Act Art. 53(1)(d), Commission "
              "template C(2025) 8311) is in [ai_act_summary.md](ai_act_summary.md) and "
              "[ai_act_summary.json](ai_act_summary.json).", ""]
    return "\n".join(lines)


def _funnel_section(stats: dict[str, Any], facts: dict[str, Any]) -> list[str]:
    lines = ["", "## Processing funnel", ""]
    if not facts["funnel"]:
        return lines + ["No per-stage counts recorded."]
    lines += ["| stage | in | dropped | out | dropped share of in |", "|---|---:|---:|---:|---:|"]
    for f in facts["funnel"]:
        share = f["dropped"] / f["in"] if f["in"] else 0.0
        lines.append(f"| {f['stage']} | {f['in']:,} | {f['dropped']:,} | {f['out']:,} | {share:.1%} |")
    by_lang = (stats.get("content") or {}).get("drops_by_language")
    lines += ["", "### Drops by reason", ""]
    drops = stats.get("drops") or {}
    if not drops:
        return lines + ["No document was dropped."]
    order = {s: i for i, s in enumerate(STAGE_ORDER)}
    has = by_lang is not None
    header = "| stage | reason | documents |" + (" by language (`und`: before language ID) |" if has else "")
    lines += [header, "|---|---|---:|" + ("---|" if has else "")]
    for stage, reasons in sorted(drops.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])):
        for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            row = f"| {stage} | {reason} | {_fmt(_int(n))} |"
            if has:
                langs = (by_lang.get(stage) or {}).get(reason)
                ranked = sorted((langs or {}).items(), key=lambda kv: (-kv[1], kv[0]))
                row += (" " + ", ".join(f"{lg} {m:,}" for lg, m in ranked) + " |") if langs else " not recorded |"
            lines.append(row)
    if by_lang is None:
        lines += ["", "Drops per language are not recorded in this stats.json."]
    return lines


def _dedup_section(stats: dict[str, Any]) -> list[str]:
    dedup = stats.get("dedup")
    if not dedup:
        return []
    dropped = (stats.get("drops") or {}).get("dedup", {})
    entering = ((stats.get("stages") or {}).get("dedup") or {}).get("in", 0)
    lines = ["", "## Deduplication", "",
             "| kind | enabled | documents dropped | share of documents reaching dedup |", "|---|---|---:|---:|"]
    for kind in ("exact", "url", "near"):
        n = dropped.get(f"{kind}_duplicate", 0)
        share = n / entering if entering else 0.0
        lines.append(f"| {kind} | {'yes' if (dedup.get('kinds') or {}).get(kind) else 'no'} | {n:,} | {share:.1%} |")
    mh = dedup.get("minhash")
    if mh:
        lines += ["", f"Near-duplicates: MinHash LSH, {mh.get('ngram_size')}-word shingles, {mh.get('bands')} bands × "
                      f"{mh.get('rows_per_band')} rows ({mh.get('hash_function')}, {mh.get('scheme')}), scope "
                      f"{mh.get('scope')}, keep {mh.get('keep')}; {_fmt(_int(dedup.get('clusters')))} clusters "
                      f"holding {_fmt(_int(dedup.get('documents_in_clusters')))} documents. Kept documents carry "
                      "`cluster_size` (for up-sampling)."]
    return lines


def _decontam_section(stats: dict[str, Any]) -> list[str]:
    section = stats.get("decontaminate")
    if not section:
        return []
    verb = "dropped" if section.get("action") == "drop" else "kept, annotated with signals `decontam.*`"
    lines = ["", "## Benchmark decontamination", "",
             f"Documents sharing a {section.get('ngram')}-word n-gram with a benchmark item (or containing a whole "
             f"item of {section.get('min_words')} to {section.get('ngram')} words) were {verb}.", "",
             "| benchmark | records | items | too short | contaminated documents |", "|---|---:|---:|---:|---:|"]
    for b in section.get("benchmarks", []):
        lines.append(f"| {b['name']} | {_fmt(_int(b.get('records')))} | {_fmt(_int(b.get('items')))} | "
                     f"{_fmt(_int(b.get('skipped_short')))} | {_fmt(_int(b.get('contaminated_documents')))} |")
    return lines


def _lid_section(stats: dict[str, Any], facts: dict[str, Any]) -> list[str]:
    thresholds = stats.get("lid_thresholds")
    lines = ["", "## Language identification thresholds", ""]
    if not thresholds:
        return lines + ["Not recorded in this stats.json."]
    lines += ["A document is kept in a language when its language-ID score reaches the threshold.", "",
              "| code | threshold |", "|---|---:|"]
    for code, t in sorted(thresholds.items()):
        lines.append(f"| {code} | {t} |")
    return lines


def _top_share(stats: dict[str, Any], content: dict[str, Any] | None) -> float:
    share = ((stats.get("config") or {}).get("card") or {}).get("top_domains_share")
    if share is None and content:
        share = (content.get("domains") or {}).get("top_share")
    return float(share) if share is not None else DEFAULT_TOP_DOMAINS_SHARE


def _domains_section(stats: dict[str, Any], content: dict[str, Any] | None) -> list[str]:
    lines = ["", "## Top domains", ""]
    domains = (content or {}).get("domains")
    if not domains:
        return lines + ["Per-domain statistics are not recorded in this stats.json."]
    share = _top_share(stats, content)
    top = _top_rows(domains, share)
    if not top:
        return lines + ["No kept document has a URL with a host."]
    lines += [f"Top {share:.0%} of {domains['distinct']:,} domain names by characters of kept documents "
              f"({len(top):,} shown).", "", "| domain | documents | characters | share of characters |",
              "|---|---:|---:|---:|"]
    total = domains.get("characters") or 0
    for host, n, c in top[:100]:
        lines.append(f"| {host} | {n:,} | {c:,} | {(c / total if total else 0.0):.2%} |")
    if len(top) > 100:
        lines.append(f"\nThe first 100 are shown; all {len(top):,} are in ai_act_summary.json.")
    return lines


def _top_rows(domains: dict[str, Any], share: float) -> list[list[Any]]:
    import math

    top = domains.get("top") or []
    want = max(1, math.ceil(share * (domains.get("distinct") or 0))) if domains.get("distinct") else 0
    return top[:want]


def _sources_section(stats: dict[str, Any], content: dict[str, Any] | None, inputs: list[str]) -> list[str]:
    lines = ["", "## Sources and crawl dates", "", f"{len(inputs)} input file(s):", ""]
    lines += [f"- `{p}`" for p in inputs[:50]]
    if len(inputs) > 50:
        lines.append(f"- … and {len(inputs) - 50:,} more (stats.json lists them all)")
    crawl = (content or {}).get("crawl_date")
    lines.append("")
    if crawl:
        lines.append(f"Crawl dates of the kept documents: {crawl['min']} to {crawl['max']}.")
    else:
        lines.append("Crawl dates: not recorded in this stats.json.")
    if stats.get("started"):
        lines.append(f"Processed {stats.get('started')} to {stats.get('finished')} "
                     f"on the `{stats.get('runner')}` runner.")
    return lines


def _limitations_section(stats: dict[str, Any], facts: dict[str, Any]) -> list[str]:
    lines = ["", "## Known limitations", ""]
    present = [c for c in facts["languages"] if c in LID_WEAKNESSES]
    if present:
        lines.append("- Language ID (measured on held-out sentences, BENCHMARKS.md, issue 3): "
                     + "; ".join(f"{c}: {LID_WEAKNESSES[c]}" for c in present) + ".")
    lines += ["- Words are whitespace-separated tokens; characters are Unicode code points.",
              "- Quality filters are heuristic (Gopher/C4-style rules); they remove boilerplate and junk, not all "
              "low-quality or harmful text.",
              "- PII redaction covers the listed types only (pattern + checksum based); names and addresses remain."]
    empty = [r["code"] for r in facts["language_rows"] if not r["documents"]]
    if empty:
        lines.append(f"- Configured languages with no documents kept: {', '.join(empty)}.")
    return lines


def write_card_files(output_dir: str, stats: dict[str, Any]) -> dict[str, str]:
    """Write README.md, the plots and the AI Act summary; returns {name: path}. A classify output's stats
    (``"command": "classify"``) get :func:`render_selection_card` and its plot, no AI Act summary."""
    from curate.card import plots

    try:
        return _write_card_files(output_dir, stats)
    finally:
        plots.stop()  # the plotting process, if the run started one for its card


def _write_card_files(output_dir: str, stats: dict[str, Any]) -> dict[str, str]:
    from curate.card.plots import write_plots, write_selection_plot

    root = output_dir.rstrip("/")
    stats = stats or {}
    paths = {"card": f"{root}/README.md"}
    if stats.get("command") == "classify":
        plots = write_selection_plot(root, score_panels(stats)) if "documents_written" in stats else {}
        write_text(render_selection_card(stats, plots), paths["card"])
        return paths | {f"plot_{name}": f"{root}/{rel}" for name, rel in plots.items()}
    facts = card_facts(stats)
    plots = {**write_plots(root, facts), **write_selection_plot(root, score_panels(stats))} if facts["complete"] else {}
    write_text(render_card(stats, plots), paths["card"])
    if facts["complete"]:
        summary = build_summary(stats, facts)
        share = _top_share(stats, stats.get("content"))
        crawled = summary["2_list_of_data_sources"]["2_3_crawled_and_scraped_data"]
        if isinstance(crawled.get("top_domains"), dict):
            crawled["top_domains"]["share"] = share
            rows = _top_rows(stats["content"]["domains"], share)
            crawled["top_domains"]["domains"] = [{"domain": h, "documents": n, "characters": c} for h, n, c in rows]
        paths["ai_act_md"] = f"{root}/ai_act_summary.md"
        paths["ai_act_json"] = f"{root}/ai_act_summary.json"
        write_text(render_markdown(summary), paths["ai_act_md"])
        write_text(render_json(summary), paths["ai_act_json"])
    for name, rel in plots.items():
        paths[f"plot_{name}"] = f"{root}/{rel}"
    return paths


def write_card(output_dir: str, stats: dict[str, Any]) -> str:
    """Write the card (and its plots and the AI Act summary); returns the card's path."""
    return write_card_files(output_dir, stats)["card"]


def card_from_output(output_dir: str) -> str:
    """Regenerate the card of a finished run from its stats.json; a run without one gets a card that says so."""
    path = f"{output_dir.rstrip('/')}/stats.json"
    fs, real = fsspec.core.url_to_fs(path)
    stats: dict[str, Any] = {}
    if fs.exists(real):
        try:
            with fsspec.open(path, "r", encoding="utf-8") as fh:
                stats = json.load(fh)
        except json.JSONDecodeError:
            stats = {}
    return write_card(output_dir, stats if isinstance(stats, dict) else {})
