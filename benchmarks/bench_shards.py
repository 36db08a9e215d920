#!/usr/bin/env python
"""Tokenize-and-write throughput of ``corpuskit shards build`` against bare ``tokenizers`` and datatrove.

    python benchmarks/bench_shards.py --data ~/corpuskit-bench-data --mb 10 --workers 2 --repeat 3

On ``--mb`` MB of real text (an equal share from webtext/, books/ and code/, dealt over
``4 x workers`` JSONL.gz files of equal text size) and one byte-level BPE tokenizer (32k, trained
here on a 3 MB sample unless ``--tokenizer`` is given), in the same run:

- bare: ``Tokenizer.encode_batch`` (and ``encode_batch_fast``) over the texts already in memory,
  batches of 1,024 documents, the Rust thread pool on all ``--workers`` cores: the ceiling, since
  it neither reads, writes, shuffles nor adds EOS;
- corpuskit: ``shards build`` (read JSONL.gz, tokenize, EOS, global shuffle, Megatron .bin/.idx,
  manifest with sha256) in its default layout for ``--workers`` cores (``--ck-workers`` to force);
- datatrove: ``JsonlReader`` + ``DocumentTokenizer`` (EOS, per-task document shuffle, .ds files),
  ``LocalPipelineExecutor`` with one task per file, one process per core, one Rust thread per
  process (its best layout here; ``fork`` start method so its workers' CPU time is counted);
- corpuskit on a corpus ``--scale`` times larger, made of ``--scale`` times more files of the
  same kind: peak RSS must stay flat (``--scale-peer``: datatrove on it too).

Each run is its own subprocess.  Reported: wall time of the run's own work (interpreter start
excluded for everyone); CPU time (user + system of the process and its reaped workers, the
steadier figure on a shared machine); peak RSS of the largest process (``wait4``) and of the whole
tree (sampled every 0.2 s).  With ``--repeat N`` the runs are interleaved N times and the best
wall and best CPU time of each are kept.  Token counts are cross-checked between all three, and
the ids corpuskit and datatrove wrote by an order-free fingerprint (count, sum, sum of squares).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from _common import data_dir

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("webtext", "books", "code")
EOS = "<|endoftext|>"




# ---------------------------------------------------------------------------------------------
# preparation (parent process)
# ---------------------------------------------------------------------------------------------
def iter_part(part_dir: Path):
    for f in sorted(part_dir.glob("*.jsonl.gz")):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    d = json.loads(line)
                    if d.get("text"):
                        yield d


def make_inputs(data: Path, parts: list[str], mb: float, n_files: int, dest: Path) -> dict:
    """An equal share of ``mb`` MB of text from each part (documents in corpus order), each
    document dealt to the file with the least text so far, so files are balanced."""
    if (dest / "_done.json").is_file():
        return json.loads((dest / "_done.json").read_text())
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    present = [p for p in parts if (data / p).is_dir()]
    if not present:
        sys.exit(f"{data}: none of {', '.join(parts)} found (build the corpus: see /work/shared/README.md)")
    chosen: list[list[dict]] = []
    for p in present:
        budget, got, docs = mb * 1e6 / len(present), 0, []
        for d in iter_part(data / p):
            docs.append({"id": d["id"], "text": d["text"], "source": d.get("source") or p})
            got += len(d["text"].encode("utf-8"))
            if got >= budget:
                break
        chosen.append(docs)
    order = [c[k] for k in range(max(len(c) for c in chosen)) for c in chosen if k < len(c)]
    outs = [gzip.open(dest / f"part-{i:03d}.jsonl.gz", "wt", encoding="utf-8", compresslevel=3) for i in range(n_files)]
    load = [0] * n_files
    for d in order:
        i = load.index(min(load))
        outs[i].write(json.dumps(d, ensure_ascii=False) + "\n")
        load[i] += len(d["text"].encode("utf-8"))
    for o in outs:
        o.close()
    info = {"docs": len(order), "text_bytes": sum(load), "files": n_files,
            "largest_doc": max(len(d["text"].encode()) for d in order),
            "by_part": {p: sum(len(d["text"].encode()) for d in c) for p, c in zip(present, chosen)}}
    (dest / "_done.json").write_text(json.dumps(info))
    return info


def scale_inputs(src: Path, copies: int, dest: Path) -> dict:
    """A corpus ``copies`` times larger made the way corpora grow: more files of the same kind
    (each a copy of one of ``src``'s files, ids renamed), so any growth in memory is the corpus's."""
    if (dest / "_done.json").is_file():
        return json.loads((dest / "_done.json").read_text())
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    info = json.loads((src / "_done.json").read_text())
    for r in range(copies):
        for f in sorted(src.glob("*.jsonl.gz")):
            with gzip.open(f, "rt", encoding="utf-8") as fin, \
                    gzip.open(dest / f"r{r}-{f.name}", "wt", encoding="utf-8", compresslevel=3) as fout:
                for line in fin:
                    d = json.loads(line)
                    d["id"] = f"{d['id']}#r{r}"
                    fout.write(json.dumps(d, ensure_ascii=False) + "\n")
    out = {**info, "docs": info["docs"] * copies, "text_bytes": info["text_bytes"] * copies,
           "files": info["files"] * copies}
    (dest / "_done.json").write_text(json.dumps(out))
    return out


def train_tokenizer(inputs: Path, out: Path, vocab: int, sample_mb: float) -> Path:
    if out.is_file():
        return out
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    texts, size = [], 0
    for f in sorted(inputs.glob("*.jsonl.gz")):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            for line in fh:
                t = json.loads(line)["text"]
                texts.append(t)
                size += len(t)
                if size > sample_mb * 1e6:
                    break
        if size > sample_mb * 1e6:
            break
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    out.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(out))
    return out


def measured(args: list[str], log: Path) -> dict:
    """Run this script as a child; its JSON result plus wall, peak RSS (largest process) and tree RSS."""
    import psutil

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", *args],
                                stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        peak_tree = [0]
        stop = threading.Event()

        def sample() -> None:
            try:
                root = psutil.Process(proc.pid)
            except psutil.Error:
                return
            while not stop.is_set():
                total = 0
                try:
                    for p in [root, *root.children(recursive=True)]:
                        try:
                            total += p.memory_info().rss
                        except psutil.Error:
                            pass
                except psutil.Error:
                    pass
                peak_tree[0] = max(peak_tree[0], total)
                stop.wait(0.2)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, status, usage = os.wait4(proc.pid, 0)
        stop.set()
        th.join()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"child failed: {' '.join(args)}\n{log.read_text()[-4000:]}")
    lines = [ln for ln in log.read_text().splitlines() if ln.startswith("RESULT ")]
    res = json.loads(lines[-1][7:])
    res.update(wall_process_s=round(time.perf_counter() - t0, 2), peak_rss_mib=round(usage.ru_maxrss / 1024, 1),
               peak_tree_rss_mib=round(peak_tree[0] / 2**20, 1))
    return res


# ---------------------------------------------------------------------------------------------
# children
# ---------------------------------------------------------------------------------------------
def cpu_now() -> float:
    """CPU seconds of this process and its reaped children (worker pools are joined before we read it)."""
    import resource

    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def child_bare(inputs: Path, tokenizer: Path, workers: int, fast: bool) -> dict:
    os.environ["RAYON_NUM_THREADS"] = str(workers)
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    from tokenizers import Tokenizer

    texts = []
    for f in sorted(inputs.glob("*.jsonl.gz")):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            texts += [json.loads(line)["text"] for line in fh]
    tok = Tokenizer.from_file(str(tokenizer))
    enc = tok.encode_batch_fast if fast else tok.encode_batch
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for a in range(0, len(texts), 1024):
        n += sum(len(e.ids) for e in enc(texts[a:a + 1024], add_special_tokens=False))
    dt = time.perf_counter() - t0
    return {"seconds": dt, "cpu": time.process_time() - c0, "tokens": n, "docs": len(texts)}


def child_corpuskit(inputs: Path, tokenizer: Path, workers: int, threads: int, out: Path) -> dict:
    from corpuskit.shards.build import build
    from corpuskit.shards.config import ShardsConfig

    shutil.rmtree(out, ignore_errors=True)
    t0, c0 = time.perf_counter(), cpu_now()
    rec = build(tokenizer, [str(inputs)], out, ShardsConfig(formats=["megatron"], threads_per_worker=threads),
                workers=workers, show_progress=False)
    dt, cpu = time.perf_counter() - t0, cpu_now() - c0
    m = json.loads((out / "manifest.json").read_text())
    return {"seconds": dt, "cpu": cpu, "tokens": m["tokens"]["written"], "eos": m["documents"]["written"],
            "docs": rec["documents_read"], "phases": rec["seconds"], "workers": rec["workers"],
            "threads": rec["threads_per_worker"], "encoder": m["tokenizer"].get("encoder"),
            "ids": id_checksum(out.glob("*.bin"))}


def id_checksum(files) -> list[int]:
    """Order-free fingerprint of every token written (count, sum, sum of squares): equal for two
    runs that wrote the same documents with the same ids, whatever their shuffles."""
    import numpy as np

    total = [0, 0, 0]
    for f in files:
        with open(f, "rb") as fh:  # in 1 M-token pieces, so the check does not set the peak RSS
            while len(ids := np.fromfile(fh, dtype=np.uint16, count=1 << 20).astype(np.int64)):
                total = [total[0] + len(ids), total[1] + int(ids.sum()), total[2] + int((ids * ids).sum())]
    return total


def child_datatrove(inputs: Path, tokenizer: Path, workers: int, out: Path, tasks: int) -> dict:
    threads = max(1, (os.cpu_count() or 1) // workers)
    os.environ["RAYON_NUM_THREADS"] = str(threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "true" if threads > 1 else "false"
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.tokens.tokenizer import DocumentTokenizer

    shutil.rmtree(out, ignore_errors=True)
    ex = LocalPipelineExecutor(
        pipeline=[JsonlReader(str(inputs), glob_pattern="*.jsonl.gz"),
                  DocumentTokenizer(str(out / "tokens"), tokenizer_name_or_path=str(tokenizer), eos_token=EOS,
                                    local_working_dir=str(out / "work"), shuffle_documents=True, seed=0)],
        tasks=tasks, workers=workers, logging_dir=str(out / "logs"), start_method="fork")
    t0, c0 = time.perf_counter(), cpu_now()
    ex.run()
    dt, cpu = time.perf_counter() - t0, cpu_now() - c0
    tokens = sum(p.stat().st_size for p in (out / "tokens").glob("*.ds")) // 2
    docs = sum(p.stat().st_size for p in (out / "tokens").glob("*.ds.index")) // 8
    return {"seconds": dt, "cpu": cpu, "tokens": tokens, "eos": docs, "docs": docs,
            "ids": id_checksum((out / "tokens").glob("*.ds"))}


# ---------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="corpus root (default $CORPUSKIT_BENCH_DATA or ~/corpuskit-bench-data)")
    ap.add_argument("--parts", default=",".join(PARTS))
    ap.add_argument("--mb", type=float, default=10.0, help="MB of text in the 1x input")
    ap.add_argument("--scale", type=int, default=4, help="size of the large input, in multiples of --mb")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="cores to use: bare's thread pool, datatrove's processes (default: all)")
    ap.add_argument("--ck-workers", type=int, default=0,
                    help="corpuskit processes (default 0: its own choice for --workers cores)")
    ap.add_argument("--repeat", type=int, default=1, help="interleaved repetitions (best time kept)")
    ap.add_argument("--tokenizer", default=None, help="a tokenizer.json with <|endoftext|> (default: train one)")
    ap.add_argument("--vocab", type=int, default=32_000)
    ap.add_argument("--work", default="/tmp/corpuskit-bench-shards")
    ap.add_argument("--scale-peer", action="store_true", help="run datatrove on the large input too")
    ap.add_argument("--skip", default="", help="comma-separated runs to skip: bare,fast,corpuskit,datatrove,scale")
    ap.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        kind, inputs, tok, workers, *rest = args.child
        if kind in ("bare", "fast"):
            res = child_bare(Path(inputs), Path(tok), int(workers), kind == "fast")
        elif kind == "corpuskit":
            res = child_corpuskit(Path(inputs), Path(tok), int(workers), int(rest[0]), Path(rest[1]))
        else:
            res = child_datatrove(Path(inputs), Path(tok), int(workers), Path(rest[0]), int(rest[1]))
        print("RESULT " + json.dumps(res), flush=True)
        return 0

    data = data_dir(args.data)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    parts = [p for p in args.parts.split(",") if p]
    n_files = 4 * args.workers
    inp = work / f"in-{args.mb:g}mb"
    small = make_inputs(data, parts, args.mb, n_files, inp)
    skip = set(args.skip.split(","))
    big_dir = work / f"in-{args.mb:g}mb-x{args.scale}"
    big = None if "scale" in skip else scale_inputs(inp, args.scale, big_dir)
    tok = Path(args.tokenizer) if args.tokenizer else train_tokenizer(inp, work / f"tok-{args.vocab}.json",
                                                                      args.vocab, 3.0)
    print(f"input: {small['docs']:,} documents, {small['text_bytes'] / 1e6:.1f} MB of text in {n_files} files "
          f"({', '.join(parts)}; largest document {small['largest_doc'] / 1e6:.2f} MB); tokenizer {tok}; "
          f"{args.workers} cores", flush=True)
    # corpuskit's default layout for this many cores: cores // 8 processes (at least 1), the rest as threads
    ck_workers = args.ck_workers or max(1, args.workers // 8)
    ck_w = [str(ck_workers), str(max(1, args.workers // ck_workers))]
    runs = {
        "bare encode_batch": ["bare", str(inp), str(tok), str(args.workers)],
        "bare encode_batch_fast": ["fast", str(inp), str(tok), str(args.workers)],
        "corpuskit shards build": ["corpuskit", str(inp), str(tok), *ck_w, str(work / "out-corpuskit")],
        "datatrove DocumentTokenizer": ["datatrove", str(inp), str(tok), str(args.workers),
                                        str(work / "out-datatrove"), str(n_files)],
    }
    keys = {"bare encode_batch": "bare", "bare encode_batch_fast": "fast", "corpuskit shards build": "corpuskit",
            "datatrove DocumentTokenizer": "datatrove"}
    runs = {k: v for k, v in runs.items() if keys[k] not in skip}
    best: dict[str, dict] = {}
    for r in range(args.repeat):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in order:
            res = measured(runs[name], work / f"log-{keys[name]}-{r}.txt")
            print(f"  [{r + 1}/{args.repeat}] {name}: {res['seconds']:.1f} s wall, {res['cpu']:.1f} CPU-s, "
                  f"peak RSS {res['peak_rss_mib']:.0f} MiB", flush=True)
            prev = best.get(name)
            if prev is None:
                best[name] = res
            else:  # keep the best wall time and the best CPU time, each from its own run
                best[name] = {**(res if res["seconds"] < prev["seconds"] else prev),
                              "cpu": min(res["cpu"], prev["cpu"])}
    if big is not None and "corpuskit" not in skip:
        res = measured(["corpuskit", str(big_dir), str(tok), *ck_w, str(work / "out-corpuskit-scale")],
                       work / "log-corpuskit-scale.txt")
        best[f"corpuskit shards build ({args.scale}x)"] = {**res, "_bytes": big["text_bytes"]}
        print(f"  corpuskit {args.scale}x: {res['seconds']:.1f} s, peak RSS {res['peak_rss_mib']:.0f} MiB", flush=True)
        if args.scale_peer and "datatrove" not in skip:
            res = measured(["datatrove", str(big_dir), str(tok), str(args.workers), str(work / "out-datatrove-scale"),
                            str(big["files"])], work / "log-datatrove-scale.txt")
            best[f"datatrove DocumentTokenizer ({args.scale}x)"] = {**res, "_bytes": big["text_bytes"]}
            print(f"  datatrove {args.scale}x: {res['seconds']:.1f} s", flush=True)

    cores = args.workers
    print(f"\n{'run':34s} {'wall s':>7s} {'CPU s':>7s} {'MB/s':>6s} {'MB/s/core':>9s} {'MB/CPU-s':>8s} "
          f"{'docs/s':>7s} {'RSS max':>8s} {'RSS tree':>8s} {'tokens':>12s}")
    for name, res in best.items():
        size = res.get("_bytes", small["text_bytes"]) / 1e6
        s, c = res["seconds"], res["cpu"]
        print(f"{name:34s} {s:7.1f} {c:7.1f} {size / s:6.2f} {size / s / cores:9.3f} {size / c:8.3f} "
              f"{res['docs'] / s:7.1f} {res['peak_rss_mib']:7.0f}M {res['peak_tree_rss_mib']:7.0f}M "
              f"{res['tokens']:12,}")
    ck = best.get("corpuskit shards build")
    lines = []
    if ck:
        lines.append(f"corpuskit ran {ck['workers']} process(es) x {ck['threads']} tokenizer thread(s); "
                     f"phases (s): {ck['phases']}")
        for ref in ("bare encode_batch", "bare encode_batch_fast"):
            if ref in best:
                b = best[ref]
                lines.append(f"corpuskit throughput / {ref}: {b['seconds'] / ck['seconds']:.2f} (wall), "
                             f"{b['cpu'] / ck['cpu']:.2f} (CPU)   [target >= 0.85 of encode_batch]")
        if "datatrove DocumentTokenizer" in best:
            dt = best["datatrove DocumentTokenizer"]
            lines.append(f"corpuskit vs datatrove: {dt['seconds'] / ck['seconds']:.2f}x (wall), "
                         f"{dt['cpu'] / ck['cpu']:.2f}x (CPU)   [target >= 2x]")
            lines.append(f"token check: corpuskit {ck['tokens']:,} (EOS {ck['eos']:,}), datatrove {dt['tokens']:,}"
                         f" (EOS {dt['eos']:,}) -> {'same' if ck['tokens'] == dt['tokens'] else 'DIFFERENT'}; "
                         f"ids (count, sum, sum of squares) -> {'same' if ck['ids'] == dt['ids'] else 'DIFFERENT'}"
                         f"; corpuskit encoder: {ck.get('encoder')}")
        if "bare encode_batch" in best:
            b = best["bare encode_batch"]
            same = ck["tokens"] - ck["eos"] == b["tokens"]
            lines.append(f"token check: bare {b['tokens']:,} + EOS {ck['eos']:,} = {b['tokens'] + ck['eos']:,} -> "
                         f"{'same' if same else 'DIFFERENT'}")
    big_res = best.get(f"corpuskit shards build ({args.scale}x)")
    if ck and big_res:
        lines.append(f"peak RSS 1x -> {args.scale}x ({small['text_bytes'] / 1e6:.0f} -> {big['text_bytes'] / 1e6:.0f} MB,"
                     f" {small['files']} -> {big['files']} files): largest process {ck['peak_rss_mib']:.0f} -> "
                     f"{big_res['peak_rss_mib']:.0f} MiB, whole tree {ck['peak_tree_rss_mib']:.0f} -> "
                     f"{big_res['peak_tree_rss_mib']:.0f} MiB")
    dt_big = best.get(f"datatrove DocumentTokenizer ({args.scale}x)")
    if big_res and dt_big:
        lines.append(f"corpuskit vs datatrove at {args.scale}x: {dt_big['seconds'] / big_res['seconds']:.2f}x (wall), "
                     f"{dt_big['cpu'] / big_res['cpu']:.2f}x (CPU); ids -> "
                     f"{'same' if dt_big['ids'] == big_res['ids'] else 'DIFFERENT'}")
    print("\n" + "\n".join(lines))
    (work / "results.json").write_text(json.dumps(best, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
