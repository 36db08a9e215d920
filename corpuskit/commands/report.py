"""``corpuskit report``: one self-contained report.html (and its PNG plots) from finished runs."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write report.html with plots from run directories (and tokenizer/shards)")
    p.add_argument("runs", nargs="*", metavar="RUN_DIR", help="output directories of `corpuskit run`")
    p.add_argument("--tokenizer-eval", action="append", default=[], metavar="DIR",
                   help="output of `corpuskit tokenizer eval` (holding eval.json); repeatable")
    p.add_argument("--shards", action="append", default=[], metavar="DIR",
                   help="tokenized shard directory holding manifest.json; repeatable")
    p.add_argument("--output", "-o", required=True, help="directory for report.html and the PNG plots")
    p.add_argument("--max-rows", type=int, default=200_000,
                   help="kept documents read per run for the histograms (default 200000)")
    p.add_argument("--title", default=None, help="report title (default: corpuskit run report)")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..report import build_report

    if not args.runs and not args.tokenizer_eval and not args.shards:
        raise ConfigError("corpuskit report: give at least one RUN_DIR, --tokenizer-eval DIR or --shards DIR")
    if args.max_rows < 1:
        raise ConfigError("--max-rows must be at least 1")
    res = build_report(args.runs, args.output, tokenizer_evals=args.tokenizer_eval, shards=args.shards,
                       max_rows=args.max_rows, title=args.title)
    for n in res.notes:
        print(f"note: {n}", file=sys.stderr)
    print(f"wrote {res.html} and {len(res.plots)} plot(s) in {res.html.parent}")
    return 0
