"""Render a run summary as the table printed at the end of a run and by ``corpuskit inspect``."""

from __future__ import annotations

from typing import Any


def format_summary(s: dict[str, Any], top_reasons: int = 4) -> str:
    lines = [
        f"pipeline {s['pipeline']}: {s['records_in']:,} records in, {s['docs_out']:,} kept, "
        f"{s['dropped']:,} dropped, {s['duplicates']:,} duplicates, {s['quarantined']:,} quarantined "
        f"({'balanced' if s['balanced'] else 'NOT BALANCED'})",
        f"{s['bytes_in'] / 1e6:,.1f} MB in, {s.get('bytes_out', 0) / 1e6:,.1f} MB out, {s['wall_seconds']:.1f} s "
        f"with {s['workers']} worker(s) [{s['executor']}]: {s.get('mb_per_s') or 0:.2f} MB/s, "
        f"{s.get('docs_per_s') or 0:,.0f} docs/s",
        "",
        f"{'step':24s} {'kind':9s} {'docs in':>11s} {'docs out':>11s} {'MB in':>9s} {'MB out':>9s} {'sec':>8s}  "
        f"top drop reasons",
    ]
    for st in s["steps"]:
        drops = sorted(st["drops"].items(), key=lambda kv: -kv[1])[:top_reasons]
        reasons = ", ".join(f"{r} {c:,}" for r, c in drops)
        lines.append(f"{st['name'][:24]:24s} {st['kind']:9s} {st['docs_in']:>11,} {st['docs_out']:>11,} "
                     f"{st['bytes_in'] / 1e6:>9.1f} {st['bytes_out'] / 1e6:>9.1f} {st['seconds']:>8.1f}  {reasons}")
    for w in s.get("warnings", [])[:10]:
        lines.append(f"warning: {w}")
    if s["quarantined"]:
        lines.append(f"{s['quarantined']:,} bad record(s): see quarantine/*.jsonl (file, line/record, error)")
    return "\n".join(lines)
