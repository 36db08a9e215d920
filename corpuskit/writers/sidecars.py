"""Exclusion output (dropped documents with step and reason) and quarantine (bad records with errors)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..document import ID, METADATA, SOURCE, TEXT
from ..readers.base import Quarantined
from .atomic import write_bytes_atomic
from .shards import ParquetShardWriter

EXCLUDED_SCHEMA = pa.schema([
    pa.field(ID, pa.string()), pa.field(SOURCE, pa.string()), pa.field("step", pa.string()),
    pa.field("reason", pa.string()), pa.field(TEXT, pa.large_string()), pa.field(METADATA, pa.string()),
])


class ExclusionWriter:
    """Writes dropped documents: all of them, or the first ``per_reason`` per (step, reason) per task."""

    def __init__(self, path: Path, mode: str, per_reason: int):
        self.mode = mode
        self.per_reason = per_reason
        self._seen: dict[tuple[str, str], int] = {}
        self._writer = ParquetShardWriter(path) if mode != "none" else None

    def write(self, step: str, batch: pa.RecordBatch, reasons: pa.Array) -> None:
        if self._writer is None or batch.num_rows == 0:
            return
        if self.mode == "sample":
            take = []
            for i, r in enumerate(reasons.to_pylist()):
                k = (step, r)
                c = self._seen.get(k, 0)
                if c < self.per_reason:
                    self._seen[k] = c + 1
                    take.append(i)
            if not take:
                return
            idx = pa.array(take, pa.int64())
            batch, reasons = batch.take(idx), reasons.take(idx)
        n = batch.num_rows
        out = pa.RecordBatch.from_arrays([
            batch.column(ID), batch.column(SOURCE), pa.array([step] * n, pa.string()),
            reasons.cast(pa.string()), batch.column(TEXT), batch.column(METADATA),
        ], schema=EXCLUDED_SCHEMA)
        self._writer.write(out)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()


def write_quarantine(path: Path, items: list[Quarantined]) -> None:
    """One JSON line per bad record: file, where (line/record), error, and the start of the raw record."""
    lines = [orjson.dumps({"file": q.path, "where": q.where, "error": q.error, "records": q.count, "raw": q.raw})
             for q in items]
    write_bytes_atomic(path, b"\n".join(lines) + (b"\n" if lines else b""))


def count_reasons(reasons: pa.Array) -> dict[str, int]:
    vc = pc.value_counts(reasons.drop_null() if hasattr(reasons, "drop_null") else pc.drop_null(reasons))
    return {str(v["values"]): int(v["counts"]) for v in vc.to_pylist()}
