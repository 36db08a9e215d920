"""Resolve the build's input: files, the reader for each, and where they came from.

A corpuskit run directory (it has ``stats.json`` and ``data/``) is read from ``data/`` only, so
excluded and quarantined documents never leak into the shards, and the run is recorded in the
manifest's provenance.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from ..readers.base import ReaderTask, expand_inputs, strip_compression
from ..registry import reader_class
from .config import ReaderConfig

AUTO_TYPES = {".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
              ".arrow": "arrow", ".feather": "arrow", ".ipc": "arrow"}


@dataclass
class InputTask:
    index: int
    reader: dict[str, Any]  # {"type": ..., params...}
    task: ReaderTask

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "reader": self.reader, "task": self.task.to_dict()}


@dataclass
class InputSet:
    tasks: list[InputTask]
    roots: list[str]
    runs: list[dict[str, Any]] = field(default_factory=list)


def _run_record(run_dir: Path) -> dict[str, Any]:
    stats = run_dir / "stats.json"
    raw = stats.read_bytes()
    summary = json.loads(raw)
    rec: dict[str, Any] = {
        "path": str(run_dir.resolve()),
        "stats_sha256": hashlib.sha256(raw).hexdigest(),
        "pipeline": summary.get("pipeline"),
        "corpuskit_version": summary.get("corpuskit_version"),
        "records_in": summary.get("records_in"),
        "docs_out": summary.get("docs_out"),
    }
    run_file = run_dir / "_work" / "run.json"
    if run_file.is_file():
        try:
            rec["fingerprint"] = json.loads(run_file.read_text()).get("fingerprint")
        except ValueError:
            pass
    return rec


def _reader_params(rtype: str, params: dict[str, Any], batch_docs: int) -> dict[str, Any]:
    cls = reader_class(rtype)
    merged = {"batch_size": batch_docs, **params}
    try:
        cls.Params(**merged)
    except ValidationError as e:
        msgs = "; ".join(f"{'.'.join(map(str, er['loc']))}: {er['msg']}" for er in e.errors())
        raise ConfigError(f"shards config: reader ({rtype}): {msgs}") from None
    return {"type": rtype, **merged}


def resolve_inputs(inputs: list[str], reader: ReaderConfig, batch_docs: int) -> InputSet:
    specs: list[str] = []
    runs: list[dict[str, Any]] = []
    for spec in inputs:
        p = Path(spec)
        if p.is_dir() and (p / "stats.json").is_file() and (p / "data").is_dir():
            runs.append(_run_record(p))
            specs.append(str(p / "data"))
        else:
            specs.append(spec)
    params = {k: v for k, v in reader.model_dump().items() if k != "type"}
    tasks: list[InputTask] = []
    if reader.type == "auto":
        files = expand_inputs(specs, tuple(AUTO_TYPES))
        readers: dict[str, dict[str, Any]] = {}
        for path, root in files:
            ext = Path(strip_compression(path)).suffix
            rtype = AUTO_TYPES.get(ext)
            if rtype is None:
                continue
            if rtype not in readers:
                readers[rtype] = _reader_params(rtype, params, batch_docs)
            tasks.append(InputTask(len(tasks), readers[rtype], ReaderTask(len(tasks), [path], root)))
        roots = sorted({root for _, root in files})
    else:
        rdr = _reader_params(reader.type, params, batch_docs)
        cls = reader_class(reader.type)
        planned = cls(cls.Params(**{k: v for k, v in rdr.items() if k != "type"})).plan(specs)
        tasks = [InputTask(i, rdr, ReaderTask(i, t.paths, t.root)) for i, t in enumerate(planned)]
        roots = sorted({t.task.root for t in tasks})
    if not tasks:
        raise ConfigError(f"no input documents found under {', '.join(inputs)} "
                          f"(looked for {', '.join(sorted(set(AUTO_TYPES)))} files)")
    return InputSet(tasks, roots, runs)
