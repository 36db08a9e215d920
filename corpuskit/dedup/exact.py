"""``exact_dedup``: drop documents whose normalised text is identical to another's, corpus-wide.

The scan hashes each normalised text to 128 bits (two seeded xxh64; a collision among 10^12
documents has probability ~10^-15) and spreads ``(hash, doc, score)`` records over partition
files by hash.  One ``group`` task per partition sorts its records and keeps, per hash, the
best document by the keep rule (ties: the first in input order).  The apply pass drops the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Generator

import numpy as np
import pyarrow as pa
from pydantic import Field

from ..document import TEXT, with_column
from ..registry import register_step
from ..steps.base import GlobalStage, Phase, StageContext, StepOutput
from .common import KeepParams, scores
from .normalize import Normalization, buffers, normalize
from .store import AppendFile, PartitionedWriter, doc_keys, key_row, key_task, partition_files, read_records

RECORD = np.dtype([("h1", "<u8"), ("h2", "<u8"), ("doc", "<u8"), ("score", "<f8")])
DROP = np.dtype([("row", "<i8"), ("group", "<i4")])


class ExactParams(KeepParams):
    #: what to ignore when comparing texts (case and whitespace by default)
    normalization: Normalization = Normalization()
    #: hash partitions (phase tasks); default: 2 per data task, between 4 and 256
    partitions: int | None = Field(None, ge=1, le=4096)
    #: add a column with the number of identical copies in the corpus (1: unique)
    annotate: bool = False
    column: str = "exact_dup_count"


@register_step("exact_dedup")
class ExactDedup(GlobalStage):
    """Exact duplicates of normalised text across all shards; keeps one copy by the keep rule."""

    Params = ExactParams

    def setup(self) -> None:
        from . import kernels

        kernels.load()

    def n_partitions(self, n_tasks: int) -> int:
        p: ExactParams = self.params  # type: ignore[assignment]
        return p.partitions or max(4, min(256, 2 * n_tasks))

    def begin_scan(self, ctx: StageContext) -> None:
        self.task = ctx.task
        self.row = 0
        self.out = PartitionedWriter(ctx.workdir / "hashes", f"t{ctx.task:05d}.bin", self.n_partitions(ctx.n_tasks),
                                     RECORD)

    def scan(self, batch: pa.RecordBatch) -> None:
        from . import kernels as K

        p: ExactParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        data, off = buffers(normalize(batch.column(TEXT), p.normalization))
        rec = np.empty(n, RECORD)
        rec["h1"] = K.hash_strings(data, off, 0)  # type: ignore[attr-defined]
        rec["h2"] = K.hash_strings(data, off, 0x2545F4914F6CDD1D)  # type: ignore[attr-defined]
        rec["doc"] = doc_keys(self.task, self.row, n)
        rec["score"] = scores(batch, p, self.name)
        self.row += n
        self.out.write(rec, (rec["h1"] % np.uint64(self.out.n)).astype(np.int64))

    def end_scan(self) -> None:
        self.out.commit()

    def phases(self, ctx: StageContext) -> Generator[Phase, list[dict], None]:
        yield Phase("group", self.n_partitions(ctx.n_tasks))

    def run_phase(self, phase: str, index: int, ctx: StageContext) -> dict:
        root: Path = ctx.workdir
        rec = read_records(partition_files(root / "hashes", index), RECORD)
        order = np.lexsort((rec["doc"], -rec["score"], rec["h2"], rec["h1"]))
        rec = rec[order]
        first = np.ones(len(rec), bool)
        first[1:] = (rec["h1"][1:] != rec["h1"][:-1]) | (rec["h2"][1:] != rec["h2"][:-1])
        starts = np.flatnonzero(first)
        sizes = np.diff(np.append(starts, len(rec)))
        group_size = np.repeat(sizes, sizes)
        # rows to report: every copy in a group of 2+ (dropped or, for annotation, kept)
        multi = group_size > 1
        keys, drop, size = rec["doc"][multi], ~first[multi], group_size[multi]
        tasks, rows = key_task(keys), key_row(keys)
        for t in np.unique(tasks):  # deterministic output: a rerun writes the same files
            sel = tasks == t
            out = np.empty(int(sel.sum()), DROP)
            out["row"] = rows[sel]
            # negative size marks the copies to drop
            out["group"] = np.where(drop[sel], -size[sel], size[sel])
            f = AppendFile(root / "result" / f"t{t:05d}" / f"g{index:05d}.bin")
            f.write(out)
            f.commit()
        return {"docs": int(len(rec)), "groups": int((sizes > 1).sum()), "duplicates": int(drop.sum())}

    def begin_apply(self, ctx: StageContext) -> None:
        d = ctx.workdir / "result" / f"t{ctx.task:05d}"
        files = sorted(x for x in d.glob("g*.bin") if ".tmp-" not in x.name) if d.exists() else []
        rec = read_records(files, DROP)
        rec = rec[np.argsort(rec["row"], kind="stable")]
        self.rows = rec["row"]
        self.group = rec["group"]
        self.row = 0

    def process(self, batch: pa.RecordBatch) -> StepOutput:
        p: ExactParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        lo, hi = np.searchsorted(self.rows, [self.row, self.row + n])
        pos = self.rows[lo:hi] - self.row
        grp = self.group[lo:hi]
        self.row += n
        reasons = None
        drop = np.zeros(n, bool)
        drop[pos[grp < 0]] = True
        if drop.any():
            self.count("duplicates_removed", int(drop.sum()))
            reasons = pa.array(np.where(drop, "duplicate", None), pa.string())
        if p.annotate:
            count = np.ones(n, np.int32)
            count[pos] = np.abs(grp)
            batch = with_column(batch, p.column, pa.array(count))
        return StepOutput(batch, reasons)
