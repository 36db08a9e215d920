"""Quality filtering vs datatrove: keep/drop agreement per rule set, English-bundle speed, langid docs/s.

    python benchmarks/bench_quality.py --data ~/corpuskit-bench-data --mb 10

Documents: the benchmark corpus' ``slice/`` part (else ``webtext/``), read in order, keeping
those fastText lid.176 calls English with score >= 0.65 (what pipelines/quality.yaml sends to the
English rules), up to ``--mb`` megabytes of text.  Each engine runs in its own process, one after
the other, on one core (pyarrow limited to one thread), so peak RSS and CPU time are its own.

- fidelity: every rule set alone (gopher_quality, gopher_repetition, c4, fineweb) vs the
  datatrove filter of the same name; agreement = same keep/drop decision; for C4 also the share of
  kept documents whose cleaned text is byte-identical.
- speed: the English bundle (Gopher repetition -> Gopher quality -> C4 -> FineWeb, each step
  seeing what the previous kept) in both; MB/s per core = text MB / CPU seconds of that process
  (CPU time, because other work on a shared machine inflates wall time for both alike).
- langid: corpuskit's langid step (batched, bounded sample) vs per-document prediction on the
  whole text with the same lid.176 model (datatrove's FT176LID method; its own class downloads
  the model, so it is reproduced here), docs/s and label agreement.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RULE_SETS = [("gopher_quality", "GopherQualityFilter"), ("gopher_repetition", "GopherRepetitionFilter"),
             ("c4", "C4QualityFilter"), ("fineweb", "FineWebQualityFilter")]
BUNDLE = ["gopher_repetition", "gopher_quality", "c4", "fineweb"]
BATCH = 2048




def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def load_docs(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# -- children ---------------------------------------------------------------------------------------
def child_corpuskit_rules(docs_path: str) -> dict:
    import pyarrow as pa

    from corpuskit.document import make_batch
    from corpuskit.quality import words
    from corpuskit.registry import step_class

    pa.set_cpu_count(1)
    docs = load_docs(docs_path)
    out: dict = {}
    for name, _ in RULE_SETS:
        for variant, params in (("", {}), (":nocjk", {"cjk_chars": False})):
            words._last.clear()  # each rule set alone pays for its own tokenization
            step = step_class(name)(**params)
            step.ensure_setup()
            decisions: list = []
            texts: list = []
            t0 = cpu()
            for i in range(0, len(docs), BATCH):
                part = docs[i:i + BATCH]
                b = make_batch([d["id"] for d in part], [d["text"] for d in part], [None] * len(part),
                               [None] * len(part))
                res = step.process(b)
                decisions += res.reasons.to_pylist() if res.reasons is not None else [None] * len(part)
                if name == "c4":
                    texts += res.batch.column("text").to_pylist()
            out[name + variant] = {"reasons": decisions, "cpu": cpu() - t0, "texts": texts}
    return out


def child_datatrove_rules(docs_path: str) -> dict:
    from datatrove.data import Document
    from datatrove.pipeline import filters

    docs = load_docs(docs_path)
    out: dict = {}
    for name, cls in RULE_SETS:
        f = getattr(filters, cls)()
        decisions, texts = [], []
        t0 = cpu()
        for d in docs:
            doc = Document(text=d["text"], id=d["id"])
            r = f.filter(doc)
            decisions.append(None if r is True else (r[1] if isinstance(r, tuple) else "drop"))
            if name == "c4":
                texts.append(doc.text)
        out[name] = {"reasons": decisions, "cpu": cpu() - t0, "texts": texts}
    return out


def child_corpuskit_bundle(docs_path: str) -> dict:
    import pyarrow as pa
    import pyarrow.compute as pc

    from corpuskit.document import make_batch, text_bytes
    from corpuskit.registry import step_class

    pa.set_cpu_count(1)
    docs = load_docs(docs_path)
    steps = [step_class(n)() for n in BUNDLE]
    for s in steps:
        s.ensure_setup()
    batches = []
    for i in range(0, len(docs), BATCH):
        part = docs[i:i + BATCH]
        batches.append(make_batch([d["id"] for d in part], [d["text"] for d in part], [None] * len(part),
                                  [None] * len(part)))
    nbytes = sum(text_bytes(b) for b in batches)
    t0, w0 = cpu(), time.perf_counter()
    kept = 0
    for b in batches:
        for s in steps:
            res = s.process(b)
            b = res.batch if res.reasons is None else res.batch.filter(pc.is_null(res.reasons))
            if b.num_rows == 0:
                break
        kept += b.num_rows
    return {"cpu": cpu() - t0, "wall": time.perf_counter() - w0, "bytes": nbytes, "docs": len(docs), "kept": kept,
            "rss_mb": peak_rss_mb()}


def child_datatrove_bundle(docs_path: str) -> dict:
    from datatrove.data import Document
    from datatrove.pipeline import filters

    docs = load_docs(docs_path)
    chain = [filters.GopherRepetitionFilter(), filters.GopherQualityFilter(), filters.C4QualityFilter(),
             filters.FineWebQualityFilter()]
    nbytes = sum(len(d["text"].encode("utf-8")) for d in docs)
    t0, w0 = cpu(), time.perf_counter()
    kept = 0
    for d in docs:
        doc = Document(text=d["text"], id=d["id"])
        if all(f.filter(doc) is True for f in chain):
            kept += 1
    return {"cpu": cpu() - t0, "wall": time.perf_counter() - w0, "bytes": nbytes, "docs": len(docs), "kept": kept,
            "rss_mb": peak_rss_mb()}


def child_langid(docs_path: str, engine: str) -> dict:
    import pyarrow as pa

    from corpuskit.document import make_batch
    from corpuskit.quality.langid import bundled_lid_model, load_fasttext
    from corpuskit.registry import step_class

    pa.set_cpu_count(1)
    docs = load_docs(docs_path)
    t0, w0 = cpu(), time.perf_counter()
    labels: list[str] = []
    if engine == "corpuskit":
        step = step_class("langid")()
        step.ensure_setup()
        for i in range(0, len(docs), BATCH):
            part = docs[i:i + BATCH]
            b = make_batch([d["id"] for d in part], [d["text"] for d in part], [None] * len(part), [None] * len(part))
            labels += step.process(b).batch.column("lang").to_pylist()
    else:
        model = load_fasttext(bundled_lid_model())
        for d in docs:
            lab, _ = model.predict([d["text"].replace("\n", " ")], k=1)
            labels.append(lab[0][0][9:] if lab[0] else "unknown")
    return {"cpu": cpu() - t0, "wall": time.perf_counter() - w0, "docs": len(docs), "labels": labels,
            "rss_mb": peak_rss_mb()}


CHILDREN = {"corpuskit-rules": child_corpuskit_rules, "datatrove-rules": child_datatrove_rules,
            "corpuskit-bundle": child_corpuskit_bundle, "datatrove-bundle": child_datatrove_bundle}


# -- parent ---------------------------------------------------------------------------------------------
def run_child(kind: str, docs_path: str, out_dir: Path, *extra: str) -> dict:
    out = out_dir / f"{kind}{'-' + extra[0] if extra else ''}.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, __file__, "--child", kind, "--docs-file", docs_path, "--result", str(out), *extra]
    subprocess.run(cmd, check=True, env=env, stderr=subprocess.DEVNULL)
    return json.loads(out.read_text())


def select_documents(data: Path, part: str | None, mb: float, out_path: Path, langid_docs: int,
                     langid_path: Path) -> tuple[str, int, int]:
    """English documents (lid.176 >= 0.65) up to ``mb`` MB, and the first ``langid_docs`` of any language."""
    import pyarrow as pa

    from corpuskit.document import make_batch
    from corpuskit.registry import step_class

    part = part or ("slice" if (data / "slice").is_dir() else "webtext")
    files = sorted((data / part).glob("*.jsonl*"))
    if not files:
        sys.exit(f"no JSONL files in {data / part}; build the corpus (see ../shared/README.md) or pass --data")
    lid = step_class("langid")()
    lid.ensure_setup()
    target = int(mb * 1e6)
    total = n_en = 0
    any_docs: list[dict] = []
    with open(out_path, "w", encoding="utf-8") as out:
        for f in files:
            opener = gzip.open if f.suffix == ".gz" else open
            with opener(f, "rt", encoding="utf-8") as fh:
                chunk = [json.loads(line) for line in fh]
            for i in range(0, len(chunk), BATCH):
                part_docs = [{"id": d["id"], "text": d["text"]} for d in chunk[i:i + BATCH]]
                if len(any_docs) < langid_docs:
                    any_docs += part_docs[: langid_docs - len(any_docs)]
                b = make_batch([d["id"] for d in part_docs], [d["text"] for d in part_docs],
                               [None] * len(part_docs), [None] * len(part_docs))
                ann = lid.process(b).batch
                for d, lang, score in zip(part_docs, ann.column("lang").to_pylist(),
                                          ann.column("lang_score").to_pylist()):
                    if lang == "en" and score >= 0.65 and total < target:
                        out.write(json.dumps(d, ensure_ascii=False) + "\n")
                        total += len(d["text"].encode("utf-8"))
                        n_en += 1
                if total >= target and len(any_docs) >= langid_docs:
                    break
            if total >= target and len(any_docs) >= langid_docs:
                break
    with open(langid_path, "w", encoding="utf-8") as out:
        for d in any_docs:
            out.write(json.dumps(d, ensure_ascii=False) + "\n")
    return part, n_en, total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("CORPUSKIT_BENCH_DATA", str(Path.home() / "corpuskit-bench-data")))
    ap.add_argument("--part", default=None, help="corpus part (default: slice, else webtext)")
    ap.add_argument("--mb", type=float, default=10.0, help="MB of English text for fidelity and speed")
    ap.add_argument("--langid-docs", type=int, default=10_000, help="documents (any language) for langid speed")
    ap.add_argument("--skip-fidelity", action="store_true")
    ap.add_argument("--child", choices=[*CHILDREN, "langid"], help=argparse.SUPPRESS)
    ap.add_argument("--docs-file", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("engine", nargs="?", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        res = child_langid(args.docs_file, args.engine) if args.child == "langid" else \
            CHILDREN[args.child](args.docs_file)
        Path(args.result).write_text(json.dumps(res))
        return 0

    work = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    docs_path, lid_path = work / "en.jsonl", work / "any.jsonl"
    part, n_docs, nbytes = select_documents(Path(args.data), args.part, args.mb, docs_path, args.langid_docs,
                                            lid_path)
    mb = nbytes / 1e6
    print(f"corpus: {args.data}/{part}: {n_docs:,} English documents, {mb:.1f} MB")

    if not args.skip_fidelity:
        mine = run_child("corpuskit-rules", str(docs_path), work)
        peer = run_child("datatrove-rules", str(docs_path), work)
        print("\nfidelity (same keep/drop decision as datatrove, each rule set alone)")
        print(f"{'rule set':20s} {'agree':>8s} {'cjk:off':>8s} {'kept':>7s} {'dt kept':>8s} {'MB/s/core':>10s} "
              f"{'dt MB/s/core':>13s}  disagreements (corpuskit reason, datatrove reason)")
        for name, _ in RULE_SETS:
            a, b = mine[name]["reasons"], peer[name]["reasons"]
            agree = sum((x is None) == (y is None) for x, y in zip(a, b)) / len(a)
            a2 = mine[name + ":nocjk"]["reasons"]
            agree2 = sum((x is None) == (y is None) for x, y in zip(a2, b)) / len(a)
            dis: dict = {}
            for x, y in zip(a, b):
                if (x is None) != (y is None):
                    dis[(x, y)] = dis.get((x, y), 0) + 1
            top = sorted(dis.items(), key=lambda kv: -kv[1])[:3]
            print(f"{name:20s} {agree:8.2%} {agree2:8.2%} {sum(x is None for x in a):7d} {sum(y is None for y in b):8d} "
                  f"{mb / mine[name]['cpu']:10.2f} {mb / peer[name]['cpu']:13.3f}  "
                  + ", ".join(f"{k}: {v}" for k, v in top))
            if name == "c4":
                both = [(t1, t2) for x, y, t1, t2 in zip(a, b, mine[name]["texts"], peer[name]["texts"])
                        if x is None and y is None]
                same = sum(t1 == t2 for t1, t2 in both)
                print(f"{'':20s} cleaned text identical for {same:,} of {len(both):,} documents both keep "
                      f"({same / max(len(both), 1):.2%})")

    ck = run_child("corpuskit-bundle", str(docs_path), work)
    dt = run_child("datatrove-bundle", str(docs_path), work)
    print("\nEnglish bundle (gopher_repetition -> gopher_quality -> c4 -> fineweb), one process, one core")
    print(f"{'engine':12s} {'docs/s':>9s} {'MB/s/core':>10s} {'wall MB/s':>10s} {'peak RSS':>9s} {'kept':>7s}")
    for name, r in (("corpuskit", ck), ("datatrove", dt)):
        print(f"{name:12s} {r['docs'] / r['cpu']:9.1f} {r['bytes'] / 1e6 / r['cpu']:10.3f} "
              f"{r['bytes'] / 1e6 / r['wall']:10.3f} {r['rss_mb']:8.0f}M {r['kept']:7d}")
    print(f"ratio (corpuskit / datatrove, MB/s per core): {dt['cpu'] / ck['cpu']:.1f}x")

    lc = run_child("langid", str(lid_path), work, "corpuskit")
    lp = run_child("langid", str(lid_path), work, "peer")
    same = sum(x == y for x, y in zip(lc["labels"], lp["labels"])) / max(len(lc["labels"]), 1)
    print(f"\nlangid on {lc['docs']:,} documents (any language)")
    print(f"corpuskit langid (batched, bounded sample): {lc['docs'] / lc['cpu']:,.0f} docs/s per core, "
          f"peak RSS {lc['rss_mb']:.0f}M")
    print(f"whole-text per-document predict (datatrove's method): {lp['docs'] / lp['cpu']:,.0f} docs/s per core, "
          f"peak RSS {lp['rss_mb']:.0f}M")
    print(f"ratio {lp['cpu'] / lc['cpu']:.1f}x; same label for {same:.2%} of documents")
    return 0


if __name__ == "__main__":
    sys.exit(main())
