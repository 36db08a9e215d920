"""From raw dumps to validated training shards and a report: the chain behind ``make all`` and ``make demo``.

It runs the ready pipelines (web, books, code and their Chinese variants) on whichever inputs are
given, trains a tokenizer on their outputs, evaluates it on held-out text, builds shuffled
Megatron shards, validates them, and writes the run report.  Each step is a ``corpuskit`` command,
so what the chain does can be repeated one command at a time; each resumes or skips when its
output is already complete.
"""

from __future__ import annotations

import json
import resource
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cli import main as cli
from .errors import CorpusError
from .pipeline import data_root
from .readers.auto import AutoReader
from .readers.base import expand_inputs, strip_compression

PIPELINES = {"web": "web.yaml", "books": "books.yaml", "code": "code.yaml", "zh_web": "zh-web.yaml",
             "zh_books": "zh-books.yaml"}


@dataclass
class ChainConfig:
    output: Path
    inputs: dict[str, str]  # pipeline kind -> input path or glob
    workers: int = 2
    executor: str = "local"
    tokenizer: str = "llama-bpe-32k"
    tokenizer_set: list[str] = field(default_factory=list)
    shard_tokens: int | None = None
    valid_fraction: float = 0.01
    weights: list[str] = field(default_factory=list)
    pipelines_dir: Path = field(default_factory=lambda: data_root() / "pipelines")


def _call(args: list[str], log: list[dict]) -> None:
    t0 = time.perf_counter()
    print(f"\n$ corpuskit {shlex.join(args)}", flush=True)
    code = cli(args)
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    # running maxima (Linux: KiB): a command that raised one holds the new peak
    log.append({"command": ["corpuskit", *args], "seconds": round(time.perf_counter() - t0, 2), "exit": code,
                "peak_rss_mb_so_far": {"chain_process": round(me.ru_maxrss / 1024, 1),
                                       "largest_worker": round(kids.ru_maxrss / 1024, 1)}})
    if code != 0:
        raise CorpusError(f"'corpuskit {shlex.join(args)}' failed with exit code {code}")


def holds_records(inp: str) -> bool:
    """Whether ``inp`` (file, directory or glob) holds only JSONL / Parquet / Arrow files (documents
    already extracted, e.g. a previous run's output or a JSONL dump) rather than raw dumps."""
    try:
        every = expand_inputs([inp], ())
    except CorpusError:
        return False
    records = [p for p, _ in every if strip_compression(p).endswith(AutoReader.extensions)]
    return bool(records) and len(records) == len(every)


def run_chain(cfg: ChainConfig) -> dict:
    out = cfg.output
    out.mkdir(parents=True, exist_ok=True)
    log: list[dict] = []
    runs = []
    for kind, inp in cfg.inputs.items():
        if kind not in PIPELINES:
            raise CorpusError(f"unknown input kind {kind!r}; valid: {', '.join(PIPELINES)}")
        run_dir = out / kind.replace("_", "-")
        args = ["run", str(cfg.pipelines_dir / PIPELINES[kind]), "--input", inp, "--output", str(run_dir),
                "--workers", str(cfg.workers), "--executor", cfg.executor, "--no-progress"]
        if holds_records(inp):  # already-extracted text: the same steps, read by the JSONL/Parquet reader
            args += ["--set", "reader.type=auto"]
        _call(args, log)
        runs.append(run_dir)
    data = [str(r / "data") for r in runs]
    tok_dir = out / "tokenizer"
    if not (tok_dir / "training_report.json").exists():
        # pipelines name their documents' source (web, zh-web, books, code): mix by it
        args = ["tokenizer", "train", cfg.tokenizer, "--output", str(tok_dir), "--overwrite",
                "--set", "sample.mix.by=source"]
        for d in data:
            args += ["--input", d]
        for s in cfg.tokenizer_set:
            args += ["--set", s]
        _call(args, log)
    eval_dir = out / "tokenizer-eval"
    args = ["tokenizer", "eval", "--tokenizer", f"trained={tok_dir}", "--output", str(eval_dir),
            "--holdout-from", str(tok_dir), "--no-plot"]
    for d in data:
        args += ["--input", d]
    _call(args, log)
    shards = out / "shards"
    args = ["shards", "build", "--tokenizer", str(tok_dir), "--output", str(shards), "--workers",
            str(cfg.workers), "--valid-fraction", str(cfg.valid_fraction), "--no-progress"]
    if cfg.shard_tokens:
        args += ["--shard-tokens", str(cfg.shard_tokens)]
    for w in cfg.weights:
        args += ["--weight", w]
    for d in data:
        args += ["--input", d]
    _call(args, log)
    _call(["shards", "validate", str(shards)], log)
    report = out / "report"
    _call(["report", *[str(r) for r in runs], "--tokenizer-eval", str(eval_dir), "--shards", str(shards),
           "--output", str(report)], log)
    summary = {"runs": {r.name: json.loads((r / "stats.json").read_text()) for r in runs}, "commands": log,
               "report": str(report / "report.html"), "shards": str(shards)}
    (out / "chain.json").write_text(json.dumps(summary, indent=2))
    total_in = sum(s["bytes_in"] for s in summary["runs"].values())
    wall = sum(c["seconds"] for c in log)
    print(f"\nchain done in {wall:.1f} s: {total_in / 1e6:.1f} MB of text in; report: {report / 'report.html'}")
    return summary
