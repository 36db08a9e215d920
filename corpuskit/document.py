"""The document model: Arrow record batches with a fixed core schema plus signal columns.

Every step takes and returns a ``pyarrow.RecordBatch`` whose first four columns are
``id``, ``text``, ``source`` and ``metadata`` (the input's other fields as a JSON object
string, so batches from differently-shaped inputs always concatenate).  Steps append typed
signal columns after those.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import orjson
import pyarrow as pa
import pyarrow.compute as pc

ID, TEXT, SOURCE, METADATA = "id", "text", "source", "metadata"
CORE_FIELDS = (ID, TEXT, SOURCE, METADATA)

CORE_SCHEMA = pa.schema(
    [
        pa.field(ID, pa.string()),
        pa.field(TEXT, pa.large_string()),
        pa.field(SOURCE, pa.string()),
        pa.field(METADATA, pa.string()),
    ]
)


def make_batch(ids: Sequence[str], texts: Sequence[str], sources: Sequence[str | None],
               metadata: Sequence[str | None]) -> pa.RecordBatch:
    """Build a core batch from parallel Python lists (the readers' hot path)."""
    return pa.RecordBatch.from_arrays(
        [
            pa.array(ids, pa.string()),
            pa.array(texts, pa.large_string()),
            pa.array(sources, pa.string()),
            pa.array(metadata, pa.string()),
        ],
        schema=CORE_SCHEMA,
    )


def empty_batch(schema: pa.Schema = CORE_SCHEMA) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


def dump_metadata(meta: dict | None) -> str | None:
    """Serialise metadata deterministically (sorted keys)."""
    if not meta:
        return None
    return orjson.dumps(meta, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def load_metadata(value: str | None) -> dict:
    return orjson.loads(value) if value else {}


def text_bytes(batch: pa.RecordBatch) -> int:
    """UTF-8 bytes of the text column (what throughput figures count)."""
    if batch.num_rows == 0:
        return 0
    col = batch.column(TEXT)
    return int(pc.sum(pc.binary_length(col)).as_py() or 0)


def with_column(batch: pa.RecordBatch, name: str, values: pa.Array) -> pa.RecordBatch:
    """Add or replace a column, keeping column order stable."""
    names = batch.schema.names
    if name in names:
        return _replace(batch, names.index(name), name, values)
    return batch.append_column(pa.field(name, values.type), values)


def _replace(batch: pa.RecordBatch, i: int, name: str, values: pa.Array) -> pa.RecordBatch:
    arrays = list(batch.columns)
    fields = list(batch.schema)
    arrays[i] = values
    fields[i] = pa.field(name, values.type)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def replace_text(batch: pa.RecordBatch, texts: pa.Array | Iterable[str]) -> pa.RecordBatch:
    arr = texts if isinstance(texts, pa.Array) else pa.array(list(texts), pa.large_string())
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return with_column(batch, TEXT, arr)


def conform(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Cast a batch read from Parquet/IPC to the core types (text as large_string, ...)."""
    arrays, fields = [], []
    for field, col in zip(batch.schema, batch.columns):
        want = CORE_SCHEMA.field(field.name).type if field.name in CORE_FIELDS else field.type
        if col.type != want:
            col = col.cast(want)
        arrays.append(col)
        fields.append(pa.field(field.name, want))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def concat_batches(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    table = pa.Table.from_batches(batches).combine_chunks()
    out = table.to_batches()
    return out[0] if out else empty_batch(table.schema)
