"""The report's plots, drawn with matplotlib's object API on the Agg canvas (no pyplot state, no
display, safe in worker processes) and returned as PNG bytes without a timestamp or version tag,
so the same inputs give the same bytes.
"""

from __future__ import annotations

import functools
import io
import struct
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

DPI = 100
COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
          "#9c755f", "#bab0ac"]


#: fonts with CJK glyphs, used as per-glyph fallbacks after DejaVu Sans when installed
#: (Debian: fonts-noto-cjk or fonts-wqy-zenhei); without one, CJK labels draw as boxes in the PNGs
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Droid Sans Fallback")
F = TypeVar("F", bound=Callable[..., Any])


@functools.lru_cache(maxsize=1)
def _fonts() -> tuple[str, ...]:
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    return ("DejaVu Sans",) + tuple(n for n in CJK_FONTS if n in have)


def _styled(fn: F) -> F:
    """Draw with the report's fonts, whatever the user's matplotlibrc says."""

    @functools.wraps(fn)
    def wrap(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context({"font.family": list(_fonts()), "axes.unicode_minus": False}):
            return fn(*args, **kwargs)

    return wrap  # type: ignore[return-value]


@dataclass
class Plot:
    name: str  # file name, e.g. funnel-web.png
    png: bytes
    width: int
    height: int
    alt: str


def _figure(w: float, h: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=DPI)


def _text_in(labels: Sequence[str], fontsize: float) -> float:
    """Width in inches of the longest label (DejaVu Sans averages ~0.6 em; CJK glyphs are 1 em)."""
    if not labels:
        return 0.0
    em = max(sum(1.0 if ord(c) >= 0x2E80 else 0.6 for c in lab) for lab in labels)
    return em * fontsize / 72


def _margins(fig, left: float = 0.7, bottom: float = 0.55, top: float = 0.35, right: float = 0.25,
             **space: float) -> None:
    """Fixed margins in inches: a layout engine costs three times the drawing on every save."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=min(left / w, 0.6), right=1 - right / w, bottom=min(bottom / h, 0.6),
                        top=1 - top / h, **space)


def _save(fig, name: str, alt: str) -> Plot:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # labels in scripts DejaVu Sans lacks (CJK source names) draw as boxes, not errors
        warnings.filterwarnings("ignore", message="Glyph .* missing")
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    png = buf.getvalue()
    w, h = struct.unpack(">II", png[16:24])  # the IHDR chunk: what the browser will lay out
    return Plot(name, png, w, h, alt)


def _short(s: str, n: int = 48) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _human(x: float) -> str:
    for div, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}" if x != int(x) else f"{int(x)}"


@_styled
def outcome(runs: Sequence[tuple[str, dict[str, Any]]]) -> Plot:
    """Per run, where every input record went: kept, dropped by a rule, duplicate, quarantined."""
    parts = [("docs_out", "kept"), ("dropped", "dropped"), ("duplicates", "duplicates"),
             ("quarantined", "quarantined")]
    fig = _figure(10, max(2.0, 1.2 + 0.55 * len(runs)))
    ax = fig.add_subplot()
    y = np.arange(len(runs))
    left = np.zeros(len(runs))
    for (key, label), color in zip(parts, [COLORS[2], COLORS[3], COLORS[1], COLORS[9]]):
        vals = np.array([float(s.get(key, 0) or 0) for _, s in runs])
        ax.barh(y, vals, left=left, color=color, label=label)
        left += vals
    labels = [_short(n, 30) for n, _ in runs]
    ax.set_yticks(y, labels, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("input records")
    ax.legend(ncols=4, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    _margins(fig, left=_text_in(labels, 9) + 0.25, top=0.4, bottom=0.5)
    return _save(fig, "outcome.png", "records kept, dropped, duplicates and quarantined per run")


@_styled
def funnel(name: str, fname: str, summary: dict[str, Any]) -> Plot:
    """Documents and megabytes left after each step, as a share of what was read."""
    steps = summary["steps"]
    labels = ["input"] + [_short(s["name"], 28) for s in steps]
    docs = [float(summary.get("records_in", 0))] + [float(s["docs_out"]) for s in steps]
    first_bytes = steps[0]["bytes_in"] if steps else 0
    mb = [first_bytes / 1e6] + [s["bytes_out"] / 1e6 for s in steps]
    fig = _figure(11, 1.4 + 0.34 * len(labels))
    axes = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(labels))
    for ax, vals, title, color in ((axes[0], docs, "documents", COLORS[0]), (axes[1], mb, "MB of text", COLORS[4])):
        ax.barh(y, vals, color=color)
        top = vals[0] or max(vals) or 1.0
        for yi, v in zip(y, vals):
            ax.text(v, yi, f" {_human(v)} ({100 * v / top:.0f}%)" if top else f" {_human(v)}", va="center",
                    fontsize=7)
        ax.set_title(title, fontsize=10)
        ax.set_xlim(0, max(vals + [1e-9]) * 1.3)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, labels, fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle(f"funnel: {name}", fontsize=11)
    _margins(fig, left=_text_in(labels, 8) + 0.25, top=0.65, bottom=0.4, wspace=0.08)
    return _save(fig, fname, f"documents and bytes after each step of {name}")


@_styled
def drops(rows: Sequence[tuple[str, int]], top: int = 30) -> Plot:
    """The largest drop reasons (label: step: reason, run prefixed when there are several)."""
    rows = sorted(rows, key=lambda r: (-r[1], r[0]))[:top]
    fig = _figure(10, max(2.2, 1.0 + 0.3 * len(rows)))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    vals = [c for _, c in rows]
    ax.barh(y, vals, color=COLORS[3])
    for yi, v in zip(y, vals):
        ax.text(v, yi, f" {v:,}", va="center", fontsize=7)
    labels = [_short(r, 70) for r, _ in rows]
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(vals) * 1.15)
    ax.set_xlabel("documents dropped")
    ax.grid(axis="x", alpha=0.3)
    _margins(fig, left=_text_in(labels, 8) + 0.25, top=0.2, bottom=0.55)
    return _save(fig, "drops.png", "documents dropped per reason")


@_styled
def lengths(series: Sequence[tuple[str, np.ndarray]]) -> Plot:
    """Characters per kept document, log-spaced bins shared by every run."""
    fig = _figure(10, 4)
    ax = fig.add_subplot()
    allv = np.concatenate([v for _, v in series])
    lo, hi = max(1, int(allv.min())), max(2, int(allv.max()))
    bins = np.unique(np.logspace(np.log10(lo), np.log10(hi + 1), 60))
    for i, (name, v) in enumerate(series):
        med = float(np.median(v)) if len(v) else 0
        ax.hist(np.maximum(v, 1), bins=bins, histtype="step", linewidth=1.6, color=COLORS[i % len(COLORS)],
                label=f"{_short(name, 30)} (n={len(v):,}, median {med:,.0f})")
    ax.set_xscale("log")
    ax.set_xlabel("characters per document (log scale)")
    ax.set_ylabel("documents")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    _margins(fig, left=0.75, top=0.2, bottom=0.6)
    return _save(fig, "lengths.png", "histogram of characters per kept document")


@_styled
def histograms(fname: str, columns: Sequence[str], series: Sequence[tuple[str, dict[str, np.ndarray]]],
               xlabel: str = "", integer: bool = False, logy: bool = False) -> Plot:
    """A grid of one histogram per column, every run that has the column overlaid."""
    from matplotlib.ticker import MaxNLocator

    ncol = min(3, len(columns))
    nrow = -(-len(columns) // ncol)
    fig = _figure(3.6 * ncol, 2.6 * nrow)
    axes = np.atleast_1d(fig.subplots(nrow, ncol)).ravel()
    for ax, col in zip(axes, columns):
        present = [(i, name, d[col][np.isfinite(d[col])]) for i, (name, d) in enumerate(series) if col in d]
        vals = [v for *_, v in present if len(v)]
        if not vals:
            ax.set_title(f"{_short(col, 36)} (no values)", fontsize=9)
            continue
        allv = np.concatenate(vals)
        lo, hi = float(allv.min()), float(allv.max())
        if integer or (np.all(allv == np.round(allv)) and hi - lo <= 60):
            bins = np.arange(lo - 0.5, hi + 1.5, 1.0)
        else:
            bins = np.linspace(lo, hi if hi > lo else lo + 1, 41)
        for i, name, v in present:
            if len(v):
                ax.hist(v, bins=bins, histtype="step", linewidth=1.4, color=COLORS[i % len(COLORS)],
                        label=_short(name, 20), log=logy)
        ax.set_title(f"{_short(col, 36)}", fontsize=9)
        ax.tick_params(labelsize=7)
        if integer:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if xlabel:
            ax.set_xlabel(xlabel, fontsize=8)
        if len(series) > 1:
            ax.legend(fontsize=6)
    for ax in axes[len(columns):]:
        ax.set_visible(False)
    _margins(fig, left=0.55, top=0.35, bottom=0.55 if xlabel else 0.4, right=0.2, hspace=0.6 if xlabel else 0.45,
             wspace=0.3)
    return _save(fig, fname, f"histograms of {', '.join(columns)}")


@_styled
def shares(fname: str, title: str, series: Sequence[tuple[str, dict[str, int]]], top: int = 20,
           xlabel: str = "share of documents") -> Plot:
    """Grouped horizontal bars of each category's share (the top ``top`` over all runs)."""
    total: dict[str, float] = {}
    for _, counts in series:
        n = sum(counts.values()) or 1
        for k, c in counts.items():
            total[k] = total.get(k, 0.0) + c / n
    cats = [k for k, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    fig = _figure(10, max(2.2, 1.2 + 0.3 * len(cats) * max(1, len(series)) ** 0.5))
    ax = fig.add_subplot()
    y = np.arange(len(cats))
    h = 0.8 / len(series)
    for i, (name, counts) in enumerate(series):
        n = sum(counts.values()) or 1
        vals = [100.0 * counts.get(c, 0) / n for c in cats]
        ax.barh(y - 0.4 + h * (i + 0.5), vals, height=h, color=COLORS[i % len(COLORS)], label=_short(name, 30))
    labels = [_short(c, 40) for c in cats]
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"{xlabel} (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    _margins(fig, left=_text_in(labels, 8) + 0.25, top=0.35, bottom=0.55)
    return _save(fig, fname, title)


@_styled
def counts(fname: str, title: str, rows: Sequence[tuple[str, float]], xlabel: str, color: str = COLORS[0],
           top: int = 40) -> Plot:
    """Horizontal bars of labelled counts, largest first."""
    rows = sorted(rows, key=lambda r: (-r[1], r[0]))[:top]
    fig = _figure(10, max(2.2, 1.2 + 0.3 * len(rows)))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    vals = [float(v) for _, v in rows]
    ax.barh(y, vals, color=color)
    for yi, v in zip(y, vals):
        ax.text(v, yi, f" {_human(v)}", va="center", fontsize=7)
    labels = [_short(r, 50) for r, _ in rows]
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, (max(vals) if vals else 1) * 1.15 or 1)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    _margins(fig, left=_text_in(labels, 8) + 0.25, top=0.35, bottom=0.55)
    return _save(fig, fname, title)


@_styled
def shard_tokens(shards: Sequence[tuple[str, str, int, int | None]], title: str, fname: str) -> Plot:
    """Tokens in each shard in manifest order, one colour per split (a skewed shard stands out)."""
    fig = _figure(10, 3.6)
    ax = fig.add_subplot()
    x = np.arange(len(shards))
    vals = np.array([t for _, _, t, _ in shards], dtype=np.float64)
    splits = list(dict.fromkeys(sp for sp, *_ in shards))
    for i, sp in enumerate(splits):
        sel = np.array([s[0] == sp for s in shards])
        ax.bar(x[sel], vals[sel], color=COLORS[i % len(COLORS)], label=f"{sp} ({int(sel.sum())} shards)")
    ax.legend(fontsize=8)
    step = max(1, -(-len(shards) // 30))
    labels = [_short(n, 24) for _, n, _, _ in shards][::step]
    ax.set_xticks(x[::step], labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("tokens")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    _margins(fig, left=0.75, top=0.35, bottom=_text_in(labels, 7) * 0.8 + 0.2)
    return _save(fig, fname, title)


@_styled
def source_tokens(rows: Sequence[tuple[str, int | None, int]], title: str, fname: str) -> Plot:
    """Tokens per source before (``tokens_in``) and after mixture weights (``tokens_out``)."""
    has_in = any(t_in is not None for _, t_in, _ in rows)
    fig = _figure(10, max(2.2, 1.2 + (0.45 if has_in else 0.3) * len(rows)))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    out = [float(t) for *_, t in rows]
    if has_in:
        tin = [float(t or 0) for _, t, _ in rows]
        ax.barh(y - 0.2, tin, height=0.4, color=COLORS[9], label="tokenized")
        ax.barh(y + 0.2, out, height=0.4, color=COLORS[2], label="written (after weights)")
        ax.legend(fontsize=8)
        top = max(tin + out)
    else:
        ax.barh(y, out, color=COLORS[2])
        top = max(out)
    for yi, v in zip(y, out):
        ax.text(v, yi + (0.2 if has_in else 0), f" {_human(v)}", va="center", fontsize=7)
    labels = [_short(n, 40) for n, *_ in rows]
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, (top or 1) * 1.15)
    ax.set_xlabel("tokens")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    _margins(fig, left=_text_in(labels, 8) + 0.25, top=0.35, bottom=0.55)
    return _save(fig, fname, title)


@_styled
def cluster_sizes(fname: str, series: Sequence[tuple[str, dict[str, np.ndarray]]], columns: Sequence[str]) -> Plot:
    """Clusters per size (size >= 2), one panel per cluster-size column; log-spaced bins past 40,
    a log count axis when counts span more than 30x."""
    from matplotlib.ticker import NullFormatter

    ncol = min(2, len(columns))
    nrow = -(-len(columns) // ncol)
    fig = _figure(5.0 * ncol, 3.0 * nrow)
    axes = np.atleast_1d(fig.subplots(nrow, ncol)).ravel()
    for ax, col in zip(axes, columns):
        present = [(i, name, d[col]) for i, (name, d) in enumerate(series) if col in d and len(d[col])]
        if not present:
            ax.set_title(f"{col} (no clusters)", fontsize=9)
            continue
        hi = int(max(v.max() for *_, v in present))
        w = 0.8 / len(present)
        peak, low = 0, None
        for k, (i, name, v) in enumerate(present):
            label = _short(name, 24)
            if hi <= 40:
                c = np.bincount(v.astype(np.int64), minlength=hi + 1)[2:]
                ax.bar(np.arange(2, hi + 1) - 0.4 + w * (k + 0.5), c, width=w, color=COLORS[i % len(COLORS)],
                       label=label)
            else:
                c, _, _ = ax.hist(v, bins=np.unique(np.geomspace(2, hi + 1, 30).astype(np.int64)), histtype="step",
                                  linewidth=1.4, color=COLORS[i % len(COLORS)], label=label)
                ax.set_xscale("log")
            nz = c[c > 0]
            peak, low = max(peak, int(nz.max())), min(low or int(nz.min()), int(nz.min()))
        if low and peak > 30 * low:
            ax.set_yscale("log")
            ax.yaxis.set_minor_formatter(NullFormatter())
        if hi <= 40:
            ax.set_xticks(np.arange(2, hi + 1, max(1, -(-(hi - 1) // 20))))
            ax.set_xlim(1.4, hi + 0.6)
        ax.set_title(col, fontsize=9)
        ax.set_xlabel("documents in cluster", fontsize=8)
        ax.set_ylabel("clusters", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[len(columns):]:
        ax.set_visible(False)
    _margins(fig, left=0.65, top=0.35, bottom=0.55, hspace=0.6, wspace=0.3)
    return _save(fig, fname, f"duplicate clusters per size ({', '.join(columns)})")


@_styled
def tokenizer_eval(data: dict[str, Any], fname: str = "tokenizer-eval.png") -> Plot:
    """Bytes per token and fertility per evaluation group, one bar per tokenizer."""
    groups = list(data["groups"])
    toks = list(data["tokenizers"])
    panels = [("bytes_per_token", "bytes per token (higher: better compression)"),
              ("fertility", "fertility (tokens/word; tokens/char for CJK-heavy groups)")]
    fig = _figure(max(8.0, 0.9 * len(groups) * max(1, len(toks)) ** 0.5 + 3), 6.5)
    axes = fig.subplots(len(panels), 1)
    x = np.arange(len(groups))
    w = 0.8 / max(len(toks), 1)
    labels = [_short(g, 24) for g in groups]
    for ax, (key, title) in zip(axes, panels):
        for i, t in enumerate(toks):
            per = data["tokenizers"][t].get("groups", {})
            vals = [float(per.get(g, {}).get(key) or 0) for g in groups]
            ax.bar(x - 0.4 + w * (i + 0.5), vals, w, color=COLORS[i % len(COLORS)], label=_short(t, 24))
        ax.set_title(title, fontsize=10)
        ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, ncols=min(4, len(toks)))
    drop = _text_in(labels, 8) * 0.34 + 0.3
    _margins(fig, left=0.6, top=0.35, bottom=drop, hspace=(drop + 0.4) / 2.6)
    return _save(fig, fname, "tokenizer evaluation: bytes per token and fertility per group")
