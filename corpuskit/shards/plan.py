"""Between the passes: mixture weights, the train/validation split, the global shuffle, shard cuts.

Works on the per-document indices of pass 1 only (length, id hash, source: 18 bytes a document),
never on tokens, so the corpus is never in memory.  Every decision is a pure function of the
seed and the documents, in this order:

1. copies per document: ``floor(w)`` plus one more when ``u(id, seed) < frac(w)``, with ``u`` a
   uniform derived from the hash of the document's id, so a document's fate does not depend on
   which other files are in the build;
2. long documents: ``drop`` sets their copies to 0 (counted), ``split`` keeps them;
3. validation: unique documents in a seeded random order are taken until their weighted tokens
   reach the target, so every copy of a document lands in the same split (no leakage);
4. each split's entries (a document repeated ``copies`` times) are shuffled with the seed;
5. shards are cut at the first document boundary at or after each ``shard_tokens`` multiple.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..writers.atomic import commit, tmp_path
from .config import ShardsConfig
from .encode_pass import task_paths

SPLITS = ("train", "valid")


def splitmix64(x: np.ndarray) -> np.ndarray:
    """A strong 64-bit mixer (SplitMix64 finaliser), vectorised; wraps modulo 2**64 by design."""
    z = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z += np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform_from_keys(keys: np.ndarray, seed: int) -> np.ndarray:
    """A deterministic uniform in [0, 1) per document from its id hash and the seed."""
    salt = splitmix64(np.array([seed], dtype=np.uint64))[0]
    return (splitmix64(keys ^ salt) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def copies_for(keys: np.ndarray, src: np.ndarray, weights: np.ndarray, seed: int) -> np.ndarray:
    """Copies of each document for per-source ``weights`` (indexed by source code)."""
    w = weights[src]
    whole = np.floor(w)
    extra = uniform_from_keys(keys, seed) < (w - whole)
    return (whole.astype(np.int64) + extra).astype(np.int64)


def save_npy(path: Path, arr: np.ndarray) -> None:
    tmp = tmp_path(path)
    with open(tmp, "wb") as fh:
        np.save(fh, arr)
    commit(tmp, path)


@dataclass
class ShardSpec:
    split: str
    index: int
    name: str
    lo: int
    hi: int


@dataclass
class Plan:
    sources: list[str]
    shards: list[ShardSpec]
    stats: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def make_plan(records: list[dict[str, Any]], cfg: ShardsConfig, workdir: Path, name_prefix: str = "") -> Plan:
    """Compute the plan from pass-1 records; writes doc tables and per-split entry lists to workdir."""
    sources = sorted({s for r in records for s in r["sources"]})
    code = {s: i for i, s in enumerate(sources)}
    weights = np.array([cfg.weight(s) for s in sources], dtype=np.float64)
    warnings = [f"weights: source {s!r} has a weight but no documents" for s in cfg.weights if s not in code]

    lens_parts, src_parts, copy_parts, off_parts = [], [], [], []
    file_doc_start = np.zeros(len(records) + 1, dtype=np.int64)
    for i, r in enumerate(records):
        with np.load(task_paths(workdir, r["index"])["docs"]) as z:
            lens, keys, src_local = z["lens"], z["keys"], z["src"]
        lut = np.array([code[s] for s in r["sources"]] or [0], dtype=np.uint16)
        src = lut[src_local] if len(src_local) else np.zeros(0, np.uint16)
        offs = np.zeros(len(lens), dtype=np.int64)
        if len(lens) > 1:
            np.cumsum(lens[:-1], out=offs[1:])
        lens_parts.append(lens)
        src_parts.append(src)
        off_parts.append(offs)
        copy_parts.append(copies_for(keys, src, weights, cfg.seed))
        file_doc_start[i + 1] = file_doc_start[i] + len(lens)
    lens = np.concatenate(lens_parts) if lens_parts else np.zeros(0, np.int64)
    src = np.concatenate(src_parts) if src_parts else np.zeros(0, np.uint16)
    copies = np.concatenate(copy_parts) if copy_parts else np.zeros(0, np.int64)
    save_npy(workdir / "doc_lens.npy", lens)
    save_npy(workdir / "doc_offsets.npy", np.concatenate(off_parts) if off_parts else np.zeros(0, np.int64))
    save_npy(workdir / "file_doc_start.npy", file_doc_start)
    del off_parts

    n_src = len(sources)
    long = lens > cfg.max_doc_tokens
    long_by_src = np.bincount(src[long], minlength=n_src)
    if cfg.long_docs == "drop":
        copies[long] = 0
    sampled_out = (copies == 0) & ~long if cfg.long_docs == "drop" else copies == 0

    ss = np.random.SeedSequence(cfg.seed)
    split_ss, *shuffle_ss = ss.spawn(1 + len(SPLITS))
    eligible = np.flatnonzero(copies)
    weighted = lens * copies
    total_weighted = int(weighted.sum())
    target = cfg.valid_tokens if cfg.valid_tokens is not None else int(round(cfg.valid_fraction * total_weighted))
    members: dict[str, np.ndarray] = {}
    if target > 0 and len(eligible) > 1:
        order = eligible[np.random.default_rng(split_ss).permutation(len(eligible))]
        cum = np.cumsum(weighted[order])
        n_valid = min(int(np.searchsorted(cum, target, side="left")) + 1, len(order) - 1)
        members["valid"] = np.sort(order[:n_valid])
        members["train"] = np.sort(order[n_valid:])
        if cum[n_valid - 1] < target:
            warnings.append(f"validation split holds {int(cum[n_valid - 1]):,} tokens, under the {target:,} asked "
                            f"for (every split keeps at least one document)")
    else:
        members["train"] = eligible
        if target > 0:
            warnings.append("validation split asked for but there are fewer than 2 documents: none made")

    shards: list[ShardSpec] = []
    split_stats: dict[str, Any] = {}
    for split, sss in zip(SPLITS, shuffle_ss):
        docs = members.get(split)
        if docs is None:
            continue
        entries = np.repeat(docs, copies[docs])
        if cfg.shuffle:
            np.random.default_rng(sss).shuffle(entries)
        save_npy(workdir / f"plan-{split}.npy", entries)
        toks = lens[entries]
        starts = np.cumsum(toks) - toks
        shard_of = starts // cfg.shard_tokens
        cuts = np.flatnonzero(np.diff(shard_of)) + 1 if len(entries) else np.zeros(0, np.int64)
        bounds = [0, *cuts.tolist(), len(entries)] if len(entries) else [0]
        for k in range(len(bounds) - 1):
            shards.append(ShardSpec(split, k, f"{name_prefix}{split}-{k:05d}", bounds[k], bounds[k + 1]))
        e_src = src[entries]
        split_stats[split] = {
            "documents": int(len(entries)),
            "unique_documents": int(len(docs)),
            "tokens": int(toks.sum()),
            "tokens_by_source": _bincount_int(e_src, toks, n_src),
            "documents_by_source": np.bincount(e_src, minlength=n_src).tolist(),
        }
        del toks, starts, shard_of, e_src, entries

    stats = {
        "documents_in": int(len(lens)),
        "documents_in_by_source": np.bincount(src, minlength=n_src).tolist(),
        "tokens_in_by_source": _bincount_int(src, lens, n_src),
        "long_documents_by_source": long_by_src.tolist(),
        "long_tokens": int(lens[long].sum()),
        "long_rule": cfg.long_docs,
        "sampled_out": int(sampled_out.sum()),
        "copies_added": int(np.maximum(copies - 1, 0).sum()),
        "splits": split_stats,
    }
    return Plan(sources, shards, stats, warnings)


def _bincount_int(codes: np.ndarray, values: np.ndarray, n: int) -> list[int]:
    """Exact integer sums of ``values`` per code (bincount's float weights lose exactness past 2**53)."""
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, codes.astype(np.int64), values.astype(np.int64))
    return out.tolist()
