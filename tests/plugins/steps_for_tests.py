"""Steps used only by tests: imported by pipelines through ``imports: [plugins.test_steps]``."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from corpuskit.document import ID, TEXT
from corpuskit.registry import register_step
from corpuskit.steps.base import Annotator, GlobalStage, Phase, StageContext, StepOutput, StepParams
from corpuskit.writers.atomic import tmp_path


class SleepParams(StepParams):
    seconds: float = 0.05


@register_step("test_sleep")
class Sleep(Annotator):
    """Slows every batch down, so a test can kill a run in the middle."""

    Params = SleepParams

    def annotate(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        time.sleep(self.params.seconds)  # type: ignore[attr-defined]
        return {"n_chars": pc.utf8_length(batch.column(TEXT))}


class FirstWordParams(StepParams):
    partitions: int = 3


@register_step("test_first_word_dedup")
class FirstWordDedup(GlobalStage):
    """A tiny global stage: documents whose first word was seen in an earlier document (by id) are duplicates.

    It exercises every part of the global-stage protocol: scan files per task, a partitioned phase,
    a second phase reading the first's output, and an apply pass.
    """

    Params = FirstWordParams

    def begin_scan(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.rows: list[pa.RecordBatch] = []

    def scan(self, batch: pa.RecordBatch) -> None:
        first = pc.utf8_lower(pc.extract_regex(batch.column(TEXT), r"^\W*(?P<w>\w+)").field("w"))
        self.rows.append(pa.RecordBatch.from_arrays([batch.column(ID), first], names=["id", "w"]))

    def end_scan(self) -> None:
        table = pa.Table.from_batches(self.rows) if self.rows else pa.table({"id": pa.array([], pa.string()),
                                                                             "w": pa.array([], pa.string())})
        path = self.ctx.path("scan", f"{self.ctx.task:05d}.parquet")
        tmp = tmp_path(path)
        pq.write_table(table, tmp)
        tmp.rename(path)

    def phases(self, ctx: StageContext):
        results = yield Phase("partition", self.params.partitions)  # type: ignore[attr-defined]
        assert len(results) == self.params.partitions  # type: ignore[attr-defined]
        yield Phase("collect", 1)

    def run_phase(self, phase: str, index: int, ctx: StageContext) -> dict:
        parts = self.params.partitions  # type: ignore[attr-defined]
        if phase == "partition":
            tables = [pq.read_table(p) for p in sorted((ctx.workdir / "scan").glob("*.parquet"))]
            t = pa.concat_tables(tables).combine_chunks()
            t = t.filter(pc.is_valid(t.column("w")))
            h = np.array([xxhash.xxh64_intdigest(w.encode()) % parts for w in t.column("w").to_pylist()], dtype=np.int64)
            t = t.filter(pa.array(h == index))
            t = t.sort_by([("w", "ascending"), ("id", "ascending")])
            words = t.column("w").to_numpy(zero_copy_only=False)
            dup = np.zeros(len(words), bool)
            dup[1:] = words[1:] == words[:-1]
            out = t.filter(pa.array(dup)).select(["id"])
            path = ctx.path("dups", f"{index:05d}.parquet")
            pq.write_table(out, tmp_path(path))
            tmp_path(path).rename(path)
            return {"duplicates": out.num_rows}
        tables = [pq.read_table(p) for p in sorted((ctx.workdir / "dups").glob("*.parquet"))]
        t = pa.concat_tables(tables)
        path = ctx.path("all_dups.parquet")
        pq.write_table(t, tmp_path(path))
        tmp_path(path).rename(path)
        return {"total": t.num_rows}

    def begin_apply(self, ctx: StageContext) -> None:
        self.dups = pq.read_table(ctx.workdir / "all_dups.parquet").column("id").combine_chunks()

    def process(self, batch: pa.RecordBatch) -> StepOutput:
        is_dup = pc.is_in(batch.column(ID), value_set=self.dups)
        reasons = pc.if_else(is_dup, pa.scalar("duplicate"), pa.scalar(None, pa.string()))
        return StepOutput(batch, reasons)
