"""A deterministic, memory-bounded training sample: bottom-k by document key, per source group.

Each group keeps the documents with the smallest keys whose text fits its byte budget
(``max_bytes`` times its mixing weight).  Streaming keeps that exact set: a document is pushed
on a max-heap, the largest keys are evicted while the heap is over budget, and once anything was
evicted no larger key is admitted again.  The result is the longest key-ordered prefix that
fits, whatever the file order or the split of files among workers, and memory never exceeds the
budget plus one batch.
"""

from __future__ import annotations

import heapq
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..readers.base import ReadContext, ReaderTask
from .config import SampleConfig
from .corpus import GroupMapper, OTHER, doc_keys, holdout_cut, make_reader, read_batches, resolve_inputs

ALL = "all"
_NO_LIMIT = 2**64


@dataclass
class Reservoir:
    """Bottom-k by key under a byte budget (see the module docstring for why it is exact)."""

    budget: int
    heap: list[tuple[int, int, str, Any]] = field(default_factory=list)  # (-key, bytes, group, text)
    total: int = 0
    evicted_below: int = _NO_LIMIT  # smallest key ever evicted: nothing at or above it may enter
    too_large: int = 0  # documents bigger than the whole budget (skipped, whatever their key)

    def offer(self, keys: np.ndarray, texts: list[Any], nbytes: np.ndarray, group: str) -> None:
        heap = self.heap
        for k, t, b in zip(keys.tolist(), texts, nbytes.tolist()):
            if k >= self.evicted_below:
                continue
            if b > self.budget:
                self.too_large += 1
                continue
            heapq.heappush(heap, (-k, b, group, t))
            self.total += b
            while self.total > self.budget:
                nk, nb, _, _ = heapq.heappop(heap)
                self.total -= nb
                self.evicted_below = min(self.evicted_below, -nk)

    @property
    def threshold(self) -> int:
        return self.evicted_below

    def merge(self, other: "Reservoir") -> None:
        """Union of two partitions' reservoirs, cut back to the budget (associative)."""
        cut = min(self.evicted_below, other.evicted_below)
        items = [x for x in self.heap + other.heap if -x[0] < cut]
        items.sort(key=lambda x: -x[0])
        self.heap, self.total, self.evicted_below = [], 0, cut
        self.too_large += other.too_large
        for item in items:
            if self.total + item[1] > self.budget:
                self.evicted_below = min(self.evicted_below, -item[0])
                break
            self.heap.append(item)
            self.total += item[1]
        heapq.heapify(self.heap)


@dataclass
class GroupStats:
    docs_seen: int = 0
    bytes_seen: int = 0
    docs_holdout: int = 0

    def add(self, other: "GroupStats") -> None:
        self.docs_seen += other.docs_seen
        self.bytes_seen += other.bytes_seen
        self.docs_holdout += other.docs_holdout


@dataclass
class PartialSample:
    """What one sampling process returns: reservoirs per bucket, stats per group."""

    reservoirs: dict[str, Reservoir]
    stats: dict[str, GroupStats]
    records: int = 0
    quarantined: int = 0


@dataclass
class Sample:
    """The sampled documents (UTF-8, key order) and an account of where they came from."""

    docs: list[bytes]
    groups: dict[str, dict[str, Any]]
    budgets: dict[str, int]
    seconds: float
    records: int
    quarantined: int
    too_large: int
    config: SampleConfig

    @property
    def bytes(self) -> int:
        return sum(g["bytes_sampled"] for g in self.groups.values())

    def summary(self) -> dict[str, Any]:
        total = self.bytes or 1
        groups = {}
        for name, g in sorted(self.groups.items()):
            groups[name] = {**g, "share": round(g["bytes_sampled"] / total, 4)}
        return {"docs": len(self.docs), "bytes": self.bytes, "target_bytes": self.config.max_bytes,
                "records_read": self.records, "quarantined": self.quarantined,
                "docs_over_budget": self.too_large,
                "seconds": round(self.seconds, 3), "groups": groups}


def budgets_for(cfg: SampleConfig) -> dict[str, int]:
    """Byte budget of each bucket: the weighted share of ``max_bytes`` (one bucket without weights)."""
    mix = cfg.mix
    if not mix.weights:
        return {ALL: cfg.max_bytes}
    weights = dict(mix.weights)
    if mix.other > 0:
        weights[OTHER] = mix.other
    total = sum(weights.values())
    return {g: int(cfg.max_bytes * w / total) for g, w in weights.items() if w > 0}


def _sample_tasks(tasks: list[dict], inputs: list[str], cfg: SampleConfig) -> PartialSample:
    reader = make_reader(inputs, cfg.reader)
    mapper = GroupMapper(cfg.mix)
    budgets = budgets_for(cfg)
    reservoirs = {b: Reservoir(n) for b, n in budgets.items()}
    stats: dict[str, GroupStats] = {}
    cut = holdout_cut(cfg.holdout)
    ctx = ReadContext()
    for td in tasks:
        for batch in read_batches(reader, ReaderTask.from_dict(td), ctx):
            _offer_batch(batch, cfg, mapper, reservoirs, stats, cut)
    return PartialSample(reservoirs, stats, ctx.records, ctx.n_quarantined)


def _offer_batch(batch, cfg: SampleConfig, mapper: GroupMapper, reservoirs: dict[str, Reservoir],
                 stats: dict[str, GroupStats], cut: np.uint64) -> None:
    keys = doc_keys(batch.column("id"), cfg.seed)
    nbytes = pc.binary_length(batch.column("text")).to_numpy(zero_copy_only=False).astype(np.int64)
    gidx = mapper.groups(batch)
    held = keys >= cut
    texts = batch.column("text")
    for gi in np.unique(gidx).tolist():
        name = mapper.names[gi]
        in_group = gidx == gi
        st = stats.setdefault(name, GroupStats())
        st.docs_seen += int(in_group.sum())
        st.bytes_seen += int(nbytes[in_group].sum())
        st.docs_holdout += int((in_group & held).sum())
        bucket = ALL if ALL in reservoirs else name
        res = reservoirs.get(bucket)
        if res is None:
            continue  # a group with weight 0
        rows = np.flatnonzero(in_group & ~held & (keys < np.uint64(min(res.threshold, 2**64 - 1))) & (nbytes > 0))
        if len(rows):
            # kept as UTF-8 bytes: exactly the budget, where a str of text with one character
            # beyond Latin-1 takes 2 or 4 bytes per character
            res.offer(keys[rows], texts.take(rows).cast(pa.large_binary()).to_pylist(), nbytes[rows], name)


def draw_sample(inputs: list[str], cfg: SampleConfig) -> Sample:
    """Stream ``inputs`` once and return the sample (in parallel over files with ``cfg.workers``)."""
    t0 = time.perf_counter()
    inputs = resolve_inputs(inputs)
    reader = make_reader(inputs, cfg.reader)
    tasks = [t.to_dict() for t in reader.plan(inputs)]
    n = min(cfg.workers, len(tasks)) or 1
    if n == 1:
        parts = [_sample_tasks(tasks, inputs, cfg)]
    else:
        chunks = [tasks[i::n] for i in range(n)]
        with ProcessPoolExecutor(n) as pool:
            parts = list(pool.map(_sample_tasks, chunks, [inputs] * n, [cfg] * n))
    merged = parts[0]
    for p in parts[1:]:
        for b, r in p.reservoirs.items():
            merged.reservoirs[b].merge(r)
        for g, s in p.stats.items():
            merged.stats.setdefault(g, GroupStats()).add(s)
        merged.records += p.records
        merged.quarantined += p.quarantined

    keyed: list[tuple[int, bytes]] = []
    groups: dict[str, dict[str, Any]] = {}
    for g, st in merged.stats.items():
        groups[g] = {"docs_seen": st.docs_seen, "bytes_seen": st.bytes_seen, "docs_holdout": st.docs_holdout,
                     "docs_sampled": 0, "bytes_sampled": 0}
    too_large = 0
    for r in merged.reservoirs.values():
        too_large += r.too_large
        for nk, nb, gi, t in r.heap:
            keyed.append((-nk, t))
            g = groups[gi]
            g["docs_sampled"] += 1
            g["bytes_sampled"] += nb
    keyed.sort(key=lambda x: x[0])
    budgets = {b: r.budget for b, r in merged.reservoirs.items()}
    for name, g in groups.items():
        if ALL in budgets:
            continue
        if name not in budgets:
            g["note"] = "weight 0: not sampled"
            continue
        g["budget"] = budgets[name]
        if g["bytes_sampled"] < 0.9 * budgets[name]:
            g["note"] = "less text than its budget: its share is below its weight"
    return Sample([t for _, t in keyed], groups, budgets, time.perf_counter() - t0, merged.records,
                  merged.quarantined, too_large, cfg)


# -- splitting into training pieces ---------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=\S)|(?<=[。！？；])")


@dataclass
class PieceStats:
    """What became of the sampled text on its way to the trainer."""

    pieces: int = 0
    bytes: int = 0
    long_pieces: int = 0
    extra_chunks: int = 0
    skipped_short: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def cut_long(piece: str, max_bytes: int) -> list[str]:
    """Cut ``piece`` into chunks of at most ``max_bytes`` UTF-8 bytes, at a space when one is
    in the last quarter of the window, else at a character boundary; no byte is lost."""
    raw = piece.encode("utf-8")
    out = []
    start, n = 0, len(raw)
    while n - start > max_bytes:
        end = start + max_bytes
        space = raw.rfind(b" ", start + (3 * max_bytes) // 4, end)
        if space > start:
            end = space
        else:
            while end > start and (raw[end] & 0xC0) == 0x80:  # inside a multi-byte character
                end -= 1
        out.append(raw[start:end].decode("utf-8"))
        start = end
    out.append(raw[start:].decode("utf-8"))
    return out


def iter_pieces(docs: list[bytes] | list[str], split: str, max_bytes: int, min_chars: int,
                stats: PieceStats, consume: bool = False) -> Iterator[str]:
    """Yield training pieces from documents; long ones are cut (and counted), never dropped.

    With ``consume`` each document is released once split: SentencePiece copies every piece
    into its own memory, so the sample is not held twice at the peak."""
    quarter = max_bytes // 4
    for i in range(len(docs)):
        doc = docs[i]
        if consume:
            docs[i] = b""  # type: ignore[call-overload]
        if isinstance(doc, bytes):
            doc = doc.decode("utf-8")
        if split == "documents":
            parts = [doc]
        else:
            parts = doc.split("\n")
            if split == "sentences":
                parts = [s for line in parts for s in _SENTENCE_END.split(line)]
        for part in parts:
            if split != "documents":
                part = part.rstrip("\r")
                if not part or part.isspace():
                    continue
            if len(part) < min_chars:
                stats.skipped_short += 1
                continue
            if len(part) > quarter:
                nb = len(part.encode("utf-8"))
                if nb > max_bytes:
                    chunks = _cut_doc(part, max_bytes) if split == "documents" else cut_long(part, max_bytes)
                    stats.long_pieces += 1
                    stats.extra_chunks += len(chunks) - 1
                    for c in chunks:
                        stats.pieces += 1
                        stats.bytes += len(c.encode("utf-8"))
                        yield c
                    continue
                stats.bytes += nb
            else:
                stats.bytes += len(part.encode("utf-8")) if not part.isascii() else len(part)
            stats.pieces += 1
            yield part


def _cut_doc(doc: str, max_bytes: int) -> list[str]:
    """Whole-document mode: cut at line ends (newlines kept) so chunks stay under the limit."""
    out: list[str] = []
    cur: list[str] = []
    size = 0
    for line in doc.splitlines(keepends=True):
        nb = len(line.encode("utf-8"))
        if nb > max_bytes:
            if cur:
                out.append("".join(cur))
                cur, size = [], 0
            out.extend(cut_long(line, max_bytes))
            continue
        if size + nb > max_bytes and cur:
            out.append("".join(cur))
            cur, size = [], 0
        cur.append(line)
        size += nb
    if cur:
        out.append("".join(cur))
    return out
