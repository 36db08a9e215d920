"""``line_dedup``: remove lines (or paragraphs) repeated across documents, CCNet style.

Web pages share navigation bars, cookie notices and footers.  The scan hashes every
normalised line (lower case, digits to 0, punctuation and extra spaces removed, as CCNet does)
into partition files; one ``count`` task per partition finds the hashes seen more than once and
lists, per data task, the (document, line) occurrences to remove (all but the first occurrence
with ``keep_first``).  The apply pass rebuilds the texts without those lines and drops the
documents left shorter than ``min_chars`` with reason ``too_short_after_line_dedup``.
"""

from __future__ import annotations

from typing import Generator, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from ..document import TEXT, replace_text
from ..registry import register_step
from ..steps.base import GlobalStage, Phase, StageContext, StepOutput, StepParams
from .normalize import Normalization, buffers, normalize
from .store import AppendFile, PartitionedWriter, doc_keys, key_row, key_task, partition_files, read_records

RECORD = np.dtype([("h", "<u8"), ("doc", "<u8"), ("line", "<i8")])
REMOVE = np.dtype([("row", "<i8"), ("line", "<i8")])
LINE_BITS = 24
CCNET_NORM = Normalization(lowercase=True, whitespace=True, punctuation=True, digits=True, nfkc=False)


class LineDedupParams(StepParams):
    #: unit of deduplication: single lines, or paragraphs separated by a blank line
    unit: Literal["line", "paragraph"] = "line"
    #: how lines are normalised before comparing (CCNet: case, digits, punctuation, spaces)
    normalization: Normalization = CCNET_NORM
    #: lines whose normalised form is shorter than this are never removed (blank lines, "}")
    min_line_chars: int = Field(1, ge=1)
    #: keep the first occurrence (in input order) of a repeated line; false removes every copy
    keep_first: bool = True
    #: documents whose text falls below this many characters after removal are dropped
    min_chars: int = Field(50, ge=0)
    #: hash partitions (phase tasks); default: 2 per data task, between 4 and 256
    partitions: int | None = Field(None, ge=1, le=4096)


def split_units(texts: pa.Array, unit: str) -> pa.Array:
    sep = "\n" if unit == "line" else "\n\n"
    return pc.split_pattern(texts, sep)


@register_step("line_dedup")
class LineDedup(GlobalStage):
    """Cross-document line (or paragraph) dedup; drops documents left too short."""

    Params = LineDedupParams

    def setup(self) -> None:
        from . import kernels

        kernels.load()

    def n_partitions(self, n_tasks: int) -> int:
        p: LineDedupParams = self.params  # type: ignore[assignment]
        return p.partitions or max(4, min(256, 2 * n_tasks))

    def begin_scan(self, ctx: StageContext) -> None:
        self.task = ctx.task
        self.row = 0
        self.out = PartitionedWriter(ctx.workdir / "lines", f"t{ctx.task:05d}.bin", self.n_partitions(ctx.n_tasks),
                                     RECORD)

    def scan(self, batch: pa.RecordBatch) -> None:
        from . import kernels as K

        p: LineDedupParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        lists = split_units(batch.column(TEXT), p.unit)
        values = normalize(lists.flatten(), p.normalization)
        offsets = lists.offsets.to_numpy()
        counts = np.diff(offsets)
        doc = np.repeat(doc_keys(self.task, self.row, n), counts)
        line = np.arange(len(values)) - np.repeat(offsets[:-1], counts)
        self.row += n
        long_enough = pc.greater_equal(pc.utf8_length(values), p.min_line_chars).to_numpy(zero_copy_only=False)
        data, off = buffers(values)
        h = K.hash_strings(data, off, 0)  # type: ignore[attr-defined]
        rec = np.empty(int(long_enough.sum()), RECORD)
        rec["h"], rec["doc"], rec["line"] = h[long_enough], doc[long_enough], line[long_enough]
        self.out.write(rec, (rec["h"] % np.uint64(self.out.n)).astype(np.int64))

    def end_scan(self) -> None:
        self.out.commit()

    def phases(self, ctx: StageContext) -> Generator[Phase, list[dict], None]:
        yield Phase("count", self.n_partitions(ctx.n_tasks))

    def run_phase(self, phase: str, index: int, ctx: StageContext) -> dict:
        p: LineDedupParams = self.params  # type: ignore[assignment]
        root = ctx.workdir
        rec = read_records(partition_files(root / "lines", index), RECORD)
        rec = rec[np.lexsort((rec["line"], rec["doc"], rec["h"]))]
        first = np.ones(len(rec), bool)
        first[1:] = rec["h"][1:] != rec["h"][:-1]
        starts = np.flatnonzero(first)
        sizes = np.diff(np.append(starts, len(rec)))
        repeated = np.repeat(sizes, sizes) > 1
        remove = repeated & ~first if p.keep_first else repeated
        keys, lines = rec["doc"][remove], rec["line"][remove]
        tasks, rows = key_task(keys), key_row(keys)
        for t in np.unique(tasks):  # deterministic output: a rerun writes the same files
            sel = tasks == t
            out = np.empty(int(sel.sum()), REMOVE)
            out["row"], out["line"] = rows[sel], lines[sel]
            f = AppendFile(root / "result" / f"t{t:05d}" / f"l{index:05d}.bin")
            f.write(out)
            f.commit()
        return {"lines": int(len(rec)), "repeated_lines": int((sizes > 1).sum()), "lines_removed": int(remove.sum())}

    def begin_apply(self, ctx: StageContext) -> None:
        d = ctx.workdir / "result" / f"t{ctx.task:05d}"
        files = sorted(x for x in d.glob("l*.bin") if ".tmp-" not in x.name) if d.exists() else []
        rec = read_records(files, REMOVE)
        self.remove = np.sort((rec["row"] << LINE_BITS) | rec["line"])
        self.row = 0

    def process(self, batch: pa.RecordBatch) -> StepOutput:
        p: LineDedupParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        r0 = self.row
        self.row += n
        lo, hi = np.searchsorted(self.remove, [r0 << LINE_BITS, (r0 + n) << LINE_BITS])
        if hi == lo:
            return StepOutput(batch)
        texts = batch.column(TEXT)
        lists = split_units(texts, p.unit)
        offsets = lists.offsets.to_numpy()
        counts = np.diff(offsets)
        rows = np.repeat(np.arange(r0, r0 + n, dtype=np.int64), counts)
        line = np.arange(offsets[-1] - offsets[0]) - np.repeat(offsets[:-1] - offsets[0], counts)
        removed = np.isin((rows << LINE_BITS) | line, self.remove[lo:hi])
        kept_counts = np.add.reduceat(~removed, offsets[:-1] - offsets[0]) if len(removed) else np.zeros(n, np.int64)
        kept_counts = np.where(counts == 0, 0, kept_counts)
        new_off = np.concatenate([[0], np.cumsum(kept_counts)]).astype(np.int64)
        values = lists.flatten().filter(pa.array(~removed))
        sep = "\n" if p.unit == "line" else "\n\n"
        new_lists = pa.ListArray.from_arrays(pa.array(new_off, pa.int32()), values.cast(pa.large_string()))
        new_text = pc.binary_join(new_lists, pa.scalar(sep, pa.large_string()))
        changed = kept_counts < counts
        self.count("lines_removed", int(removed.sum()))
        self.count("docs_changed", int(changed.sum()))
        batch = replace_text(batch, pc.if_else(pa.array(changed), new_text, texts))
        too_short = changed & (pc.utf8_length(pc.utf8_trim_whitespace(batch.column(TEXT))).to_numpy(
            zero_copy_only=False) < p.min_chars)
        reasons = None
        if too_short.any():
            reasons = pa.array(np.where(too_short, "too_short_after_line_dedup", None), pa.string())
        return StepOutput(batch, reasons)
