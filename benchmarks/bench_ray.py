#!/usr/bin/env python
"""Overhead of the Ray executor versus the local executor, and a sizing estimate from per-task figures.

    python benchmarks/bench_ray.py --data ~/corpuskit-bench-data --warc-files 4 --workers 2

Runs ``pipelines/web.yaml`` on the same WARC.gz files with both executors in the same run
(``--repeat`` times, alternating which goes first; the faster run of each side is reported), each in its own
subprocess (``corpuskit run ... --executor local|ray --workers N --no-progress --output TMP``; the
Ray side starts a local instance with ``num_cpus=N``), and prints for each side:

- wall seconds of the whole command, and the run's own wall time from ``stats.json`` (which
  leaves out imports and ``ray.init``);
- CPU seconds of the whole process tree (driver, workers, Ray's own daemons), sampled with psutil
  every ``--interval`` seconds and cross-checked with ``getrusage(RUSAGE_CHILDREN)``: the machine is
  shared with other jobs, so CPU time is the steadier figure and both are printed;
- MB/s per core (uncompressed WARC bytes per CPU second, and per wall second per worker), docs/s;
- peak RSS of the driver, of the largest worker, and of the whole tree at one instant;
- the Ray/local ratios.

It checks that both summaries balance and agree, and that ``data/*.parquet`` are byte-identical.

From the task markers (``_work/markers/seg*/part-*.json`` and the phase markers of the global
stages) it prints per-task seconds and MB, Ray's overhead per task (difference of the run walls
divided by the number of tasks; cross-checked by timing ``--noop-tasks`` empty tasks through each
executor), and an estimate of the streaming pass over a large corpus on N
nodes x C cores, assuming perfect task parallelism plus the measured per-task overhead.

Input: the first ``--warc-files`` files of ``DATA/web/*.warc.gz`` (DATA from ``--data``,
``$CORPUSKIT_BENCH_DATA`` or ``~/corpuskit-bench-data``); if there are none, the demo corpus is built
(``python -m corpuskit.demo --build-only``) and its ``raw/web`` is used.  Needs ray and psutil
(``pip install -e '.[dev]'`` or ``'corpuskit[ray]' psutil``).
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))
PIPELINE = REPO / "pipelines" / "web.yaml"


# ---------------------------------------------------------------------------------------------
# process-tree monitor
# ---------------------------------------------------------------------------------------------
class TreeMonitor:
    """Samples RSS and CPU times of a process and all its descendants in a thread.

    Roles: ``driver`` (the corpuskit process), ``worker`` (local pool processes, Ray worker
    processes), ``service`` (everything else: Ray's gcs_server, raylet, agents; multiprocessing's
    resource tracker).  CPU of a process is its last sampled user+system time, so up to one
    interval of a process's last moments can be missed; getrusage is the cross-check.
    """

    def __init__(self, pid: int, interval: float):
        import psutil

        self.psutil = psutil
        self.root = psutil.Process(pid)
        self.interval = interval
        self.procs: dict[tuple[int, float], dict] = {}
        self.peak_total = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def _role(self, p) -> str:
        if p.pid == self.root.pid:
            return "driver"
        try:
            cmd = " ".join(p.cmdline())
        except (self.psutil.Error, OSError):
            return "service"
        if cmd.startswith("ray::") or "default_worker.py" in cmd:
            return "worker"
        if "spawn_main" in cmd:  # multiprocessing's spawn start method (the local executor's pool)
            return "worker"
        return "service"

    def sample(self) -> None:
        ps = self.psutil
        try:
            procs = [self.root] + self.root.children(recursive=True)
        except ps.Error:
            return
        total = 0
        for p in procs:
            try:
                with p.oneshot():
                    key = (p.pid, p.create_time())
                    rss = p.memory_info().rss
                    ct = p.cpu_times()
                info = self.procs.get(key)
                if info is None:
                    info = self.procs[key] = {"pid": p.pid, "role": self._role(p), "rss": 0, "cpu": 0.0}
                elif info["role"] == "service" and p.pid != self.root.pid:
                    info["role"] = self._role(p)  # a Ray worker may not have set its title yet
            except (ps.Error, OSError):
                continue
            info["rss"] = max(info["rss"], rss)
            info["cpu"] = max(info["cpu"], ct.user + ct.system)
            total += rss
        self.peak_total = max(self.peak_total, total)
        self.samples += 1

    def result(self) -> dict:
        by = {"driver": [], "worker": [], "service": []}
        for info in self.procs.values():
            by[info["role"]].append(info)
        mb = 1 / 2**20
        return {
            "rss_driver_mb": max((i["rss"] for i in by["driver"]), default=0) * mb,
            "rss_worker_mb": max((i["rss"] for i in by["worker"]), default=0) * mb,
            "rss_tree_mb": self.peak_total * mb,
            "cpu_tree": sum(i["cpu"] for i in self.procs.values()),
            "cpu_driver": sum(i["cpu"] for i in by["driver"]),
            "cpu_workers": sum(i["cpu"] for i in by["worker"]),
            "cpu_services": sum(i["cpu"] for i in by["service"]),
            "n_workers": len(by["worker"]),
            "n_services": len(by["service"]),
            "samples": self.samples,
            "procs": list(self.procs),
        }


def _alive(pid: int, created: float) -> bool:
    import psutil

    try:
        p = psutil.Process(pid)
        return p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# ---------------------------------------------------------------------------------------------
# dispatch cost of empty tasks (child side)
# ---------------------------------------------------------------------------------------------
def _noop(spec: dict) -> dict:
    return {"docs_out": 0, "i": spec["i"]}


def noop_child(kind: str, workers: int, n: int) -> dict:
    from corpuskit.executors import make_executor

    t0 = time.perf_counter()
    ex = make_executor(kind, workers, progress=False)
    t1 = time.perf_counter()
    ex.map(_noop, [{"i": i} for i in range(workers * 2)], "warm-up")  # start the workers
    t2 = time.perf_counter()
    ex.map(_noop, [{"i": i} for i in range(n)], "no-op")
    t3 = time.perf_counter()
    ex.close()
    return {"init": t1 - t0, "warmup": t2 - t1, "per_task": (t3 - t2) / n, "close": time.perf_counter() - t3}


def run_noop(kind: str, workers: int, n: int, log: Path) -> dict:
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    with open(log, "ab") as fh:
        proc = subprocess.run([sys.executable, str(HERE), "--child-noop", kind, "--workers", str(workers),
                               "--noop-tasks", str(n)], stdout=subprocess.PIPE, stderr=fh, env=env, cwd=str(REPO))
    if proc.returncode != 0:
        raise SystemExit(f"no-op tasks on {kind} failed with exit code {proc.returncode}; see {log}")
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# one side
# ---------------------------------------------------------------------------------------------
def corpuskit_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "corpuskit"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "import sys; from corpuskit.cli import main; sys.exit(main())"]


def run_side(executor: str, inputs: list[str], output: Path, workers: int, interval: float, log: Path) -> dict:
    shutil.rmtree(output, ignore_errors=True)
    cmd = corpuskit_cmd() + ["run", str(PIPELINE)]
    for p in inputs:
        cmd += ["--input", p]
    cmd += ["--executor", executor, "--workers", str(workers), "--no-progress", "--output", str(output)]
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)  # no address: the executor starts its own local instance
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load0 = os.getloadavg()[0]
    with open(log, "ab") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n".encode())
        fh.flush()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=str(REPO))
        mon = TreeMonitor(proc.pid, interval)
        mon.start()
        rc = proc.wait()
        wall = time.perf_counter() - t0
        mon.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0:
        raise SystemExit(f"{executor} side failed with exit code {rc}; see {log}")
    res = mon.result()
    res["cpu_rusage"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # both are lower bounds (psutil misses up to one interval per process, rusage misses processes
    # nobody waited for, e.g. Ray workers reparented when raylet exits): take the larger
    res["cpu"] = max(res["cpu_tree"], res["cpu_rusage"])
    res["wall"] = wall
    res["load"] = (load0 + os.getloadavg()[0]) / 2
    res["summary"] = json.loads((output / "stats.json").read_text())
    res["markers"] = read_markers(output)
    res["output"] = output
    res["executor"] = executor
    return res


def read_markers(out: Path) -> dict[str, dict[str, dict]]:
    """{marker dir: {file stem: marker}}: seg0..segK (segment tasks) and one dir per global stage."""
    found: dict[str, dict[str, dict]] = {}
    for p in sorted((out / "_work" / "markers").glob("*/*.json")):
        found.setdefault(p.parent.name, {})[p.stem] = json.loads(p.read_bytes())
    return found


def data_digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((out / "data").glob("*.parquet"))}


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------
def find_inputs(data: Path, n: int, work: Path) -> tuple[list[str], str]:
    warcs = sorted(glob.glob(str(data / "web" / "*.warc.gz")))
    if warcs:
        return warcs[:n], f"{data / 'web'} (first {min(n, len(warcs))} of {len(warcs)} files)"
    demo = work / "demo"
    print(f"no {data / 'web'}/*.warc.gz: building the demo corpus in {demo}", flush=True)
    subprocess.run([sys.executable, "-m", "corpuskit.demo", "--output", str(demo), "--build-only"], check=True,
                   cwd=str(REPO), stdout=subprocess.DEVNULL)
    warcs = sorted(glob.glob(str(demo / "raw" / "web" / "*.warc.gz"))) or \
        sorted(glob.glob(str(demo / "raw" / "web" / "*.warc*")))
    if not warcs:
        raise SystemExit(f"the demo corpus has no WARC files under {demo / 'raw' / 'web'}")
    return warcs[:n], f"demo corpus {demo / 'raw' / 'web'} ({len(warcs[:n])} files)"


def raw_size(path: str) -> int:
    if not path.endswith(".gz"):
        return os.path.getsize(path)
    total = 0
    with gzip.open(path, "rb") as fh:
        while chunk := fh.read(1 << 24):
            total += len(chunk)
    return total


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
def check(sides: dict[str, dict], all_runs: list[dict]) -> bool:
    ok = True
    keys = ["records_in", "docs_out", "dropped", "duplicates", "quarantined", "bytes_in", "bytes_out"]
    for name, r in sides.items():
        s = r["summary"]
        print(f"check: {name:5s} summary balanced={s['balanced']}  records_in={s['records_in']:,} = "
              f"docs_out {s['docs_out']:,} + dropped {s['dropped']:,} + duplicates {s['duplicates']:,} + "
              f"quarantined {s['quarantined']:,}")
        ok &= bool(s["balanced"])
    a, b = sides["local"]["summary"], sides["ray"]["summary"]
    same = all(a[k] == b[k] for k in keys)
    drops_a = {st["name"]: st.get("drops") for st in a["steps"]}
    drops_b = {st["name"]: st.get("drops") for st in b["steps"]}
    same_drops = drops_a == drops_b
    print(f"check: summaries agree on {', '.join(keys)}: {same}; drop reasons per step agree: {same_drops}")
    ok &= same and same_drops
    ref = data_digests(all_runs[0]["output"])
    for r in all_runs:
        d = data_digests(r["output"])
        ident = d == ref and len(d) > 0
        ok &= ident
        print(f"check: {r['output'].name}/data/*.parquet ({len(d)} files) byte-identical to "
              f"{all_runs[0]['output'].name}/data: {ident}")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("CORPUSKIT_BENCH_DATA", "~/corpuskit-bench-data"))
    ap.add_argument("--warc-files", type=int, default=4, help="first N files of DATA/web/*.warc.gz")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2,
                    help="run both sides this many times (alternating which goes first); the run with the "
                         "lower wall time of each side is reported")
    ap.add_argument("--interval", type=float, default=0.2, help="psutil sampling interval, seconds")
    ap.add_argument("--corpus-tb", type=float, default=1.0, help="corpus size of the estimate, TB of WARC.gz")
    ap.add_argument("--file-mb", type=float, default=100.0,
                    help="WARC.gz MB per input file (= per streaming task) in the estimate")
    ap.add_argument("--clusters", default="8x32,64x32", help="comma list of NODESxCORES for the estimate")
    ap.add_argument("--noop-tasks", type=int, default=200,
                    help="empty tasks per executor for the dispatch-cost cross-check (0: skip)")
    ap.add_argument("--workdir", default=None, help="scratch directory (default: a new temp dir, removed)")
    ap.add_argument("--child-noop", metavar="EXECUTOR", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child_noop:
        sys.stdout.write(json.dumps(noop_child(args.child_noop, args.workers, args.noop_tasks)) + "\n")
        return

    try:
        import psutil  # noqa: F401
        import ray  # noqa: F401
    except ImportError as e:
        raise SystemExit(f"bench_ray needs ray and psutil ({e}): pip install 'corpuskit[ray]' psutil")
    from corpuskit.pipeline import Pipeline

    data = Path(os.path.expanduser(args.data))
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench-ray-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    keep = False
    try:
        inputs, where = find_inputs(data, args.warc_files, work)
        tasks = Pipeline.from_yaml(PIPELINE).reader.plan(inputs)
        gz = {t.index: sum(os.path.getsize(p) for p in t.paths) for t in tasks}
        raw = {t.index: sum(raw_size(p) for p in t.paths) for t in tasks}
        gz_mb, raw_mb = sum(gz.values()) / 1e6, sum(raw.values()) / 1e6
        print(f"input: {where}: {gz_mb:.1f} MB WARC.gz, {raw_mb:.1f} MB uncompressed, {len(tasks)} input tasks")
        print(f"pipeline: {PIPELINE.relative_to(REPO)}   workers: {args.workers}   cores: {os.cpu_count()}   "
              f"load average: {os.getloadavg()[0]:.1f}   scratch: {work}", flush=True)

        runs: list[dict] = []
        best: dict[str, dict] = {}
        for rep in range(args.repeat):
            order = ["local", "ray"] if rep % 2 == 0 else ["ray", "local"]
            for ex in order:
                r = run_side(ex, inputs, work / f"out-{ex}-{rep}", args.workers, args.interval, log)
                runs.append(r)
                print(f"  run {rep + 1}/{args.repeat} {ex:5s}: wall {r['wall']:.1f} s, run wall "
                      f"{r['summary']['wall_seconds']:.1f} s, CPU {r['cpu']:.1f} s, load {r['load']:.1f}", flush=True)
                if ex not in best or r["summary"]["wall_seconds"] < best[ex]["summary"]["wall_seconds"]:
                    best[ex] = r
        ok = check(best, runs)
        if not ok:
            keep = True
            print(f"CHECK FAILED: the two executors disagree (outputs kept in {work})")

        # ---- side by side -----------------------------------------------------------------
        w = args.workers
        rows = [
            ("wall s (command)", lambda r: r["wall"], "{:.1f}"),
            ("wall s (run, stats.json)", lambda r: r["summary"]["wall_seconds"], "{:.1f}"),
            ("CPU s (process tree)", lambda r: r["cpu"], "{:.1f}"),
            ("  of which workers", lambda r: r["cpu_workers"], "{:.1f}"),
            ("  of which driver", lambda r: r["cpu_driver"], "{:.1f}"),
            ("  of which services", lambda r: r["cpu_services"], "{:.1f}"),
            ("MB/s per core (CPU)", lambda r: raw_mb / r["cpu"], "{:.2f}"),
            ("MB/s per core (wall/workers)", lambda r: raw_mb / r["wall"] / w, "{:.2f}"),
            ("docs/s (wall)", lambda r: r["summary"]["records_in"] / r["wall"], "{:.1f}"),
            ("peak RSS MB driver", lambda r: r["rss_driver_mb"], "{:.0f}"),
            ("peak RSS MB largest worker", lambda r: r["rss_worker_mb"], "{:.0f}"),
            ("peak RSS MB whole tree", lambda r: r["rss_tree_mb"], "{:.0f}"),
            ("processes: workers/services", lambda r: f"{r['n_workers']}/{r['n_services']}", "{}"),
            ("load average during run", lambda r: r["load"], "{:.1f}"),
        ]
        loc, ray_ = best["local"], best["ray"]
        print(f"\n== pipelines/web.yaml, {len(tasks)} WARC files, {raw_mb:.1f} MB uncompressed "
              f"({gz_mb:.1f} MB gz), {loc['summary']['records_in']:,} records, --workers {w} ==")
        print(f"{'':30s} {'local':>10s} {'ray':>10s} {'ray/local':>10s}")
        for name, f, fmt in rows:
            a, b = f(loc), f(ray_)
            ratio = f"{b / a:9.2f}x" if isinstance(a, float) and a > 0 else ""
            print(f"{name:30s} {fmt.format(a):>10s} {fmt.format(b):>10s} {ratio:>10s}")
        print("(MB = uncompressed WARC bytes; CPU = max(psutil tree sum, getrusage children); RSS per process "
              "includes shared pages)")

        # ---- per task ---------------------------------------------------------------------
        ml, mr = loc["markers"], ray_["markers"]
        n_tasks = sum(len(v) for v in mr.values())
        n_local = sum(len(v) for v in ml.values())
        print("\n== per task (from _work/markers; seconds inside the task, after model set-up) ==")
        print(f"{'seg0 task':10s} {'file':22s} {'MB gz':>7s} {'MB raw':>7s} {'records':>8s} "
              f"{'local s':>8s} {'ray s':>8s} {'MB raw/s':>9s}")
        for t in tasks[:8]:
            name = f"part-{t.index:05d}"
            a, b = ml.get("seg0", {}).get(name, {}), mr.get("seg0", {}).get(name, {})
            sec = b.get("seconds") or 0
            print(f"{name:10s} {Path(t.paths[0]).name[:22]:22s} {gz[t.index] / 1e6:7.1f} {raw[t.index] / 1e6:7.1f} "
                  f"{b.get('records_in', 0):8,d} {a.get('seconds', 0):8.2f} {sec:8.2f} "
                  f"{raw[t.index] / 1e6 / sec if sec else 0:9.2f}")
        if len(tasks) > 8:
            print(f"... {len(tasks) - 8} more")
        print(f"\n{'task group':28s} {'tasks':>6s} {'local s':>9s} {'ray s':>9s}   top steps (ray, s)")
        for k in list(mr):
            a = sum(m.get("seconds", 0) for m in ml.get(k, {}).values())
            b = sum(m.get("seconds", 0) for m in mr[k].values())
            top = ""
            if k.startswith("seg"):
                agg: dict[str, float] = {}
                for m in mr[k].values():
                    for st in m.get("steps", []):
                        agg[st["name"]] = agg.get(st["name"], 0) + st["seconds"]
                top = ", ".join(f"{n} {s:.1f}" for n, s in sorted(agg.items(), key=lambda x: -x[1])[:3])
            label = f"{k} (segment)" if k.startswith("seg") else f"{k} (phases)"
            print(f"{label:28s} {len(mr[k]):6d} {a:9.2f} {b:9.2f}   {top}")
        task_sec = {side: sum(m.get("seconds", 0) for v in r["markers"].values() for m in v.values())
                    for side, r in best.items()}
        print(f"{'all tasks':28s} {n_tasks:6d} {task_sec['local']:9.2f} {task_sec['ray']:9.2f}")
        if n_local != n_tasks:
            print(f"warning: local ran {n_local} tasks, ray {n_tasks}")

        run_diff = ray_["summary"]["wall_seconds"] - loc["summary"]["wall_seconds"]
        start_diff = (ray_["wall"] - ray_["summary"]["wall_seconds"]) - (loc["wall"] - loc["summary"]["wall_seconds"])
        per_task = run_diff / n_tasks
        per_slot = per_task * w  # the same difference spread over the tasks of one worker slot
        cpu_per_task = (ray_["cpu"] - loc["cpu"]) / n_tasks
        print(f"\nRay overhead: run wall {run_diff:+.2f} s over {n_tasks} tasks = {per_task * 1000:+.0f} ms per task "
              f"(wall difference / tasks); x {w} workers = {per_slot * 1000:+.0f} ms of a core per task")
        print(f"Ray overhead in CPU: {ray_['cpu'] - loc['cpu']:+.1f} s over {n_tasks} tasks = "
              f"{cpu_per_task * 1000:+.0f} ms "
              "per task (mostly fixed, not per task: ray.init, Ray's daemons, extra worker processes)")
        if args.noop_tasks > 0:
            nl = run_noop("local", w, args.noop_tasks, log)
            nr = run_noop("ray", w, args.noop_tasks, log)
            print(f"cross-check, {args.noop_tasks} empty tasks on warm workers: local {nl['per_task'] * 1000:.1f} ms, "
                  f"ray {nr['per_task'] * 1000:.1f} ms per task (wall, {w} workers); start: local "
                  f"{nl['init'] + nl['warmup']:.1f} s, ray {nr['init'] + nr['warmup']:.1f} s "
                  f"(ray.init {nr['init']:.1f} s); shutdown: local {nl['close']:.1f} s, ray {nr['close']:.1f} s")
        print(f"Ray start-up and shutdown outside the run (ray.init, interpreter exit): {start_diff:+.2f} s, "
              "once per run")
        if args.repeat > 1:
            spread = {ex: [r["summary"]["wall_seconds"] for r in runs if r["executor"] == ex] for ex in best}
            print("noise: run walls " + ", ".join(f"{ex} {min(v):.1f}..{max(v):.1f} s" for ex, v in spread.items())
                  + f" (the wall difference above is {abs(run_diff):.1f} s)")
        print(f"in-task seconds, ray vs local: {task_sec['ray']:.1f} vs {task_sec['local']:.1f} "
              f"({task_sec['ray'] / max(task_sec['local'], 1e-9):.2f}x); tasks' seconds / worker CPU seconds: "
              f"local {task_sec['local'] / max(loc['cpu_workers'], 1e-9):.2f}, "
              f"ray {task_sec['ray'] / max(ray_['cpu_workers'], 1e-9):.2f} (>1: tasks waited for a CPU)")

        # ---- estimate ---------------------------------------------------------------------
        seg0_sec = sum(m.get("seconds", 0) for m in mr.get("seg0", {}).values())
        share = seg0_sec / max(task_sec["ray"], 1e-9)
        # two bounds on the per-core rate: the streaming tasks' own seconds (wall inside the task, after
        # model set-up: optimistic, though a loaded machine makes tasks wait for a CPU), and the whole
        # run's MB per CPU second (start-up, Ray's daemons, model loads, all segments and phases: pessimistic)
        rates = {"seg0 in-task": (gz_mb / seg0_sec, raw_mb / seg0_sec),
                 "whole run/CPU": (gz_mb / ray_["cpu"], raw_mb / ray_["cpu"])}
        corpus = args.corpus_tb * 1e6
        n_stream = math.ceil(corpus / args.file_mb)
        o = max(per_slot, cpu_per_task, 0.0)  # the larger of the two measures: conservative
        print(f"\n== estimate: streaming pass over {args.corpus_tb:g} TB of WARC.gz "
              f"(~{args.corpus_tb * raw_mb / gz_mb:.1f} TB uncompressed at this data's {raw_mb / gz_mb:.1f}x), "
              f"files of {args.file_mb:g} MB = {n_stream:,} tasks ==")
        print(f"streaming pass = seg0 (read, extract, langid, rules, bad words, line-dedup scan): {share:.0%} of "
              f"all task seconds of the run")
        for name, (rg, rr) in rates.items():
            print(f"per-core rate, {name:13s}: {rg:.2f} MB/s WARC.gz = {rr:.2f} MB/s uncompressed")
        print("assumption: perfect task parallelism (every core busy, no stragglers or tail, no I/O limit), each "
              f"task costing its size / the per-core rate plus {o * 1000:.0f} ms of a core of Ray overhead "
              "(the larger of the wall difference x workers / tasks and the CPU difference / tasks, 0 if both are "
              "negative); the in-task rate leaves out later segments, dedup phases, start-up and the driver, the "
              "whole-run rate holds them at this run's small scale")
        for spec in args.clusters.split(","):
            nodes, cores = (int(x) for x in spec.lower().split("x"))
            c = nodes * cores
            ts = [(corpus / rg + n_stream * o) / c for rg, _ in rates.values()]
            print(f"  {nodes:3d} nodes x {cores:2d} cores = {c:5d} cores: {ts[0]:6.0f} s ({ts[0] / 60:5.1f} min) "
                  f"at the in-task rate, {ts[1]:6.0f} s ({ts[1] / 60:5.1f} min) at the whole-run rate; "
                  f"{n_stream / c:.1f} tasks per core, of which Ray overhead {n_stream * o / c:.1f} s")

        run_ratio = ray_["summary"]["wall_seconds"] / loc["summary"]["wall_seconds"]
        print(f"\nRESULT ray/local: wall {ray_['wall'] / loc['wall']:.2f}x (run {run_ratio:.2f}x), "
              f"docs/s {loc['wall'] / ray_['wall']:.2f}x, CPU {ray_['cpu'] / loc['cpu']:.2f}x, "
              f"MB/s per core (CPU) {loc['cpu'] / ray_['cpu']:.2f}x, "
              f"peak RSS tree {ray_['rss_tree_mb'] / loc['rss_tree_mb']:.2f}x, "
              f"overhead {per_task * 1000:+.0f} ms/task; outputs identical: {ok}")
        for r in runs:
            left = [pid for pid, created in r["procs"] if _alive(pid, created)]
            if left:
                print(f"warning: processes of the {r['executor']} run still alive at the end: {left}")
        if not ok:
            sys.exit(1)
    except BaseException:
        keep = True
        print(f"(scratch directory and log kept: {work})", file=sys.stderr)
        raise
    finally:
        if not args.workdir and not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
