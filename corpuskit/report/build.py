"""Assemble the report: one section per question a user asks of a run, each from the files that
answer it; a section whose inputs are absent says so in one line instead of failing the report."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..writers.atomic import write_bytes_atomic
from . import plots as P
from .extras import ShardSet, TokenizerEval, load_shards, load_tokenizer_eval
from .html import Section, esc, note, num, page, sample_doc, table
from .runs import Run, load_run, slug, unique_names

#: numeric signal columns plotted (alphabetical); the rest are listed in a note
MAX_SIGNAL_COLUMNS = 30
_ROUND = re.compile(r"^(ls|ss)\d+$")


@dataclass
class ReportResult:
    html: Path
    plots: list[Path]
    notes: list[str]


def build_report(run_dirs: Sequence[str | Path], output: str | Path, tokenizer_evals: Sequence[str | Path] = (),
                 shards: Sequence[str | Path] = (), max_rows: int = 200_000, title: str | None = None,
                 now: dt.datetime | None = None) -> ReportResult:
    """Write ``report.html`` and its PNG plots into ``output``; returns their paths and the notes
    about inputs that were missing (also shown in the report)."""
    paths = [Path(p) for p in run_dirs]
    names = unique_names(paths) if paths else []
    runs = [load_run(p, n, max_rows) for p, n in zip(paths, names)]
    notes: list[str] = [n for r in runs for n in r.notes]
    evals = [e for e in (load_tokenizer_eval(Path(p), notes) for p in tokenizer_evals) if e is not None]
    shard_sets = [s for s in (load_shards(Path(p), notes) for p in shards) if s is not None]

    sections = [
        overview(runs), funnels(runs), drops(runs), lengths(runs), signals(runs), languages(runs),
        sources(runs), dedup(runs), pii(runs), counters(runs), quarantine(runs),
        tokenizer(evals, list(tokenizer_evals)), shard_section(shard_sets, list(shards)),
    ]
    warn = warnings_section(runs, notes)
    if warn is not None:
        sections.append(warn)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    seen: set[str] = set()
    for s in sections:
        for plot in s.plots:
            if plot.name in seen:
                raise AssertionError(f"two plots named {plot.name}")
            seen.add(plot.name)
            write_bytes_atomic(out / plot.name, plot.png)
            written.append(out / plot.name)
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    subtitle = [f"generated {stamp}",
                "runs: " + ", ".join(f"{r.name} ({r.summary.get('pipeline', '?')})" for r in runs) if runs
                else "no pipeline runs given"]
    html = page(title or "corpuskit run report", subtitle, sections)
    write_bytes_atomic(out / "report.html", html.encode("utf-8"))
    return ReportResult(out / "report.html", written, notes)


# -- sections -------------------------------------------------------------------------------------

def _mb(b: float | None) -> str:
    return "–" if b is None else f"{b / 1e6:,.2f}"


def _pct(a: float, b: float) -> str:
    return f"{100.0 * a / b:.1f}%" if b else "–"


def overview(runs: list[Run]) -> Section:
    s = Section("overview", "Overview")
    if not runs:
        s.add(note("No pipeline run directories were given, so there is no funnel, drop or signal section."))
        return s
    rows = []
    for r in runs:
        m = r.summary
        workers = m.get("workers") or 1
        mbs = m.get("mb_per_s")
        balanced = m.get("balanced")
        rows.append([r.name, m.get("pipeline"), f"{m.get('executor', '?')} × {workers}", num(m.get("records_in")),
                     num(m.get("docs_out")), num(m.get("dropped")), num(m.get("duplicates")),
                     num(m.get("quarantined")),
                     '<span class="good">yes</span>' if balanced else '<span class="bad">NO</span>',
                     _mb(m.get("bytes_in")), _mb(m.get("bytes_out")), num(m.get("wall_seconds"), "{:,.1f}"),
                     num(mbs, "{:,.2f}"), num(mbs / workers if mbs else None, "{:,.2f}"),
                     num(m.get("docs_per_s"), "{:,.0f}")])
    s.add(table(["run", "pipeline", "executor", "records in", "kept", "dropped", "duplicates", "quarantined",
                 "balanced", "MB in", "MB out", "wall s", "MB/s", "MB/s per worker", "docs/s"], rows,
                numeric=range(3, 15), raw=[8]))
    s.add(note("balanced: records in = kept + dropped + duplicates + quarantined (every record accounted for)."))
    s.plot(P.outcome([(r.name, r.summary) for r in runs]), "where every input record went")
    return s


def funnels(runs: list[Run]) -> Section:
    s = Section("funnel", "Funnel through the steps")
    if not runs:
        s.add(note("No runs."))
        return s
    used: set[str] = set()
    for r in runs:
        fname = f"funnel-{slug(r.name)}.png"
        k = 2
        while fname in used:
            fname, k = f"funnel-{slug(r.name)}-{k}.png", k + 1
        used.add(fname)
        s.add(f"<h3>{esc(r.name)}</h3>")
        steps = r.summary["steps"]
        if not steps:
            s.add(note(f"{r.name}: the summary lists no steps."))
            continue
        s.plot(P.funnel(r.name, fname, r.summary), f"documents and bytes after each step of {r.name}")
        rows = []
        for st in steps:
            sec = st.get("seconds") or 0.0
            rows.append([st["name"], st.get("kind"), num(st["docs_in"]), num(st["docs_out"]),
                         _pct(st["docs_out"], st["docs_in"]), _mb(st["bytes_in"]), _mb(st["bytes_out"]),
                         num(sum(st.get("drops", {}).values())), f"{sec:,.2f}",
                         f"{st['bytes_in'] / 1e6 / sec:,.1f}" if sec > 0 else "–"])
        s.add(table(["step", "kind", "docs in", "docs out", "kept", "MB in", "MB out", "dropped", "seconds",
                     "MB/s (one worker)"], rows, numeric=range(2, 10)))
    return s


def drops(runs: list[Run]) -> Section:
    s = Section("drops", "Drops per reason")
    multi = len(runs) > 1
    bars: list[tuple[str, int]] = []
    rows = []
    for r in runs:
        for st in r.summary["steps"]:
            for reason, c in sorted(st.get("drops", {}).items(), key=lambda kv: (-kv[1], kv[0])):
                label = f"{r.name} · {st['name']}: {reason}" if multi else f"{st['name']}: {reason}"
                bars.append((label, c))
                samples = r.excluded.get((st["name"], reason), [])
                cell = "".join(sample_doc(d.id, d.source, d.chars, d.text) for d in samples)
                cell = f"<details><summary>{len(samples)} sample(s)</summary>{cell}</details>" if samples else \
                    ("–" if st.get("kind") != "read" else "reader skip (not kept)")
                rows.append([r.name, st["name"], reason, num(c), _pct(c, r.summary.get("records_in") or 0), cell])
    if not bars:
        s.add(note("No document was dropped by any step."))
        return s
    s.plot(P.drops(bars), "documents dropped per (step, reason)")
    for r in runs:
        if not r.excluded_files and any(st.get("drops") for st in r.summary["steps"] if st.get("kind") != "read"):
            s.add(note(f"{r.name}: no excluded/ files (writer.excluded: none), so no sample documents."))
    s.add(table(["run", "step", "reason", "docs", "of input", "sample documents (first in input order)"], rows,
                numeric=[3, 4], raw=[5]))
    return s


def _sampled(r: Run) -> str:
    sm = r.sample
    part = f"{sm.rows_read:,} of {sm.rows_total:,}" if sm.rows_read < sm.rows_total else f"all {sm.rows_total:,}"
    return f"{r.name}: {part} kept documents in {sm.shards} shard(s) read"


def lengths(runs: list[Run]) -> Section:
    s = Section("lengths", "Document lengths")
    have = [r for r in runs if len(r.sample.chars)]
    if not have:
        s.add(note("No kept documents to measure (no data/ shards, or every document was dropped)."))
        return s
    s.plot(P.lengths([(r.name, r.sample.chars) for r in have]), "characters per kept document")
    rows = []
    for r in have:
        c = r.sample.chars
        q = np.percentile(c, [10, 50, 90])
        rows.append([r.name, num(len(c)), num(int(c.min())), num(int(q[0])), num(int(q[1])), num(int(q[2])),
                     num(int(c.max())), num(float(c.mean()), "{:,.0f}")])
    s.add(table(["run", "docs", "min", "p10", "median", "p90", "max", "mean"], rows, numeric=range(1, 8)))
    s.add(note("; ".join(_sampled(r) for r in have)))
    return s


def _stats_row(v: np.ndarray) -> list[str]:
    ok = v[np.isfinite(v)]
    if not len(ok):
        return ["0", num(len(v)), "–", "–", "–", "–"]
    q = np.percentile(ok, [10, 50, 90])
    return [num(len(ok)), num(len(v) - len(ok)), f"{ok.mean():.4g}", f"{q[0]:.4g}", f"{q[1]:.4g}", f"{q[2]:.4g}"]


def signals(runs: list[Run]) -> Section:
    s = Section("signals", "Quality signals")
    cols = sorted({c for r in runs for c in r.sample.signals})
    if not cols:
        s.add(note("No numeric signal columns in the kept documents (no annotator ran, or none kept its scores)."))
        return s
    shown, rest = cols[:MAX_SIGNAL_COLUMNS], cols[MAX_SIGNAL_COLUMNS:]
    s.plot(P.histograms("signals.png", shown, [(r.name, r.sample.signals) for r in runs]),
           "numeric signal columns of the kept documents")
    rows = [[c, r.name, *_stats_row(r.sample.signals[c])] for c in shown for r in runs if c in r.sample.signals]
    s.add(table(["column", "run", "values", "nulls/NaN", "mean", "p10", "median", "p90"], rows,
                numeric=range(2, 8)))
    if rest:
        s.add(note(f"{len(rest)} more column(s) not plotted: {', '.join(rest)}"))
    s.add(note("Kept documents only, so each distribution is cut where a filter's threshold is (excluded/ keeps "
               "the dropped documents' text and reason, not their signals). " + "; ".join(_sampled(r) for r in runs
                                                                                        if r.sample.signals)))
    return s


def languages(runs: list[Run]) -> Section:
    s = Section("languages", "Language mix")
    have = [r for r in runs if r.sample.langs]
    if not have:
        s.add(note("No language column (lang) or metadata.lang in the kept documents; add a langid step."))
        return s
    s.plot(P.shares("languages.png", "language mix of the kept documents",
                    [(r.name, r.sample.langs) for r in have]), "share of kept documents per language")
    rows = []
    for r in have:
        n = sum(r.sample.langs.values())
        for lang, c in list(r.sample.langs.items())[:25]:
            rows.append([r.name, lang, num(c), _pct(c, n)])
    s.add(table(["run", "language", "docs", "share"], rows, numeric=[2, 3]))
    s.add(note("; ".join(f"{r.name}: from column {r.sample.lang_source}" for r in have)
               + ". " + "; ".join(_sampled(r) for r in have)))
    return s


def sources(runs: list[Run]) -> Section:
    s = Section("sources", "Sources")
    have = [r for r in runs if r.sample.sources]
    if not have:
        s.add(note("No source column in the kept documents."))
        return s
    s.plot(P.shares("sources.png", "text bytes per source (kept documents)",
                    [(r.name, {k: v[1] for k, v in r.sample.sources.items()}) for r in have],
                    xlabel="share of text bytes"), "share of kept text bytes per source")
    rows = []
    for r in have:
        total = sum(b for _, b in r.sample.sources.values())
        for src, (d, b) in list(r.sample.sources.items())[:40]:
            rows.append([r.name, src, num(d), _mb(b), _pct(b, total)])
    s.add(table(["run", "source", "docs", "MB", "share of bytes"], rows, numeric=[2, 3, 4]))
    s.add(note("; ".join(_sampled(r) for r in have)))
    return s


def _phase_rows(r: Run, label: str, record: dict[str, Any]) -> list[list[str]]:
    rows = []
    rounds = sorted(k for k in record if _ROUND.match(k))
    for phase, vals in record.items():
        if _ROUND.match(phase) or not isinstance(vals, dict):
            continue
        figures = ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v:.4g}"
                            for k, v in sorted(vals.items()) if isinstance(v, (int, float)) and k != "seconds")
        rows.append([r.name, label, phase, figures])
    if rounds:
        rows.append([r.name, label, "connected components",
                     f"{len([x for x in rounds if x.startswith('ls')])} large-star / "
                     f"{len([x for x in rounds if x.startswith('ss')])} small-star rounds"])
    return rows


def dedup(runs: list[Run]) -> Section:
    s = Section("dedup", "Deduplication")
    rows = []
    phase_rows = []
    for r in runs:
        for st in r.summary["steps"]:
            if st.get("kind") != "global":
                continue
            removed = sum(st.get("drops", {}).values())
            extra = ", ".join(f"{k}={v:,}" for k, v in sorted(st.get("counters", {}).items()))
            rows.append([r.name, st["name"], num(st["docs_in"]), num(removed), _pct(removed, st["docs_in"]),
                         _mb(st["bytes_in"] - st["bytes_out"]), extra])
        for label, record in sorted((r.summary.get("stages") or {}).items()):
            if isinstance(record, dict):
                phase_rows.extend(_phase_rows(r, label, record))
    cols = sorted({c for r in runs for c in r.sample.dedup})
    if not rows and not cols:
        s.add(note("No dedup stage (exact_dedup, line_dedup, minhash_dedup) in these runs."))
        return s
    if rows:
        s.add(table(["run", "stage", "docs in", "removed", "removed share", "MB removed", "counters"], rows,
                    numeric=[2, 3, 4, 5]))
    if phase_rows:
        s.add("<h3>Stage phases</h3>")
        s.add(table(["run", "stage", "phase", "figures (summed over the phase's tasks)"], phase_rows))
    if cols:
        multi = {r.name: {c: v[v > 1] for c, v in r.sample.dedup.items()} for r in runs}
        if any(len(v) for d in multi.values() for v in d.values()):
            s.plot(P.cluster_sizes("dedup-clusters.png", list(multi.items()), cols),
                   "duplicate clusters per size, from the kept survivor of each cluster of 2 or more")
            crow = []
            for r in runs:
                for c, v in multi[r.name].items():
                    if len(v):
                        crow.append([r.name, c, num(len(v)), num(int(v.sum() - len(v))), num(int(v.max())),
                                     f"{v.mean():.2f}"])
            s.add(table(["run", "column", "clusters (sampled)", "copies removed", "largest", "mean size"], crow,
                        numeric=[2, 3, 4, 5]))
        else:
            s.add(note(f"Cluster-size columns ({', '.join(cols)}) are all 1: no duplicate clusters in the sample."))
    else:
        s.add(note("No cluster-size column in the kept documents (minhash_dedup annotate: true adds "
                   "minhash_cluster_size; exact_dedup annotate: true adds exact_dup_count)."))
    return s


def _pii_counters(r: Run) -> list[tuple[str, str, int]]:
    """(step, counter, n): every counter of a step named like pii, and counters keyed ``pii...``."""
    out = []
    for st in r.summary["steps"]:
        is_pii = "pii" in st["name"].lower()
        for k, v in sorted(st.get("counters", {}).items()):
            if is_pii or k.lower().startswith("pii"):
                out.append((st["name"], k, int(v)))
    return out


def _pii_type(key: str) -> str:
    return key[4:] if key.lower().startswith(("pii:", "pii.", "pii/", "pii_")) else key


def pii(runs: list[Run]) -> Section:
    s = Section("pii", "PII found")
    per_run = {r.name: _pii_counters(r) for r in runs}
    if not any(per_run.values()):
        s.add(note("No PII step counters in these runs (no pii step ran)."))
        return s
    totals: dict[str, int] = {}
    for items in per_run.values():
        for _, k, v in items:
            totals[_pii_type(k)] = totals.get(_pii_type(k), 0) + v
    s.plot(P.counts("pii.png", "PII counters per type (all runs)", list(totals.items()), "count", P.COLORS[6]),
           "PII counters per type")
    rows = [[name, step, k, num(v)] for name, items in per_run.items() for step, k, v in items]
    s.add(table(["run", "step", "counter", "count"], rows, numeric=[3]))
    return s


def counters(runs: list[Run]) -> Section:
    s = Section("counters", "Step counters")
    rows = [[r.name, st["name"], k, num(v)] for r in runs for st in r.summary["steps"]
            for k, v in sorted(st.get("counters", {}).items())]
    if not rows:
        s.add(note("No step recorded a counter."))
        return s
    s.add(table(["run", "step", "counter", "value"], rows, numeric=[3]))
    return s


def quarantine(runs: list[Run]) -> Section:
    s = Section("quarantine", "Quarantined input records")
    total = sum(int(r.summary.get("quarantined") or 0) for r in runs)
    if not total:
        s.add(note("No input record was quarantined."))
        return s
    s.add(table(["run", "quarantined records"], [[r.name, num(r.summary.get("quarantined") or 0)] for r in runs],
                numeric=[1]))
    rows = [[r.name, q.get("file"), q.get("where"), q.get("error"), q.get("raw")] for r in runs for q in r.quarantine]
    if rows:
        s.add(table(["run", "file", "where", "error", "record (start)"], rows))
        s.add(note("The first records of quarantine/*.jsonl per run; the files hold them all."))
    return s


def tokenizer(evals: list[TokenizerEval], given: list) -> Section:
    s = Section("tokenizer", "Tokenizer evaluation")
    if not evals:
        s.add(note("No tokenizer evaluation given (--tokenizer-eval DIR, the output of `corpuskit tokenizer eval`)."
                   if not given else "The tokenizer evaluation could not be read (see the notes)."))
        return s
    from ..tokenizer.evaluate import METRICS  # the columns `tokenizer eval` prints, kept in step with it

    for k, ev in enumerate(evals):
        d = ev.data
        s.add(f"<h3>{esc(ev.path)}</h3>")
        info = [[name, t.get("library"), num(t.get("vocab_size")), "yes" if t.get("lossless") else "no",
                 num(t.get("vocab_used_all"), "{:.1%}"), t.get("path")] for name, t in d["tokenizers"].items()]
        s.add(table(["tokenizer", "library", "vocab", "lossless", "vocab used (all groups)", "path"], info,
                    numeric=[2, 4]))
        head = ["group", "docs", "MB", "tokenizer"] + [label for _, label, _ in METRICS]
        rows = []
        for g, ginfo in d["groups"].items():
            for name, t in d["tokenizers"].items():
                row = t.get("groups", {}).get(g, {})
                rows.append([g, num(ginfo.get("docs")), _mb(ginfo.get("bytes")), name]
                            + [num(row.get(key), f) for key, _, f in METRICS])
        s.add(table(head, rows, numeric=[1, 2] + list(range(4, len(head)))))
        s.plot(P.tokenizer_eval(d, "tokenizer-eval.png" if k == 0 else f"tokenizer-eval-{k + 1}.png"),
               "bytes per token and fertility per group")
        s.add(note("fertility: tokens per word (letter/digit runs), tokens per character for CJK-heavy groups. "
                   "MB/s/thread: single-threaded encode. round trip: share of documents with "
                   "decode(encode(x)) == x."))
    return s


def shard_section(sets: list[ShardSet], given: list) -> Section:
    s = Section("shards", "Tokenized shards")
    if not sets:
        s.add(note("No shard manifest given (--shards DIR with manifest.json)." if not given
                   else "The shard manifest could not be read (see the notes)."))
        return s
    for k, ss in enumerate(sets):
        suffix = "" if k == 0 else f"-{k + 1}"
        s.add(f"<h3>{esc(ss.path)}</h3>")
        if ss.info:
            s.add(table(["manifest", "value"], ss.info))
        if ss.build:
            b = ss.build
            sec = (b.get("seconds") or {}).get("total") if isinstance(b.get("seconds"), dict) else b.get("seconds")
            workers = b.get("workers") or 1
            mbs = b.get("mb_per_s")
            s.add(table(["build", "workers", "seconds", "MB/s", "MB/s per worker", "tokens/s", "text MB"],
                        [["build.json", num(workers), num(sec, "{:,.1f}"), num(mbs, "{:,.2f}"),
                          num(mbs / workers if isinstance(mbs, (int, float)) else None, "{:,.2f}"),
                          num(b.get("tokens_per_s"), "{:,.0f}"), _mb(b.get("text_bytes"))]],
                        numeric=range(1, 7)))
        if ss.splits:
            rows = []
            for split, sp in ss.splits.items():
                tok = np.array([t for sl, _, t, _ in ss.shards if sl == split], dtype=np.float64)
                rows.append([split, num(sp["shards"]), num(sp["documents"]), num(sp["unique_documents"]),
                             num(sp["sequences"]), num(sp["tokens"]),
                             num(int(tok.min())) if len(tok) else "–",
                             num(float(tok.mean()), "{:,.0f}") if len(tok) else "–",
                             num(int(tok.max())) if len(tok) else "–"])
            s.add(table(["split", "shards", "documents", "unique docs", "sequences", "tokens", "min tokens/shard",
                         "mean", "max"], rows, numeric=range(1, 9)))
        if ss.shards:
            s.plot(P.shard_tokens(ss.shards, "tokens per shard", f"shard-tokens{suffix}.png"), "tokens per shard")
        if ss.sources:
            rows_plot = [(src, v.get("tokens_in"), v["tokens_out"] or 0) for src, v in ss.sources.items()]
            s.plot(P.source_tokens(rows_plot, "tokens per source", f"source-tokens{suffix}.png"),
                   "tokens per source")
            total = sum(v["tokens_out"] or 0 for v in ss.sources.values())
            s.add(table(["source", "weight", "documents in", "documents out", "tokens in", "tokens out", "share out"],
                        [[src, num(v.get("weight"), "{:g}"), num(v.get("documents_in")), num(v.get("documents_out")),
                          num(v.get("tokens_in")), num(v["tokens_out"]), _pct(v["tokens_out"] or 0, total)]
                         for src, v in ss.sources.items()], numeric=range(1, 7)))
        for w in ss.warnings:
            s.add(note(f"manifest warning: {w}"))
    return s


def warnings_section(runs: list[Run], notes: list[str]) -> Section | None:
    rows = [[r.name, w] for r in runs for w in r.summary.get("warnings", [])[:50]]
    if not rows and not notes:
        return None
    s = Section("notes", "Warnings and notes")
    if rows:
        s.add(table(["run", "warning"], rows))
    for n in notes:
        s.add(note(n))
    return s
