"""Parquet and Arrow IPC readers, streaming by record batch with column projection."""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from ..document import CORE_FIELDS, CORE_SCHEMA, ID, METADATA, SOURCE, TEXT, conform, dump_metadata
from ..registry import register_reader
from .base import ReadContext, Reader, ReaderParams, ReaderTask, default_source


class ColumnarParams(ReaderParams):
    text_field: str = "text"
    id_field: str = "id"
    source_field: str = "source"
    #: columns to read besides text/id/source/metadata (None: all)
    columns: list[str] | None = None


class ColumnarReader(Reader):
    """Shared logic: map the file's columns onto the core schema, keep signal columns."""

    Params = ColumnarParams

    def _batches(self, path: str, columns: list[str] | None) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError  # abstract

    def _schema(self, path: str) -> pa.Schema:
        raise NotImplementedError  # abstract

    def read(self, task: ReaderTask, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        for path in task.paths:
            yield from self._read_file(path, self.relpath(path, task.root), ctx)

    def _read_file(self, path: str, rel: str, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        p: ColumnarParams = self.params  # type: ignore[assignment]
        try:
            schema = self._schema(path)
        except (pa.ArrowInvalid, OSError) as e:
            ctx.records += 1
            ctx.quarantine(path, "file", f"unreadable {self.name} file: {e}")
            return
        names = schema.names
        if p.text_field not in names:
            ctx.warn(f"{path}: no text column {p.text_field!r} (columns: {', '.join(names)}); file skipped")
            n = self._count_rows(path)
            ctx.records += n
            if n:
                ctx.quarantine(path, "file", f"text column {p.text_field!r} is missing", count=n)
            return
        if not pa.types.is_string(schema.field(p.text_field).type) and \
                not pa.types.is_large_string(schema.field(p.text_field).type):
            n = self._count_rows(path)
            ctx.records += n
            ctx.quarantine(path, "file", f"text column {p.text_field!r} has type {schema.field(p.text_field).type},"
                                         f" not a string", count=n)
            return
        wanted = None
        if p.columns is not None:
            base = [c for c in (p.text_field, p.id_field, p.source_field, METADATA) if c in names]
            wanted = base + [c for c in p.columns if c not in base]
        fallback_source = p.source or default_source(path)
        row = 0
        try:
            for batch in self._batches(path, wanted):
                n = batch.num_rows
                if n == 0:
                    continue
                ctx.records += n
                out = self._to_core(batch, rel, row, fallback_source)
                texts = out.column(TEXT)
                if texts.null_count:
                    valid = pc.is_valid(texts)
                    bad = pc.indices_nonzero(pc.invert(valid)).to_pylist()
                    for i in bad:
                        ctx.quarantine(path, f"record {row + i}", f"text field {p.text_field!r} is null")
                    out = out.filter(valid)
                row += n
                if out.num_rows:
                    yield out
        except (pa.ArrowInvalid, OSError) as e:
            ctx.records += 1
            ctx.quarantine(path, f"after record {row}", f"truncated or corrupt {self.name} file: {e}")

    def _count_rows(self, path: str) -> int:
        return sum(b.num_rows for b in self._batches(path, None))

    def _to_core(self, batch: pa.RecordBatch, rel: str, start: int, fallback_source: str) -> pa.RecordBatch:
        p: ColumnarParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        names = batch.schema.names
        text = batch.column(p.text_field)
        if p.id_field in names:
            ids = batch.column(p.id_field).cast(pa.string())
            if ids.null_count:
                gen = pa.array([f"{rel}:{start + i}" for i in range(n)], pa.string())
                ids = pc.coalesce(ids, gen)
        else:
            ids = pa.array([f"{rel}:{start + i}" for i in range(n)], pa.string())
        if p.source:
            sources = pa.array([p.source] * n, pa.string())
        elif p.source_field in names:
            sources = pc.coalesce(batch.column(p.source_field).cast(pa.string()), pa.scalar(fallback_source))
        else:
            sources = pa.array([fallback_source] * n, pa.string())
        used = {p.text_field, p.id_field, p.source_field}
        if METADATA in names and pa.types.is_string(batch.schema.field(METADATA).type):
            meta = batch.column(METADATA)
            extra = [c for c in names if c not in used and c != METADATA]  # signal columns, kept as columns
            keep_cols = extra
        else:
            others = [c for c in names if c not in used]
            rows = batch.select(others).to_pylist() if others else [{}] * n
            meta = pa.array([dump_metadata(r) for r in rows], pa.string())
            keep_cols = []
        arrays = [ids, text.cast(pa.large_string()), sources, meta.cast(pa.string())]
        fields = list(CORE_SCHEMA)
        for c in keep_cols:
            if c in CORE_FIELDS:
                continue
            arrays.append(batch.column(c))
            fields.append(batch.schema.field(c))
        return conform(pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields)))


@register_reader("parquet")
class ParquetReader(ColumnarReader):
    extensions = (".parquet",)

    def _schema(self, path: str) -> pa.Schema:
        return pq.ParquetFile(path).schema_arrow

    def _batches(self, path: str, columns: list[str] | None) -> Iterator[pa.RecordBatch]:
        pf = pq.ParquetFile(path)
        yield from pf.iter_batches(batch_size=self.params.batch_size, columns=columns)


@register_reader("arrow")
class ArrowReader(ColumnarReader):
    extensions = (".arrow", ".feather", ".ipc")

    def _open(self, path: str):
        source = pa.memory_map(path, "r")
        try:
            return ipc.open_file(source)
        except pa.ArrowInvalid:
            return ipc.open_stream(pa.memory_map(path, "r"))

    def _schema(self, path: str) -> pa.Schema:
        return self._open(path).schema

    def _batches(self, path: str, columns: list[str] | None) -> Iterator[pa.RecordBatch]:
        r = self._open(path)
        if isinstance(r, ipc.RecordBatchFileReader):
            it = (r.get_batch(i) for i in range(r.num_record_batches))
        else:
            it = iter(r)
        for b in it:
            yield b.select(columns) if columns else b
