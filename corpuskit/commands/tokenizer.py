"""``corpuskit tokenizer train|eval|extend``: tokenizers from a cleaned corpus, and how good they are."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tokenizer", help="train, evaluate and extend tokenizers (SentencePiece, HF tokenizers)")
    tsub = p.add_subparsers(dest="tokenizer_command", required=True, metavar="ACTION")

    t = tsub.add_parser("train", help="train a tokenizer from a pipeline's output")
    t.add_argument("config", help="training YAML, or a preset name from configs/tokenizer/ (e.g. llama-bpe-32k)")
    t.add_argument("--input", "-i", action="append", required=True,
                   help="pipeline output directory, shard directory, file or glob (repeatable)")
    t.add_argument("--output", "-o", required=True, help="output directory for the tokenizer files")
    t.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a config value, e.g. --set sample.max_bytes=50000000 "
                        "--set sentencepiece.vocab_size=16000")
    t.add_argument("--overwrite", action="store_true", help="write into a non-empty output directory")
    t.set_defaults(func=cmd_train)

    e = tsub.add_parser("eval", help="compare tokenizers on held-out text per source and language")
    e.add_argument("--tokenizer", "-t", action="append", required=True, metavar="[NAME=]PATH",
                   help="a training output directory, a .model or a tokenizer.json (repeatable)")
    e.add_argument("--input", "-i", action="append", required=True, help="held-out text (as for train)")
    e.add_argument("--output", "-o", required=True, help="directory for eval.json, eval.md, eval.png")
    e.add_argument("--group-by", default="source,lang",
                   help="comma list of source, id_prefix, lang, script, metadata.FIELD (default: source,lang)")
    e.add_argument("--only", default=None, help="comma list of fnmatch patterns of group names to keep")
    e.add_argument("--max-bytes-per-group", type=int, default=2_000_000, help="text sampled per group")
    e.add_argument("--min-docs", type=int, default=1, help="leave out groups with fewer documents")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--holdout-from", default=None, metavar="TRAIN_OUTPUT",
                   help="measure only on the documents this training run held out (sample.holdout)")
    e.add_argument("--time", type=float, default=0.5,
                   help="seconds of repeated encoding per tokenizer and group for the MB/s figure")
    e.add_argument("--no-plot", action="store_true")
    e.set_defaults(func=cmd_eval)

    x = tsub.add_parser("extend", help="append a domain SentencePiece model's new pieces to a base model")
    x.add_argument("--base", required=True, help="base .model (or a directory with tokenizer.model)")
    x.add_argument("--add", required=True, help="domain .model whose new pieces are appended")
    x.add_argument("--output", "-o", required=True, help="output directory")
    x.add_argument("--max-new", type=int, default=None, help="append at most this many pieces")
    x.set_defaults(func=cmd_extend)


def cmd_train(args: argparse.Namespace) -> int:
    from ..tokenizer.config import load_config
    from ..tokenizer.train import describe, train

    cfg = load_config(args.config, args.set)
    report = train(cfg, args.input, args.output, overwrite=args.overwrite)
    print(describe(report))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from ..tokenizer.evaluate import evaluate, markdown

    results = evaluate(args.tokenizer, args.input, args.output,
                       group_by=[g.strip() for g in args.group_by.split(",") if g.strip()],
                       max_bytes=args.max_bytes_per_group, seed=args.seed,
                       only=[o.strip() for o in args.only.split(",")] if args.only else None,
                       holdout_from=args.holdout_from, min_docs=args.min_docs, repeat_time=args.time,
                       plot=not args.no_plot)
    print(markdown(results))
    print(f"wrote {args.output}/eval.json, eval.md" + ("" if args.no_plot else ", eval.png"))
    return 0


def cmd_extend(args: argparse.Namespace) -> int:
    from ..tokenizer.extend import extend

    report = extend(args.base, args.add, args.output, args.max_new)
    print(json.dumps(report, indent=2))
    return 0
