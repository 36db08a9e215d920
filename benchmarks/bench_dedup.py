#!/usr/bin/env python
"""Benchmark corpuskit's MinHash dedup against datatrove's 4-stage MinHash and datasketch's MinHashLSH.

    python benchmarks/bench_dedup.py --data ~/corpuskit-bench-data --workers 2

On the ``neardup/`` part (2,000 real documents with 1-5 mutated copies among 20,000 unrelated
ones, ``synthetic-truth.parquet``) it prints, for every tool in the same run:

- precision: share of removed documents that truly have a near-duplicate (exact Jaccard of
  word-5-gram shingle sets >= threshold) in the corpus;
- recall: share of the documents that should go (all but one of each true group) that do go;
- wall time with ``--workers`` processes, MB/s per core, docs/s, peak RSS (largest process);
- signature throughput per core versus ``datasketch.MinHash.bulk`` on the same documents and
  shingles (CPU time, so other load on the machine counts less), and a check that the
  signatures are identical;
- peak RSS on corpora several times larger, to show memory stays flat: neardup repeated
  ``--copies`` times with new ids (same document sizes), and webtext/ + books/ + code/
  (``--scale``: real text with very long documents, where RSS follows the batch size).

Each tool runs in its own subprocess, so its peak RSS and wall time are its own.  datatrove
0.10 passes ``str`` to ``xxhash``, which xxhash >= 4 refuses; its subprocess encodes to UTF-8
first (what xxhash 3 did), nothing else is changed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from _common import data_dir

HERE = Path(__file__).resolve()
WORD = re.compile(r"\w+", re.U)




def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def read_docs(files: list[Path]) -> list[tuple[str, str]]:
    out = []
    for f in files:
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    d = json.loads(line)
                    out.append((str(d["id"]), d["text"]))
    return out


def neardup_files(nd: Path) -> list[Path]:
    files = sorted(nd.glob("synthetic-*.jsonl.gz"))
    if not files:
        sys.exit(f"no {nd}/synthetic-*.jsonl.gz: build the corpus first (make_corpus.py neardup)")
    return files


# ---------------------------------------------------------------------------------------------
# ground truth
# ---------------------------------------------------------------------------------------------
def shingle_set(text: str, n: int = 5):
    """The shingling the truth file refers to: lower-cased \\w+ words, 5-grams, xxh64."""
    import numpy as np
    import xxhash

    ws = WORD.findall(text.lower())
    grams = [" ".join(ws)] if 0 < len(ws) < n else [" ".join(ws[i:i + n]) for i in range(len(ws) - n + 1)]
    return np.unique(np.fromiter((xxhash.xxh64_intdigest(g.encode()) for g in grams), np.uint64, len(grams)))


def jaccard(a, b) -> float:
    import numpy as np

    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (len(a) + len(b) - inter)


def true_groups(nd: Path, docs: dict[str, str], threshold: float) -> dict[str, int]:
    """id -> group number for every document with a true near-duplicate (J >= threshold): the
    connected components of such pairs within each synthetic cluster, plus natural pairs."""
    import pyarrow.parquet as pq

    truth = pq.read_table(nd / "synthetic-truth.parquet").to_pylist()
    clusters: dict[str, list[str]] = defaultdict(list)
    for r in truth:
        if r["cluster_id"]:
            clusters[r["cluster_id"]].append(r["id"])
    pairs = []
    for members in clusters.values():
        sets = {m: shingle_set(docs[m]) for m in members}
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if jaccard(sets[a], sets[b]) >= threshold:
                    pairs.append((a, b))
    res = nd / "synthetic-residual-natural-pairs.parquet"
    if res.exists():
        for r in pq.read_table(res).to_pylist():
            if r["jaccard"] >= threshold:
                pairs.append((r["id_a"], r["id_b"]))
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots: dict[str, int] = {}
    out = {}
    for x in {p for pair in pairs for p in pair}:
        out[x] = roots.setdefault(find(x), len(roots))
    return out


def score(removed: set[str], groups: dict[str, int]) -> dict:
    sizes: dict[int, int] = defaultdict(int)
    for g in groups.values():
        sizes[g] += 1
    should_go = sum(s - 1 for s in sizes.values())
    removed_in: dict[int, int] = defaultdict(int)
    for r in removed:
        if r in groups:
            removed_in[groups[r]] += 1
    good = sum(1 for r in removed if r in groups)
    hit = sum(min(c, sizes[g] - 1) for g, c in removed_in.items())
    return {"removed": len(removed), "precision": good / len(removed) if removed else 1.0,
            "recall": hit / should_go if should_go else 1.0, "should_go": should_go}


# ---------------------------------------------------------------------------------------------
# the tools, each in a child process
# ---------------------------------------------------------------------------------------------
def child_corpuskit(args) -> dict:
    import pyarrow.parquet as pq

    from corpuskit.pipeline import Pipeline
    from corpuskit.runner import run

    params = json.loads(args.params)
    cfg = {"name": "bench-dedup", "reader": {"type": "jsonl"}, "steps": [{"minhash_dedup": params}],
           "writer": {"excluded": "all" if args.ids else "none"}}
    t0 = time.perf_counter()
    s = run(Pipeline.from_config(cfg), args.input, args.out, workers=args.workers, show_progress=False,
            overwrite=True)
    wall = time.perf_counter() - t0
    removed = []
    if args.ids:
        for f in sorted(Path(args.out, "excluded").glob("*.parquet")):
            if "step" not in pq.read_schema(f).names:  # a task that excluded nothing
                continue
            t = pq.read_table(f, columns=["id", "step"])
            removed += [i for i, st in zip(t.column("id").to_pylist(), t.column("step").to_pylist())
                        if st == "minhash_dedup"]
    return {"wall": wall, "removed": removed, "docs": s["records_in"], "bytes": s["bytes_in"],
            "duplicates": s["duplicates"], "stages": s["stages"]}


def child_datatrove(args) -> dict:
    import xxhash

    for name in ("xxh64_intdigest", "xxh32_intdigest"):
        fn = getattr(xxhash, name)
        setattr(xxhash, name, lambda d, *a, _f=fn, **k: _f(d.encode("utf-8") if isinstance(d, str) else d, *a, **k))
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                                  MinhashDedupFilter, MinhashDedupSignature)
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    w = Path(args.out)
    shutil.rmtree(w, ignore_errors=True)
    src = str(Path(args.input[0]))
    n_files = len(list(Path(src).glob("synthetic-*.jsonl.gz")))
    cfg = MinhashConfig()
    common = {"workers": args.workers, "start_method": "fork", "skip_completed": False}

    def reader():
        return JsonlReader(src, glob_pattern="synthetic-*.jsonl.gz")

    stages = [
        ("signatures", LocalPipelineExecutor([reader(), MinhashDedupSignature(str(w / "sigs"), config=cfg)],
                                             tasks=n_files, logging_dir=str(w / "logs1"), **common)),
        ("buckets", LocalPipelineExecutor([MinhashDedupBuckets(str(w / "sigs"), str(w / "buckets"), config=cfg)],
                                          tasks=cfg.num_buckets, logging_dir=str(w / "logs2"), **common)),
        ("cluster", LocalPipelineExecutor([MinhashDedupCluster(str(w / "buckets"), str(w / "remove"), config=cfg)],
                                          tasks=1, logging_dir=str(w / "logs3"), **common)),
        ("filter", LocalPipelineExecutor([reader(), MinhashDedupFilter(str(w / "remove"),
                                                                       exclusion_writer=JsonlWriter(str(w / "removed"))),
                                          JsonlWriter(str(w / "kept"))],
                                         tasks=n_files, logging_dir=str(w / "logs4"), **common)),
    ]
    times = {}
    t0 = time.perf_counter()
    for name, ex in stages:
        t = time.perf_counter()
        ex.run()
        times[name] = round(time.perf_counter() - t, 2)
    wall = time.perf_counter() - t0
    removed = [i for i, _ in read_docs(sorted((w / "removed").glob("*.jsonl.gz")))]
    return {"wall": wall, "removed": removed, "stage_seconds": times}


def child_datasketch(args) -> dict:
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    docs = read_docs(neardup_files(Path(args.input[0])))
    shingles = []
    for _, text in docs:
        ws = WORD.findall(text.lower())
        grams = [" ".join(ws)] if 0 < len(ws) < 5 else [" ".join(ws[i:i + 5]) for i in range(len(ws) - 4)]
        shingles.append([g.encode() for g in grams])
    sigs = MinHash.bulk(shingles, num_perm=128)
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    with lsh.insertion_session() as s:
        for i, m in enumerate(sigs):
            s.insert(i, m, check_duplication=False)
    parent = list(range(len(docs)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in enumerate(sigs):
        for j in lsh.query(m):
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    removed = [docs[i][0] for i in range(len(docs)) if find(i) != i]
    return {"wall": time.perf_counter() - t0, "removed": removed, "bands_rows": [lsh.b, lsh.r]}


def run_child(tool: str, inputs: list[str], out: Path, workers: int, params: dict | None = None,
              ids: bool = True) -> dict:
    cmd = [sys.executable, str(HERE), "_child", tool, "--out", str(out), "--workers", str(workers),
           "--params", json.dumps(params or {})] + [x for i in inputs for x in ("--input", i)]
    if ids:
        cmd.append("--ids")
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-3000:] + p.stderr[-5000:])
        raise SystemExit(f"{tool} failed")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["process_wall"] = time.perf_counter() - t0
    return res


# ---------------------------------------------------------------------------------------------
# signature throughput
# ---------------------------------------------------------------------------------------------
def throughput(texts: list[str]) -> dict:
    import numpy as np
    import pyarrow as pa
    from datasketch import MinHash

    from corpuskit.dedup.minhash import MinHasher

    arr = pa.array(texts, pa.large_string())
    nbytes = sum(len(t.encode()) for t in texts)
    out = {}
    for label, h in [("corpuskit tok32", "tok32"), ("corpuskit sha1_32", "sha1_32")]:
        mh = MinHasher(hash=h)
        mh.signatures(arr[:10])
        best = 1e9
        for _ in range(3):
            t = time.process_time()
            sig, counts = mh.signatures(arr)
            best = min(best, time.process_time() - t)
        out[label] = {"cpu_s": best, "mb_s": nbytes / 1e6 / best, "docs_s": len(texts) / best,
                      "shingles": int(counts.sum())}
        # identical to datasketch for the same shingles, hash function, num_perm, seed
        for i in range(0, len(texts), max(1, len(texts) // 50)):
            ref = MinHash(**mh.datasketch_kwargs())
            ref.update_batch(mh.shingles(texts[i]))
            assert np.array_equal(ref.hashvalues.astype(np.uint64), sig[i].astype(np.uint64)), (label, i)
    mh = MinHasher(hash="sha1_32")
    shingles = [mh.shingles(t) for t in texts]  # given to datasketch ready-made: its time excludes shingling
    t = time.process_time()
    MinHash.bulk(shingles, num_perm=128)
    ds = time.process_time() - t
    out["datasketch MinHash.bulk (sha1)"] = {"cpu_s": ds, "mb_s": nbytes / 1e6 / ds, "docs_s": len(texts) / ds}
    return out


# ---------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None, help="benchmark corpus (default $CORPUSKIT_BENCH_DATA or "
                                                 "~/corpuskit-bench-data)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--work", default="/tmp/corpuskit-bench-dedup", help="scratch directory")
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--skip", default="", help="comma list of: datatrove, datasketch, throughput, scale")
    ap.add_argument("--scale", nargs="*", default=None,
                    help="inputs of the large corpus for the memory check (default: webtext, books, code)")
    ap.add_argument("--throughput-docs", type=int, default=3000)
    ap.add_argument("--copies", type=int, default=6, help="memory check: neardup repeated this many times")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    data = data_dir(args.data)
    nd = data / "neardup"
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    docs = dict(read_docs(neardup_files(nd)))
    nbytes = sum(len(t.encode()) for t in docs.values())
    print(f"neardup: {len(docs):,} documents, {nbytes / 1e6:.1f} MB of text; workers={args.workers}")
    t = time.perf_counter()
    groups = true_groups(nd, docs, args.threshold)
    print(f"ground truth: {len(groups):,} documents in true groups (exact Jaccard >= {args.threshold}), "
          f"computed in {time.perf_counter() - t:.0f} s")

    rows = []
    results = {}
    runs = [("corpuskit (default, verify=jaccard)", "corpuskit", {}),
            ("corpuskit (verify=signature)", "corpuskit", {"verify": "signature"})]
    if "datatrove" not in skip:
        runs.append(("datatrove 4-stage MinHash", "datatrove", {}))
    if "datasketch" not in skip:
        runs.append(("datasketch MinHashLSH (1 process)", "datasketch", {}))
    for label, tool, params in runs:
        res = run_child(tool, [str(nd)], work / tool, args.workers, params)
        q = score(set(res["removed"]), groups)
        results[label] = {**res, **q}
        cores = 1 if tool == "datasketch" else args.workers
        rows.append((label, q["precision"], q["recall"], q["removed"], res["wall"],
                     nbytes / 1e6 / res["wall"] / cores, len(docs) / res["wall"], res["peak_rss_mb"]))
        print(f"  {label}: done in {res['wall']:.1f} s", flush=True)
    print(f"\nquality and speed on neardup (threshold {args.threshold}; should go: "
          f"{next(iter(results.values()))['should_go']:,} documents)")
    print(f"{'tool':38s} {'precision':>9s} {'recall':>7s} {'removed':>8s} {'wall s':>8s} {'MB/s/core':>9s} "
          f"{'docs/s':>8s} {'peak RSS MB':>11s}")
    for r in rows:
        print(f"{r[0]:38s} {r[1]:9.4f} {r[2]:7.4f} {r[3]:8,d} {r[4]:8.1f} {r[5]:9.2f} {r[6]:8.0f} {r[7]:11.0f}")
    ck = results["corpuskit (default, verify=jaccard)"]
    if "datatrove 4-stage MinHash" in results:
        dt = results["datatrove 4-stage MinHash"]
        print(f"wall time corpuskit / datatrove: {ck['wall'] / dt['wall']:.3f} "
              f"(datatrove stages: {dt['stage_seconds']})")
    print(f"corpuskit phases: " + ", ".join(f"{k} {v.get('seconds', 0):.2f}s" for k, v in
                                            ck["stages"]["minhash_dedup"].items()))

    if "throughput" not in skip:
        sample = list(docs.values())[: args.throughput_docs]
        tp = throughput(sample)
        print(f"\nsignature throughput per core on {len(sample):,} neardup documents (CPU time, num_perm=128; "
              f"signatures checked identical to datasketch.MinHash)")
        ref = tp["datasketch MinHash.bulk (sha1)"]["cpu_s"]
        for k, v in tp.items():
            print(f"  {k:34s} {v['mb_s']:8.2f} MB/s {v['docs_s']:9.0f} docs/s   x{ref / v['cpu_s']:.1f} vs datasketch")

    if "scale" not in skip:
        # the same documents k times over with new ids: the document-size mix stays the same, so
        # any growth of RSS would come from the corpus size itself
        copies = work / "copies"
        shutil.rmtree(copies, ignore_errors=True)
        copies.mkdir()
        items = list(docs.items())
        per = -(-len(items) // 8)
        for k in range(args.copies):
            for f in range(8):
                with open(copies / f"copy{k}-{f}.jsonl", "w", encoding="utf-8") as fh:
                    for i, text in items[f * per:(f + 1) * per]:
                        fh.write(json.dumps({"id": f"copy{k}/{i}", "text": text}) + "\n")
        big = [("neardup x%d, new ids" % args.copies, [str(copies)])]
        mixed = args.scale if args.scale is not None else [str(data / p) for p in ("webtext", "books", "code")
                                                           if (data / p).exists()]
        if mixed:
            big.append(("webtext + books + code (long documents)", mixed))
        print(f"\nmemory: corpuskit minhash_dedup, {args.workers} workers, peak RSS of the largest process")
        print(f"  {'neardup':42s} {nbytes / 1e6:8,.0f} MB {len(docs):9,d} docs  wall {ck['wall']:6.0f} s  "
              f"peak RSS {ck['peak_rss_mb']:5.0f} MB")
        for label, inputs in big:
            res = run_child("corpuskit", inputs, work / "scale", args.workers, {}, ids=False)
            print(f"  {label:42s} {res['bytes'] / 1e6:8,.0f} MB {res['docs']:9,d} docs  wall {res['wall']:6.0f} s  "
                  f"peak RSS {res['peak_rss_mb']:5.0f} MB  ({res['bytes'] / nbytes:.1f}x neardup; "
                  f"{res['duplicates']:,} duplicates removed)", flush=True)
        shutil.rmtree(copies, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)


def child_main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("_child")
    ap.add_argument("tool")
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--params", default="{}")
    ap.add_argument("--ids", action="store_true")
    args = ap.parse_args()
    fn = {"corpuskit": child_corpuskit, "datatrove": child_datatrove, "datasketch": child_datasketch}[args.tool]
    res = fn(args)
    res["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(res))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child_main()
    else:
        main()
