"""The step kinds every stage is built from.

- ``Annotator``: adds typed signal columns (scores are columns; deciding is a filter's job).
- ``Filter``: returns, per document, the name of the first rule that drops it (null keeps it).
- ``Transform``: rewrites text (and may drop documents it empties, with a reason).
- ``GlobalStage``: needs a full pass over the data: ``scan`` every batch, then run explicit
  ``phases`` over partitioned intermediate files, then ``process`` batches again to apply the
  decision.  Phases are pure functions of files, so any executor (local, Ray) can run them.

Every kind reports through one ``StepStats`` (documents and bytes in/out, drops per reason,
counters, time), filled in by the runner, not by the step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generator, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict

from ..document import with_column
from ..stats import StepStats


class StepParams(BaseModel):
    """Base of every step's parameters: unknown keys are errors, values are validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StepOutput(NamedTuple):
    batch: pa.RecordBatch
    #: per-row drop reason aligned with ``batch`` rows; null keeps the row; None keeps all
    reasons: pa.Array | None = None


class Step:
    name: ClassVar[str] = "step"
    kind: ClassVar[str] = "step"
    Params: ClassVar[type[StepParams]] = StepParams

    def __init__(self, params: StepParams | dict | None = None, **kwargs: Any):
        if isinstance(params, dict):
            kwargs = {**params, **kwargs}
            params = None
        self.params = params if params is not None else self.Params(**kwargs)
        self.stats: StepStats | None = None
        self._ready = False

    # -- lifecycle ---------------------------------------------------------------------
    def setup(self) -> None:
        """Load models and other heavy state; called once per process before the first batch."""

    def ensure_setup(self) -> None:
        if not self._ready:
            self.setup()
            self._ready = True

    def process(self, batch: pa.RecordBatch) -> StepOutput:
        raise NotImplementedError  # abstract: each kind below implements it

    # -- helpers for subclasses ---------------------------------------------------------
    def count(self, key: str, n: int = 1) -> None:
        """Add to a named counter in this step's stats (e.g. PII found per type)."""
        if self.stats is not None and n:
            self.stats.count(key, n)

    def config(self) -> dict[str, Any]:
        return {self.name: self.params.model_dump(mode="json", exclude_defaults=True)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"


class Annotator(Step):
    kind: ClassVar[str] = "annotate"

    def annotate(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        raise NotImplementedError  # abstract

    def process(self, batch: pa.RecordBatch) -> StepOutput:
        for name, values in self.annotate(batch).items():
            batch = with_column(batch, name, values)
        return StepOutput(batch)


class Filter(Step):
    kind: ClassVar[str] = "filter"

    def reasons(self, batch: pa.RecordBatch) -> pa.Array | None:
        """Per-row reason string for dropped rows, null for kept rows (None: keep all)."""
        raise NotImplementedError  # abstract

    def process(self, batch: pa.RecordBatch) -> StepOutput:
        return StepOutput(batch, self.reasons(batch))


class Transform(Step):
    kind: ClassVar[str] = "transform"

    def transform(self, batch: pa.RecordBatch) -> pa.RecordBatch | StepOutput:
        raise NotImplementedError  # abstract

    def process(self, batch: pa.RecordBatch) -> StepOutput:
        out = self.transform(batch)
        return out if isinstance(out, StepOutput) else StepOutput(out)


@dataclass(frozen=True)
class Phase:
    """One phase of a global stage: ``tasks`` independent calls of ``run_phase(name, i, ctx)``."""

    name: str
    tasks: int


@dataclass
class StageContext:
    """Where a global stage keeps its intermediate files, and how many data tasks feed it."""

    workdir: Path
    n_tasks: int
    task: int = -1
    extra: dict[str, Any] = field(default_factory=dict)

    def path(self, *parts: str) -> Path:
        p = self.workdir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


class GlobalStage(Step):
    kind: ClassVar[str] = "global"
    #: its drops with reason "duplicate" are the run summary's duplicates; other reasons (a line-deduped
    #: document left too short, a contaminated one) are drops like a filter's

    def begin_scan(self, ctx: StageContext) -> None:
        """Start scanning data task ``ctx.task``."""

    def scan(self, batch: pa.RecordBatch) -> None:
        """See one batch of the data (after the steps before this stage)."""

    def end_scan(self) -> None:
        """Finish the data task: flush intermediate files (atomically)."""

    def phases(self, ctx: StageContext) -> Generator[Phase, list[dict], None]:
        """Yield phases in order; the runner sends back each phase's task results."""
        return
        yield  # pragma: no cover

    def run_phase(self, phase: str, index: int, ctx: StageContext) -> dict:
        raise NotImplementedError  # abstract for stages that yield phases

    def begin_apply(self, ctx: StageContext) -> None:
        """Load what ``process`` needs for data task ``ctx.task``."""

    def process(self, batch: pa.RecordBatch) -> StepOutput:
        return StepOutput(batch)


def first_reason(n: int, rules: list[tuple[str, pa.Array | Any]]) -> pa.Array | None:
    """Combine ordered ``(reason, drop_mask)`` rules into one reason column: the first rule wins."""
    if not rules:
        return None
    out = pa.nulls(n, pa.string())
    for reason, mask in reversed(rules):
        mask = pa.array(mask, pa.bool_()) if not isinstance(mask, (pa.Array, pa.ChunkedArray)) else mask
        mask = pc.fill_null(mask, False)
        out = pc.if_else(mask, pa.scalar(reason, pa.string()), out)
    return out
