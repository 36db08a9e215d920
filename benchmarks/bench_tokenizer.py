"""Tokenizer training and evaluation benchmark: corpuskit against the libraries called directly.

    python benchmarks/bench_tokenizer.py --data ~/corpuskit-bench-data [--mb 100] [--parts ...]

1. parity: ``corpuskit tokenizer train`` (llama-bpe-32k via SentencePiece, bytelevel-bpe-32k via
   tokenizers) on ``--mb`` MB of text, against SentencePieceTrainer / Tokenizer.train_from_iterator
   called directly on the very same sample with the same options.  Each run is its own process:
   wall time and peak RSS (``wait4``) are that process's own.
2. memory: the sampler over an input and over one ten times larger, same budget: peak RSS.
3. eval: every preset trained on ``--eval-mb`` MB (1% of documents held out), plus a bare
   byte-level BPE (cl100k regex, no CJK/blank guard: the reference), evaluated on held-out English,
   Chinese and code: bytes/token, fertility, encode MB/s per thread, ...
4. guard: byte-level BPE on Chinese with cjk_max_chars 0 / 16 / 4, on the zh part as is and with
   punctuation and spaces removed (long Han runs): training CPU time, peak RSS, compression, speed.

Prints one table per part and writes everything under ``--work`` (default /tmp/corpuskit-bench-tokenizer).
The corpus location comes from ``--data`` or ``$CORPUSKIT_BENCH_DATA`` (default ~/corpuskit-bench-data).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
PARTS = ("webtext", "books", "code", "zh")
EVAL_PRESETS = ["llama-bpe-32k", "zh-en-64k", "sp-unigram-32k", "bytelevel-bpe-32k-gpt2", "bytelevel-bpe-32k",
                "bytelevel-bpe-64k", "bytelevel-bpe-128k", "hf-unigram-32k"]


def run_measured(cmd: list[str], log: Path) -> dict:
    """Run a command in its own process; wall seconds and that process's peak RSS (MiB)."""
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}\n{log.read_text()[-3000:]}")
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def inputs_of(data: Path) -> list[str]:
    found = [str(data / p) for p in PARTS if (data / p).is_dir()]
    if not found:
        raise SystemExit(f"{data}: none of {', '.join(PARTS)} found (build the corpus, see /work/shared/README.md)")
    return found


# -- the direct-library baselines (run as child processes of this script) -------------------------

DIRECT_SP = r"""
import json, sys, sentencepiece as spm
opts = json.load(open(sys.argv[2]))
spm.SentencePieceTrainer.train(input=sys.argv[1], model_prefix=sys.argv[3], **opts)
"""

DIRECT_HF = r"""
import sys
from corpuskit.tokenizer.config import load_config
from corpuskit.tokenizer.hf_train import build_untrained
cfg = load_config(sys.argv[2])
tok, trainer = build_untrained(cfg)
pieces = open(sys.argv[1], encoding="utf-8").read().split("\x1e")
tok.train_from_iterator(pieces, trainer=trainer)
tok.save(sys.argv[3])
"""

DUMP_SAMPLE = r"""
import sys
from corpuskit.tokenizer.config import load_config
from corpuskit.tokenizer.sample import PieceStats, draw_sample, iter_pieces
cfg = load_config(sys.argv[1], sys.argv[4:])
s = draw_sample(sys.argv[2].split(","), cfg.sample)
sep = "\n" if cfg.sample.split != "documents" else "\x1e"
with open(sys.argv[3], "w", encoding="utf-8") as fh:
    first = True
    for p in iter_pieces(s.docs, cfg.sample.split, cfg.sample.max_piece_bytes, cfg.sample.min_piece_chars, PieceStats()):
        if not first:
            fh.write(sep)
        fh.write(p)
        first = False
"""

SAMPLE_ONLY = r"""
import json, sys
from corpuskit.tokenizer.config import SampleConfig
from corpuskit.tokenizer.sample import draw_sample
s = draw_sample(sys.argv[1].split(","), SampleConfig(max_bytes=int(sys.argv[2]), seed=0))
print(json.dumps({"docs": len(s.docs), "bytes": s.bytes, "records": s.records}))
"""


def parity(args, data: Path, work: Path) -> list[dict]:
    inputs = ",".join(inputs_of(data))
    mb = int(args.mb * 1e6)
    rows = []
    for preset in args.parity_presets:
        d = work / "parity" / preset
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        sets = [f"sample.max_bytes={mb}", "sample.holdout=0"]
        ck = run_measured([PY, "-m", "corpuskit.cli", "tokenizer", "train", preset, *sum((["--input", i] for i in inputs.split(",")), []),
                           "--output", str(d / "corpuskit"), *sum((["--set", s] for s in sets), [])],
                          d / "corpuskit.log")
        report = json.loads((d / "corpuskit" / "training_report.json").read_text())
        # the same sample, dumped to a file, then the library called on it with the same options
        sample_file = d / "sample.txt"
        run_measured([PY, "-c", DUMP_SAMPLE, preset, inputs, str(sample_file), *sets], d / "dump.log")
        cfg_file = d / "config.yaml"
        from corpuskit.tokenizer.config import load_config

        cfg = load_config(preset, sets)
        import yaml

        cfg_file.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
        if cfg.library == "sentencepiece":
            from corpuskit.tokenizer.sp_train import trainer_options

            opts = trainer_options(cfg)
            (d / "opts.json").write_text(json.dumps(opts))
            direct = run_measured([PY, "-c", DIRECT_SP, str(sample_file), str(d / "opts.json"), str(d / "direct")],
                                  d / "direct.log")
            import sentencepiece as spm

            a, b = (spm.SentencePieceProcessor(model_file=str(f)) for f in
                    (d / "direct.model", d / "corpuskit" / "tokenizer.model"))
            same = [a.id_to_piece(i) for i in range(a.get_piece_size())] == \
                   [b.id_to_piece(i) for i in range(b.get_piece_size())]
        else:
            direct = run_measured([PY, "-c", DIRECT_HF, str(sample_file), str(cfg_file), str(d / "direct.json")],
                                  d / "direct.log")
            from tokenizers import Tokenizer

            a = Tokenizer.from_file(str(d / "direct.json")).get_vocab()
            b = Tokenizer.from_file(str(d / "corpuskit" / "tokenizer.json")).get_vocab()
            same = a == b
        cpu = report["cpu_seconds"]
        read_mb = sum(g["bytes_seen"] for g in report["sample"]["groups"].values()) / 1e6
        rows.append({"preset": preset, "sample_mb": round(report["sample"]["bytes"] / 1e6, 1),
                     "read_mb": round(read_mb), "sample_cpu_s": cpu["sample"],
                     "read_mb_s_per_core": round(read_mb / max(cpu["sample"], 1e-9), 1),
                     "train_cpu_s": cpu["train"], "direct_cpu_s": direct["cpu_s"],
                     "train_cpu_ratio": round(cpu["train"] / direct["cpu_s"], 3),
                     "total_cpu_ratio": round(ck["cpu_s"] / direct["cpu_s"], 3),
                     "train_wall_s": report["seconds"]["train"], "direct_wall_s": direct["wall_s"],
                     "peak_mib": ck["peak_rss_mib"], "direct_peak_mib": direct["peak_rss_mib"],
                     "rss_ratio": round(ck["peak_rss_mib"] / direct["peak_rss_mib"], 3),
                     "same_vocab": same})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def memory(args, data: Path, work: Path) -> list[dict]:
    """The sampler's peak RSS over inputs of about S and 10 S bytes, same budget."""
    files = sorted(str(p) for part in PARTS if (data / part).is_dir()
                   for p in (data / part).glob("*.jsonl*"))
    sizes = {f: os.path.getsize(f) for f in files}
    total = sum(sizes.values())
    small, acc = [], 0
    for f in sorted(files, key=lambda f: (zlib.crc32(f.encode()) % 97, f)):  # a spread of parts
        if acc >= total / 10:
            break
        small.append(f)
        acc += sizes[f]
    rows = []
    for label, fs in (("1x", small), ("10x", files)):
        r = run_measured([PY, "-c", SAMPLE_ONLY, ",".join(fs), str(int(args.memory_mb * 1e6))],
                         work / f"memory-{label}.log")
        out = json.loads((work / f"memory-{label}.log").read_text().strip().splitlines()[-1])
        rows.append({"input": label, "files": len(fs), "compressed_mb": round(sum(sizes[f] for f in fs) / 1e6, 1),
                     "docs_read": out["records"], "sample_mb": round(out["bytes"] / 1e6, 1), **r})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def eval_inputs_of(data: Path) -> list[str]:
    """Every part but code, and two code files: each training reads its input once, and code
    (1.2 GB) would otherwise dominate the reading time of nine trainings."""
    out = [str(data / p) for p in ("webtext", "books", "zh") if (data / p).is_dir()]
    out += [str(p) for p in sorted((data / "code").glob("*.jsonl*"))[:2]]
    if not out:
        raise SystemExit(f"{data}: no corpus parts found")
    return out


def evaluation(args, data: Path, work: Path) -> dict:
    inputs = eval_inputs_of(data)
    mb = int(args.eval_mb * 1e6)
    trained = []
    for preset in args.eval_presets + ["bare-bytelevel-bpe-32k"]:
        out = work / "eval-train" / preset
        if preset == "bare-bytelevel-bpe-32k":
            src, extra = "bytelevel-bpe-32k", ["hf.pre_tokenize.cjk_max_chars=0", "hf.pre_tokenize.whitespace_max=0"]
        else:
            src, extra = preset, []
        sets = [f"sample.max_bytes={mb}", "sample.holdout=0.01", *extra]
        if not (out / "training_report.json").exists() or args.retrain:
            shutil.rmtree(out, ignore_errors=True)
            r = run_measured([PY, "-m", "corpuskit.cli", "tokenizer", "train", src, *sum((["--input", i] for i in inputs), []),
                              "--output", str(out), *sum((["--set", s] for s in sets), [])],
                             work / f"train-{preset}.log")
            print(json.dumps({"trained": preset, **r}), flush=True)
        trained.append(f"{preset}={out}")
    ev = work / "eval"
    cmd = [PY, "-m", "corpuskit.cli", "tokenizer", "eval", *sum((["-t", t] for t in trained), []),
           *sum((["--input", i] for i in inputs), []), "--output", str(ev), "--group-by", "id_prefix,lang",
           "--only", "webtext/en,books/en,zh/zh-cn,code/python,code/c,code/rust",
           "--holdout-from", str(work / "eval-train" / args.eval_presets[0]),
           "--max-bytes-per-group", str(int(args.eval_group_mb * 1e6)), "--time", "1.0"]
    run_measured(cmd, work / "eval.log")
    res = json.loads((ev / "eval.json").read_text())
    for t in trained:
        name = t.split("=")[0]
        rep = json.loads((work / "eval-train" / name / "training_report.json").read_text())
        res["tokenizers"][name]["train_seconds"] = rep["seconds"]["train"]
        res["tokenizers"][name]["train_peak_mib"] = round(rep["peak_rss_bytes"]["train"] / 2**20)
    return res


GUARD_TRAIN = r"""
import json, sys, time
from corpuskit.tokenizer.config import parse_config
from corpuskit.tokenizer.train import train
k, src, out, mb = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
cfg = parse_config({"library": "hf", "sample": {"max_bytes": int(mb * 1e6), "split": "documents", "holdout": 0.05,
                    "max_piece_bytes": 1000000}, "hf": {"model": "bpe", "vocab_size": 16000,
                    "pre_tokenize": {"regex": "cl100k", "cjk_max_chars": k, "whitespace_max": 32 if k else 0}}})
t0 = time.process_time()
rep = train(cfg, [src], out, overwrite=True)
print(json.dumps({"train_wall_s": rep["seconds"]["train"], "cpu_s": round(time.process_time() - t0, 1),
                  "train_peak_mib": rep["peak_rss_bytes"]["train"] >> 20}))
"""


def guard(args, data: Path, work: Path) -> list[dict]:
    """The CJK guard: byte-level BPE on Chinese, as is and with punctuation and spaces removed
    (long Han runs), with cjk_max_chars 0 (plain cl100k), 16 and 4."""
    import gzip
    import re

    src = data / "zh"
    if not src.is_dir():
        raise SystemExit(f"{src}: no zh part")
    strip = work / "guard-data" / "strip"
    strip.mkdir(parents=True, exist_ok=True)
    nonhan = re.compile(r"[^\u4e00-\u9fff]+")
    with gzip.open(strip / "zh.jsonl.gz", "wt", encoding="utf-8") as out:
        for f in sorted(src.glob("*.jsonl*")):
            for line in gzip.open(f, "rt", encoding="utf-8"):
                r = json.loads(line)
                r["text"] = nonhan.sub("", r["text"])
                if r["text"]:
                    out.write(json.dumps(r, ensure_ascii=False) + "\n")
    rows = []
    for label, inp in (("zh", str(src)), ("zh, punctuation removed", str(strip))):
        names = []
        for k in (0, 16, 4):
            d = work / "guard" / f"{label[:2]}{'-strip' if 'removed' in label else ''}-k{k}"
            r = run_measured([PY, "-c", GUARD_TRAIN, str(k), inp, str(d), str(args.guard_mb)], work / "guard.log")
            stats = json.loads((work / "guard.log").read_text().strip().splitlines()[-1])
            names.append((k, d, {**r, **stats}))
        ev = work / "guard" / f"eval-{len(rows)}"
        run_measured([PY, "-m", "corpuskit.cli", "tokenizer", "eval", *sum((["-t", f"k{k}={d}"] for k, d, _ in names), []),
                      "--input", inp, "--output", str(ev), "--group-by", "id_prefix", "--holdout-from",
                      str(names[0][1]), "--time", "1.0", "--no-plot"], work / "guard-eval.log")
        res = json.loads((ev / "eval.json").read_text())
        for k, d, st in names:
            g = next(iter(res["tokenizers"][f"k{k}"]["groups"].values()))
            rows.append({"text": label, "cjk_max_chars": k, "train_cpu_s": st["cpu_s"],
                         "train_wall_s": st["train_wall_s"], "train_peak_mib": st["train_peak_mib"],
                         "bytes_per_token": round(g["bytes_per_token"], 3),
                         "encode_mb_s": round(g["encode_mb_s"], 2)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    if not rows:
        return ""
    keys = list(rows[0])
    out = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    out += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("CORPUSKIT_BENCH_DATA", str(Path.home() / "corpuskit-bench-data")))
    ap.add_argument("--work", default="/tmp/corpuskit-bench-tokenizer")
    ap.add_argument("--parts", default="parity,memory,eval,guard", help="comma list of parity, memory, eval, guard")
    ap.add_argument("--mb", type=float, default=100, help="MB of training text for the parity runs")
    ap.add_argument("--parity-presets", default="llama-bpe-32k,bytelevel-bpe-32k")
    ap.add_argument("--memory-mb", type=float, default=50, help="sample budget for the memory runs")
    ap.add_argument("--eval-mb", type=float, default=20, help="MB of training text per preset for the eval table")
    ap.add_argument("--eval-group-mb", type=float, default=2, help="held-out MB per evaluation group")
    ap.add_argument("--eval-presets", default=",".join(EVAL_PRESETS))
    ap.add_argument("--guard-mb", type=float, default=8, help="MB of Chinese per guard training")
    ap.add_argument("--retrain", action="store_true", help="retrain eval presets already trained in --work")
    args = ap.parse_args()
    args.parity_presets = [p for p in args.parity_presets.split(",") if p]
    args.eval_presets = [p for p in args.eval_presets.split(",") if p]
    data, work = Path(args.data).expanduser(), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    parts = set(args.parts.split(","))
    results: dict = {"data": str(data), "cores": os.cpu_count()}
    if "parity" in parts:
        results["parity"] = parity(args, data, work)
    if "memory" in parts:
        results["memory"] = memory(args, data, work)
    if "eval" in parts:
        results["eval"] = evaluation(args, data, work)
    if "guard" in parts:
        results["guard"] = guard(args, data, work)
    (work / "bench_tokenizer.json").write_text(json.dumps(results, indent=2))
    print()
    if "parity" in results:
        print("## training: corpuskit vs the library called directly on the same sample\n")
        print(table(results["parity"]))
        print()
    if "memory" in results:
        print("## sampler memory: same budget, 10x the input\n")
        print(table(results["memory"]))
        print()
    if "eval" in results:
        from corpuskit.tokenizer.evaluate import markdown

        print("## presets on held-out text\n")
        print(markdown(results["eval"]))
        rows = [{"tokenizer": n, "train_s": t.get("train_seconds"), "train_peak_mib": t.get("train_peak_mib"),
                 "vocab_used_all": round(t["vocab_used_all"], 3)} for n, t in results["eval"]["tokenizers"].items()]
        print(table(rows))
    if "guard" in results:
        print("\n## CJK guard: byte-level BPE 16k on Chinese\n")
        print(table(results["guard"]))
    print(f"\nall figures: {work / 'bench_tokenizer.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
