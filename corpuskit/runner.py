"""Run a pipeline: plan tasks, run segments and stage phases through an executor, resume, summarise.

Layout of an output directory::

    data/part-00000.parquet     kept documents, one shard per input task
    excluded/part-00000-s0.parquet   dropped documents with step and reason (segment s0)
    quarantine/part-00000.jsonl bad input records with file, line/record and error
    stats.json                  the run summary (written last: its presence means complete)
    _work/                      task markers, intermediate files of global stages

Every task writes its outputs under temporary names, renames them, then writes its marker; a
rerun skips tasks with markers, so a killed run resumes and ends byte-identical to one that was
never interrupted.  Outputs depend only on (input file, config), never on the worker count.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import traceback
from pathlib import Path
from typing import Any, Iterator

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import __version__, progress
from .document import text_bytes
from .errors import ConfigError, CorpusError
from .executors import make_executor
from .pipeline import Pipeline, Segment
from .readers.base import ReadContext, ReaderTask
from .stats import StepStats, TaskStats
from .steps.base import GlobalStage, StageContext, Step
from .writers.atomic import remove_stale_tmp, write_bytes_atomic
from .writers.shards import ParquetShardWriter, shard_writer
from .writers.sidecars import ExclusionWriter, count_reasons, write_quarantine


class TaskError(CorpusError):
    """A task failed; the message names the task's input and the step."""


# ---------------------------------------------------------------------------------------------
# worker side
# ---------------------------------------------------------------------------------------------
_pipeline_cache: dict[str, Pipeline] = {}


def _pipeline(config: dict) -> Pipeline:
    key = orjson.dumps(config, option=orjson.OPT_SORT_KEYS).decode()
    pipe = _pipeline_cache.get(key)
    if pipe is None:
        pipe = Pipeline.from_config(config, origin="<run config>")
        _pipeline_cache.clear()
        _pipeline_cache[key] = pipe
    return pipe


def _marker(out: Path, *parts: str) -> Path:
    return out.joinpath("_work", "markers", *parts)


def _stage_dir(out: Path, label: str) -> Path:
    return out / "_work" / "stages" / label.replace("#", "_")


def _seg_dir(out: Path, k: int) -> Path:
    return out / "_work" / f"seg{k}"


def part_name(i: int) -> str:
    return f"part-{i:05d}"


def run_segment_task(spec: dict) -> dict:
    """Stream one data task through one segment; write its shard, exclusions, quarantine, marker."""
    out = Path(spec["output"])
    k, i, n_tasks = spec["segment"], spec["task"], spec["n_tasks"]
    pipe = _pipeline(spec["config"])
    seg = pipe.segments()[k]
    last = k == len(pipe.segments()) - 1
    stats = TaskStats()
    task_label = spec["label"]

    order: list[int] = ([seg.apply_stage] if seg.apply_stage is not None else []) + seg.steps
    steps: list[Step] = [pipe.steps[j] for j in order]
    step_stats = [StepStats(pipe.labels[j], pipe.steps[j].kind) for j in order]
    for st, step in zip(step_stats, steps):
        step.stats = st
        step.ensure_setup()
    if seg.apply_stage is not None:
        stage = pipe.steps[seg.apply_stage]
        assert isinstance(stage, GlobalStage)
        stage.begin_apply(StageContext(_stage_dir(out, pipe.labels[seg.apply_stage]), n_tasks, i))
    scan: GlobalStage | None = None
    if seg.scan_stage is not None:
        scan = pipe.steps[seg.scan_stage]  # type: ignore[assignment]
        scan.stats = StepStats(pipe.labels[seg.scan_stage], "global")
        scan.ensure_setup()
        scan.begin_scan(StageContext(_stage_dir(out, pipe.labels[seg.scan_stage]), n_tasks, i))

    ctx = ReadContext(strict=spec["strict"])
    read_stats = StepStats("read", "read")
    t_start = time.perf_counter()  # after model set-up: the task's time is reading and steps
    if k == 0:
        source: Iterator[pa.RecordBatch] = pipe.reader.read(ReaderTask.from_dict(spec["reader_task"]), ctx)
    else:
        source = _read_intermediate(_seg_dir(out, k - 1) / f"{part_name(i)}.parquet", pipe.reader.params.batch_size)

    if last:
        writer = shard_writer(pipe.writer.format, out / "data", part_name(i))
    else:
        writer = ParquetShardWriter(_seg_dir(out, k) / f"{part_name(i)}.parquet", compression_level=1)
    excl = ExclusionWriter(out / "excluded" / f"{part_name(i)}-s{k}.parquet", pipe.writer.excluded,
                           pipe.writer.excluded_per_reason)
    it = iter(source)
    try:
        while True:
            t0 = time.perf_counter()
            batch = next(it, None)
            read_stats.seconds += time.perf_counter() - t0
            if batch is None:
                break
            nb = text_bytes(batch)
            read_stats.docs_out += batch.num_rows
            read_stats.bytes_out += nb
            progress.add(batch.num_rows, nb)
            for step, st in zip(steps, step_stats):
                st.docs_in += batch.num_rows
                st.bytes_in += nb
                t0 = time.perf_counter()
                try:
                    result = step.process(batch)
                except CorpusError:
                    raise
                except Exception as e:
                    raise TaskError(f"step {st.name!r} failed on task {i} ({task_label}): "
                                    f"{type(e).__name__}: {e}\n{traceback.format_exc()}") from None
                batch, reasons = result
                if reasons is not None and reasons.null_count < len(reasons):
                    keep = pc.is_null(reasons)
                    dropped = pc.invert(keep)
                    dropped_reasons = reasons.filter(dropped)
                    for r, c in count_reasons(dropped_reasons).items():
                        st.drop(r, c)
                    excl.write(st.name, batch.filter(dropped), dropped_reasons)
                    batch = batch.filter(keep)
                st.seconds += time.perf_counter() - t0
                nb = text_bytes(batch)
                st.docs_out += batch.num_rows
                st.bytes_out += nb
                if batch.num_rows == 0:
                    break
            if batch.num_rows == 0:
                continue
            writer.write(batch)
            stats.bytes_out += nb
            if scan is not None:
                t0 = time.perf_counter()
                scan.scan(batch)
                scan.stats.seconds += time.perf_counter() - t0  # type: ignore[union-attr]
        if scan is not None:
            t0 = time.perf_counter()
            scan.end_scan()
            scan.stats.seconds += time.perf_counter() - t0  # type: ignore[union-attr]
        writer.close()
        excl.close()
    except BaseException:
        writer.abort()
        excl.abort()
        raise

    if k == 0:
        read_stats.docs_in = ctx.records
        read_stats.bytes_in = read_stats.bytes_out
        read_stats.drops = dict(ctx.skipped)
        stats.records_in = ctx.records
        stats.quarantined = ctx.n_quarantined
        stats.warnings = ctx.warnings
        stats.steps.append(read_stats)
        if ctx.quarantined:
            write_quarantine(out / "quarantine" / f"{part_name(i)}.jsonl", ctx.quarantined)
    stats.steps.extend(step_stats)
    if scan is not None:  # the scan's time, under the stage's name (its documents count in the apply)
        stats.steps.append(scan.stats)  # type: ignore[arg-type]
    stats.docs_out = writer.rows
    stats.seconds = time.perf_counter() - t_start
    result = stats.to_dict()
    write_bytes_atomic(_marker(out, f"seg{k}", f"{part_name(i)}.json"), orjson.dumps(result))
    return result


def _read_intermediate(path: Path, batch_size: int) -> Iterator[pa.RecordBatch]:
    pf = pq.ParquetFile(path)
    yield from pf.iter_batches(batch_size=batch_size)


def run_phase_task(spec: dict) -> dict:
    out = Path(spec["output"])
    pipe = _pipeline(spec["config"])
    j = spec["stage"]
    stage = pipe.steps[j]
    assert isinstance(stage, GlobalStage)
    stage.stats = StepStats(pipe.labels[j], "global")
    stage.ensure_setup()
    ctx = StageContext(_stage_dir(out, pipe.labels[j]), spec["n_tasks"], spec["index"])
    t0 = time.perf_counter()
    try:
        result = stage.run_phase(spec["phase"], spec["index"], ctx) or {}
    except CorpusError:
        raise
    except Exception as e:
        raise TaskError(f"stage {pipe.labels[j]!r} failed in phase {spec['phase']!r} task {spec['index']}: "
                        f"{type(e).__name__}: {e}\n{traceback.format_exc()}") from None
    result = {**result, "seconds": round(time.perf_counter() - t0, 4)}
    write_bytes_atomic(_marker(out, pipe.labels[j].replace("#", "_"), f"{spec['phase']}-{spec['index']:05d}.json"),
                       orjson.dumps(result))
    return result


# ---------------------------------------------------------------------------------------------
# driver side
# ---------------------------------------------------------------------------------------------
def fingerprint(config: dict, tasks: list[ReaderTask]) -> str:
    h = hashlib.sha256()
    h.update(orjson.dumps(config, option=orjson.OPT_SORT_KEYS))
    for t in tasks:
        h.update(orjson.dumps(t.to_dict()))
    return h.hexdigest()[:16]


def run(pipeline: Pipeline, inputs: list[str], output: str | os.PathLike, workers: int | None = None,
        strict: bool = False, executor: str | None = None, ray_address: str | None = None,
        show_progress: bool = True, overwrite: bool = False) -> dict[str, Any]:
    """Run ``pipeline`` over ``inputs`` into ``output``; returns the run summary (also in stats.json)."""
    out = Path(output)
    config = pipeline.to_config()
    tasks = pipeline.reader.plan(inputs)
    fp = fingerprint(config, tasks)
    run_file = out / "_work" / "run.json"
    if out.exists() and overwrite:
        shutil.rmtree(out)
    if run_file.exists():
        prev = json.loads(run_file.read_text())
        if prev.get("fingerprint") != fp:
            raise ConfigError(f"{out} holds a run of another pipeline config or input set; "
                              f"use a new output directory or --overwrite")
        if (out / "stats.json").exists() and prev.get("complete"):
            summary = json.loads((out / "stats.json").read_text())
            summary["resumed"] = "already complete"
            return summary
    elif out.exists() and any(p for p in out.iterdir()):
        raise ConfigError(f"{out} is not empty and holds no corpuskit run; use a new output directory or --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_tmp(out)
    write_bytes_atomic(run_file, orjson.dumps({"fingerprint": fp, "complete": False, "config": config,
                                               "inputs": inputs}, option=orjson.OPT_INDENT_2))

    workers = workers or pipeline.workers or os.cpu_count() or 1
    kind = executor or pipeline.executor
    ex = make_executor(kind, workers, progress=show_progress, ray_address=ray_address or pipeline.ray_address)
    t0 = time.perf_counter()
    segments = pipeline.segments()
    n = len(tasks)
    seg_results: list[list[dict]] = []
    stage_results: dict[str, dict[str, Any]] = {}
    try:
        for seg in segments:
            seg_results.append(_run_segment(ex, pipeline, config, seg, tasks, out, strict))
            if seg.scan_stage is not None:
                stage_results[pipeline.labels[seg.scan_stage]] = _run_phases(ex, pipeline, config, seg.scan_stage,
                                                                            n, out)
    finally:
        ex.close()
    wall = time.perf_counter() - t0
    summary = summarise(pipeline, seg_results, stage_results, tasks, wall, workers, kind)
    write_bytes_atomic(out / "stats.json", orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    if not pipeline.writer.keep_intermediate:
        for k in range(len(segments) - 1):
            shutil.rmtree(_seg_dir(out, k), ignore_errors=True)
        shutil.rmtree(out / "_work" / "stages", ignore_errors=True)
    remove_stale_tmp(out)  # left by workers that died and were retried
    write_bytes_atomic(run_file, orjson.dumps({"fingerprint": fp, "complete": True, "config": config,
                                               "inputs": inputs}, option=orjson.OPT_INDENT_2))
    return summary


def _run_segment(ex, pipeline: Pipeline, config: dict, seg: Segment, tasks: list[ReaderTask], out: Path,
                 strict: bool) -> list[dict]:
    results: dict[int, dict] = {}
    todo = []
    for t in tasks:
        m = _marker(out, f"seg{seg.index}", f"{part_name(t.index)}.json")
        if m.exists():
            results[t.index] = orjson.loads(m.read_bytes())
        else:
            todo.append({"output": str(out), "segment": seg.index, "task": t.index, "n_tasks": len(tasks),
                         "config": config, "reader_task": t.to_dict(), "strict": strict, "label": t.label})
    # largest inputs first, so the last task to finish is a small one
    todo.sort(key=lambda s: -_size(s["reader_task"]["paths"]))
    desc = f"segment {seg.index + 1}/{len(pipeline.segments())}"
    for spec, res in zip(todo, ex.map(run_segment_task, todo, desc)):
        results[spec["task"]] = res
    return [results[t.index] for t in tasks]


def _size(paths: list[str]) -> int:
    total = 0
    for p in paths:
        try:
            total += os.path.getsize(p)
        except OSError:
            pass
    return total


def _run_phases(ex, pipeline: Pipeline, config: dict, j: int, n_tasks: int, out: Path) -> dict[str, Any]:
    stage = pipeline.steps[j]
    assert isinstance(stage, GlobalStage)
    label = pipeline.labels[j]
    ctx = StageContext(_stage_dir(out, label), n_tasks)
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    gen = stage.phases(ctx)
    record: dict[str, Any] = {}
    try:
        phase = next(gen)
        while True:
            results: dict[int, dict] = {}
            todo = []
            for idx in range(phase.tasks):
                m = _marker(out, label.replace("#", "_"), f"{phase.name}-{idx:05d}.json")
                if m.exists():
                    results[idx] = orjson.loads(m.read_bytes())
                else:
                    todo.append({"output": str(out), "config": config, "stage": j, "phase": phase.name,
                                 "index": idx, "n_tasks": n_tasks})
            for spec, res in zip(todo, ex.map(run_phase_task, todo, f"{label}: {phase.name}")):
                results[spec["index"]] = res
            ordered = [results[x] for x in range(phase.tasks)]
            record[phase.name] = _sum_numbers(ordered)
            phase = gen.send(ordered)
    except StopIteration:
        pass
    return record


def _sum_numbers(results: list[dict]) -> dict[str, Any]:
    agg: dict[str, Any] = {"tasks": len(results)}
    for r in results:
        for key, v in r.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                agg[key] = agg.get(key, 0) + v
    return agg


def is_duplicate(reason: str) -> bool:
    """A drop reason that means "another copy is kept" (exact and near dedup)."""
    return reason == "duplicate" or reason.endswith(":duplicate")


def summarise(pipeline: Pipeline, seg_results: list[list[dict]], stage_results: dict[str, Any],
              tasks: list[ReaderTask], wall: float, workers: int, executor: str) -> dict[str, Any]:
    first = TaskStats()
    for r in seg_results[0]:
        first.merge(TaskStats.from_dict(r))
    steps: dict[str, StepStats] = {}
    order: list[str] = []
    for seg in seg_results:
        for r in seg:
            for s in TaskStats.from_dict(r).steps:
                if s.name not in steps:
                    steps[s.name] = StepStats(s.name, s.kind)
                    order.append(s.name)
                steps[s.name].merge(s)
    docs_out = sum(r["docs_out"] for r in seg_results[-1])
    duplicates = sum(n for s in steps.values() if s.kind == "global" for r, n in s.drops.items() if is_duplicate(r))
    dropped = sum(sum(s.drops.values()) for s in steps.values()) - duplicates
    bytes_in = steps["read"].bytes_out if "read" in steps else 0
    accounted = docs_out + dropped + duplicates + first.quarantined
    summary = {
        "corpuskit_version": __version__,
        "pipeline": pipeline.name,
        "executor": executor,
        "workers": workers,
        "tasks": len(tasks),
        "records_in": first.records_in,
        "docs_out": docs_out,
        "dropped": dropped,
        "duplicates": duplicates,
        "quarantined": first.quarantined,
        "balanced": accounted == first.records_in,
        "bytes_in": bytes_in,
        "bytes_out": sum(r["bytes_out"] for r in seg_results[-1]),
        "wall_seconds": round(wall, 3),
        "mb_per_s": round(bytes_in / 1e6 / wall, 3) if wall > 0 else None,
        "docs_per_s": round(first.records_in / wall, 1) if wall > 0 else None,
        "steps": [steps[name].to_dict() for name in order],
        "stages": stage_results,
        "warnings": first.warnings,
    }
    return summary
