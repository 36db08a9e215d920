"""``minhash_dedup``: MinHash LSH near-duplicate removal with bounded memory, as partitioned phases.

Data flow (every arrow is files under the stage's workdir, so each phase task is independent)::

    scan (per data task)      signatures -> band keys -> bands/p{P}/t{task}.bin (partitioned by key)
                              + signatures (or shingle sets) and keep-rule scores, ids per task
    bucket (P tasks)          sort band keys -> candidate pairs -> verify -> edges/to{P}/ (by node)
    ls{r} / ss{r} (Q tasks)   large-star / small-star rounds until the edge set stops changing
    clusters (Q tasks)        one survivor per component by the keep rule -> result/t{task}/...
    apply (per data task)     drop the others ("duplicate"), add cluster id and size columns

Peak memory is one batch during the scan and one partition in each phase, so it does not grow
with the corpus: more data means more partitions (``partitions``), not more RAM.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Generator, Literal

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from ..document import ID, TEXT, with_column
from ..registry import register_step
from ..steps.base import GlobalStage, Phase, StageContext, StepOutput
from ..writers.atomic import write_bytes_atomic
from . import components as CC
from .common import DocFiles, KeepParams, assign_clusters, byte_slices, load_result, scores
from .normalize import Normalization
from .store import (AppendFile, PartitionedWriter, doc_keys, gather_rows, key_row, key_task, partition_files,
                    partition_of, read_records)

BAND = np.dtype([("key", "<u8"), ("doc", "<u8")])
SHINGLE_NORM = Normalization(lowercase=True, whitespace=False, punctuation=False, digits=False, nfkc=False)
MAX_ROUNDS = 64


class MinHashParams(KeepParams):
    #: Jaccard similarity (of shingle sets) above which two documents are near-duplicates
    threshold: float = Field(0.8, gt=0.0, lt=1.0)
    #: permutations per signature
    num_perm: int = Field(128, ge=2, le=1024)
    #: words per shingle (CJK/Thai: characters per shingle)
    ngram: int = Field(5, ge=1, le=64)
    #: seed of the permutations (datasketch's ``seed``)
    seed: int = Field(1, ge=0)
    #: datasketch permutation scheme: affine32 (datasketch 2.x default), affine64, legacy (< 2.0)
    scheme: Literal["affine32", "affine64", "legacy"] = "affine32"
    #: shingle hash: tok32/tok64 (xxh64 per token, combined; fastest), sha1_32/sha1_64 (datasketch's
    #: default hashfunc), xxh32/xxh64 (of the shingle's bytes); default tok32 (tok64 for affine64)
    hash: Literal["tok32", "tok64", "sha1_32", "sha1_64", "xxh32", "xxh64"] | None = None
    #: LSH bands x rows; default: datasketch's optimum for threshold, num_perm and weights
    bands: int | None = Field(None, ge=1)
    rows: int | None = Field(None, ge=1)
    #: (false positive, false negative) weights of that optimisation; default (0.05, 0.95) with
    #: verify: jaccard (a false candidate then costs one set intersection, a miss is a kept
    #: duplicate), else datasketch's (0.5, 0.5)
    weights: tuple[float, float] | None = None
    #: check each candidate pair: exact Jaccard of the shingle sets (stored during the scan),
    #: signature agreement (no extra storage, but noisier near the threshold), or not at all
    verify: Literal["jaccard", "signature", "none"] = "jaccard"
    #: similarity a verified pair needs (default: threshold)
    verify_threshold: float | None = Field(None, gt=0.0, le=1.0)
    #: text normalisation before shingling
    normalization: Normalization = SHINGLE_NORM
    #: band-key partitions (phase tasks); default: 2 per data task, between 4 and 256
    partitions: int | None = Field(None, ge=1, le=4096)
    #: edges per connected-components partition (more edges: more partitions)
    edges_per_partition: int = Field(2_000_000, ge=1)
    #: native (partitioned, bounded memory) or datasketch (in-memory MinHashLSH, small corpora)
    backend: Literal["native", "datasketch"] = "native"
    #: add <prefix>_cluster (id of the kept copy) and <prefix>_cluster_size columns
    annotate: bool = True
    column_prefix: str = "minhash"

    @model_validator(mode="after")
    def _check(self):
        from .minhash import SCHEME_HASHES

        h = self.hash or ("tok64" if self.scheme == "affine64" else "tok32")
        if h not in SCHEME_HASHES[self.scheme]:
            raise ValueError(f"hash {h!r} does not fit scheme {self.scheme!r} (use one of "
                             f"{', '.join(SCHEME_HASHES[self.scheme])})")
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither (then they are optimised for threshold)")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm {self.num_perm}")
        if self.weights is not None and (abs(sum(self.weights) - 1.0) > 1e-9 or min(self.weights) < 0):
            raise ValueError("weights are (false positive, false negative) and must sum to 1")
        return self


def lsh_weights(p: MinHashParams) -> tuple[float, float]:
    if p.weights is not None:
        return p.weights
    return (0.05, 0.95) if p.verify == "jaccard" else (0.5, 0.5)


@register_step("minhash_dedup")
class MinHashDedup(GlobalStage):
    """Near-duplicate removal: MinHash signatures, LSH buckets, verified pairs, partitioned
    connected components, one survivor per cluster."""

    Params = MinHashParams

    def __init__(self, params=None, **kwargs):
        super().__init__(params, **kwargs)
        p: MinHashParams = self.params  # type: ignore[assignment]
        if p.bands is None:
            # resolve once where the pipeline is built: the resolved values travel in the config,
            # so worker processes never import datasketch/scipy just to redo the optimisation
            from .lsh import optimal_params

            b, r = optimal_params(p.threshold, p.num_perm, *lsh_weights(p))
            self.params = p.model_copy(update={"bands": b, "rows": r})

    # -- set-up ------------------------------------------------------------------------------
    def setup(self) -> None:
        from . import kernels
        from .minhash import MinHasher

        p: MinHashParams = self.params  # type: ignore[assignment]
        kernels.load()
        self.hash = p.hash or ("tok64" if p.scheme == "affine64" else "tok32")
        self.hasher = MinHasher(p.ngram, p.num_perm, p.seed, p.scheme, self.hash, p.normalization)
        self.bands, self.rows = int(p.bands), int(p.rows)  # type: ignore[arg-type]
        self.vt = p.verify_threshold if p.verify_threshold is not None else p.threshold

    def n_partitions(self, n_tasks: int) -> int:
        p: MinHashParams = self.params  # type: ignore[assignment]
        return p.partitions or max(4, min(256, 2 * n_tasks))

    # -- scan --------------------------------------------------------------------------------
    def begin_scan(self, ctx: StageContext) -> None:
        p: MinHashParams = self.params  # type: ignore[assignment]
        self.root = ctx.workdir
        self.task = ctx.task
        self.row = 0
        self.valid = 0
        self.bands_out = PartitionedWriter(ctx.workdir / "bands", f"t{ctx.task:05d}.bin",
                                           self.n_partitions(ctx.n_tasks), BAND)
        self.docs = DocFiles(ctx.workdir, ctx.task)
        self.sig_out = AppendFile(ctx.workdir / "sig" / f"t{ctx.task:05d}.bin") \
            if p.verify == "signature" or p.backend == "datasketch" else None
        if p.verify == "jaccard":
            self.set_vals = AppendFile(ctx.workdir / "sets" / f"t{ctx.task:05d}.vals.bin")
            self.set_lens = AppendFile(ctx.workdir / "sets" / f"t{ctx.task:05d}.lens.bin")
        else:
            self.set_vals = self.set_lens = None

    def scan(self, batch: pa.RecordBatch) -> None:
        try:
            for part in byte_slices(batch):
                self._scan(part)
        except BaseException:
            self._abort()
            raise

    def _scan(self, batch: pa.RecordBatch) -> None:
        from . import kernels as K

        p: MinHashParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        sig, off, hashes = self.hasher.sign(batch.column(TEXT))
        keys = doc_keys(self.task, self.row, n)
        valid = np.diff(off) > 0
        bk = K.band_keys(sig[valid], self.bands, self.rows)  # type: ignore[attr-defined]
        rec = np.empty(bk.size, BAND)
        rec["key"] = bk.ravel()
        rec["doc"] = np.repeat(keys[valid], self.bands)
        self.bands_out.write(rec, partition_of(rec["key"], self.bands_out.n))
        self.docs.write(batch, scores(batch, p, self.name))
        if self.sig_out is not None:
            self.sig_out.write(sig)
        if self.set_vals is not None:
            # 32-bit set members halve the disk; spurious matches between two 10^4-shingle
            # sets are ~10^-2 of a shingle, far below what moves a Jaccard estimate
            vals, voff = K.sort_unique_segments(hashes.astype(np.uint32), off)  # type: ignore[attr-defined]
            self.set_vals.write(vals)
            self.set_lens.write(np.diff(voff))
        self.row += n
        self.valid += int(valid.sum())

    def _files(self) -> list:
        return [f for f in (self.bands_out, self.docs, self.sig_out, self.set_vals, self.set_lens) if f is not None]

    def _abort(self) -> None:
        for f in self._files():
            f.abort()

    def end_scan(self) -> None:
        for f in self._files():
            f.commit()
        write_bytes_atomic(self.root / "meta" / f"t{self.task:05d}.json",
                           orjson.dumps({"rows": self.row, "valid": self.valid}))

    # -- phases ------------------------------------------------------------------------------
    def phases(self, ctx: StageContext) -> Generator[Phase, list[dict], None]:
        p: MinHashParams = self.params  # type: ignore[assignment]
        if p.backend == "datasketch":
            yield Phase("datasketch", 1)
            return
        n_part = self.n_partitions(ctx.n_tasks)
        res = yield Phase("bucket", n_part)
        edges = sum(r["edges"] for r in res)
        if edges == 0:
            return
        q = max(1, min(n_part, math.ceil(edges / p.edges_per_partition)))
        write_bytes_atomic(ctx.workdir / "cc" / "plan.json", orjson.dumps({"partitions": q}))
        prev_in = prev_out = None
        for r in range(MAX_ROUNDS):
            res = yield Phase(f"ls{r}", q)
            chk_in = CC.checksum_sum(res, "checksum_in")
            # converged when neither the last large-star nor the last small-star changed the edges
            if prev_in is not None and prev_in == prev_out == chk_in:
                final = r
                break
            res_ss = yield Phase(f"ss{r}", q)
            prev_in, prev_out = chk_in, CC.checksum_sum(res_ss, "checksum_ls_out")
        else:
            raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")
        write_bytes_atomic(ctx.workdir / "cc" / "final.json", orjson.dumps({"round": final}))
        yield Phase("clusters", q)

    def run_phase(self, phase: str, index: int, ctx: StageContext) -> dict:
        root = ctx.workdir
        if phase == "bucket":
            return self._bucket(root, index, ctx)
        if phase == "datasketch":
            return self._datasketch(root, ctx)
        q = orjson.loads((root / "cc" / "plan.json").read_bytes())["partitions"]
        if phase.startswith("ls"):
            r = int(phase[2:])
            if r == 0:
                n_part = self.n_partitions(ctx.n_tasks)
                uu, vv = CC.read_edges([f for p in range(index, n_part, q) for f in CC.files_to(root / "edges", p)])
            else:
                uu, vv = CC.read_edges(CC.files_to(root / "cc" / f"ss{r - 1}", index))
            return CC.large_star(uu, vv, root / "cc" / f"ls{r}", index, q)
        if phase.startswith("ss"):
            r = int(phase[2:])
            leaf, rt = CC.read_edges(CC.files_to(root / "cc" / f"ls{r}", index))
            return CC.small_star(leaf, rt, root / "cc" / f"ss{r}", index, q)
        if phase == "clusters":
            final = orjson.loads((root / "cc" / "final.json").read_bytes())["round"]
            paths = sorted((root / "cc" / f"ls{final}").glob("to*/from*.bin"))
            leaf, rt = CC.read_edges([x for x in paths if ".tmp-" not in x.name])
            if q > 1:
                sel = partition_of(rt, q) == index
                leaf, rt = leaf[sel], rt[sel]
            roots = np.unique(rt)
            node = np.concatenate([leaf, roots])
            label = np.concatenate([rt, roots])
            return assign_clusters(root, node, label, f"c{index:05d}")
        raise ValueError(f"unknown phase {phase!r}")

    def _bucket(self, root: Path, index: int, ctx: StageContext) -> dict:
        from .lsh import bucket_edges

        p: MinHashParams = self.params  # type: ignore[assignment]
        rec = read_records(partition_files(root / "bands", index), BAND)
        u, v = bucket_edges(rec["key"], rec["doc"], chain=p.verify != "none")
        candidates = len(u)
        del rec
        if p.verify != "none" and len(u):
            sim = self.similarity(root, u, v)
            ok = sim >= self.vt
            u, v = u[ok], v[ok]
        # both orientations, spread by node over the P fine partitions: a components task then
        # reads only the partitions of its own nodes, never the whole edge set
        uu, vv = np.concatenate([u, v]), np.concatenate([v, u])
        CC.write_partitioned(root / "edges", index, uu, vv, uu, self.n_partitions(ctx.n_tasks))
        result = {"candidate_pairs": candidates, "edges": int(len(u))}
        if index == 0:
            result.update(lsh_bands=self.bands, lsh_rows=self.rows)
        return result

    def similarity(self, root: Path, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Signature agreement or exact Jaccard of each pair (u[i], v[i]), in chunks of bounded
        size: a partition with millions of candidate pairs still gathers only a few MB at a time."""
        from . import kernels as K

        p: MinHashParams = self.params  # type: ignore[assignment]
        n = len(u)
        out = np.empty(n, np.float64)
        if p.verify == "signature":
            step = max(1, (16 << 20) // (self.hasher.num_perm * np.dtype(self.hasher.dtype).itemsize))
            for s in range(0, n, step):
                a = self._gather_sigs(root, u[s:s + step])
                b = self._gather_sigs(root, v[s:s + step])
                out[s:s + step] = K.agreement(a, b)  # type: ignore[attr-defined]
            return out
        lens_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        su, lu = self._set_locs(root, u, lens_cache)
        sv, lv = self._set_locs(root, v, lens_cache)
        cum = np.cumsum(lu + lv)
        budget = 2 << 20  # set values per chunk (the int64 gather indices are 4x that in bytes)
        s = 0
        while s < n:
            base = cum[s - 1] if s else 0
            e = max(s + 1, int(np.searchsorted(cum, base + budget, side="right")))
            va, oa = self._read_sets(root, u[s:e], su[s:e], lu[s:e])
            vb, ob = self._read_sets(root, v[s:e], sv[s:e], lv[s:e])
            m = e - s
            vals = np.concatenate([va, vb])
            off = np.concatenate([oa[:-1], ob + oa[-1]])
            inter = K.sorted_intersections(vals, off, np.arange(m), np.arange(m, 2 * m))  # type: ignore[attr-defined]
            union = lu[s:e] + lv[s:e] - inter
            out[s:e] = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
            s = e
        return out

    def _gather_sigs(self, root: Path, keys: np.ndarray) -> np.ndarray:
        out = np.empty((len(keys), self.hasher.num_perm), self.hasher.dtype)
        tasks, rows = key_task(keys), key_row(keys)
        for t in np.unique(tasks):
            sel = np.flatnonzero(tasks == t)
            out[sel] = gather_rows(root / "sig" / f"t{t:05d}.bin", self.hasher.dtype, self.hasher.num_perm, rows[sel])
        return out

    @staticmethod
    def _set_locs(root: Path, keys: np.ndarray, cache: dict) -> tuple[np.ndarray, np.ndarray]:
        """Start (within its task's file) and length of each document's shingle set."""
        tasks, rows = key_task(keys), key_row(keys)
        starts = np.empty(len(keys), np.int64)
        lens = np.empty(len(keys), np.int64)
        for t in np.unique(tasks):
            if t not in cache:
                all_lens = np.fromfile(root / "sets" / f"t{t:05d}.lens.bin", dtype=np.int64)
                cache[t] = (np.concatenate([[0], np.cumsum(all_lens)]), all_lens)
            first, all_lens = cache[t]
            sel = np.flatnonzero(tasks == t)
            starts[sel] = first[rows[sel]]
            lens[sel] = all_lens[rows[sel]]
        return starts, lens

    @staticmethod
    def _read_sets(root: Path, keys: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sets of ``keys`` concatenated in key order, and their offsets (one vectorised
        gather per task file through a memory map)."""
        off = np.concatenate([[0], np.cumsum(lens)])
        vals = np.empty(int(off[-1]), np.uint32)
        tasks = key_task(keys)
        for t in np.unique(tasks):
            sel = np.flatnonzero(tasks == t)
            ln = lens[sel]
            total = int(ln.sum())
            if total == 0:
                continue
            local = np.concatenate([[0], np.cumsum(ln)])[:-1]
            within = np.arange(total) - np.repeat(local, ln)
            mm = np.memmap(root / "sets" / f"t{t:05d}.vals.bin", dtype=np.uint32, mode="r")
            vals[np.repeat(off[sel], ln) + within] = mm[np.repeat(starts[sel], ln) + within]
            del mm
        return vals, off

    def _datasketch(self, root: Path, ctx: StageContext) -> dict:
        """In-memory ``datasketch.MinHashLSH`` over the same signatures (small corpora)."""
        from datasketch import LeanMinHash, MinHashLSH

        p: MinHashParams = self.params  # type: ignore[assignment]
        lsh = MinHashLSH(threshold=p.threshold, num_perm=p.num_perm, params=(self.bands, self.rows))
        sigs: list[np.ndarray] = []
        keys: list[np.ndarray] = []
        for t in range(ctx.n_tasks):
            meta = orjson.loads((root / "meta" / f"t{t:05d}.json").read_bytes())
            s = np.fromfile(root / "sig" / f"t{t:05d}.bin", dtype=self.hasher.dtype).reshape(-1, p.num_perm)
            # documents without shingles keep the initial maximum everywhere
            lens = (s != np.iinfo(self.hasher.dtype).max).any(axis=1)
            if len(s) != meta["rows"]:
                raise RuntimeError(f"{root}/sig/t{t:05d}.bin has {len(s)} rows, the scan saw {meta['rows']}")
            sigs.append(s[lens])
            keys.append(doc_keys(t, 0, len(s))[lens])
        sig = np.concatenate(sigs) if sigs else np.zeros((0, p.num_perm), self.hasher.dtype)
        key = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
        hv_dtype = np.uint64 if p.scheme == "legacy" else self.hasher.dtype
        mins = [LeanMinHash(seed=p.seed, hashvalues=s.astype(hv_dtype), scheme=p.scheme) for s in sig]
        with lsh.insertion_session() as session:
            for k, m in zip(key.tolist(), mins):
                session.insert(k, m, check_duplication=False)
        us, vs = [], []
        for k, m in zip(key.tolist(), mins):
            for other in lsh.query(m):
                if other > k:
                    us.append(k)
                    vs.append(other)
        u = np.array(us, np.uint64)
        v = np.array(vs, np.uint64)
        candidates = len(u)
        if p.verify != "none" and len(u):
            ok = self.similarity(root, u, v) >= self.vt
            u, v = u[ok], v[ok]
        node, label = CC.components_in_memory(u, v)
        out = assign_clusters(root, node, label, "datasketch")
        return {"candidate_pairs": candidates, "edges": int(len(u)), "lsh_bands": self.bands, "lsh_rows": self.rows,
                **out}

    # -- apply -------------------------------------------------------------------------------
    def begin_apply(self, ctx: StageContext) -> None:
        table = load_result(ctx.workdir, ctx.task)
        self.row = 0
        if table is None or table.num_rows == 0:
            self.res_rows = np.zeros(0, np.int64)
            self.res = None
            return
        self.res_rows = table.column("row").to_numpy()
        self.res = table

    def process(self, batch: pa.RecordBatch) -> StepOutput:
        p: MinHashParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        lo, hi = np.searchsorted(self.res_rows, [self.row, self.row + n])
        self.row += n
        ids = batch.column(ID)
        if hi == lo:
            reasons = None
            cluster = ids.cast(pa.string())
            size = pa.array(np.ones(n, np.int32))
        else:
            sub = self.res.slice(lo, hi - lo)  # type: ignore[union-attr]
            pos = sub.column("row").to_numpy() - (self.row - n)
            idx = np.full(n, -1, np.int64)
            idx[pos] = np.arange(len(pos))
            take = pa.array(idx, mask=idx < 0)
            size = pc.fill_null(sub.column("size").combine_chunks().take(take), 1)
            cluster = pc.coalesce(sub.column("rep").combine_chunks().take(take), ids.cast(pa.string()))
            keep = np.ones(n, bool)
            keep[pos] = sub.column("keep").combine_chunks().to_numpy(zero_copy_only=False)
            drop = ~keep
            self.count("duplicates_removed", int(drop.sum()))
            reasons = pc.if_else(pa.array(drop), pa.scalar("duplicate", pa.string()), pa.scalar(None, pa.string()))
        if p.annotate:
            batch = with_column(batch, f"{p.column_prefix}_cluster", cluster)
            batch = with_column(batch, f"{p.column_prefix}_cluster_size", size.cast(pa.int32()))
        return StepOutput(batch, reasons)
