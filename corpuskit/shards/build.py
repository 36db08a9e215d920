"""``corpuskit shards build``: inputs -> pass 1 (tokenize) -> plan -> pass 2 (write shards) -> manifest.

Both passes run as independent tasks through corpuskit's executors; every task writes its
outputs atomically and a marker, so a killed build resumes where it stopped, and the output is
byte-identical for any worker count.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Any

import orjson

from .. import __version__
from ..errors import ConfigError
from ..executors import make_executor
from ..writers.atomic import remove_stale_tmp, write_bytes_atomic
from .config import ShardsConfig
from .encode_pass import encode_task, remember_tokenizer
from .inputs import InputSet, resolve_inputs
from .manifest import MANIFEST, build_manifest
from .plan import make_plan
from .tokenizer import ShardTokenizer, configure_parallelism
from .write_pass import write_task

WORK = "_work"
BUILD = "build.json"


def tokenizer_name(file: Path) -> str:
    """The name written into ``.ds.metadata``: the tokenizer's directory for a ``tokenizer.json``."""
    return file.parent.name if file.name in ("tokenizer.json", "tokenizer.model") and file.parent.name else file.name


def _fingerprint(cfg: ShardsConfig, tok: dict[str, Any], inputs: InputSet) -> str:
    h = hashlib.sha256()
    h.update(orjson.dumps({"config": cfg.to_json(), "tokenizer": tok, "version": __version__},
                          option=orjson.OPT_SORT_KEYS))
    for t in inputs.tasks:
        for p in t.task.paths:
            st = os.stat(p)
            h.update(orjson.dumps([p, st.st_size, st.st_mtime_ns, t.reader]))
    return h.hexdigest()[:16]


def _prepare_output(out: Path, fp: str, overwrite: bool) -> dict[str, Any] | None:
    """Make ``out`` ready; returns the finished build's record when the same build is already complete."""
    if overwrite and out.exists():
        shutil.rmtree(out)
    run_file = out / WORK / "run.json"
    if (out / BUILD).is_file() and (out / MANIFEST).is_file():
        done = orjson.loads((out / BUILD).read_bytes())
        if done.get("fingerprint") == fp:
            return done
        raise ConfigError(f"{out} holds shards of another build (other config, tokenizer or inputs); "
                          f"use a new output directory or --overwrite")
    if run_file.is_file():
        if orjson.loads(run_file.read_bytes()).get("fingerprint") != fp:
            raise ConfigError(f"{out} holds an unfinished build of another config or input set; "
                              f"use a new output directory or --overwrite")
    elif out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty and holds no shards build; use a new output directory or --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_tmp(out)
    write_bytes_atomic(run_file, orjson.dumps({"fingerprint": fp}))
    return None


def build(tokenizer: str | os.PathLike, inputs: list[str], output: str | os.PathLike,
          config: ShardsConfig | None = None, workers: int | None = None, overwrite: bool = False,
          show_progress: bool = True, keep_work: bool = False, strict: bool = False) -> dict[str, Any]:
    """Build shards from ``inputs`` into ``output``; returns the build record (``build.json``)."""
    cfg = config or ShardsConfig()
    out = Path(output)
    cores = os.cpu_count() or 1
    # default: few processes with many tokenizer threads each; one process's Python side (reading,
    # ids to numpy) keeps ~8 Rust threads busy, and fewer processes mean less start-up and no tail
    workers = max(1, workers or cores // 8)
    tok_path = str(Path(tokenizer).resolve())
    tok = ShardTokenizer(tok_path, eos_token=cfg.eos_token, bos_token=cfg.bos_token,
                         need_eos=cfg.append_eos, need_bos=cfg.add_bos, encoder=cfg.encoder)
    tok_info = tok.describe()
    eos_id = tok.eos_id if cfg.append_eos else None
    bos_id = tok.bos_id if cfg.add_bos else None
    inset = resolve_inputs(inputs, cfg.reader, cfg.batch_docs)
    # cores left idle by fewer input tasks than workers go to each task's tokenizer thread pool
    threads = cfg.threads_per_worker or max(1, cores // min(workers, len(inset.tasks) or 1))
    # one process: up to ``threads`` tasks at once, the threads shared among them (no task waits
    # for another's last sub-batch); the bytes written do not depend on this
    in_flight = min(threads, len(inset.tasks)) if workers == 1 and not cfg.threads_per_worker else 1
    in_flight = max(1, in_flight)
    task_threads = max(1, threads // in_flight)
    configure_parallelism()
    tok.threads = task_threads
    fp = _fingerprint(cfg, tok_info, inset)
    done = _prepare_output(out, fp, overwrite)
    if done is not None:
        return {**done, "resumed": "already complete"}
    work = out / WORK

    t0 = time.perf_counter()
    ex = make_executor("local", workers, progress=show_progress)
    try:
        specs = [{"index": t.index, "reader": t.reader, "task": t.task.to_dict(), "workdir": str(work),
                  "tokenizer": tok_path, "eos_id": eos_id, "bos_id": bos_id, "threads": task_threads, "strict": strict,
                  "encoder": cfg.encoder,
                  "batch_bytes": cfg.batch_bytes}
                 for t in inset.tasks]
        if specs:
            remember_tokenizer(specs[0], tok)
        order = sorted(specs, key=lambda s: -sum(os.path.getsize(p) for p in s["task"]["paths"]))
        results = {s["index"]: r for s, r in zip(order, ex.map(encode_task, order, "tokenize", threads=in_flight))}
        records = [results[t.index] for t in inset.tasks]
        t1 = time.perf_counter()

        plan = make_plan(records, cfg, work)
        task_indices = [r["index"] for r in records]
        wspecs = [{"workdir": str(work), "output": str(out), "split": s.split, "name": s.name, "lo": s.lo,
                   "hi": s.hi, "formats": cfg.formats, "vocab_size": tok.vocab_size,
                   "max_doc_tokens": cfg.max_doc_tokens, "tokenizer_name": tokenizer_name(tok.file),
                   "task_indices": task_indices} for s in plan.shards]
        t2 = time.perf_counter()
        shard_records = ex.map(write_task, wspecs, "write shards")
        t3 = time.perf_counter()
    finally:
        ex.close()

    manifest = build_manifest(cfg, tok_info, plan, records, shard_records, inset.roots, inset.runs)
    write_bytes_atomic(out / MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    text_bytes = sum(r["text_bytes"] for r in records)
    wall = time.perf_counter() - t0
    record = {
        "fingerprint": fp,
        "corpuskit_version": __version__,
        "workers": workers,
        "threads_per_worker": threads,
        "documents_read": manifest["documents"]["read"],
        "documents_written": manifest["documents"]["written"],
        "text_bytes": text_bytes,
        "tokens_tokenized": manifest["tokens"]["tokenized"],
        "tokens_written": manifest["tokens"]["written"],
        "shards": len(shard_records),
        "seconds": {"tokenize": round(t1 - t0, 3), "plan": round(t2 - t1, 3), "write": round(t3 - t2, 3),
                    "total": round(wall, 3)},
        "mb_per_s": round(text_bytes / 1e6 / wall, 3) if wall > 0 else None,
        "tokens_per_s": round(manifest["tokens"]["tokenized"] / wall, 1) if wall > 0 else None,
        "warnings": manifest["warnings"],
    }
    write_bytes_atomic(out / BUILD, orjson.dumps(record, option=orjson.OPT_INDENT_2))
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return record
