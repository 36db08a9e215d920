"""``corpuskit classifier train``: a fastText quality classifier from positive and negative documents."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("classifier", help="train a fastText quality classifier")
    csub = p.add_subparsers(dest="classifier_command", required=True, metavar="ACTION")
    t = csub.add_parser("train", help="train from positive and negative document sets; report precision/recall")
    t.add_argument("--positive", "-p", action="append", required=True,
                   help="high-quality documents: file, directory or glob (JSONL/Parquet; repeatable)")
    t.add_argument("--negative", "-n", action="append", required=True,
                   help="low-quality documents: file, directory or glob (repeatable)")
    t.add_argument("--output", "-o", required=True, help="model file to write (a report goes to MODEL.json)")
    t.add_argument("--format", choices=["jsonl", "parquet"], default=None, help="input format (default: by name)")
    t.add_argument("--text-field", default="text")
    t.add_argument("--holdout", type=float, default=0.1, help="fraction held out for evaluation (by id hash)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--epoch", type=int, default=5)
    t.add_argument("--lr", type=float, default=0.1)
    t.add_argument("--dim", type=int, default=64)
    t.add_argument("--word-ngrams", type=int, default=2)
    t.add_argument("--min-count", type=int, default=2)
    t.add_argument("--bucket", type=int, default=200_000, help="hash buckets for word n-grams (model size)")
    t.add_argument("--max-docs", type=int, default=None, help="at most this many documents per class")
    t.add_argument("--max-chars", type=int, default=10_000, help="characters of each document used")
    t.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from ..quality.classifier import train_classifier

    report = train_classifier(args.positive, args.negative, args.output, fmt=args.format,
                              text_field=args.text_field, holdout=args.holdout, seed=args.seed, epoch=args.epoch,
                              lr=args.lr, dim=args.dim, word_ngrams=args.word_ngrams, min_count=args.min_count, bucket=args.bucket,
                              max_docs=args.max_docs, max_chars=args.max_chars)
    d = report["documents"]
    print(f"model: {report['model']}  ({report['seconds']} s)")
    print(f"train: {d['train']['hq']} positive, {d['train']['lq']} negative; "
          f"held out: {d['test']['hq']} positive, {d['test']['lq']} negative")
    if "precision" in report:
        print(f"held-out precision {report['precision']:.4f}  recall {report['recall']:.4f}  "
              f"f1 {report['f1']:.4f}  accuracy {report['accuracy']:.4f}")
    else:
        print("no held-out documents (raise --holdout to evaluate)")
    return 0
