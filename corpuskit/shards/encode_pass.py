"""Pass 1: tokenize one input task into a per-task token file and a small per-document index.

Output under ``WORK/tok/``: ``NNNNN.tokens`` (every kept document's ids with BOS/EOS added, back
to back), ``NNNNN.docs.npz`` (per document: length, xxh3 hash of its id, source code) and
``NNNNN.json`` (counts, source names, input file hashes), written last, as the task's marker.
The bytes depend only on the input and the config, never on the worker count.
"""

from __future__ import annotations

import functools
import os
import queue
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from .. import progress
from ..readers.base import ReadContext, ReaderTask
from ..registry import reader_class
from ..writers.atomic import commit, tmp_path, write_bytes_atomic
from .files import HashingFile, sha256_file
from .tokenizer import ShardTokenizer, configure_parallelism

_tokenizers: dict[tuple, ShardTokenizer] = {}


def store_dtype(vocab_size: int) -> np.dtype:
    return np.dtype("<u2") if vocab_size <= 65_536 else np.dtype("<u4")


def task_paths(workdir: str | Path, index: int) -> dict[str, Path]:
    base = Path(workdir) / "tok" / f"{index:05d}"
    return {"tokens": base.with_suffix(".tokens"), "docs": base.with_suffix(".docs.npz"),
            "marker": base.with_suffix(".json")}


def _key(spec: dict[str, Any]) -> tuple:
    return (spec["tokenizer"], spec["eos_id"], spec["bos_id"], spec["threads"], spec.get("encoder", "auto"))


def remember_tokenizer(spec: dict[str, Any], tok: ShardTokenizer) -> None:
    """Let in-process tasks reuse the tokenizer the driver already loaded."""
    _tokenizers.clear()
    _tokenizers[_key(spec)] = tok


def get_tokenizer(spec: dict[str, Any]) -> ShardTokenizer:
    key = _key(spec)
    tok = _tokenizers.get(key)
    if tok is None:
        configure_parallelism()
        tok = ShardTokenizer(spec["tokenizer"], eos_token=spec["eos_id"], bos_token=spec["bos_id"],
                             need_eos=False, need_bos=False, threads=spec["threads"],
                             encoder=spec.get("encoder", "auto"))
        _tokenizers.clear()
        _tokenizers[key] = tok
    return tok


def prefetch(it: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """Run ``it`` in a thread, ``depth`` items ahead: reading overlaps encoding, which drops the GIL."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def run() -> None:
        try:
            for item in it:
                if stop.is_set():
                    return
                q.put(("ok", item))
            q.put(("ok", done))
        except BaseException as e:  # handed to the consumer, raised there
            q.put(("err", e))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "err":
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(0.05)


def add_specials(flat: np.ndarray, lens: np.ndarray, bos: int | None, eos: int | None,
                 dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Documents back to back with BOS before and EOS after each one; returns (tokens, new lengths)."""
    nb, ne = int(bos is not None), int(eos is not None)
    if not nb and not ne:
        return flat.astype(dtype, copy=False), lens
    new_lens = lens + nb + ne
    ends = np.cumsum(new_lens)
    out = np.empty(int(ends[-1]) if len(ends) else 0, dtype=dtype)
    body = np.ones(len(out), dtype=bool)
    if nb:
        starts = ends - new_lens
        out[starts] = bos
        body[starts] = False
    if ne:
        out[ends - 1] = eos
        body[ends - 1] = False
    out[body] = flat
    return out, new_lens


def encode_task(spec: dict[str, Any]) -> dict[str, Any]:
    """Tokenize one input task (run in a worker process); returns the task's record."""
    paths = task_paths(spec["workdir"], spec["index"])
    if paths["marker"].exists() and paths["tokens"].exists() and paths["docs"].exists():
        return orjson.loads(paths["marker"].read_bytes())
    t0 = time.perf_counter()
    tok = get_tokenizer(spec)
    dtype = store_dtype(tok.vocab_size)
    rparams = dict(spec["reader"])
    rtype = rparams.pop("type")
    rcls = reader_class(rtype)
    reader = rcls(rcls.Params(**rparams))
    task = ReaderTask.from_dict(spec["task"])
    ctx = ReadContext(strict=spec.get("strict", False))
    bos, eos = spec["bos_id"], spec["eos_id"]

    sources: dict[str, int] = {}
    lens_parts: list[np.ndarray] = []
    key_parts: list[np.ndarray] = []
    src_parts: list[np.ndarray] = []
    empty_by_source: dict[str, int] = {}
    fallbacks: list[int] = []  # documents the fast encoder left to the tokenizers library
    text_bytes = 0

    def emit(flat: np.ndarray, lens: np.ndarray, k: np.ndarray, s: np.ndarray) -> None:
        keep = lens > 0
        if not keep.all():
            names = list(sources)
            for code in s[~keep].tolist():
                empty_by_source[names[code]] = empty_by_source.get(names[code], 0) + 1
            lens, k, s = lens[keep], k[keep], s[keep]
        if len(lens):
            tokens, lens = add_specials(flat, lens, bos, eos, dtype)
            out.write(memoryview(tokens).cast("B"))
            lens_parts.append(lens)
            key_parts.append(k)
            src_parts.append(s)
        release_free_memory(int(flat.nbytes))

    out = HashingFile(paths["tokens"])
    # HF tokenizers: ``threads`` Python threads each encode their own sub-batch on one core (the
    # call drops the GIL); results are written in submission order, so the bytes do not depend on
    # the thread count, and at most 2 x threads sub-batches are in flight, which bounds memory.
    # SentencePiece parallelises inside one call instead (num_threads).
    n_threads = tok.threads if tok.kind == "hf" else 1
    pool = ThreadPoolExecutor(n_threads, thread_name_prefix="encode") if n_threads > 1 else None
    pending: deque = deque()
    try:
        for batch in prefetch(iter(reader.read(task, ctx))):
            n = batch.num_rows
            if n == 0:
                continue
            text_col = batch.column("text")
            sizes = pc.binary_length(text_col).to_numpy(zero_copy_only=False)
            text_bytes += int(sizes.sum())
            src_codes = _source_codes(batch.column("source"), sources)
            keys = np.fromiter((xxhash.xxh3_64_intdigest(i.encode()) for i in batch.column("id").to_pylist()),
                               dtype=np.uint64, count=n)
            # several sub-batches per thread, so a small file still keeps every thread busy
            step = spec["batch_bytes"] if pool is None else \
                max(1 << 16, min(spec["batch_bytes"], int(sizes.sum()) // (4 * n_threads) + 1))
            for a, b in _cuts(sizes, step):
                texts = text_col.slice(a, b - a).to_pylist()
                if pool is None:
                    emit(*tok.encode(texts, sizes[a:b], fallbacks=fallbacks), keys[a:b], src_codes[a:b])
                    continue
                pending.append((pool.submit(tok.encode, texts, sizes[a:b], fallbacks=fallbacks), keys[a:b],
                                src_codes[a:b]))
                while len(pending) > 2 * n_threads:
                    fut, k, s = pending.popleft()
                    emit(*fut.result(), k, s)
            progress.add(n, int(sizes.sum()))
        while pending:
            fut, k, s = pending.popleft()
            emit(*fut.result(), k, s)
        file_info = out.commit()
    except BaseException:
        out.abort()
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    lens_all = np.concatenate(lens_parts) if lens_parts else np.zeros(0, np.int64)
    tmp = tmp_path(paths["docs"])
    with open(tmp, "wb") as fh:
        np.savez(fh, lens=lens_all.astype(np.int64),
                 keys=np.concatenate(key_parts) if key_parts else np.zeros(0, np.uint64),
                 src=(np.concatenate(src_parts) if src_parts else np.zeros(0, np.int64)).astype(np.uint16))
    commit(tmp, paths["docs"])
    files = [{"path": Path(p).relative_to(task.root).as_posix() if _under(p, task.root) else p,
              "root": task.root, "bytes": os.path.getsize(p), "sha256": sha256_file(p)} for p in task.paths]
    record = {
        "index": spec["index"],
        "reader": rtype,
        "files": files,
        "records": ctx.records,
        "quarantined": ctx.n_quarantined,
        "quarantine_samples": [f"{q.path}:{q.where}: {q.error}" for q in ctx.quarantined[:5]],
        "warnings": ctx.warnings,
        "documents": int(len(lens_all)),
        "empty": empty_by_source,
        "tokens": int(lens_all.sum()),
        "reference_encoded": sum(fallbacks),
        "token_file_bytes": file_info["bytes"],
        "text_bytes": text_bytes,
        "sources": list(sources),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    write_bytes_atomic(paths["marker"], orjson.dumps(record))
    return record


_TRIM_EVERY = 1 << 20  # bytes of token ids encoded between two trims
_since_trim = 0


def release_free_memory(encoded: int) -> None:
    """Hand freed heap pages back to the OS (glibc ``malloc_trim``) every ``_TRIM_EVERY`` bytes of
    ids.  The encode threads allocate and free ~80 bytes per byte of text in their own malloc
    arenas; without this, fragmentation lets a long build's resident memory creep up although
    nothing is kept.  Not after every sub-batch: a trim walks every arena under its lock."""
    global _since_trim
    _since_trim += encoded
    if _since_trim < _TRIM_EVERY:
        return
    _since_trim = 0
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _cuts(sizes: np.ndarray, max_bytes: int) -> list[tuple[int, int]]:
    """Row ranges of at most ``max_bytes`` of text each (a longer single document is its own range)."""
    n = len(sizes)
    if n == 0:
        return []
    cum = np.cumsum(sizes)
    out, a = [], 0
    while a < n:
        base = int(cum[a - 1]) if a else 0
        b = int(np.searchsorted(cum, base + max_bytes, side="right"))
        b = min(max(b, a + 1), n)
        out.append((a, b))
        a = b
    return out


def _under(path: str, root: str) -> bool:
    try:
        Path(path).relative_to(root)
        return True
    except ValueError:
        return False


def _source_codes(col: pa.Array, table: dict[str, int]) -> np.ndarray:
    """Per-row code of each document's source in this task's source table (null: 'unknown')."""
    col = pc.fill_null(col.cast(pa.string()), "unknown")
    enc = pc.dictionary_encode(col)
    names = enc.dictionary.to_pylist()
    lut = np.array([table.setdefault(name, len(table)) for name in names], dtype=np.int64)
    return lut[enc.indices.to_numpy(zero_copy_only=False)]
