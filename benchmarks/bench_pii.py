#!/usr/bin/env python
"""Benchmark corpuskit's ``pii`` step against presidio's ``AnalyzerEngine`` with the same recognizers.

    python benchmarks/bench_pii.py --data ~/corpuskit-bench-data

Prints, all measured in the same run:

1. Accuracy against the injected ground truth of ``pii/`` (``pii-truth.jsonl``: e-mails, phones
   of several countries, credit cards, IBANs, IPv4/IPv6, US SSNs at recorded offsets, plus the
   e-mails and IPv4 that occur naturally), per entity type, English and Chinese documents apart:
   a finding counts for a type when it overlaps a true span of that type (after the step's
   plausibility rules and overlap resolution, i.e. what would be replaced).
2. Chinese recognizers (mainland mobile, resident ID, UnionPay card) against PII generated
   with valid checksums and injected at recorded offsets into real ``zh/`` documents.
3. Speed: the fast path versus ``AnalyzerEngine.analyze`` on whole documents, same recognizers,
   same prose (``pii/`` plus pieces of ``books/``, ``webtext/`` and ``zh/``), each in its own
   subprocess (CPU seconds of that process, so MB/s per core; peak RSS its own), and a check
   that both found exactly the same entities (type, start, end, score) in every document.
4. False positives on real source code (``code/``): spans per MB with prose settings and with
   the code rule of ``pipelines/pii.yaml``, with samples to read.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from _common import data_dir, peak_rss_mb

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent.parent))

TRUTH_TYPES = ("email", "phone", "credit_card", "iban", "ipv4", "ipv6", "us_ssn")
ENTITY_TO_TRUTH = {"EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "CN_MOBILE": "phone",
                   "CREDIT_CARD": "credit_card", "CN_BANK_CARD": "credit_card", "IBAN_CODE": "iban",
                   "US_SSN": "us_ssn"}






def read_jsonl(pattern: Path) -> list[dict]:
    out = []
    for f in sorted(pattern.parent.glob(pattern.name)):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            out.extend(json.loads(line) for line in fh if line.strip())
    return out


def pieces(docs: list[dict], max_chars: int = 20000) -> list[dict]:
    """Long documents cut at paragraph boundaries, so presidio's per-document cost stays comparable."""
    out = []
    for d in docs:
        t = d["text"]
        k = 0
        while t:
            cut = t.rfind("\n\n", 0, max_chars) if len(t) > max_chars else len(t)
            cut = cut if cut > 0 else min(len(t), max_chars)
            out.append({**d, "id": f"{d['id']}#{k}", "text": t[:cut]})
            t, k = t[cut:], k + 1
    return out


def step(**kw):
    from corpuskit.pii.step import PiiScrubber
    from corpuskit.stats import StepStats

    s = PiiScrubber(**kw)
    s.stats = StepStats("pii")
    s.ensure_setup()
    return s


def run_step(s, docs: list[dict]) -> list[list[dict]]:
    """Spans the step keeps (after its rules), per document."""
    from corpuskit.document import make_batch

    out: list[list[dict]] = []
    for i in range(0, len(docs), 2048):
        part = docs[i:i + 2048]
        batch = make_batch([d["id"] for d in part], [d["text"] for d in part], [d.get("source") for d in part],
                           [None] * len(part))
        res = s.process(batch).batch
        out.extend(res.column("pii_spans").to_pylist())
    return out


# ---------------------------------------------------------------------------------------------
# 1. accuracy against pii/ ground truth
# ---------------------------------------------------------------------------------------------
def truth_type(entity: str, value: str, mapping: dict[str, str] = ENTITY_TO_TRUTH) -> str:
    if entity == "IP_ADDRESS":
        return "ipv6" if ":" in value else "ipv4"
    return mapping.get(entity, entity.lower())


#: the truth file has no natural phone numbers; a finding with one of these words next to it is
#: one (manuals print their authors' "Tel:" and "FAX"); counted apart as natural PII
PHONE_CONTEXT = re.compile(r"(?i)\b(?:tel|telephone|phone|fax|call|mobile)\b")


def natural_phone(text: str, s: int, e: int) -> bool:
    return bool(PHONE_CONTEXT.search(text, max(0, s - 25), s) or PHONE_CONTEXT.search(text, e, e + 25))


def score(docs: list[dict], found: list[list[dict]], truth: dict[str, list[dict]], types: tuple[str, ...],
          mapping: dict[str, str] = ENTITY_TO_TRUTH):
    tp, fp, fn, nat = Counter(), Counter(), Counter(), Counter()
    inj_true, inj_fn = Counter(), Counter()  # the injected spans alone (the truth's "natural" ones come from a regex)
    fps, fns = defaultdict(list), defaultdict(list)
    for d, spans in zip(docs, found):
        text, tr = d["text"], truth.get(d["id"], [])
        got = [(s["start"], s["end"], truth_type(s["type"], text[s["start"]:s["end"]], mapping)) for s in spans]
        for s, e, t in got:
            if t not in types:
                continue
            if any(x["type"] == t and s < x["end"] and x["start"] < e for x in tr):
                tp[t] += 1
            else:
                fp[t] += 1
                fps[t].append(text[max(0, s - 30):e + 20])
                if t == "phone" and natural_phone(text, s, e):
                    nat[t] += 1
        for x in tr:
            inj_true[x["type"]] += x["origin"] == "injected"
            if not any(t == x["type"] and s < x["end"] and x["start"] < e for s, e, t in got):
                fn[x["type"]] += 1
                inj_fn[x["type"]] += x["origin"] == "injected"
                fns[x["type"]].append(f"{x['origin']}/{x['subtype']}: " + text[max(0, x["start"] - 30):x["end"] + 20])
    nat["_injected_recall"] = {t: 1 - inj_fn[t] / inj_true[t] for t in inj_true if inj_true[t]}
    return tp, fp, fn, fps, fns, nat


def print_scores(title: str, tp, fp, fn, types, fps=None, fns=None, nat=None, samples: int = 3) -> list[str]:
    print(f"\n{title}")
    print(f"  {'type':14s} {'true':>6s} {'found':>6s} {'TP':>6s} {'FP':>5s} {'FN':>5s} {'precision':>9s} {'recall':>7s}"
          + ("   precision, phones with Tel/Fax/... beside them counted as PII" if nat else ""))
    failing = []
    nat = nat or Counter()
    inj = nat.pop("_injected_recall", {})
    for t in types:
        n_true, n_found = tp[t] + fn[t], tp[t] + fp[t]
        if not n_true and not n_found:
            continue
        p = tp[t] / n_found if n_found else 1.0
        r = tp[t] / n_true if n_true else 1.0
        p_nat = (tp[t] + nat[t]) / n_found if n_found else 1.0
        flag = "" if (max(p, p_nat) >= 0.95 and r >= 0.99) else "  <-- below 0.95 / 0.99"
        if t in inj:
            flag = f"   recall of injected: {inj[t]:.3f}" + flag
        if flag:
            failing.append(t)
        extra = f"   {p_nat:.3f} ({nat[t]} natural)" if nat[t] else ""
        print(f"  {t:14s} {n_true:6d} {n_found:6d} {tp[t]:6d} {fp[t]:5d} {fn[t]:5d} {p:9.3f} {r:7.3f}{extra}{flag}")
    for t in types:
        for name, ex in (("FP", fps), ("FN", fns)):
            if ex and ex.get(t):
                rnd = random.Random(0)
                for s in rnd.sample(ex[t], min(samples, len(ex[t]))):
                    print(f"    {name} {t}: {s!r}")
    return failing


def accuracy(data: Path) -> None:
    docs = read_jsonl(data / "pii" / "pii-docs-*.jsonl.gz")
    truth: dict[str, list[dict]] = defaultdict(list)
    with open(data / "pii" / "pii-truth.jsonl", encoding="utf-8") as fh:
        for line in fh:
            t = json.loads(line)
            truth[t["doc_id"]].append(t)
    s = step(replace="none", spans_column="pii_spans")
    t0 = time.process_time()
    found = run_step(s, docs)
    dt = time.process_time() - t0
    nb = sum(len(d["text"].encode()) for d in docs)
    print(f"\n== 1. accuracy on pii/: {len(docs)} documents, {nb / 1e6:.1f} MB, "
          f"{sum(map(len, truth.values()))} true spans; the whole step at {nb / 1e6 / dt:.2f} MB/s per core")
    for lang, keep in (("English (and other non-Chinese)", lambda d: not d["metadata"].get("lang", "en").startswith("zh")),
                       ("Chinese", lambda d: d["metadata"].get("lang", "en").startswith("zh"))):
        idx = [i for i, d in enumerate(docs) if keep(d)]
        tp, fp, fn, fps, fns, nat = score([docs[i] for i in idx], [found[i] for i in idx], truth, TRUTH_TYPES)
        print_scores(f"  {lang}: {len(idx)} documents", tp, fp, fn, TRUTH_TYPES, fps, fns, nat)
    tp, fp, fn, fps, fns, nat = score(docs, found, truth, TRUTH_TYPES)
    print_scores("  all documents", tp, fp, fn, TRUTH_TYPES, nat=nat)
    print("  counters:", dict(sorted(s.stats.counters.items())))


# ---------------------------------------------------------------------------------------------
# 2. Chinese recognizers on real zh/ text with injected, checksum-valid values
# ---------------------------------------------------------------------------------------------
def cn_value(kind: str, rng: random.Random) -> str:
    from corpuskit.pii.chinese import _ID_CHECK, _ID_WEIGHTS, _PROVINCES

    digits = lambda n: "".join(str(rng.randrange(10)) for _ in range(n))  # noqa: E731
    if kind == "cn_mobile":
        n = f"1{rng.choice('3456789')}{digits(9)}"
        return rng.choice([n, f"+86 {n[:3]} {n[3:7]} {n[7:]}", f"{n[:3]}-{n[3:7]}-{n[7:]}", f"+86{n}"])
    if kind == "cn_id":
        area = f"{rng.choice(sorted(_PROVINCES))}{digits(4)}"
        born = f"{rng.randint(1940, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        body = area + born + digits(3)
        return body + _ID_CHECK[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS)) % 11]
    body = "62" + digits(rng.choice([13, 14, 16]))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    card = body + str((10 - total % 10) % 10)
    return card if rng.random() < 0.5 or len(card) != 16 else " ".join(card[i:i + 4] for i in range(0, 16, 4))


def chinese(data: Path, n_docs: int) -> None:
    rng = random.Random(42)
    hosts = [d for d in read_jsonl(data / "zh" / "zh-*.jsonl.gz") if 200 <= len(d["text"]) <= 20000]
    rng.shuffle(hosts)
    hosts = hosts[:n_docs]
    contexts = {"cn_mobile": ["手机", "电话：", "联系电话 ", ""], "cn_id": ["身份证号", "证件号码：", ""],
                "cn_bank_card": ["银行卡号", "卡号：", ""]}
    docs, truth = [], {}
    for i, d in enumerate(hosts):
        text = d["text"]
        # where a person would write one: not inside a word, a number or an identifier
        ok = [i for i in range(1, len(text)) if not (text[i - 1].isascii() and (text[i - 1].isalnum() or text[i - 1] in "+._-"))
              and not (text[i].isascii() and (text[i].isalnum() or text[i] in "._-"))]
        if not ok:
            continue
        cuts = sorted(rng.sample(ok, min(len(ok), rng.randint(1, 3))))
        out, spans, last = [], [], 0
        for pos in cuts:  # assembled piece by piece, as make_corpus.py does, so offsets stay exact
            out.append(text[last:pos])
            kind = rng.choice(sorted(contexts))
            value = cn_value(kind, rng)
            out.append(rng.choice(contexts[kind]))
            start = sum(map(len, out))
            out.append(value)
            spans.append({"type": kind, "start": start, "end": start + len(value), "origin": "injected",
                          "subtype": kind})
            out.append("。")
            last = pos
        out.append(text[last:])
        new = "".join(out)
        assert all(new[x["start"]:x["end"]] for x in spans)
        docs.append({"id": f"zh/{i}", "text": new, "source": "zh"})
        truth[f"zh/{i}"] = spans
    s = step(replace="none", spans_column="pii_spans")
    found = run_step(s, docs)
    # presidio's PHONE_NUMBER / CREDIT_CARD on an injected mobile / card count as finding it; elsewhere
    # (real phone numbers in the host manuals) they are not Chinese findings and are left out
    for d, spans in zip(docs, found):
        tr = truth[d["id"]]
        for x in spans:
            other = {"PHONE_NUMBER": "cn_mobile", "CREDIT_CARD": "cn_bank_card"}.get(x["type"])
            if other and any(t["type"] == other and x["start"] < t["end"] and t["start"] < x["end"] for t in tr):
                x["type"] = {"cn_mobile": "CN_MOBILE", "cn_bank_card": "CN_BANK_CARD"}[other]
    mapping = {"CN_MOBILE": "cn_mobile", "CN_RESIDENT_ID": "cn_id", "CN_BANK_CARD": "cn_bank_card"}
    tp, fp, fn, fps, fns, _ = score(docs, found, truth, ("cn_mobile", "cn_id", "cn_bank_card"), mapping)
    print(f"\n== 2. Chinese recognizers: {len(docs)} real zh/ documents, "
          f"{sum(map(len, truth.values()))} injected values (checksums valid)")
    print_scores("  (a PHONE_NUMBER on a mobile, a CREDIT_CARD on a UnionPay card count as finding it)", tp, fp, fn,
                 ("cn_mobile", "cn_id", "cn_bank_card"), fps, fns)


# ---------------------------------------------------------------------------------------------
# 3. speed and equivalence, each engine in its own process
# ---------------------------------------------------------------------------------------------
def child_speed(args: argparse.Namespace) -> None:
    import pyarrow as pa

    from corpuskit.pii.fastpath import FastAnalyzer
    from corpuskit.pii.recognizers import DEFAULT_ENTITIES, DEFAULT_PHONE_REGIONS, build_analyzer, build_recognizers

    with open(args.docs_file, encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    recs = build_recognizers(DEFAULT_ENTITIES, DEFAULT_PHONE_REGIONS)
    thr = args.threshold
    cpu = wall = float("inf")
    split = args.split if 0 < args.split < len(texts) else len(texts)
    parts = [(0, split), (split, len(texts))] if split < len(texts) else [(0, len(texts))]
    part_cpu = [float("inf")] * len(parts)
    if args.engine == "fast":
        for _ in range(args.reps):
            fast = FastAnalyzer(recs, score_threshold=thr)  # cold caches every repetition
            res, cpus = [], []
            w0 = time.perf_counter()
            for a, b in parts:  # one analyzer over the stream, as in a pipeline task
                arr = pa.array(texts[a:b], pa.large_string())
                t0 = time.process_time()
                res += fast.analyze_batch(arr)
                cpus.append(time.process_time() - t0)
            if sum(cpus) < cpu:
                cpu, part_cpu = sum(cpus), cpus
            wall = min(wall, time.perf_counter() - w0)
        extra = {"seconds_by_recognizer": {k: round(v, 3) for k, v in fast.seconds.items()},  # last run
                 **fast.stats()}
    else:
        engine = build_analyzer(recs)
        res, part_cpu = [], []
        w0 = time.perf_counter()
        for a, b in parts:
            t0 = time.process_time()
            res += [engine.analyze(t, language="en", score_threshold=thr) for t in texts[a:b]]
            part_cpu.append(time.process_time() - t0)
        cpu, wall = sum(part_cpu), time.perf_counter() - w0
        extra = {}
    out = {"cpu": cpu, "wall": wall, "part_cpu": part_cpu, "rss_mb": peak_rss_mb(), "extra": extra,
           "results": [sorted([r.entity_type, r.start, r.end, round(r.score, 6)] for r in rs) for rs in res]}
    Path(args.out).write_text(json.dumps(out))


def spawn(engine: str, docs_file: str, reps: int, threshold: float, split: int) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    subprocess.run([sys.executable, str(HERE), "--child", "speed", "--engine", engine, "--docs-file", docs_file,
                    "--out", out, "--reps", str(reps), "--threshold", str(threshold), "--split", str(split)],
                   check=True)
    res = json.loads(Path(out).read_text())
    os.unlink(out)
    return res


def speed(data: Path, n_pii: int, n_other: int, threshold: float) -> None:
    rng = random.Random(1)
    pii = read_jsonl(data / "pii" / "pii-docs-*.jsonl.gz")[:n_pii]
    others = []
    for part in ("books", "webtext", "zh"):
        ds = pieces(read_jsonl(data / part / f"{part}-*.jsonl.gz"))
        rng.shuffle(ds)
        others += ds[:n_other // 3]
    docs = pii + others
    nb = sum(len(d["text"].encode()) for d in docs)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"text": d["text"]}, ensure_ascii=False) + "\n")
        docs_file = fh.name
    print(f"\n== 3. speed and equivalence: {len(docs)} documents ({len(pii)} pii/, {len(others)} pieces of "
          f"books/ webtext/ zh/), {nb / 1e6:.1f} MB; same recognizers, score threshold {threshold}")
    try:
        fast = spawn("fast", docs_file, 2, threshold, len(pii))
        ref = spawn("presidio", docs_file, 1, threshold, len(pii))
    finally:
        os.unlink(docs_file)
    differ = [i for i, (a, b) in enumerate(zip(fast["results"], ref["results"])) if a != b]
    n_ent = sum(map(len, ref["results"]))
    print(f"  {'engine':34s} {'MB/s/core':>9s} {'docs/s':>8s} {'CPU s':>8s} {'peak RSS':>9s}")
    for name, r in (("corpuskit fast path", fast), ("presidio AnalyzerEngine", ref)):
        print(f"  {name:34s} {nb / 1e6 / r['cpu']:9.3f} {len(docs) / r['cpu']:8.1f} {r['cpu']:8.1f} "
              f"{r['rss_mb']:7.0f}MB")
    print(f"  speed-up: {ref['cpu'] / fast['cpu']:.1f}x (CPU time; fast path best of 2 cold-cache runs)")
    if len(fast["part_cpu"]) == 2:
        for k, (name, ds) in enumerate((("pii/ documents (dense injected PII)", pii), ("ordinary prose pieces", others))):
            mb = sum(len(d["text"].encode()) for d in ds) / 1e6
            print(f"    {name:38s} {mb:5.1f} MB: fast path {mb / fast['part_cpu'][k]:6.2f} MB/s, presidio "
                  f"{mb / ref['part_cpu'][k]:5.3f} MB/s, speed-up {ref['part_cpu'][k] / fast['part_cpu'][k]:.1f}x")
    print(f"  same entities: {len(docs) - len(differ)}/{len(docs)} documents identical, {n_ent} entities"
          + ("" if not differ else f"; DIFFERENT: {differ[:10]}"))
    print("  fast path CPU seconds by recognizer:", fast["extra"].pop("seconds_by_recognizer"))
    print("  fast path work:", fast["extra"])


# ---------------------------------------------------------------------------------------------
# 4. false positives on real code
# ---------------------------------------------------------------------------------------------
def code_fp(data: Path, n_docs: int) -> None:
    import yaml

    rng = random.Random(3)
    docs = read_jsonl(data / "code" / "code-*.jsonl.gz")
    rng.shuffle(docs)
    docs = [d for d in docs if len(d["text"]) <= 200_000][:n_docs]
    nb = sum(len(d["text"].encode()) for d in docs)
    pipeline = yaml.safe_load((HERE.parent.parent / "pipelines" / "pii.yaml").read_text())
    code_rule = pipeline["steps"][0]["pii"]["sources"][0]
    settings = {
        "prose settings (no source rule)": {},
        "pipelines/pii.yaml code rule": {k: v for k, v in code_rule.items() if k != "match"}
        | {"allow_documentation": True},
    }
    print(f"\n== 4. false positives on real code: {len(docs)} files of code/ "
          f"({', '.join(sorted({d['source'] for d in docs}))}), {nb / 1e6:.1f} MB")
    print("  e-mail addresses in code are mostly real authors (copyright headers, MAINTAINERS): counted apart")
    for name, kw in settings.items():
        s = step(replace="none", spans_column="pii_spans", **kw)
        t0 = time.process_time()
        found = run_step(s, docs)
        dt = time.process_time() - t0
        by_type: Counter = Counter()
        samples = defaultdict(list)
        for d, spans in zip(docs, found):
            for x in spans:
                by_type[x["type"]] += 1
                samples[x["type"]].append(d["text"][x["start"]:x["end"]])
        other = sum(v for k, v in by_type.items() if k != "EMAIL_ADDRESS")
        print(f"  {name}: {other / (nb / 1e6):.2f} non-e-mail spans per MB ({other} in all), "
              f"{by_type['EMAIL_ADDRESS']} e-mails; {nb / 1e6 / dt:.1f} MB/s per core; {dict(by_type)}")
        for k, vals in samples.items():
            if k != "EMAIL_ADDRESS":
                print(f"    {k}: {random.Random(0).sample(vals, min(12, len(vals)))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None, help="corpus root (default $CORPUSKIT_BENCH_DATA or ~/corpuskit-bench-data)")
    ap.add_argument("--pii-docs", type=int, default=2000, help="pii/ documents in the speed/equivalence run")
    ap.add_argument("--other-docs", type=int, default=1200, help="books/webtext/zh pieces added to it")
    ap.add_argument("--zh-docs", type=int, default=1000, help="zh/ documents for the Chinese recognizers")
    ap.add_argument("--code-docs", type=int, default=3000, help="code/ files for the false-positive count")
    ap.add_argument("--threshold", type=float, default=0.35)
    ap.add_argument("--only", default="accuracy,chinese,speed,code", help="comma list of sections")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--engine", default="fast", help=argparse.SUPPRESS)
    ap.add_argument("--docs-file", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--split", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "speed":
        child_speed(args)
        return
    data = data_dir(args.data)
    if not (data / "pii" / "pii-truth.jsonl").exists():
        sys.exit(f"{data}/pii/pii-truth.jsonl not found: build the corpus (make_corpus.py pii) or pass --data")
    only = set(args.only.split(","))
    print(f"corpus: {data}; machine: {os.cpu_count()} cores")
    if "accuracy" in only:
        accuracy(data)
    if "chinese" in only:
        chinese(data, args.zh_docs)
    if "speed" in only:
        speed(data, args.pii_docs, args.other_docs, args.threshold)
    if "code" in only:
        code_fp(data, args.code_docs)


if __name__ == "__main__":
    main()
