"""``corpuskit chain``: raw dumps -> pipelines -> tokenizer -> evaluation -> validated shards -> report."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chain", help="run the whole chain: pipelines, tokenizer, shards, report")
    for kind in ("web", "books", "code", "zh-web", "zh-books"):
        p.add_argument(f"--{kind}", default=None, metavar="PATH_OR_GLOB",
                       help=f"raw {kind} input for pipelines/{kind}.yaml")
    p.add_argument("--output", "-o", required=True)
    p.add_argument("--workers", "-w", type=int, default=2)
    p.add_argument("--executor", choices=["local", "ray"], default="local")
    p.add_argument("--tokenizer", default="llama-bpe-32k", help="tokenizer preset or YAML (configs/tokenizer/)")
    p.add_argument("--tokenizer-set", action="append", default=[], metavar="KEY.PATH=VALUE")
    p.add_argument("--shard-tokens", type=int, default=None)
    p.add_argument("--valid-fraction", type=float, default=0.01)
    p.add_argument("--weight", action="append", default=[], metavar="SOURCE=W")
    p.set_defaults(func=cmd_chain)


def cmd_chain(args: argparse.Namespace) -> int:
    from ..chain import ChainConfig, run_chain
    from ..errors import ConfigError

    inputs = {k.replace("-", "_"): v for k in ("web", "books", "code", "zh-web", "zh-books")
              if (v := getattr(args, k.replace("-", "_"))) is not None}
    if not inputs:
        raise ConfigError("corpuskit chain: give at least one of --web, --books, --code, --zh-web, --zh-books")
    run_chain(ChainConfig(output=Path(args.output), inputs=inputs, workers=args.workers, executor=args.executor,
                          tokenizer=args.tokenizer, tokenizer_set=args.tokenizer_set, shard_tokens=args.shard_tokens,
                          valid_fraction=args.valid_fraction, weights=args.weight))
    return 0
