"""Pass 2: gather one output shard's documents, in plan order, from the pass-1 token files.

Documents are read with ``pread`` into one reused buffer (8-16 MB), so a task's memory does not
depend on the shard or corpus size (pages read through a memory map would count in its RSS,
read-around included); each shard is an independent task and its bytes depend only
on the plan.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ..errors import CorpusError
from ..writers.atomic import write_bytes_atomic
from .encode_pass import store_dtype, task_paths
from .megatron import MegatronWriter
from .nanotron import NanotronWriter

FLUSH_TOKENS = 4 << 20


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

    prefix = out / spec["name"]
    writers: list[Any] = []
    if "megatron" in spec["formats"]:
        writers.append(MegatronWriter(prefix, spec["vocab_size"], spec["max_doc_tokens"]))
    if "nanotron" in spec["formats"]:
        writers.append(NanotronWriter(prefix, spec["vocab_size"], spec["tokenizer_name"]))
    fds: dict[int, tuple[int, Path]] = {}
    try:
        buf = np.empty(FLUSH_TOKENS, dtype=sdtype)
        view = memoryview(buf).cast("B")
        size = sdtype.itemsize
        fill = 0
        for f, o, n in zip(file_of.tolist(), offs.tolist(), lens.tolist()):
            opened = fds.get(f)
            if opened is None:
                path = task_paths(workdir, task_index[f])["tokens"]
                opened = fds[f] = (os.open(path, os.O_RDONLY), path)
            while n > 0:  # a document longer than the buffer goes out in buffer-sized pieces
                take = min(n, FLUSH_TOKENS - fill)
                _pread_exact(*opened, view[fill * size:(fill + take) * size], o * size)
                fill, o, n = fill + take, o + take, n - take
                if fill == FLUSH_TOKENS:
                    for w in writers:
                        w.write(buf)
                    fill = 0
        if fill:
            for w in writers:
                w.write(buf[:fill])
        files: dict[str, dict] = {}
        for w in writers:
            files.update(w.close(lens))
    except BaseException:
        for w in writers:
            w.abort()
        raise
    finally:
        for fd, _ in fds.values():
            os.close(fd)
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


def _pread_exact(fd: int, path: Path, into: memoryview, offset: int) -> None:
    """Fill ``into`` from ``offset``; a short file is a damaged work directory, named as such."""
    while len(into):
        got = os.preadv(fd, [into], offset)
        if got <= 0:
            raise CorpusError(f"{path}: token file ends at byte {offset}, before the planned documents "
                              f"(damaged work directory: delete it and build again)")
        into, offset = into[got:], offset + got
