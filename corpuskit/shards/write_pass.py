"""Pass 2: gather one output shard's documents, in plan order, from the pass-1 token files.

Documents are read through memory maps, so a task holds only its write buffer (about 32 MB),
whatever the shard or corpus size; each shard is an independent task and its bytes depend only
on the plan.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ..writers.atomic import write_bytes_atomic
from .encode_pass import store_dtype, task_paths
from .megatron import MegatronWriter
from .nanotron import NanotronWriter

FLUSH_TOKENS = 16 << 20


def marker_path(workdir: str | Path, name: str) -> Path:
    return Path(workdir) / "markers" / f"{name}.json"


def write_task(spec: dict[str, Any]) -> dict[str, Any]:
    """Write shard ``spec['name']`` in every configured format; returns its manifest entry."""
    workdir = Path(spec["workdir"])
    out = Path(spec["output"])
    marker = marker_path(workdir, spec["name"])
    if marker.exists():
        rec = orjson.loads(marker.read_bytes())
        if all((out / f).is_file() for f in rec["files"]):
            return rec
    t0 = time.perf_counter()
    lo, hi = spec["lo"], spec["hi"]
    entries = np.array(np.load(workdir / f"plan-{spec['split']}.npy", mmap_mode="r")[lo:hi])
    lens = np.load(workdir / "doc_lens.npy", mmap_mode="r")[entries]
    offs = np.load(workdir / "doc_offsets.npy", mmap_mode="r")[entries]
    file_doc_start = np.load(workdir / "file_doc_start.npy")
    file_of = np.searchsorted(file_doc_start, entries, side="right") - 1
    task_index = spec["task_indices"]
    sdtype = store_dtype(spec["vocab_size"])

    maps: dict[int, np.ndarray] = {}
    prefix = out / spec["name"]
    writers: list[Any] = []
    if "megatron" in spec["formats"]:
        writers.append(MegatronWriter(prefix, spec["vocab_size"], spec["max_doc_tokens"]))
    if "nanotron" in spec["formats"]:
        writers.append(NanotronWriter(prefix, spec["vocab_size"], spec["tokenizer_name"]))
    try:
        pending: list[np.ndarray] = []
        pending_n = 0
        for f, o, n in zip(file_of.tolist(), offs.tolist(), lens.tolist()):
            mm = maps.get(f)
            if mm is None:
                mm = maps[f] = np.memmap(task_paths(workdir, task_index[f])["tokens"], dtype=sdtype, mode="r")
            pending.append(mm[o:o + n])
            pending_n += n
            if pending_n >= FLUSH_TOKENS:
                _flush(writers, pending)
                pending, pending_n = [], 0
        if pending:
            _flush(writers, pending)
        files: dict[str, dict] = {}
        for w in writers:
            files.update(w.close(lens))
    except BaseException:
        for w in writers:
            w.abort()
        raise
    sequences = next((w.sequences for w in writers if isinstance(w, MegatronWriter)), int(len(lens)))
    rec = {
        "name": spec["name"],
        "split": spec["split"],
        "documents": int(len(lens)),
        "sequences": int(sequences),
        "tokens": int(lens.sum()),
        "files": dict(sorted(files.items())),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    write_bytes_atomic(marker, orjson.dumps(rec))
    return rec


def _flush(writers: list[Any], pending: list[np.ndarray]) -> None:
    chunk = np.concatenate(pending)
    for w in writers:
        w.write(chunk)
