"""``corpuskit run``, ``corpuskit inspect`` and ``corpuskit steps``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..summary_table import format_summary


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a pipeline YAML over input files")
    p.add_argument("pipeline", help="pipeline YAML file (see pipelines/)")
    p.add_argument("--input", "-i", action="append", required=True,
                   help="input file, directory or glob (repeatable)")
    p.add_argument("--output", "-o", required=True, help="output directory")
    p.add_argument("--workers", "-w", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--strict", action="store_true", help="stop at the first bad input record (exit 1)")
    p.add_argument("--executor", choices=["local", "ray"], default=None, help="default: the pipeline's, or local")
    p.add_argument("--ray-address", default=None, help="join an existing Ray cluster (default: start a local one)")
    p.add_argument("--overwrite", action="store_true", help="delete the output directory first")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--set", action="append", default=[], metavar="reader.KEY=VALUE",
                   help="override a reader parameter, e.g. --set reader.text_field=content")
    p.set_defaults(func=cmd_run)

    q = sub.add_parser("inspect", help="show a run's summary and a few documents")
    q.add_argument("output", help="a run's output directory")
    q.add_argument("--docs", type=int, default=3, help="documents to show")
    q.add_argument("--chars", type=int, default=300, help="characters of each document to show")
    q.set_defaults(func=cmd_inspect)

    s = sub.add_parser("steps", help="list the steps and readers, with their parameters")
    s.set_defaults(func=cmd_steps)


def _overrides(items: list[str]) -> dict:
    import yaml

    from ..errors import ConfigError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("reader."):
            raise ConfigError(f"--set {item!r}: use reader.KEY=VALUE")
        out[key[len("reader."):]] = yaml.safe_load(value)
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from ..pipeline import Pipeline
    from ..runner import run

    pipe = Pipeline.from_yaml(args.pipeline, reader_overrides=_overrides(args.set))
    summary = run(pipe, args.input, args.output, workers=args.workers, strict=args.strict,
                  executor=args.executor, ray_address=args.ray_address, show_progress=not args.no_progress,
                  overwrite=args.overwrite)
    print(format_summary(summary))
    if summary.get("resumed"):
        print(f"(the run in {args.output} was already complete; nothing to do)")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from ..errors import CorpusError

    out = Path(args.output)
    stats = out / "stats.json"
    if not stats.exists():
        raise CorpusError(f"{out}: no stats.json (not a finished corpuskit run)")
    summary = json.loads(stats.read_text())
    print(format_summary(summary))
    shards = sorted((out / "data").glob("part-*"))
    print(f"\n{len(shards)} shard(s) in {out / 'data'}")
    if shards and args.docs > 0:
        from ..readers.base import ReadContext, ReaderTask
        from ..registry import reader_class

        kind = "parquet" if shards[0].name.endswith(".parquet") else "jsonl"
        reader = reader_class(kind)(batch_size=args.docs)
        shown = 0
        for shard in shards:
            for batch in reader.read(ReaderTask(0, [str(shard)], str(out / "data")), ReadContext()):
                for row in batch.to_pylist():
                    text = row["text"][: args.chars].replace("\n", "\\n")
                    signals = {k: v for k, v in row.items() if k not in ("id", "text", "source", "metadata")}
                    print(f"\n--- {row['id']} [{row['source']}] {len(row['text']):,} chars")
                    if signals:
                        print("    " + ", ".join(f"{k}={v}" for k, v in signals.items()))
                    print(f"    {text}")
                    shown += 1
                    if shown >= args.docs:
                        return 0
    return 0


def cmd_steps(args: argparse.Namespace) -> int:
    from ..registry import all_readers, all_steps

    def params(cls) -> str:
        parts = []
        for name, f in cls.Params.model_fields.items():
            default = "required" if f.is_required() else repr(f.get_default(call_default_factory=True))
            parts.append(f"{name}={default}")
        return ", ".join(parts)

    print("readers:")
    for name, cls in all_readers().items():
        print(f"  {name:18s} {params(cls)}")
    print("steps:")
    for name, cls in all_steps().items():
        doc = (cls.__doc__ or "").strip().split("\n")[0]
        print(f"  {name:18s} [{cls.kind}] {doc}")
        print(f"  {'':18s} {params(cls)}")
    sys.stdout.flush()
    return 0
