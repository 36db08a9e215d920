"""Read what a finished run left behind, with bounded memory: the summary, a capped sample of the
kept documents' lengths and signal columns, a few dropped documents per reason, bad records.

Only the columns a plot needs are read (never the whole shard), batch by batch, so a report over a
terabyte run costs about what it costs over the sample cap.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..document import CORE_FIELDS, ID, METADATA, SOURCE, TEXT
from ..errors import CorpusError

#: kept rows read per run for histograms (spread over the shards in proportion to their rows)
DEFAULT_MAX_ROWS = 200_000
#: dropped documents shown per (step, reason), and characters shown of each
SAMPLES_PER_REASON = 3
SAMPLE_CHARS = 400
QUARANTINE_SHOWN = 20
BATCH_ROWS = 8192

#: string columns holding a document's language (the langid step's, or the input's)
LANG_COLUMNS = ("lang", "language", "metadata.lang")
_META_LANG = r'"lang(?:uage)?"\s*:\s*"(?P<lang>[^"]*)"'


def is_dedup_column(name: str) -> bool:
    """Columns dedup stages add: ``<prefix>_cluster_size`` (minhash), ``exact_dup_count`` (exact)."""
    return name.endswith("cluster_size") or name.endswith("dup_count")


@dataclass
class DataSample:
    """Per-document figures of a capped sample of a run's kept documents."""

    rows_total: int = 0
    rows_read: int = 0
    shards: int = 0
    fmt: str | None = None
    chars: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    signals: dict[str, np.ndarray] = field(default_factory=dict)
    dedup: dict[str, np.ndarray] = field(default_factory=dict)
    lang_source: str | None = None  # which column the language mix came from
    langs: dict[str, int] = field(default_factory=dict)
    sources: dict[str, tuple[int, int]] = field(default_factory=dict)  # source -> (docs, bytes)


@dataclass
class Excluded:
    id: str
    source: str | None
    chars: int
    text: str  # the first SAMPLE_CHARS characters


@dataclass
class Run:
    name: str
    path: Path
    summary: dict[str, Any]
    sample: DataSample
    excluded: dict[tuple[str, str], list[Excluded]]
    excluded_files: int
    quarantine: list[dict[str, Any]]
    notes: list[str]


def load_run(path: Path, name: str, max_rows: int = DEFAULT_MAX_ROWS) -> Run:
    stats = path / "stats.json"
    if not path.is_dir():
        raise CorpusError(f"{path}: no such run directory")
    if not stats.exists():
        raise CorpusError(f"{path}: no stats.json (not a finished corpuskit run; run it to completion first)")
    try:
        summary = orjson.loads(stats.read_bytes())
    except orjson.JSONDecodeError as e:
        raise CorpusError(f"{stats}: not valid JSON ({e})") from None
    for key in ("steps", "records_in", "docs_out"):
        if key not in summary:
            raise CorpusError(f"{stats}: no {key!r} key (not a corpuskit run summary)")
    notes: list[str] = []
    sample = sample_data(path / "data", max_rows, notes)
    # the reader's skips are counted but never written to excluded/
    wanted = {(s["name"], r): int(n) for s in summary["steps"] if s.get("kind") != "read"
              for r, n in s.get("drops", {}).items()}
    excluded, n_excl = sample_excluded(path / "excluded", wanted)
    return Run(name, path, summary, sample, excluded, n_excl, read_quarantine(path / "quarantine"), notes)


# -- kept documents -------------------------------------------------------------------------------

def _quota(rows: list[int], cap: int) -> list[int]:
    """Rows to read from each shard: all if they fit, else a share in proportion to its size."""
    total = sum(rows)
    if total <= cap:
        return rows
    return [min(n, max(1, cap * n // total)) if n else 0 for n in rows]


class _Accumulator:
    """Folds batches of kept documents into the sample's arrays and counts (one batch in memory)."""

    def __init__(self) -> None:
        self.chars: list[np.ndarray] = []
        self.signals: dict[str, list[np.ndarray]] = {}
        self.dedup: dict[str, list[np.ndarray]] = {}
        self.langs: dict[str, int] = {}
        self.lang_source: str | None = None
        self.sources: dict[str, list[int]] = {}
        self.rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        n = batch.num_rows
        if n == 0:
            return
        self.rows += n
        names = batch.schema.names
        text = batch.column(TEXT)
        self.chars.append(pc.utf8_length(text).to_numpy(zero_copy_only=False).astype(np.int64))
        nbytes = pc.binary_length(text)
        if SOURCE in names:
            src = pc.fill_null(batch.column(SOURCE), "(none)")
            grouped = pa.table({"s": src, "b": nbytes}).group_by("s").aggregate([("b", "sum"), ("b", "count")])
            for s, b, c in zip(grouped.column("s").to_pylist(), grouped.column("b_sum").to_pylist(),
                               grouped.column("b_count").to_pylist()):
                acc = self.sources.setdefault(s, [0, 0])
                acc[0] += c
                acc[1] += b or 0
        for name, col in zip(names, batch.columns):
            if name in CORE_FIELDS:
                continue
            t = col.type
            if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
                values = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
                target = self.dedup if is_dedup_column(name) else self.signals
                target.setdefault(name, []).append(values)
        lang = self._lang(batch)
        if lang is not None:
            vc = pc.value_counts(pc.fill_null(lang, "(none)"))
            for v in vc.to_pylist():
                key = v["values"] or "(empty)"
                self.langs[key] = self.langs.get(key, 0) + int(v["counts"])

    def _lang(self, batch: pa.RecordBatch) -> pa.Array | None:
        names = batch.schema.names
        for c in LANG_COLUMNS:
            if c in names and _is_str(batch.column(c).type):
                self.lang_source = c
                return batch.column(c)
        if METADATA in names:
            found = pc.extract_regex(batch.column(METADATA), _META_LANG)
            if found.null_count < len(found):
                self.lang_source = "metadata.lang"
                return pc.struct_field(found, [0])
        return None

    def result(self, sample: DataSample) -> DataSample:
        sample.rows_read = self.rows
        sample.chars = np.concatenate(self.chars) if self.chars else np.zeros(0, np.int64)
        sample.signals = {k: np.concatenate(v) for k, v in sorted(self.signals.items())}
        sample.dedup = {k: np.concatenate(v) for k, v in sorted(self.dedup.items())}
        sample.langs = dict(sorted(self.langs.items(), key=lambda kv: (-kv[1], kv[0])))
        sample.lang_source = self.lang_source if self.langs else None
        sample.sources = {k: (v[0], v[1]) for k, v in sorted(self.sources.items(), key=lambda kv: (-kv[1][1], kv[0]))}
        return sample


def _parquet_columns(schema: pa.Schema) -> list[str]:
    """Only what the plots use: text (for lengths), source, language and numeric signal columns."""
    keep = []
    for f in schema:
        t = f.type
        if f.name in (TEXT, SOURCE):
            keep.append(f.name)
        elif f.name in LANG_COLUMNS and _is_str(t):
            keep.append(f.name)
        elif f.name not in CORE_FIELDS and (pa.types.is_integer(t) or pa.types.is_floating(t)
                                             or pa.types.is_boolean(t)):
            keep.append(f.name)
    if not any(n in keep for n in LANG_COLUMNS) and METADATA in schema.names:
        keep.append(METADATA)
    return keep


def _row_groups(f: pq.ParquetFile, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """One row group at a time (a shard's row groups are ~64 MB), so peak memory is one group's
    columns whatever the shard or corpus size; measured lower than ``iter_batches``'s read-ahead."""
    for g in range(f.num_row_groups):
        table = f.read_row_group(g, columns=columns)
        yield from table.to_batches(max_chunksize=BATCH_ROWS)
        del table


def _take(batches: Iterator[pa.RecordBatch], quota: int) -> Iterator[pa.RecordBatch]:
    left = quota
    for b in batches:
        if left <= 0:
            break
        if b.num_rows > left:
            b = b.slice(0, left)
        left -= b.num_rows
        yield b


def sample_data(data: Path, max_rows: int, notes: list[str]) -> DataSample:
    sample = DataSample()
    if not data.is_dir():
        notes.append(f"{data}: no data/ directory, so no length or signal histograms")
        return sample
    parquet = sorted(p for p in data.glob("part-*.parquet"))
    jsonl = sorted(p for p in data.glob("part-*.jsonl*"))
    acc = _Accumulator()
    if parquet:
        sample.fmt = "parquet"
        files = [pq.ParquetFile(p, pre_buffer=False) for p in parquet]
        rows = [f.metadata.num_rows for f in files]
        sample.rows_total, sample.shards = sum(rows), len(files)
        for f, q in zip(files, _quota(rows, max_rows)):
            if q:
                for b in _take(_row_groups(f, _parquet_columns(f.schema_arrow)), q):
                    acc.add(b)
    elif jsonl:
        sample.fmt = "jsonl"
        sample.shards = len(jsonl)
        per_file = max(1, max_rows // len(jsonl))
        for p in jsonl:
            n_file = 0
            for b, n_lines in _jsonl_batches(p, per_file):
                acc.add(b)
                n_file = n_lines
            sample.rows_total += n_file
    return acc.result(sample)


def _jsonl_batches(path: Path, limit: int) -> Iterator[tuple[pa.RecordBatch, int]]:
    """Dolma-shaped records (signals under ``attributes``) as batches, and the count of lines seen.

    Parsed row by row with orjson, but only up to ``limit`` rows per shard (the rest are counted)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    texts: list[str] = []
    sources: list[str | None] = []
    langs: list[str | None] = []
    attrs: list[dict[str, float]] = []
    n = 0
    from_meta = False

    def flush() -> pa.RecordBatch:
        cols = {TEXT: pa.array(texts, pa.large_string()), SOURCE: pa.array(sources, pa.string())}
        if any(v is not None for v in langs):
            # named as in Parquet shards, so the report says where the language came from
            cols["metadata.lang" if from_meta else "lang"] = pa.array(langs, pa.string())
        for k in sorted({k for a in attrs for k in a}):
            cols[k] = pa.array([a.get(k) for a in attrs], pa.float64())
        return pa.RecordBatch.from_pydict(cols)

    with opener(path, "rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            n += 1
            if n > limit:
                continue  # keep counting the shard's documents
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            at = rec.get("attributes") or {}
            meta = rec.get("metadata") or {}
            lang = at.get("lang")
            if lang is None and isinstance(meta, dict):
                lang = meta.get("lang", meta.get("language"))
                from_meta = from_meta or isinstance(lang, str)
            texts.append(rec.get("text") or "")
            sources.append(rec.get("source"))
            langs.append(lang if isinstance(lang, str) else None)
            attrs.append({k: float(v) for k, v in at.items() if isinstance(v, (int, float))})
            if len(texts) >= BATCH_ROWS:
                yield flush(), n
                texts, sources, langs, attrs = [], [], [], []
    yield flush(), n


def _is_str(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


# -- dropped documents ----------------------------------------------------------------------------

def sample_excluded(excl: Path, wanted: dict[tuple[str, str], int], per_reason: int = SAMPLES_PER_REASON,
                    max_chars: int = SAMPLE_CHARS) -> tuple[dict[tuple[str, str], list[Excluded]], int]:
    """The first ``per_reason`` dropped documents per (step, reason), in file order.

    Per row group the small ``step``/``reason`` columns are read first and the text only when the
    group holds a sample still missing; reading stops once every reason in ``wanted`` (reason ->
    documents dropped, from the summary) has its samples, so ``excluded: all`` costs no more."""
    out: dict[tuple[str, str], list[Excluded]] = {}
    files = sorted(excl.glob("*.parquet")) if excl.is_dir() else []
    goal = {k: min(per_reason, n) for k, n in wanted.items()}

    def done() -> bool:
        return bool(goal) and all(len(out.get(k, ())) >= n for k, n in goal.items())

    for path in files:
        if done():
            break
        pf = pq.ParquetFile(path)
        if not {ID, SOURCE, "step", "reason", TEXT} <= set(pf.schema_arrow.names):
            continue
        for g in range(pf.num_row_groups):
            if done():
                break
            keys = pf.read_row_group(g, columns=["step", "reason"])
            key = pc.binary_join_element_wise(pc.fill_null(keys.column("step"), ""),
                                              pc.fill_null(keys.column("reason"), ""), "\x1f")
            enc = pc.dictionary_encode(key).combine_chunks()
            codes = enc.indices.to_numpy(zero_copy_only=False)
            take: list[tuple[tuple[str, str], np.ndarray]] = []
            for ci, k in enumerate(enc.dictionary.to_pylist()):
                step, reason = k.split("\x1f", 1)
                need = per_reason - len(out.get((step, reason), ()))
                if need > 0:
                    take.append(((step, reason), np.flatnonzero(codes == ci)[:need]))
            if not take:
                continue
            docs = pf.read_row_group(g, columns=[ID, SOURCE, TEXT])
            for k, rows in take:
                sub = docs.take(pa.array(rows))
                text = sub.column(TEXT)
                out.setdefault(k, []).extend(
                    Excluded(i, s, int(c or 0), t or "")
                    for i, s, c, t in zip(sub.column(ID).to_pylist(), sub.column(SOURCE).to_pylist(),
                                          pc.utf8_length(text).to_pylist(),
                                          pc.utf8_slice_codeunits(text, 0, max_chars).to_pylist()))
    return {k: v for k, v in sorted(out.items()) if v}, len(files)


# -- bad input records ----------------------------------------------------------------------------

def read_quarantine(qdir: Path, limit: int = QUARANTINE_SHOWN, raw_chars: int = 300) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not qdir.is_dir():
        return out
    for path in sorted(qdir.glob("*.jsonl")):
        with open(path, "rb") as fh:
            for line in fh:
                if len(out) >= limit:
                    return out
                try:
                    rec = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                raw = rec.get("raw")
                if isinstance(raw, str) and len(raw) > raw_chars:
                    rec["raw"] = raw[:raw_chars] + "…"
                out.append(rec)
    return out


def unique_names(paths: list[Path]) -> list[str]:
    """Short, distinct labels for runs: the directory name, with parents added until unique."""
    depth = 1
    while True:
        names = ["/".join(p.resolve().parts[-depth:]) for p in paths]
        if len(set(names)) == len(names) or depth > 8:
            return names
        depth += 1


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "run"
