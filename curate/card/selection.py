"""Model-based classification and selection in the dataset card (issue #17 item 3): the section
"Model-based selection" of a pipeline's card, the standalone card of a ``curate classify`` output, and the
data of the score histogram plot (``plots/selection_scores.png``, drawn by :mod:`curate.card.plots`).

Reads two optional ``stats.json`` blocks, and shows no number they do not hold:

* ``classify``: ``{"scorers": [...]}``, one entry per scorer: name, kind, model (path and sha256 prefix),
  label or heads, signal, documents and scored, ``counts`` of what it noticed (``empty_text``,
  ``truncated``), device, seconds, and per language documents, scored, mean score and a histogram
  ``{"edges", "counts"}``;
* ``select``: the stats of :func:`curate.select.select_documents` (score, keep_top, buckets, weight,
  rounding, documents read and written, drops by reason, and per language the entry of
  :func:`curate.select.ranking.plan_selection`: documents, scored, kept, kept_fraction, dropped,
  threshold, buckets, bucket_boundaries, histogram ``{"edges", "all", "kept", "non_finite"}``).

Pure functions of the stats: the same stats give the same text. A stats.json with ``"command":
"classify"`` (written by ``curate classify --output DIR``) gets :func:`render_selection_card` instead of
the pipeline's card.

Imports only :mod:`curate.card.plots` (for the panel cap): :mod:`curate.card` imports this module, so an
import back would be a cycle.
"""

from __future__ import annotations

import math
import posixpath
from typing import Any

import yaml

from curate.card.plots import MAX_SCORE_PANELS

__all__ = ["has_selection", "render_selection_card", "score_panels", "selection_header", "selection_section"]

#: The bucket boundaries are listed in the card up to this many buckets (stats.json holds them all).
MAX_LISTED_BOUNDARIES = 20
#: What the select step's ``weight`` field means (any other value is the column the weights came from).
WEIGHT_TEXT = {
    "documents": "1 (every document counts the same)",
    "characters": "its text's length in characters (no token count column)",
}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _count(value: Any, missing: str = "not recorded") -> str:
    n = _int(value)
    return f"{n:,}" if n is not None else missing


def _number(value: Any) -> float | None:
    """A finite float from a stats value (select writes infinities as the strings "inf" and "-inf")."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _score(value: Any) -> str:
    """A score as the card shows it: 6 significant digits; "inf"/"-inf"/"nan" as stats.json spells them."""
    if isinstance(value, str):
        return value
    x = _number(value)
    return f"{x:.6g}" if x is not None else "–"


def _file_name(path: Any) -> str:
    return posixpath.basename(str(path).rstrip("/")) or str(path)


def _reasons(dropped: Any) -> str:
    if not isinstance(dropped, dict) or not dropped:
        return "none"
    ranked = sorted(dropped.items(), key=lambda kv: (-(_int(kv[1]) or 0), kv[0]))
    return ", ".join(f"{reason} {_count(n)}" for reason, n in ranked)


def _scorers(stats: dict[str, Any]) -> list[dict[str, Any]]:
    classify = stats.get("classify")
    scorers = classify.get("scorers") if isinstance(classify, dict) else None
    return [s for s in scorers or [] if isinstance(s, dict)]


def _select(stats: dict[str, Any]) -> dict[str, Any] | None:
    select = stats.get("select")
    return select if isinstance(select, dict) else None


def has_selection(stats: dict[str, Any]) -> bool:
    """Whether stats.json has a ``classify`` or a ``select`` block (else the card has no such section)."""
    return isinstance(stats.get("classify"), dict) or _select(stats) is not None


# --- the section ------------------------------------------------------------------------------------------


def _scorer_line(s: dict[str, Any]) -> str:
    parts = [f"- `{s.get('name')}` ({s.get('kind') or 'kind not recorded'}):"]
    model = s.get("model")
    sha = s.get("model_sha256")
    what = f"model `{_file_name(model)}`" if model else "model not recorded"
    what += f" (sha256 `{str(sha)[:16]}{'…' if len(str(sha)) > 16 else ''}`)" if sha else " (sha256 not recorded)"
    if s.get("label"):
        what += f", label `{s['label']}`"
    heads = [h for h in s.get("heads") or [] if h]
    if heads:
        what += ", heads " + ", ".join(f"`{_file_name(h)}`" for h in heads)
    if s.get("signal"):
        what += f", signal `{s['signal']}`"
    parts.append(what + ";")
    parts.append(f"{_count(s.get('scored'))} of {_count(s.get('documents'))} documents scored;")
    counts = {k: v for k, v in sorted((s.get("counts") or {}).items()) if _int(v)}
    parts.append(("counted: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())) if counts
                 else "nothing else counted")
    run = []
    if s.get("device"):
        run.append(f"on {s['device']}")
    if _number(s.get("seconds")) is not None:
        run.append(f"in {s['seconds']:.1f} s")
    return " ".join(parts) + (f"; {' '.join(run)}." if run else ".")


def _classify_lines(stats: dict[str, Any]) -> list[str]:
    scorers = _scorers(stats)
    if not scorers:
        return ["No scorer is recorded in this stats.json (`classify.scorers` is empty or missing)."]
    lines = [f"Scores from {len(scorers)} model-based scorer(s), written to each document's `signals` "
             "(higher = better; NaN where a text cannot be scored):", ""]
    lines += [_scorer_line(s) for s in scorers]
    rows = [(s.get("name"), code, entry) for s in scorers
            for code, entry in sorted((s.get("languages") or {}).items()) if isinstance(entry, dict)]
    if rows:
        lines += ["", "| scorer | language | documents | scored | mean score |", "|---|---|---:|---:|---:|"]
        lines += [f"| {name} | {code} | {_count(e.get('documents'))} | {_count(e.get('scored'))} | "
                  f"{_score(e.get('mean'))} |" for name, code, e in rows]
    return lines


def _score_text(score: dict[str, Any]) -> str:
    signals = [f"`{s}`" for s in score.get("signals") or []]
    if not signals:
        return "not recorded"
    if len(signals) == 1:
        return signals[0]
    combine = score.get("combine")
    if combine == "weighted":
        weights = ", ".join(f"{w:g}" for w in score.get("weights") or [])
        return f"the weighted mean of {', '.join(signals)} (weights {weights})"
    return f"the {combine or 'combination'} of {', '.join(signals)}"


def _thresholds(entry: dict[str, Any], keep_top: Any) -> str:
    threshold = entry.get("threshold")
    if isinstance(threshold, dict):
        return f"{_score(threshold.get('score'))} (`{threshold.get('id')}`)"
    if keep_top is None:
        return "– (no keep_top)"
    return "none kept" if not _int(entry.get("kept")) else "not recorded"


def _buckets_cell(entry: dict[str, Any]) -> str:
    rows = entry.get("buckets")
    if not isinstance(rows, list):
        return "–"
    boundaries = entry.get("bucket_boundaries") or []
    if len(rows) > MAX_LISTED_BOUNDARIES:
        return f"{len(rows)} buckets (boundaries in stats.json)"
    listed = ", ".join(_score(b) if b is not None else "empty" for b in boundaries)
    return f"{len(rows)} buckets; lower bounds of 1..{len(rows) - 1}: {listed}"


def _select_lines(select: dict[str, Any]) -> list[str]:
    keep_top, n_buckets = select.get("keep_top"), select.get("buckets")
    how = []
    if keep_top is not None:
        how.append(f"each language keeps the top {keep_top * 100:.4g} % (keep_top {keep_top:g}) of its scored "
                   f"documents by this score, exactly, over the whole input "
                   f"({select.get('rounding') or 'rounding not recorded'})")
    if n_buckets is not None:
        weight = select.get("weight")
        weighs = WEIGHT_TEXT.get(weight, f"its `{weight}`") if weight else "a weight not recorded"
        how.append(f"each kept document gets `quality_bucket` 0 (worst) to {n_buckets - 1} (best), the per-language "
                   f"percentile of its score among all scored documents, each document weighing {weighs}")
    text = "; ".join(how)
    lines = [f"Selection score: {_score_text(select.get('score') or {})}."
             + (f" {text[0].upper()}{text[1:]}." if text else "")]
    lines += ["", f"{_count(select.get('documents_read'))} documents read, "
                  f"{_count(select.get('documents_written'))} kept; dropped: {_reasons(select.get('dropped'))}."]
    languages = {k: v for k, v in sorted((select.get("languages") or {}).items()) if isinstance(v, dict)}
    if not languages:
        return lines + ["", "No per-language selection statistics are recorded."]
    has_buckets = n_buckets is not None
    lines += ["", "| language | documents | scored | kept | kept % of scored | threshold score (id) |"
                  + (" buckets |" if has_buckets else "") + " dropped |",
              "|---|---:|---:|---:|---:|---|" + ("---|" if has_buckets else "") + "---|"]
    for code, e in languages.items():
        fraction = _number(e.get("kept_fraction"))
        row = (f"| {code} | {_count(e.get('documents'))} | {_count(e.get('scored'))} | {_count(e.get('kept'))} | "
               f"{f'{fraction:.2%}' if fraction is not None else '–'} | {_thresholds(e, keep_top)} |")
        if has_buckets:
            row += f" {_buckets_cell(e)} |"
        lines.append(row + f" {_reasons(e.get('dropped'))} |")
    return lines


def selection_section(stats: dict[str, Any], plots: dict[str, str] | None = None) -> list[str]:
    """The lines of "## Model-based selection" (each line a list item; starts with an empty line), or ``[]``
    when stats.json has neither a ``classify`` nor a ``select`` block."""
    if not has_selection(stats):
        return []
    plots = plots or {}
    select = _select(stats)
    lines = ["", "## Model-based selection", ""]
    if isinstance(stats.get("classify"), dict):
        lines += ["### Scorers", ""] + _classify_lines(stats) + [""]
    if select is not None:
        lines += ["### Selection", ""] + _select_lines(select) + [""]
    elif isinstance(stats.get("classify"), dict):
        lines += ["No selection was made: every scored document is kept, its scores in `signals`.", ""]
    if "selection" in plots:
        what = ("the selection score of all scored and of the kept documents, the threshold dashed"
                if select is not None else "each scorer's scores")
        lines += [f"![Score histograms per language: {what}]({plots['selection']})", ""]
        total = len(score_panels(stats))
        if total > MAX_SCORE_PANELS:
            lines += [f"The plot shows the first {MAX_SCORE_PANELS} of {total} panels (by language code); "
                      "stats.json holds every histogram.", ""]
    lines.pop()
    return lines


# --- the plot's data --------------------------------------------------------------------------------------


def _bins(edges: Any, *series: Any) -> bool:
    """Whether the histogram is drawable: n + 1 finite edges for n counts in every series."""
    if not isinstance(edges, list) or len(edges) < 2 or any(_number(e) is None for e in edges):
        return False
    return all(isinstance(s, list) and len(s) == len(edges) - 1 for s in series)


def _note(scored: Any, drawable: bool, non_finite: Any = None) -> str:
    """Why a panel has no histogram ("" when it has one)."""
    if drawable:
        return ""
    if _int(scored) == 0:
        return "no scored documents"
    return "no finite scores" if _int(non_finite) else "no histogram recorded"


def score_panels(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """One panel per language (sorted by code) of the score histogram plot: ``{"title", "edges", "all",
    "kept", "threshold", "note"}`` (``edges`` empty and ``note`` saying why when there is nothing to draw;
    ``kept`` and ``threshold`` None where not recorded). From ``select`` when present (all scored and kept
    documents, the threshold), else from each scorer of ``classify`` (a panel per scorer and language)."""
    panels: list[dict[str, Any]] = []
    select = _select(stats)
    if select is not None:
        for code, e in sorted((select.get("languages") or {}).items()):
            if not isinstance(e, dict):
                continue
            h = e.get("histogram") or {}
            ok = _bins(h.get("edges"), h.get("all"), h.get("kept")) and any(h["all"])
            threshold = e.get("threshold") if isinstance(e.get("threshold"), dict) else {}
            title = f"{code}: {_count(e.get('scored'))} scored, {_count(e.get('kept'))} kept"
            if _int(h.get("non_finite")):
                title += f", {h['non_finite']:,} ±inf"
            panels.append({"title": title, "edges": h["edges"] if ok else [], "all": h["all"] if ok else [],
                           "kept": h["kept"] if ok else None, "threshold": _number(threshold.get("score")),
                           "note": _note(e.get("scored"), ok, h.get("non_finite"))})
        return panels
    scorers = _scorers(stats)
    for s in scorers:
        for code, e in sorted((s.get("languages") or {}).items()):
            if not isinstance(e, dict):
                continue
            h = e.get("histogram") or {}
            ok = _bins(h.get("edges"), h.get("counts")) and any(h["counts"])
            name = f"{s.get('name')} · {code}" if len(scorers) > 1 else code
            panels.append({"title": f"{name}: {_count(e.get('scored'))} scored", "edges": h["edges"] if ok else [],
                           "all": h["counts"] if ok else [], "kept": None, "threshold": None,
                           "note": _note(e.get("scored"), ok)})
    return panels


# --- the standalone card of `curate classify --output DIR` -----------------------------------------------


def _written_languages(stats: dict[str, Any]) -> list[str]:
    """Languages with documents in the output: kept by select when it ran, else scored by classify."""
    select = _select(stats)
    if select is not None:
        return sorted(c for c, e in (select.get("languages") or {}).items()
                      if isinstance(e, dict) and _int(e.get("kept")))
    return sorted({c for s in _scorers(stats) for c, e in (s.get("languages") or {}).items()
                   if isinstance(e, dict) and _int(e.get("documents"))})


def selection_header(stats: dict[str, Any]) -> dict[str, Any]:
    """The Hugging Face YAML header of a classify output's card: one config per language with documents,
    reading ``data/language=L/*.parquet`` (one ``default`` config over ``data/`` when the recorded outputs
    are not partitioned by language)."""
    card_cfg = (stats.get("config") or {}).get("card") or {}
    header: dict[str, Any] = {
        "pretty_name": card_cfg.get("pretty_name") or "curate classify output",
        "license": card_cfg.get("license") or "other",
        "task_categories": ["text-generation"],
        "tags": ["curate", "model-scored"],
    }
    langs = _written_languages(stats)
    if langs:
        header["language"] = langs
    if not _int(stats.get("documents_written")):
        return header
    outputs = [o for o in stats.get("outputs") or [] if isinstance(o, str)]
    if outputs and not any("language=" in o for o in outputs):
        header["configs"] = [{"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]}]
    elif langs:
        header["configs"] = [{"config_name": lang,
                              "data_files": [{"split": "train", "path": f"data/language={lang}/*.parquet"}]}
                             for lang in langs]
    return header


def render_selection_card(stats: dict[str, Any], plots: dict[str, str] | None = None) -> str:
    """The card of a ``curate classify --output DIR`` output (stats.json with ``"command": "classify"``):
    the YAML header, a summary, the "Model-based selection" section, the inputs and software versions."""
    stats = stats or {}
    header = selection_header(stats)
    lines = ["---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
             f"# {header['pretty_name']}", ""]
    if "documents_written" not in stats:
        return "\n".join(lines + [
            "**This run has no complete statistics: `stats.json` is missing or partial (the run did not finish).** "
            "No figures are shown; rerun `curate classify`, then `curate card OUTPUT_DIR`.", ""])
    inputs = [str(p) for p in stats.get("inputs") or []]
    dropped = stats.get("dropped")
    n_dropped = sum(v for v in dropped.values() if _int(v)) if isinstance(dropped, dict) else _int(dropped)
    lines += ["## Summary", "",
              f"Documents scored by `curate classify` from {len(inputs)} input file(s): "
              f"{_count(stats.get('documents_read'))} documents read, {_count(stats.get('documents_written'))} "
              f"written, {_count(n_dropped)} dropped"
              + (f" ({_reasons(dropped)})" if isinstance(dropped, dict) and dropped else "") + "."]
    if "configs" in header:
        first = header["configs"][0]["config_name"]
        lines += ["", f"Load it with `datasets.load_dataset(\"<this directory or repo>\", \"{first}\")`; the scores "
                      "are in the `signals` map column, which `datasets` cannot load (no map type): read it from "
                      "the Parquet files with pyarrow."]
    else:
        lines += ["", "**No document was written**: the dataset is empty."]
    lines += selection_section(stats, plots)
    lines += ["", "## Inputs", "", f"{len(inputs)} input file(s):", ""]
    lines += [f"- `{p}`" for p in inputs[:50]]
    if len(inputs) > 50:
        lines.append(f"- … and {len(inputs) - 50:,} more (stats.json lists them all)")
    if stats.get("started"):
        lines += ["", f"Processed {stats.get('started')} to {stats.get('finished')}"
                      + (f" on the `{stats['runner']}` runner." if stats.get("runner") else ".")]
    versions = stats.get("versions") or {}
    if versions:
        lines += ["", "## Software versions", "", "| package | version |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(versions.items())]
    return "\n".join(lines + [""])
