"""PNG plots beside the dataset card (headless matplotlib, Agg canvas; deterministic bytes).

matplotlib is imported lazily, so importing the card (and the pipeline) never needs a display and stays
cheap. Figures are ``matplotlib.figure.Figure`` on an Agg canvas, without pyplot (no global figure
registry, no backend selection, no pyplot import). Importing matplotlib in a background thread during the
run was tried (issue 20) and left out: on 2 cores the run's total wall time did not fall, the import only
moved into the per-document time.
"""

from __future__ import annotations

import math
from typing import Any

from curate.io import atomic_path

PLOTS = {
    "languages": "plots/languages.png",
    "funnel": "plots/funnel.png",
    "lengths": "plots/document_lengths.png",
    "selection": "plots/selection_scores.png",  # write_selection_plot, from curate.card.selection.score_panels
}
#: At most this many panels (languages) in the score histogram plot, 4 per row.
MAX_SCORE_PANELS = 28
#: Shared by every plot (same settings, same bytes).
RC = {"font.size": 10, "svg.hashsalt": "curate", "axes.spines.top": False, "axes.spines.right": False}


def _new_figure(**kwargs: Any) -> Any:
    """A Figure on an Agg canvas (what pyplot's Agg backend makes, without pyplot's registry)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def write_bytes(data: bytes, path: str) -> None:
    import fsspec

    fs, _ = fsspec.core.url_to_fs(path)
    with atomic_path(path) as tmp, fs.open(tmp, "wb") as fh:
        fh.write(data)


def _human(x: float, _pos: Any = None) -> str:
    """Axis labels: 950, 12k, 3.4M, 2B."""
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.3g}"


def _fig_bytes(fig: Any) -> bytes:
    import io

    buf = io.BytesIO()
    # no Software/date metadata: the same stats give the same bytes
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def write_plots(output_dir: str, facts: dict[str, Any]) -> dict[str, str]:
    """Write the plots that the facts allow; returns {name: relative path} of those written."""
    import matplotlib
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    written: dict[str, str] = {}
    rows = [r for r in facts["language_rows"] if r["documents"]]
    with matplotlib.rc_context(RC):
        if rows:
            have_tokens = all(r["tokens"] is not None for r in rows)
            ncols = 2 if have_tokens else 1
            height = max(3.0, 0.28 * len(rows) + 1.2)
            fig = _new_figure(figsize=(6 * ncols, height))
            axes = fig.subplots(1, ncols, squeeze=False)
            labels = [r["code"] for r in rows][::-1]
            panels = [("documents", "documents")] + ([("tokens", "tokens")] if have_tokens else [])
            for ax, (key, title) in zip(axes[0], panels, strict=True):
                values = [r[key] for r in rows][::-1]
                bars = ax.barh(labels, values, color="#3b75af")
                ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize=8)
                ax.set_title(f"{title} per language")
                ax.set_xlabel(title)
                ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
                ax.xaxis.set_major_formatter(FuncFormatter(_human))
                ax.set_xlim(0, max(values) * 1.18 or 1)
                ax.margins(y=0.01)
            fig.tight_layout()
            write_bytes(_fig_bytes(fig), f"{output_dir}/{PLOTS['languages']}")
            written["languages"] = PLOTS["languages"]
        funnel = facts["funnel"]
        if funnel and funnel[0]["in"]:
            fig = _new_figure(figsize=(8, 0.45 * len(funnel) + 1.5))
            ax = fig.subplots()
            names = [f"{f['stage']}" for f in funnel][::-1]
            outs = [f["out"] for f in funnel][::-1]
            drops = [f["dropped"] for f in funnel][::-1]
            ax.barh(names, outs, color="#3b75af", label="remaining after stage")
            ax.barh(names, drops, left=outs, color="#e07b39", label="dropped by stage")
            top = funnel[0]["in"]
            for y, (o, d) in enumerate(zip(outs, drops, strict=True)):
                ax.text(top * 1.01, y, f"{o:,} kept, {d:,} dropped", va="center", fontsize=8)
            ax.set_xlim(0, top * 1.45)
            ax.xaxis.set_major_formatter(FuncFormatter(_human))
            ax.set_title(f"Filter funnel: {top:,} records read, stages in pipeline order")
            ax.legend(loc="upper center", bbox_to_anchor=(0.4, -0.06), ncol=2, fontsize=8, frameon=False)
            fig.tight_layout()
            write_bytes(_fig_bytes(fig), f"{output_dir}/{PLOTS['funnel']}")
            written["funnel"] = PLOTS["funnel"]
        hist = facts.get("length_histogram") or {}
        edges = list(facts.get("length_bin_edges") or [])
        hist = {lg: v for lg, v in hist.items() if sum(v)}
        if hist and edges:
            # one heatmap (languages x log-scale length bins): readable for 28 languages, and cheap to draw
            langs = sorted(hist, key=lambda lg: (-sum(hist[lg]), lg))
            used = [i for v in hist.values() for i, n in enumerate(v) if n]
            # whole decades around the bins in use, so the axis always has at least two labelled edges
            decades = [i for i, e in enumerate(edges) if math.log10(e).is_integer()]
            lo = max([d for d in decades if d <= min(used)], default=0)
            hi = min([d for d in decades if d > max(used)], default=len(edges)) - 1
            grid = [[hist[lg][i] / sum(hist[lg]) for i in range(lo, hi + 1)] for lg in langs]
            fig = _new_figure(figsize=(max(8.0, 0.42 * (hi - lo + 1) + 2.5), 0.3 * len(langs) + 1.8))
            ax = fig.subplots()
            image = ax.imshow(grid, aspect="auto", cmap="Blues", vmin=0, interpolation="nearest")
            ax.set_yticks(range(len(langs)), [f"{lg} ({sum(hist[lg]):,})" for lg in langs], fontsize=8)
            # x: bin i covers [edges[i], edges[i+1]); label the left edge of bins that start a decade
            ticks = [i - lo - 0.5 for i in range(lo, min(hi + 2, len(edges))) if math.log10(edges[i]).is_integer()]
            ax.set_xticks(ticks, [_human(edges[int(t + 0.5) + lo]) for t in ticks], fontsize=8)
            ax.minorticks_off()
            ax.set_xlabel("document length in characters (log-scale bins, 4 per decade)")
            ax.set_title("Document length per language (number of documents in brackets)")
            fig.colorbar(image, ax=ax, label="share of the language's documents", fraction=0.04, pad=0.02)
            fig.tight_layout()
            write_bytes(_fig_bytes(fig), f"{output_dir}/{PLOTS['lengths']}")
            written["lengths"] = PLOTS["lengths"]
    return written


def write_selection_plot(output_dir: str, panels: list[dict[str, Any]]) -> dict[str, str]:
    """Small multiples of score histograms, one panel per language (the first :data:`MAX_SCORE_PANELS`):
    all scored documents, the kept ones and the threshold where recorded; a panel without a histogram says
    why. ``panels`` as made by :func:`curate.card.selection.score_panels`; returns ``{"selection": relative
    path}``, or ``{}`` (nothing written) without panels."""
    if not panels:
        return {}
    import matplotlib
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    shown = panels[:MAX_SCORE_PANELS]
    ncols = min(4, len(shown))
    nrows = math.ceil(len(shown) / ncols)
    with matplotlib.rc_context(RC):
        fig = _new_figure(figsize=(3.4 * ncols, 2.3 * nrows + 1.0), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for i, (ax, panel) in enumerate(zip(axes.flat, shown, strict=False)):
            ax.set_title(panel["title"], fontsize=8)
            if not panel["edges"]:
                ax.text(0.5, 0.5, panel["note"], ha="center", va="center", transform=ax.transAxes, fontsize=8)
                ax.set_axis_off()
                continue
            ax.stairs(panel["all"], panel["edges"], fill=True, color="#b8cde4")
            if panel["kept"] is not None:
                ax.stairs(panel["kept"], panel["edges"], fill=True, color="#3b75af")
            if panel["threshold"] is not None:
                ax.axvline(panel["threshold"], color="#e07b39", linestyle="--", linewidth=1.2)
            ax.tick_params(labelsize=7)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
            ax.yaxis.set_major_formatter(FuncFormatter(_human))
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
            if i + ncols >= len(shown):  # no panel below
                ax.set_xlabel("score", fontsize=8)
        for ax in axes.flat[len(shown):]:
            ax.set_axis_off()
        handles = [Patch(color="#b8cde4", label="all scored documents")]
        if any(p["kept"] is not None for p in shown):
            handles.append(Patch(color="#3b75af", label="kept"))
        if any(p["threshold"] is not None for p in shown):
            handles.append(Line2D([], [], color="#e07b39", linestyle="--", label="threshold (last kept score)"))
        title = "Score histograms per language" + (f" (first {len(shown)} of {len(panels)})"
                                                   if len(panels) > len(shown) else "")
        fig.suptitle(title, fontsize=11)
        fig.supylabel("documents", fontsize=9)
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8, frameon=False)
        write_bytes(_fig_bytes(fig), f"{output_dir}/{PLOTS['selection']}")
    return {"selection": PLOTS["selection"]}
