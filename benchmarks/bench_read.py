"""Read-and-write throughput of corpuskit vs datatrove on the same files, in the same run.

Two comparisons:

* ``jsonl``: JSONL.zst -> Parquet (zstd).  corpuskit's JSONL reader + Parquet writer through the
  runner with no steps, vs datatrove's ``JsonlReader`` + ``ParquetWriter(compression="zstd")``.
* ``warc``: WARC.gz -> text in Parquet.  corpuskit's WARC reader (FastWARC + Resiliparse) vs
  datatrove's ``WarcReader`` + ``Trafilatura`` extractor (its default).  Extraction quality is the
  token-level precision / recall / F1 of each output against ``webtext/`` (the same pages as
  reference text), averaged over reference pages (a page missing from an output scores 0).

Each side runs in its own subprocess, so peak RSS and CPU time are its own.  Machines shared with
other work are noisy, so the ratio uses CPU seconds (MB per CPU-second per core) and the wall-clock
figure is printed beside it; ``--repeat`` alternates the sides and keeps each one's best run.

    python benchmarks/bench_read.py --data ~/corpuskit-bench-data --workers 1
    python benchmarks/bench_read.py --parts warc --warc-files 2 --variants

datatrove, trafilatura, warcio, faust-cchardet, python-magic and psutil are benchmark-only
dependencies (datatrove's WARC reader needs the last three).
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent.parent))


# ---------------------------------------------------------------------------------------------
# child side: run one (kind, side) and report
# ---------------------------------------------------------------------------------------------
def child(kind: str, side: str, inputs: list[str], output: str, workers: int) -> dict:
    t0 = time.perf_counter()
    if side.startswith("corpuskit"):
        from corpuskit.pipeline import Pipeline
        from corpuskit.readers.jsonl import JsonlReader
        from corpuskit.readers.warc import WarcReader
        from corpuskit.runner import run

        if kind == "jsonl":
            reader = JsonlReader()
        else:
            opts = {"corpuskit": {}, "corpuskit-full": {"main_content": False},
                    "corpuskit-trafilatura": {"extractor": "trafilatura"}}[side]
            reader = WarcReader(**opts)
        summary = run(Pipeline(reader, []), inputs, output, workers=workers)
        docs = summary["docs_out"]
    else:
        from datatrove.executor import LocalPipelineExecutor
        from datatrove.pipeline.extractors import Trafilatura
        from datatrove.pipeline.readers import JsonlReader, WarcReader
        from datatrove.pipeline.writers import ParquetWriter

        folder = os.path.commonpath([os.path.dirname(p) for p in inputs])
        names = [os.path.relpath(p, folder) for p in inputs]
        paths_file = os.path.join(output + "-paths.txt")
        Path(paths_file).write_text("\n".join(names) + "\n")
        if kind == "jsonl":
            steps = [JsonlReader(folder, paths_file=paths_file)]
        else:
            steps = [WarcReader(folder, paths_file=paths_file), Trafilatura()]
        steps.append(ParquetWriter(output, compression="zstd", adapter=_metadata_as_json))
        LocalPipelineExecutor(pipeline=steps, tasks=len(inputs), workers=workers,
                              logging_dir=output + "-logs", skip_completed=False).run()
        import pyarrow.parquet as pq

        docs = sum(pq.ParquetFile(p).metadata.num_rows for p in glob.glob(os.path.join(output, "*.parquet")))
    wall = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"wall": wall, "docs": docs, "peak_rss_mb": max(own, kids) / 1024}


def _metadata_as_json(self, document) -> dict:
    """datatrove's ParquetWriter fails when metadata keys differ between batches (books have an
    optional ``author``), so its metadata is written as a JSON string, as corpuskit stores it."""
    import orjson

    return {"text": document.text, "id": document.id,
            "metadata": orjson.dumps(document.metadata, default=str).decode()}


def run_child(kind: str, side: str, inputs: list[str], output: Path, workers: int, log: Path) -> dict:
    shutil.rmtree(output, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [sys.executable, str(HERE), "--child", kind, side, "--output", str(output), "--workers", str(workers),
           "--inputs", json.dumps(inputs)]
    with open(log, "ab") as fh:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=fh, text=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{side} ({kind}) failed with exit code {proc.returncode}; see {log}")
    res = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    res["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    res["side"] = side
    return res


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------
def prepare_jsonl(data: Path, work: Path, limit_mb: float) -> tuple[list[str], int]:
    """JSONL.zst files to read: scale-*/ if built, else webtext/ + books/ recompressed to zstd."""
    import zstandard

    scale = sorted(glob.glob(str(data / "scale-*" / "*.jsonl.zst")))
    files: list[str] = []
    total = 0
    if scale:
        for p in scale:
            if total >= limit_mb * 1e6:
                break
            files.append(p)
            with open(p, "rb") as fh:
                total += sum(len(c) for c in zstandard.ZstdDecompressor().read_to_iter(fh))
        return files, total
    work.mkdir(parents=True, exist_ok=True)
    sources = sorted(glob.glob(str(data / "webtext" / "*.jsonl.gz"))) + sorted(glob.glob(str(data / "books" / "*.jsonl.gz")))
    if not sources:
        raise SystemExit(f"no webtext/ or books/ JSONL.gz under {data} (build the corpus first)")
    cctx = zstandard.ZstdCompressor(level=3)
    for src in sources:
        if total >= limit_mb * 1e6:
            break
        out = work / (Path(src).name[: -len(".jsonl.gz")] + ".jsonl.zst")
        raw = gzip.decompress(Path(src).read_bytes())
        if not out.exists():
            out.write_bytes(cctx.compress(raw))
        files.append(str(out))
        total += len(raw)
    return files, total


def uncompressed_size(paths: list[str]) -> int:
    total = 0
    for p in paths:
        with gzip.open(p, "rb") as fh:
            while chunk := fh.read(1 << 24):
                total += len(chunk)
    return total


# ---------------------------------------------------------------------------------------------
# extraction quality
# ---------------------------------------------------------------------------------------------
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])\w)+")


def tokens(text: str | None) -> collections.Counter:
    """Lower-cased words; CJK characters count one each (no spaces to split on)."""
    return collections.Counter(_TOKEN.findall((text or "").lower()))


def reference_texts(data: Path, warc_files: list[str]) -> dict[str, str]:
    import orjson

    wanted = {os.path.basename(p) for p in warc_files}
    ref: dict[str, str] = {}
    for p in sorted(glob.glob(str(data / "webtext" / "*.jsonl.gz"))):
        with gzip.open(p, "rb") as fh:
            for line in fh:
                d = orjson.loads(line)
                meta = d.get("metadata") or d
                if meta.get("warc_file") in wanted:
                    ref[meta["warc_record_id"]] = d["text"]
    return ref


def quality(output: Path, ref: dict[str, str]) -> dict[str, float]:
    import pyarrow.parquet as pq

    got: dict[str, str] = {}
    for p in sorted(output.rglob("*.parquet")):
        if "_work" in p.parts or "excluded" in p.parts:
            continue
        t = pq.read_table(p, columns=["id", "text"])
        got.update(zip(t.column("id").to_pylist(), t.column("text").to_pylist()))
    ps = rs = fs = 0.0
    covered = 0
    for rid, rtext in ref.items():
        out = got.get(rid)
        if not out:
            continue
        covered += 1
        a, b = tokens(out), tokens(rtext)
        overlap = sum((a & b).values())
        if overlap:
            p, r = overlap / sum(a.values()), overlap / sum(b.values())
            ps, rs, fs = ps + p, rs + r, fs + 2 * p * r / (p + r)
    n = len(ref) or 1
    return {"precision": ps / n, "recall": rs / n, "f1": fs / n, "covered": covered / n,
            "f1_covered": fs / (covered or 1)}


# ---------------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------------
def compare(kind: str, sides: list[str], inputs: list[str], nbytes: int, work: Path, workers: int, repeat: int,
            log: Path) -> dict[str, dict]:
    best: dict[str, dict] = {}
    for _ in range(repeat):
        for side in sides:
            res = run_child(kind, side, inputs, work / f"out-{kind}-{side}", workers, log)
            if side not in best or res["cpu"] < best[side]["cpu"]:
                best[side] = res
    mb = nbytes / 1e6
    base = best[sides[-1]]  # the peer is listed last
    print(f"\n== {kind}: {len(inputs)} files, {mb:.1f} MB uncompressed, workers={workers} ==")
    print(f"{'side':24s} {'MB/s/core(cpu)':>15s} {'MB/s/core(wall)':>16s} {'docs/s':>9s} {'docs':>8s} "
          f"{'peak RSS MB':>12s} {'ratio(cpu)':>11s} {'ratio(wall)':>12s}")
    for side in sides:
        r = best[side]
        r["mbps_cpu"] = mb / r["cpu"]
        r["mbps_wall"] = mb / r["wall"] / workers
        r["ratio_cpu"] = base["cpu"] / r["cpu"]
        r["ratio_wall"] = base["wall"] / r["wall"]
        print(f"{side:24s} {r['mbps_cpu']:15.2f} {r['mbps_wall']:16.2f} {r['docs'] / r['wall']:9.1f} {r['docs']:8d} "
              f"{r['peak_rss_mb']:12.0f} {r['ratio_cpu']:10.2f}x {r['ratio_wall']:11.2f}x")
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("CORPUSKIT_BENCH_DATA", "~/corpuskit-bench-data"))
    ap.add_argument("--parts", default="jsonl,warc", help="comma list of jsonl, warc")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--jsonl-mb", type=float, default=300, help="uncompressed MB of JSONL to read")
    ap.add_argument("--warc-files", type=int, default=3, help="WARC files of web/ to read (1,000 pages each)")
    ap.add_argument("--variants", action="store_true",
                    help="also run corpuskit with main_content=False and with the trafilatura extractor")
    ap.add_argument("--repeat", type=int, default=1, help="alternate the sides this many times, keep the best")
    ap.add_argument("--workdir", default=None, help="scratch directory (default: a new temp dir, removed)")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "SIDE"), help=argparse.SUPPRESS)
    ap.add_argument("--inputs", help=argparse.SUPPRESS)
    ap.add_argument("--output", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        res = child(args.child[0], args.child[1], json.loads(args.inputs), args.output, args.workers)
        sys.stdout.write(json.dumps(res) + "\n")
        return

    data = Path(os.path.expanduser(args.data))
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench-read-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    print(f"data: {data}   scratch: {work}   log: {log}")
    parts = set(args.parts.split(","))
    try:
        if "jsonl" in parts:
            files, nbytes = prepare_jsonl(data, work / "jsonl-in", args.jsonl_mb)
            compare("jsonl", ["corpuskit", "datatrove"], files, nbytes, work, args.workers, args.repeat, log)
        if "warc" in parts:
            warcs = sorted(glob.glob(str(data / "web" / "*.warc.gz")))[: args.warc_files]
            if not warcs:
                raise SystemExit(f"no web/*.warc.gz under {data}")
            nbytes = uncompressed_size(warcs)
            sides = ["corpuskit"] + (["corpuskit-full", "corpuskit-trafilatura"] if args.variants else []) + \
                ["datatrove"]
            best = compare("warc", sides, warcs, nbytes, work, args.workers, args.repeat, log)
            ref = reference_texts(data, warcs)
            print(f"\nextraction vs webtext/ ({len(ref)} reference pages; token precision / recall / F1 "
                  f"averaged over all of them, a missing page scoring 0; share of pages with output)")
            for side in sides:
                q = quality(work / f"out-warc-{side}", ref)
                print(f"{side:24s} P={q['precision']:.3f} R={q['recall']:.3f} F1={q['f1']:.3f} "
                      f"covered={q['covered']:.3f} F1(on pages it output)={q['f1_covered']:.3f}")
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
