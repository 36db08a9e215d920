"""What the dedup stages share: the keep rule, per-document scores, ids, and result files.

Every stage keys documents by ``(data task, row)`` packed into a uint64 (see ``store.doc_keys``):
the apply pass reads the same rows in the same order as the scan, so a row counter is all it
takes to find a document's decision again, with no join on string ids.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import model_validator

from ..document import ID, TEXT
from ..errors import ConfigError
from ..steps.base import StepParams
from ..writers.atomic import tmp_path
from .store import AppendFile, gather_rows, key_row, key_task


class KeepParams(StepParams):
    #: which copy of a duplicate group survives: the first in input order (file order, then
    #: position), the longest text (ties: first), or the highest ``quality_column`` (ties: first)
    keep: Literal["first", "longest", "quality"] = "first"
    #: numeric signal column used by ``keep: quality`` (e.g. a classifier score)
    quality_column: str | None = None

    @model_validator(mode="after")
    def _quality(self):
        if self.keep == "quality" and not self.quality_column:
            raise ValueError("keep: quality needs quality_column (the signal column to rank copies by)")
        return self


def scores(batch: pa.RecordBatch, params: KeepParams, step: str) -> np.ndarray:
    """Per-document rank for the keep rule: higher wins, ties go to the earlier document."""
    n = batch.num_rows
    if params.keep == "first":
        return np.zeros(n, np.float64)
    if params.keep == "longest":
        return pc.binary_length(batch.column(TEXT)).to_numpy(zero_copy_only=False).astype(np.float64)
    col = params.quality_column
    if col not in batch.schema.names:
        raise ConfigError(f"step {step!r}: keep: quality needs column {col!r}, which the documents do not have "
                          f"(columns: {', '.join(batch.schema.names)}); add the step that computes it before")
    vals = pc.cast(batch.column(col), pa.float64())
    return pc.fill_null(vals, float("-inf")).to_numpy(zero_copy_only=False)


def byte_slices(batch: pa.RecordBatch, max_bytes: int = 16 << 20):
    """Consecutive slices of ``batch`` holding about ``max_bytes`` of text each (at least one row),
    so the kernels' temporaries stay small even when a reader hands over batches of huge documents."""
    lengths = pc.binary_length(batch.column(TEXT)).to_numpy(zero_copy_only=False)
    if lengths.sum() <= max_bytes:
        yield batch
        return
    ends = np.cumsum(lengths)
    start = 0
    while start < batch.num_rows:
        base = ends[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, base + max_bytes, side="right")))
        yield batch.slice(start, stop - start)
        start = stop


class IdWriter:
    """Document ids of one task in an Arrow IPC file (memory-mapped later to look ids up by row)."""

    SCHEMA = pa.schema([pa.field("id", pa.string())])

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp_path(path)
        self.writer = pa.ipc.new_file(str(self.tmp), self.SCHEMA)

    def write(self, ids: pa.Array) -> None:
        self.writer.write_batch(pa.record_batch([ids.cast(pa.string())], schema=self.SCHEMA))

    def commit(self) -> None:
        self.writer.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.writer.close()
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass


class DocFiles:
    """Per-task side files: ids (IPC) and keep-rule scores (float64 records)."""

    def __init__(self, root: Path, task: int):
        self.ids = IdWriter(root / "docs" / f"t{task:05d}.ids.arrow")
        self.scores = AppendFile(root / "docs" / f"t{task:05d}.score.bin")

    def write(self, batch: pa.RecordBatch, score: np.ndarray) -> None:
        self.ids.write(batch.column(ID))
        self.scores.write(score)

    def commit(self) -> None:
        self.ids.commit()
        self.scores.commit()

    def abort(self) -> None:
        self.ids.abort()
        self.scores.abort()


def gather_scores(root: Path, keys: np.ndarray) -> np.ndarray:
    out = np.empty(len(keys), np.float64)
    tasks = key_task(keys)
    rows = key_row(keys)
    for t in np.unique(tasks):
        sel = np.flatnonzero(tasks == t)
        out[sel] = gather_rows(root / "docs" / f"t{t:05d}.score.bin", np.float64, 1, rows[sel])
    return out


def gather_ids(root: Path, keys: np.ndarray) -> pa.Array:
    parts: list[pa.Array] = []
    order: list[np.ndarray] = []
    tasks = key_task(keys)
    rows = key_row(keys)
    for t in np.unique(tasks):
        sel = np.flatnonzero(tasks == t)
        with pa.memory_map(str(root / "docs" / f"t{t:05d}.ids.arrow")) as src:
            table = pa.ipc.open_file(src).read_all()
            parts.append(table.column("id").take(pa.array(rows[sel])).combine_chunks())
        order.append(sel)
    if not parts:
        return pa.array([], pa.string())
    flat = pa.concat_arrays(parts)
    inv = np.empty(len(keys), np.int64)
    inv[np.concatenate(order)] = np.arange(len(keys))
    return flat.take(pa.array(inv))


def assign_clusters(root: Path, node: np.ndarray, label: np.ndarray, tag: str) -> dict:
    """Choose one survivor per cluster (``label`` = any cluster identifier per node) by the keep
    rule, and write per data task the rows in clusters: cluster size, survivor id, keep flag."""
    if len(node) == 0:
        return {"clusters": 0, "docs_in_clusters": 0, "duplicates": 0}
    score = gather_scores(root, node)
    order = np.lexsort((node, -score, label))
    node, label, score = node[order], label[order], score[order]
    first = np.ones(len(node), bool)
    first[1:] = label[1:] != label[:-1]
    starts = np.flatnonzero(first)
    sizes = np.diff(np.append(starts, len(node)))
    group = np.cumsum(first) - 1
    rep = node[starts][group]
    size = sizes[group].astype(np.int32)
    rep_ids = gather_ids(root, node[starts])
    rep_id = rep_ids.take(pa.array(group))
    tasks = key_task(node)
    rows = key_row(node)
    keep = first
    for t in np.unique(tasks):
        sel = np.flatnonzero(tasks == t)
        table = pa.table({"row": rows[sel], "size": size[sel], "rep": rep_id.take(pa.array(sel)),
                          "keep": keep[sel], "rep_key": rep[sel]})
        save_result(root / "result" / f"t{t:05d}" / f"{tag}.parquet", table)
    return {"clusters": int(len(starts)), "docs_in_clusters": int(len(node)), "duplicates": int(len(node) - len(starts))}


def save_result(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def load_result(root: Path, task: int) -> pa.Table | None:
    d = root / "result" / f"t{task:05d}"
    if not d.exists():
        return None
    files = sorted(p for p in d.iterdir() if p.suffix == ".parquet" and ".tmp-" not in p.name)
    if not files:
        return None
    table = pa.concat_tables([pq.read_table(p) for p in files])
    return table.sort_by("row")
