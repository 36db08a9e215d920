"""``type: auto``: JSONL (any compression), Parquet or Arrow IPC, chosen per file by its name.

The stand-alone stage pipelines (quality, dedup, pii) use it, so they take a pipeline's Parquet
output or a JSONL dump without a flag.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa

from ..registry import register_reader
from .base import ReadContext, Reader, ReaderTask, strip_compression
from .jsonl import JsonlReader
from .parquet import ArrowReader, ColumnarParams, ParquetReader


class AutoParams(ColumnarParams):
    pass


@register_reader("auto")
class AutoReader(Reader):
    Params = AutoParams
    extensions = JsonlReader.extensions + ParquetReader.extensions + ArrowReader.extensions

    def _delegate(self, path: str) -> Reader:
        name = strip_compression(path)
        p = self.params.model_dump()
        if name.endswith(ParquetReader.extensions):
            return ParquetReader(**p)
        if name.endswith(ArrowReader.extensions):
            return ArrowReader(**p)
        p.pop("columns", None)
        return JsonlReader(**p)

    def read(self, task: ReaderTask, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        for path in task.paths:
            yield from self._delegate(path).read(ReaderTask(task.index, [path], task.root), ctx)
