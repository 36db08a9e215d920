"""Pipelines: a reader, a list of steps, a writer.  Loaded from YAML (validated) or built in Python.

YAML shape::

    name: web
    reader: {type: warc, batch_size: 1024}
    steps:
      - langid: {threshold: 0.65}
      - filter: {keep: "lang == 'en'"}
      - preset: quality/english        # splices configs/quality/english.yaml's steps
      - minhash_dedup                  # a step with its defaults
    writer: {format: parquet, excluded: sample}

A pipeline always round-trips through ``to_config()``, which is what executors ship to workers.
"""

from __future__ import annotations

import importlib
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError
from .readers.base import Reader
from .registry import reader_class, step_class
from .steps.base import GlobalStage, Step

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: where a (non-editable) wheel installs ``configs/`` and ``pipelines/``
SHARE_ROOT = Path(sysconfig.get_path("data")) / "share" / "corpuskit"


def data_root() -> Path:
    """The checkout holding ``configs/`` and ``pipelines/``, else the installed copy of both."""
    return PROJECT_ROOT if (PROJECT_ROOT / "pipelines").is_dir() else SHARE_ROOT


class WriterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: document shard format: Parquet (zstd, signals as columns) or Dolma-shaped JSONL.gz
    format: Literal["parquet", "jsonl"] = "parquet"
    #: dropped documents: every one, a sample per (step, reason) per task, or none
    excluded: Literal["all", "sample", "none"] = "sample"
    excluded_per_reason: int = Field(20, ge=1)
    #: keep the intermediate files of global stages after a successful run
    keep_intermediate: bool = False


class PipelineFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "pipeline"
    description: str = ""
    reader: dict[str, Any] = Field(default_factory=lambda: {"type": "jsonl"})
    steps: list[Any] = Field(default_factory=list)
    writer: WriterConfig = Field(default_factory=WriterConfig)
    executor: Literal["local", "ray"] = "local"
    workers: int | None = Field(None, ge=1)
    ray_address: str | None = None
    #: Python modules to import first, so their ``@register_step`` steps can be used (user plugins)
    imports: list[str] = Field(default_factory=list)


@dataclass
class Segment:
    """Steps run in one streaming pass: optionally the apply of the previous global stage first,
    then streaming steps, then optionally the scan of a global stage whose decision comes later."""

    index: int
    apply_stage: int | None  # index into Pipeline.steps
    steps: list[int]
    scan_stage: int | None


class Pipeline:
    def __init__(self, reader: Reader, steps: list[Step], writer: WriterConfig | None = None,
                 name: str = "pipeline", executor: str = "local", workers: int | None = None,
                 ray_address: str | None = None, description: str = "", imports: list[str] | None = None):
        self.imports = list(imports or [])
        _import_plugins(self.imports)
        self.reader = reader
        self.steps = steps
        self.writer = writer or WriterConfig()
        self.name = name
        self.description = description
        self.executor = executor
        self.workers = workers
        self.ray_address = ray_address
        self.labels = _labels(steps)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: str | os.PathLike, reader_overrides: dict | None = None) -> "Pipeline":
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"pipeline file {str(path)!r} does not exist")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a pipeline file must be a mapping with reader/steps/writer keys")
        return cls.from_config(data, origin=str(path), base_dir=path.parent, reader_overrides=reader_overrides)

    @classmethod
    def from_config(cls, data: dict[str, Any], origin: str = "<config>", base_dir: Path | None = None,
                    reader_overrides: dict | None = None) -> "Pipeline":
        try:
            pf = PipelineFile.model_validate(data)
        except ValidationError as e:
            raise ConfigError(format_validation(e, origin, "", PipelineFile)) from None
        _import_plugins(pf.imports, origin)
        reader_cfg = dict(pf.reader)
        overrides = {k: v for k, v in (reader_overrides or {}).items() if v is not None}
        rtype = overrides.pop("type", None) or reader_cfg.get("type", "jsonl")
        try:
            rcls = reader_class(rtype)
        except ConfigError as e:
            raise ConfigError(f"{origin}: reader.type: {e}") from None
        if rtype != reader_cfg.get("type", "jsonl"):
            # another reader than the file's (e.g. JSONL input for a WARC pipeline): keep the file's
            # parameters that reader has too (source, batch sizes), drop the others
            reader_cfg = {k: v for k, v in reader_cfg.items() if k in rcls.Params.model_fields}
        reader_cfg.pop("type", None)
        reader_cfg.update(overrides)
        try:
            reader = rcls(rcls.Params(**reader_cfg))
        except ValidationError as e:
            raise ConfigError(format_validation(e, origin, "reader.", rcls.Params)) from None
        entries = expand_steps(pf.steps, origin, base_dir or Path.cwd())
        steps = [build_step(name, params, where) for name, params, where in entries]
        return cls(reader, steps, pf.writer, pf.name, pf.executor, pf.workers, pf.ray_address, pf.description,
                   pf.imports)

    def to_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "imports": self.imports,
            "reader": self.reader.config(),
            "steps": [s.config() for s in self.steps],
            "writer": self.writer.model_dump(mode="json"),
        }

    # -- structure ---------------------------------------------------------------------
    def segments(self) -> list[Segment]:
        segs: list[Segment] = []
        apply_stage: int | None = None
        current: list[int] = []
        for i, step in enumerate(self.steps):
            if isinstance(step, GlobalStage):
                segs.append(Segment(len(segs), apply_stage, current, i))
                apply_stage, current = i, []
            else:
                current.append(i)
        segs.append(Segment(len(segs), apply_stage, current, None))
        return segs


def _import_plugins(modules: list[str], origin: str = "<pipeline>") -> None:
    for mod in modules:
        try:
            importlib.import_module(mod)
        except ImportError as e:
            raise ConfigError(f"{origin}: imports: cannot import {mod!r}: {e}") from None


def _labels(steps: list[Step]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for s in steps:
        k = seen.get(s.name, 0) + 1
        seen[s.name] = k
        out.append(s.name if k == 1 else f"{s.name}#{k}")
    return out


def config_dirs(base_dir: Path) -> list[Path]:
    dirs = []
    if os.environ.get("CORPUSKIT_CONFIGS"):
        dirs.append(Path(os.environ["CORPUSKIT_CONFIGS"]))
    dirs += [base_dir / "configs", base_dir.parent / "configs", Path.cwd() / "configs", data_root() / "configs"]
    return dirs


def find_preset(name: str, base_dir: Path) -> Path:
    for d in dict.fromkeys(config_dirs(base_dir)):
        for cand in (d / name, d / f"{name}.yaml"):
            if cand.is_file():
                return cand
    dirs = ", ".join(str(d) for d in dict.fromkeys(config_dirs(base_dir)))
    raise ConfigError(f"preset {name!r} not found in {dirs}")


def expand_steps(raw: list[Any], origin: str, base_dir: Path, depth: int = 0) -> list[tuple[str, dict, tuple[str, str]]]:
    """Normalise step entries to ``(name, params, where)`` and splice presets."""
    if depth > 8:
        raise ConfigError(f"{origin}: presets nest too deeply (a preset includes itself?)")
    out: list[tuple[str, dict, tuple[str, str]]] = []
    for i, entry in enumerate(raw):
        where = f"{origin}: steps[{i}]"
        loc = (origin, f"steps[{i}]")
        if isinstance(entry, str):
            name, params = entry, {}
        elif isinstance(entry, dict) and len(entry) == 1:
            name, params = next(iter(entry.items()))
            params = params or {}
            if name != "preset" and not isinstance(params, dict):
                raise ConfigError(f"{where}.{name}: parameters must be a mapping, got {params!r}")
        else:
            raise ConfigError(f"{where}: a step is a name or a one-key mapping {{name: {{params}}}}, got {entry!r}")
        if name == "preset":
            preset_name = params if isinstance(params, str) else params.get("name") if isinstance(params, dict) else None
            if not preset_name:
                raise ConfigError(f"{where}.preset: give the preset's name, e.g. 'preset: quality/english'")
            try:
                path = find_preset(str(preset_name), base_dir)
            except ConfigError as e:
                raise ConfigError(f"{where}.preset: {e}") from None
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
                raise ConfigError(f"{path}: a preset file needs a 'steps:' list")
            out.extend(expand_steps(data["steps"], str(path), path.parent, depth + 1))
            continue
        out.append((str(name), dict(params), loc))
    return out


def build_step(name: str, params: dict, loc: tuple[str, str]) -> Step:
    origin, key = loc
    try:
        cls = step_class(name)
    except ConfigError as e:
        raise ConfigError(f"{origin}: {key}: {e}") from None
    try:
        return cls(cls.Params(**params))
    except ValidationError as e:
        raise ConfigError(format_validation(e, origin, f"{key}.{name}.", cls.Params)) from None


def format_validation(e: ValidationError, origin: str, prefix: str, model: type[BaseModel]) -> str:
    lines = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"])
        if err["type"] == "extra_forbidden":
            valid = ", ".join(sorted(model.model_fields)) or "(none)"
            lines.append(f"{origin}: {prefix}{loc}: unknown parameter; valid parameters: {valid}")
        else:
            lines.append(f"{origin}: {prefix}{loc}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)
