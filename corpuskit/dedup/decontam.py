"""``decontaminate``: remove documents (or just the spans) that share word 13-grams with evaluation sets.

The evaluation sets are a folder of JSONL / Parquet / text files (one benchmark per file, named
by its path without extension).  ``setup()`` hashes every 13-gram of every string field into one
sorted array; each batch is then shingled by the same kernel as MinHash (normalised words,
CJK by characters) and looked up with one ``searchsorted``, so the cost per document does not
depend on the size of the evaluation sets.  Matches are counted per benchmark in the run summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from ..document import TEXT, replace_text
from ..errors import ConfigError
from ..readers.base import open_maybe_compressed, strip_compression
from ..registry import register_step
from ..steps.base import Filter, StepOutput, StepParams
from .normalize import Normalization, buffers, normalize

EVAL_NORM = Normalization(lowercase=True, whitespace=False, punctuation=False, digits=False, nfkc=False)


class DecontamParams(StepParams):
    #: folder (or single file) of evaluation sets: *.jsonl[.gz|.zst], *.parquet, *.txt
    path: str
    #: record fields to take text from (default: every string field)
    fields: list[str] | None = None
    #: words per n-gram (13 as in GPT-3 / Llama decontamination)
    ngram: int = Field(13, ge=3, le=64)
    #: documents with at least this many matching n-grams are contaminated
    min_matches: int = Field(1, ge=1)
    #: drop contaminated documents, or cut the matching spans out of them
    mode: Literal["drop", "spans"] = "drop"
    #: with mode spans: drop documents left shorter than this many characters
    min_chars: int = Field(50, ge=0)
    normalization: Normalization = EVAL_NORM


def eval_files(path: str) -> list[tuple[str, Path]]:
    """(benchmark name, file) for every evaluation file under ``path``."""
    root = Path(path)
    if not root.exists():
        raise ConfigError(f"decontaminate: path {path!r} does not exist")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()
                                                   and not p.name.startswith((".", "_")))
    out = []
    for f in files:
        name = strip_compression(f.name)
        if not name.endswith((".jsonl", ".json", ".parquet", ".txt")):
            continue
        rel = f.name if root.is_file() else str(f.relative_to(root))
        out.append((strip_compression(rel).rsplit(".", 1)[0], f))
    if not out:
        raise ConfigError(f"decontaminate: no .jsonl, .parquet or .txt files under {path!r}")
    return out


def eval_texts(f: Path, fields: list[str] | None) -> list[str]:
    name = strip_compression(f.name)
    if name.endswith(".txt"):
        with open_maybe_compressed(str(f)) as fh:
            return [fh.read().decode("utf-8", errors="replace")]
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(f)
        cols = fields or [c for c in table.column_names if pa.types.is_string(table.schema.field(c).type)
                          or pa.types.is_large_string(table.schema.field(c).type)]
        return [s for c in cols if c in table.column_names for s in table.column(c).to_pylist() if s]
    texts: list[str] = []
    with open_maybe_compressed(str(f)) as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError as e:
                raise ConfigError(f"{f}: line {i}: malformed JSON ({e})") from None
            if isinstance(rec, str):
                texts.append(rec)
                continue
            if not isinstance(rec, dict):
                continue
            _strings(rec if fields is None else {k: rec.get(k) for k in fields}, texts)
    return texts


def _strings(value, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)


@register_step("decontaminate")
class Decontaminate(Filter):
    """Drops documents (or cuts spans) sharing n-grams with user-supplied evaluation sets."""

    Params = DecontamParams

    def setup(self) -> None:
        from . import kernels as K

        p: DecontamParams = self.params  # type: ignore[assignment]
        K.load()
        self.K = K
        hashes, bench = [], []
        self.names: list[str] = []
        for i, (name, f) in enumerate(eval_files(p.path)):
            texts = eval_texts(f, p.fields)
            self.names.append(name)
            if not texts:
                continue
            h, _ = self._shingles(pa.array(texts, pa.large_string()))
            hashes.append(np.unique(h))
            bench.append(np.full(len(hashes[-1]), i, np.int32))
        h = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
        b = np.concatenate(bench) if bench else np.zeros(0, np.int32)
        order = np.argsort(h, kind="stable")
        self.hashes, self.bench = h[order], b[order]

    def _shingles(self, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        p: DecontamParams = self.params  # type: ignore[assignment]
        data, off = buffers(normalize(texts, p.normalization))
        return self.K.shingle_hashes(data, off, self.K.token_table(), p.ngram, self.K.TOK64)

    def _matches(self, h: np.ndarray) -> np.ndarray:
        """Index into self.hashes of each shingle hash, or -1."""
        if len(self.hashes) == 0:
            return np.full(len(h), -1, np.int64)
        pos = np.searchsorted(self.hashes, h)
        pos = np.minimum(pos, len(self.hashes) - 1)
        return np.where(self.hashes[pos] == h, pos, -1)

    def reasons(self, batch: pa.RecordBatch) -> pa.Array | None:
        return self.process(batch).reasons

    def process(self, batch: pa.RecordBatch) -> StepOutput:
        p: DecontamParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        h, off = self._shingles(batch.column(TEXT))
        hit = self._matches(h)
        matched = hit >= 0
        doc_of = np.repeat(np.arange(n), np.diff(off))
        per_doc = np.bincount(doc_of[matched], minlength=n)
        bad = per_doc >= p.min_matches
        if not bad.any():
            return StepOutput(batch)
        sel = matched & bad[doc_of]
        pairs = np.unique(doc_of[sel].astype(np.int64) * len(self.names) + self.bench[hit[sel]])
        for b, c in zip(*np.unique(pairs % len(self.names), return_counts=True)):
            self.count(f"contaminated:{self.names[b]}", int(c))
        if p.mode == "drop":
            return StepOutput(batch, pa.array(np.where(bad, "contaminated", None), pa.string()))
        return self._cut_spans(batch, off, sel, bad)

    def _cut_spans(self, batch: pa.RecordBatch, off: np.ndarray, sel: np.ndarray, bad: np.ndarray) -> StepOutput:
        """Remove the text covered by matching n-grams (contaminated documents only; rare)."""
        p: DecontamParams = self.params  # type: ignore[assignment]
        K = self.K
        texts = batch.column(TEXT)
        idx = np.flatnonzero(bad)
        sub = normalize(texts.take(pa.array(idx)), p.normalization)
        data, toff = buffers(sub)
        ts, te, doff = K.token_spans(data, toff, K.token_table())
        originals = texts.take(pa.array(idx)).to_pylist()
        normed = sub.to_pylist()
        new = texts.to_pylist()
        cut = 0
        for j, i in enumerate(idx):
            starts = ts[doff[j]:doff[j + 1]]
            ends = te[doff[j]:doff[j + 1]]
            nt = len(starts)
            shingle_hit = sel[off[i]:off[i + 1]]
            cover = np.zeros(nt + 1, np.int64)
            width = min(p.ngram, nt)
            for s in np.flatnonzero(shingle_hit):
                cover[s] += 1
                cover[s + width] -= 1
            covered = np.cumsum(cover[:nt]) > 0
            text, norm_text = originals[j], normed[j]
            if len(text) != len(norm_text):  # normalisation changed lengths: cut nothing finer than the doc
                new[i] = ""
                continue
            # byte offsets -> character offsets of the normalised text (same length as the original)
            enc = norm_text.encode("utf-8")
            keep_parts, last = [], 0
            k = 0
            while k < nt:
                if not covered[k]:
                    k += 1
                    continue
                e = k
                while e + 1 < nt and covered[e + 1]:
                    e += 1
                a = len(enc[:starts[k]].decode("utf-8", errors="ignore"))
                b = len(enc[:ends[e]].decode("utf-8", errors="ignore"))
                keep_parts.append(text[last:a])
                last = b
                cut += b - a
                k = e + 1
            keep_parts.append(text[last:])
            new[i] = "".join(keep_parts)
        self.count("chars_cut", cut)
        batch = replace_text(batch, pa.array(new, pa.large_string()))
        short = bad & (pc.utf8_length(pc.utf8_trim_whitespace(batch.column(TEXT))).to_numpy(
            zero_copy_only=False) < p.min_chars)
        reasons = pa.array(np.where(short, "contaminated", None), pa.string()) if short.any() else None
        return StepOutput(batch, reasons)
