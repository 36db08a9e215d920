"""Intermediate files of the dedup stages: fixed-width records on disk, written atomically.

Everything a dedup stage hands from one phase to the next is a numpy record array in a plain
binary file (``np.fromfile`` reads it back with no parsing).
Writers append under a temporary name and rename on ``commit()``, so a killed task leaves no
file that looks complete; rerunning a task rewrites the same names with the same content.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..writers.atomic import tmp_path

#: document key: data task in the high bits, row within the task in the low 40
ROW_BITS = 40
ROW_MASK = (1 << ROW_BITS) - 1


def doc_keys(task: int, first_row: int, n: int) -> np.ndarray:
    return (np.uint64(task) << np.uint64(ROW_BITS)) + np.arange(first_row, first_row + n, dtype=np.uint64)


def key_task(keys: np.ndarray) -> np.ndarray:
    return (keys >> np.uint64(ROW_BITS)).astype(np.int64)


def key_row(keys: np.ndarray) -> np.ndarray:
    return (keys & np.uint64(ROW_MASK)).astype(np.int64)


def partition_of(values: np.ndarray, n: int) -> np.ndarray:
    """Partition of 64-bit values (already well mixed hashes, or doc keys mixed here)."""
    v = values.astype(np.uint64, copy=False)
    v = (v ^ (v >> np.uint64(29))) * np.uint64(0xBF58476D1CE4E5B9)
    v ^= v >> np.uint64(32)
    return (v % np.uint64(n)).astype(np.int64)


class AppendFile:
    """A binary file of fixed-width records, appended in chunks, renamed into place on commit."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp_path(self.path)
        self.fh = open(self.tmp, "wb")
        self.rows = 0

    def write(self, arr: np.ndarray) -> None:
        if len(arr):
            self.fh.write(np.ascontiguousarray(arr).tobytes())
            self.rows += len(arr)

    def commit(self) -> None:
        self.fh.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.fh.close()
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass


class PartitionedWriter:
    """Records spread over ``n`` partition files by a partition column, buffered in memory up to
    ``flush_bytes`` so that a task's scan uses bounded memory whatever its size."""

    def __init__(self, root: Path, name: str, n: int, dtype: np.dtype, flush_bytes: int = 32 << 20):
        self.files = [AppendFile(root / f"p{p:05d}" / name) for p in range(n)]
        self.n = n
        self.dtype = np.dtype(dtype)
        self.buf: list[np.ndarray] = []
        self.buffered = 0
        self.parts: list[np.ndarray] = []
        self.flush_bytes = flush_bytes

    def write(self, records: np.ndarray, part: np.ndarray) -> None:
        self.buf.append(records)
        self.parts.append(part)
        self.buffered += records.nbytes
        if self.buffered >= self.flush_bytes:
            self.flush()

    def flush(self) -> None:
        if not self.buf:
            return
        rec = np.concatenate(self.buf)
        part = np.concatenate(self.parts)
        order = np.argsort(part, kind="stable")
        rec, part = rec[order], part[order]
        bounds = np.searchsorted(part, np.arange(self.n + 1))
        for p in range(self.n):
            if bounds[p + 1] > bounds[p]:
                self.files[p].write(rec[bounds[p]:bounds[p + 1]])
        self.buf, self.parts, self.buffered = [], [], 0

    def commit(self) -> None:
        self.flush()
        for f in self.files:
            f.commit()

    def abort(self) -> None:
        for f in self.files:
            f.abort()


def read_records(paths: list[Path], dtype: np.dtype) -> np.ndarray:
    arrays = [np.fromfile(p, dtype=dtype) for p in paths if p.exists()]
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)


def partition_files(root: Path, p: int) -> list[Path]:
    d = root / f"p{p:05d}"
    return sorted(x for x in d.iterdir() if ".tmp-" not in x.name) if d.exists() else []


def gather_rows(path: Path, dtype: np.dtype, width: int, rows: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """Rows ``rows`` of a file of ``width``-wide records, read through a memory map in chunks,
    so the pages touched (counted in RSS) stay bounded however large the file is."""
    dtype = np.dtype(dtype)
    shape_w = (width,) if width > 1 else ()
    out = np.empty((len(rows),) + shape_w, dtype=dtype)
    if len(rows) == 0:
        return out
    total = os.path.getsize(path) // (dtype.itemsize * width)
    order = np.argsort(rows, kind="stable")
    for s in range(0, len(rows), chunk):
        sel = order[s:s + chunk]
        mm = np.memmap(path, dtype=dtype, mode="r", shape=(total,) + shape_w)
        out[sel] = mm[rows[sel]]
        del mm
    return out
