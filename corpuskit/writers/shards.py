"""Document shard writers: Parquet (zstd, with signal columns) and JSONL.gz in Dolma's shape."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Protocol

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from ..document import CORE_FIELDS, CORE_SCHEMA, METADATA
from .atomic import commit, tmp_path

ROW_GROUP_BYTES = 64 << 20


class ShardWriter(Protocol):
    path: Path
    rows: int

    def write(self, batch: pa.RecordBatch) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


class ParquetShardWriter:
    """Buffers batches into row groups of about 64 MB and renames the file into place on close."""

    suffix = ".parquet"

    def __init__(self, path: str | Path, compression: str = "zstd", compression_level: int = 3):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp_path(self.path)
        self.compression = compression
        self.level = compression_level
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._buf: list[pa.RecordBatch] = []
        self._buf_bytes = 0
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if self._schema is None:
            self._schema = batch.schema
        elif batch.schema != self._schema:
            batch = _align(batch, self._schema)
        self._buf.append(batch)
        self._buf_bytes += batch.nbytes
        self.rows += batch.num_rows
        if self._buf_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self._buf:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.tmp, self._schema, compression=self.compression,
                                            compression_level=self.level)
        self._writer.write_table(pa.Table.from_batches(self._buf), row_group_size=1 << 30)
        self._buf, self._buf_bytes = [], 0

    def close(self) -> None:
        self._flush()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.tmp, self._schema or CORE_SCHEMA, compression=self.compression,
                                            compression_level=self.level)
        self._writer.close()
        commit(self.tmp, self.path)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.tmp.unlink(missing_ok=True)


class JsonlShardWriter:
    """Dolma-shaped records: id, text, source, metadata (the input's fields), attributes (signals)."""

    suffix = ".jsonl.gz"

    def __init__(self, path: str | Path, compresslevel: int = 6):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp_path(self.path)
        self._raw = open(self.tmp, "wb")
        # mtime=0 and no file name keep the bytes identical from run to run
        self._fh = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, compresslevel=compresslevel, mtime=0)
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        signals = [c for c in batch.schema.names if c not in CORE_FIELDS]
        rows = batch.to_pylist()
        out = []
        dumps = orjson.dumps
        for r in rows:
            meta = r.get(METADATA)
            rec = {"id": r["id"], "text": r["text"], "source": r["source"],
                   "metadata": orjson.loads(meta) if meta else {}}
            if signals:
                rec["attributes"] = {k: r[k] for k in signals}
            out.append(dumps(rec, option=orjson.OPT_SERIALIZE_NUMPY))
        out.append(b"")
        self._fh.write(b"\n".join(out))
        self.rows += batch.num_rows

    def close(self) -> None:
        self._fh.close()
        self._raw.close()
        commit(self.tmp, self.path)

    def abort(self) -> None:
        self._fh.close()
        self._raw.close()
        self.tmp.unlink(missing_ok=True)


WRITERS = {"parquet": ParquetShardWriter, "jsonl": JsonlShardWriter}


def shard_writer(fmt: str, directory: str | Path, name: str) -> ShardWriter:
    cls = WRITERS[fmt]
    return cls(Path(directory) / f"{name}{cls.suffix}")


def _align(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Make a batch fit the shard's schema (missing signal columns become nulls)."""
    arrays = []
    for f in schema:
        if f.name in batch.schema.names:
            col = batch.column(f.name)
            arrays.append(col if col.type == f.type else col.cast(f.type))
        else:
            arrays.append(pa.nulls(batch.num_rows, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
