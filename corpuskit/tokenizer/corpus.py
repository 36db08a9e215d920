"""Reading a pipeline's output for tokenizer work: reader choice, document keys and groups.

A document's *key* is ``xxh64(id, seed)``: it orders the bottom-k sample (so the sample does not
depend on file order or on how files are split among workers) and marks the hold-out set (the
top ``holdout`` fraction of the key space), which ``tokenizer eval --holdout-from`` reads back.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from ..readers.base import ReadContext, Reader, ReaderTask
from ..registry import reader_class
from .config import MixConfig

KEY_SPACE = float(2**64)
OTHER = "other"


def resolve_inputs(inputs: list[str]) -> list[str]:
    """A pipeline output directory means its ``data/`` shards; anything else is used as given."""
    out = []
    for spec in inputs:
        p = Path(spec)
        if p.is_dir() and (p / "data").is_dir() and (p / "stats.json").exists():
            out.append(str(p / "data"))
        else:
            out.append(spec)
    return out


def guess_reader(inputs: list[str]) -> str:
    """``parquet`` when the inputs hold Parquet files, ``arrow`` for IPC files, else ``jsonl``."""
    for spec in inputs:
        p = Path(spec)
        names = [p.name] if p.is_file() else [f for _, _, fs in os.walk(p) for f in fs] if p.is_dir() else [spec]
        for n in names:
            if n.endswith(".parquet"):
                return "parquet"
            if n.endswith((".arrow", ".feather", ".ipc")):
                return "arrow"
    return "jsonl"


def make_reader(inputs: list[str], kind: str | None = None, batch_size: int = 256) -> Reader:
    """A streaming reader; small batches, because a batch of long documents (books) is the
    largest transient allocation besides the sample itself."""
    kind = kind or guess_reader(inputs)
    params: dict = {"batch_size": batch_size}
    if kind in ("parquet", "arrow"):
        params["columns"] = []  # only id/text/source/metadata: signal columns are not needed
    return reader_class(kind)(**params)


def read_batches(reader: Reader, task: ReaderTask, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
    for batch in reader.read(task, ctx):
        if batch.num_rows:
            yield batch


def doc_keys(ids: pa.Array, seed: int) -> np.ndarray:
    """64-bit hash of each id under ``seed`` (one C call per document, no per-character work)."""
    h = xxhash.xxh64_intdigest
    raw = ids.cast(pa.large_binary() if pa.types.is_large_string(ids.type) else pa.binary()).to_pylist()
    return np.fromiter((h(s, seed) for s in raw), dtype=np.uint64, count=len(raw))


def holdout_cut(holdout: float) -> np.uint64:
    """Keys at or above this are the hold-out set."""
    if holdout <= 0:
        return np.uint64(2**64 - 1)
    return np.uint64(int((1.0 - holdout) * KEY_SPACE))


def key_values(batch: pa.RecordBatch, by: str) -> pa.Array:
    """The per-document value that names its group (see ``MixConfig.by``)."""
    if by == "source":
        col = batch.column("source")
        return pc.fill_null(col, "")
    if by == "id_prefix":
        parts = pc.split_pattern(batch.column("id"), "/", max_splits=1)
        return pc.fill_null(pc.list_element(parts, 0), "")
    field = by.split(".", 1)[1]
    meta = pc.fill_null(batch.column("metadata"), "")
    # metadata is serialised by orjson without spaces; a regex avoids parsing every object
    pattern = '"' + field.replace('"', "") + r'":"(?P<v>[^"]*)"'
    found = pc.struct_field(pc.extract_regex(meta, pattern), [0])
    return pc.fill_null(found, "")


class GroupMapper:
    """Maps key values to group names by the config's fnmatch patterns, caching each value."""

    def __init__(self, mix: MixConfig):
        self.mix = mix
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self._cache: dict[str, int] = {}
        for g in mix.weights:
            self._add(g)
        for g in mix.groups:
            self._add(g)

    def _add(self, name: str) -> int:
        if name not in self.index:
            self.index[name] = len(self.names)
            self.names.append(name)
        return self.index[name]

    def group_of(self, value: str) -> int:
        hit = self._cache.get(value)
        if hit is not None:
            return hit
        name = None
        for g, patterns in self.mix.groups.items():
            if any(fnmatch.fnmatchcase(value, p) for p in patterns):
                name = g
                break
        if name is None:
            if value in self.mix.weights:
                name = value
            elif self.mix.weights:
                name = OTHER
            else:
                name = value or OTHER
        gi = self._add(name)
        self._cache[value] = gi
        return gi

    def groups(self, batch: pa.RecordBatch) -> np.ndarray:
        """Group index of every row (vectorised over the batch's distinct key values)."""
        values = key_values(batch, self.mix.by)
        dict_arr = pc.dictionary_encode(values)
        codes = dict_arr.indices.to_numpy(zero_copy_only=False)
        lut = np.array([self.group_of(v) for v in dict_arr.dictionary.to_pylist()], dtype=np.int32)
        return lut[codes] if len(lut) else np.zeros(len(values), np.int32)
