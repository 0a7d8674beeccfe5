"""PNG plots beside the dataset card (headless matplotlib, Agg canvas; deterministic bytes).

matplotlib is imported lazily, so importing the card (and the pipeline) never needs a display and stays
cheap. Figures are ``matplotlib.figure.Figure`` on an Agg canvas, without pyplot (no global figure
registry, no backend selection, no pyplot import). Importing matplotlib in a background thread during the
run was tried (issue 20) and left out: on 2 cores the run's total wall time did not fall, the import only
moved into the per-document time.

:func:`prestart` starts a plotting process (:func:`main`) that imports matplotlib
while the run is still busy (the local runner starts it once the per-document work is under way); the card
then has its plots drawn there, the same code on the same data, so the same bytes, and writes them itself.
Without one (``curate card``, other runners), or when it died, the plots are drawn in this process.
"""

from __future__ import annotations

import math
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from curate.pipe_process import PipeProcess

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

    from curate.io import atomic_path

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
    return _write(output_dir, _render("plot_images", facts))


def write_selection_plot(output_dir: str, panels: list[dict[str, Any]]) -> dict[str, str]:
    """Small multiples of score histograms, one panel per language (the first :data:`MAX_SCORE_PANELS`):
    all scored documents, the kept ones and the threshold where recorded; a panel without a histogram says
    why. ``panels`` as made by :func:`curate.card.selection.score_panels`; returns ``{"selection": relative
    path}``, or ``{}`` (nothing written) without panels."""
    return _write(output_dir, _render("selection_image", panels)) if panels else {}


def _write(output_dir: str, images: dict[str, bytes]) -> dict[str, str]:
    for name, data in images.items():
        write_bytes(data, f"{output_dir}/{PLOTS[name]}")
    return {name: PLOTS[name] for name in images}


def plot_images(facts: dict[str, Any]) -> dict[str, bytes]:
    """The PNG bytes of the plots that the facts allow, by name (:data:`PLOTS`)."""
    images = {name: draw(facts) for name, draw in _PLOT_PARTS.items()}
    return {name: data for name, data in images.items() if data is not None}


def _languages_image(facts: dict[str, Any]) -> bytes | None:
    import matplotlib
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    rows = [r for r in facts["language_rows"] if r["documents"]]
    if not rows:
        return None
    with matplotlib.rc_context(RC):
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
        return _fig_bytes(fig)


def _funnel_image(facts: dict[str, Any]) -> bytes | None:
    import matplotlib
    from matplotlib.ticker import FuncFormatter

    funnel = facts["funnel"]
    if not (funnel and funnel[0]["in"]):
        return None
    with matplotlib.rc_context(RC):
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
        return _fig_bytes(fig)


def _lengths_image(facts: dict[str, Any]) -> bytes | None:
    import matplotlib

    hist = facts.get("length_histogram") or {}
    edges = list(facts.get("length_bin_edges") or [])
    hist = {lg: v for lg, v in hist.items() if sum(v)}
    if not (hist and edges):
        return None
    with matplotlib.rc_context(RC):
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
        return _fig_bytes(fig)


#: :func:`plot_images`'s plots, each drawn on its own (the plotting process draws them side by side)
_PLOT_PARTS: dict[str, Callable[[dict[str, Any]], bytes | None]] = {
    "languages": _languages_image, "funnel": _funnel_image, "lengths": _lengths_image}


def selection_image(panels: list[dict[str, Any]]) -> dict[str, bytes]:
    """``{"selection": PNG bytes}`` of :func:`write_selection_plot`'s plot (``panels`` not empty)."""
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
        return {"selection": _fig_bytes(fig)}


# ------------------------------------------------------------------------------------ the plotting process


def _plot_images_side_by_side(facts: dict[str, Any]) -> dict[str, bytes]:
    """:func:`plot_images` in the plotting process: each plot but the first drawn in a child forked from it
    (matplotlib is imported there already, so a fork costs milliseconds), on the cores the run has just
    freed: the three plots take about a second on one core, and the run's end waits for them (issue 20).
    The same code on the same facts, so the same bytes; a plot whose child failed is drawn here."""
    parts = list(_PLOT_PARTS.items())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2 or not hasattr(os, "fork"):
        return plot_images(facts)
    children = []
    for name, draw in parts[1:]:
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: draw, hand the bytes over, leave without running the parent's clean-up
            status = 1
            try:
                os.close(rfd)
                with os.fdopen(wfd, "wb") as fh:
                    fh.write(pickle.dumps(draw(facts), protocol=pickle.HIGHEST_PROTOCOL))
                status = 0
            finally:
                os._exit(status)
        os.close(wfd)
        children.append((name, pid, rfd))
    drawn: dict[str, bytes | None] = {}
    try:
        images = {parts[0][0]: parts[0][1](facts)}
    finally:  # every child reaped, also when drawing here raised
        for name, pid, rfd in children:
            with os.fdopen(rfd, "rb") as fh:
                data = fh.read()
            _, status = os.waitpid(pid, 0)
            if status == 0 and data:
                drawn[name] = pickle.loads(data)
    for name, _, _ in children:
        images[name] = drawn[name] if name in drawn else _PLOT_PARTS[name](facts)
    return {name: images[name] for name in _PLOT_PARTS if images[name] is not None}


#: what the plotting process draws, by the name the parent sends
_RENDERERS: dict[str, Callable[[Any], dict[str, bytes]]] = {"plot_images": plot_images,
                                                             "selection_image": selection_image}
#: the same, drawn side by side where the plotting process can (its own table: the parent draws in one)
_SERVED: dict[str, Callable[[Any], dict[str, bytes]]] = {**_RENDERERS, "plot_images": _plot_images_side_by_side}


class _PlotProcess(PipeProcess):
    """A plotting process (:func:`main`): pickled ``(renderer name, argument)`` in; ``(True, {name: PNG bytes})``
    or ``(False, error)`` out."""

    def __init__(self) -> None:
        super().__init__([sys.executable, "-c", "from curate.card.plots import main; main()"])

    def render(self, renderer: str, argument: Any) -> dict[str, bytes] | None:
        """The images, or None where the process failed them (died, or raised: the caller draws them itself,
        so that an error is raised where it always was)."""
        try:
            self.send((renderer, argument))
            ok, result = self.receive()
        except Exception:  # noqa: BLE001 - died, or data that does not pickle: drawn by the caller instead
            self.close()
            return None
        return result if ok else None


_process: _PlotProcess | None = None
_process_lock = threading.Lock()


def prestart() -> None:
    """Start the plotting process (once): it imports matplotlib beside the run's work, and the next card of
    this process has its plots drawn there (:func:`curate.card.write_card_files` stops it when done).
    Harmless if no card follows: it is stopped by :func:`stop`, at exit, or when this process ends (its
    end of input)."""
    global _process
    with _process_lock:
        if _process is None:
            try:
                _process = _PlotProcess()
            except OSError:  # no process to spare: the card draws its plots here, as without one
                _process = None


def stop() -> None:
    """Stop the plotting process, if one was started."""
    global _process
    with _process_lock:
        process, _process = _process, None
    if process is not None:
        process.close()


def _render(renderer: str, argument: Any) -> dict[str, bytes]:
    """The images from the plotting process when one was started, else (or where it failed) drawn here."""
    with _process_lock:
        images = _process.render(renderer, argument) if _process is not None else None
    return images if images is not None else _RENDERERS[renderer](argument)


def _warm() -> None:
    """Import what drawing needs (the expensive part of a first plot)."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.lines  # noqa: F401
    import matplotlib.patches  # noqa: F401
    import matplotlib.ticker  # noqa: F401


def _serve(rfd: int, wfd: int) -> None:
    """The plotting process: import, then draw what the parent asks for until end of input."""
    inbox, outbox = Connection(rfd, writable=False), Connection(wfd, readable=False)
    _warm()
    while True:
        try:
            renderer, argument = pickle.loads(inbox.recv_bytes())
        except EOFError:
            return
        try:
            reply: tuple[bool, Any] = (True, _SERVED[renderer](argument))
        except Exception as exc:  # noqa: BLE001 - the parent draws it again itself and raises there
            reply = (False, repr(exc))
        outbox.send_bytes(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))


def main() -> None:
    """``python -c "from curate.card.plots import main; main()" RFD WFD``: the plotting process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which ends this process
    _serve(int(sys.argv[1]), int(sys.argv[2]))
