"""A rule set = signals (typed columns) + thresholds over them, as one step or two.

``@rule_set("gopher_quality")`` on a :class:`RuleSet` subclass registers two steps:

- ``gopher_quality``: computes the signal columns that are not in the batch yet, then drops each
  document with the name of the first rule it fails (``gopher_quality:too_few_words``);
- ``gopher_quality_signals``: only adds the signal columns (RedPajama-v2 style), so thresholds can
  be changed later with ``filter: {keep: ...}`` or by re-running the rule set on the output,
  which then reuses the stored columns instead of recomputing.

``languages: [en]`` restricts a rule set to documents whose ``lang`` column (from ``langid``) is
in the list; other documents pass untouched and get null signals.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..document import with_column
from ..errors import ConfigError
from ..registry import register_step
from ..steps.base import Annotator, Filter, StepOutput, StepParams, first_reason
from .segments import np_bool, scatter


class RuleSetParams(StepParams):
    #: apply only to documents whose language column is in this list (None: every document)
    languages: list[str] | None = None
    #: the column holding each document's language (written by ``langid``)
    lang_column: str = "lang"
    #: keep the signal columns in the output (False: only the decision is kept)
    keep_signals: bool = True


def applicable_rows(step_name: str, params: RuleSetParams, batch: pa.RecordBatch) -> np.ndarray | None:
    """Rows a language-restricted step applies to (None: all rows)."""
    if params.languages is None:
        return None
    if params.lang_column not in batch.schema.names:
        raise ConfigError(f"step {step_name!r} has languages: {params.languages} but documents have no "
                          f"{params.lang_column!r} column; put 'langid' before it")
    mask = pc.is_in(batch.column(params.lang_column), value_set=pa.array(params.languages))
    return np.flatnonzero(np_bool(mask))


class RuleSet(Filter):
    """Base of the rule sets: ``signals()`` computes columns, ``rules()`` turns them into drop masks."""

    Params: ClassVar[type[StepParams]] = RuleSetParams
    #: the signal columns this rule set computes, in order
    signal_names: ClassVar[tuple[str, ...]] = ()

    #: ``signals(batch, staged=True)`` may skip signals of documents that already fail an earlier rule
    staged: ClassVar[bool] = False

    def signals(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        raise NotImplementedError  # abstract

    def rules(self, col: dict[str, np.ndarray], batch: pa.RecordBatch) -> list[tuple[str, np.ndarray]]:
        raise NotImplementedError  # abstract

    # -- shared machinery -----------------------------------------------------------------
    def add_signals(self, batch: pa.RecordBatch, staged: bool = False) -> pa.RecordBatch:
        """``batch`` with every signal column present (computed only when missing).  ``staged``: the
        filter path, where signals after a document's first failing rule may be left NaN."""
        missing = [s for s in self.signal_names if s not in batch.schema.names]
        if not missing:
            return batch
        rows = applicable_rows(self.name, self.params, batch)  # type: ignore[arg-type]
        sub = batch if rows is None else batch.take(pa.array(rows, pa.int64()))
        if staged and self.staged:
            computed = self.signals(sub, staged=True)  # type: ignore[call-arg]
        else:
            computed = self.signals(sub)
        for name in missing:
            values = computed.get(name)
            if values is None:
                values = pa.nulls(sub.num_rows, pa.float64())
            elif pa.types.is_floating(values.type) and values.null_count == 0:
                # NaN (no denominator, or not computed because an earlier rule failed) is stored as null
                values = pa.array(values.to_numpy(zero_copy_only=False), type=values.type, from_pandas=True)
            batch = with_column(batch, name, scatter(values, rows, batch.num_rows))
        return batch

    def reasons_for(self, batch: pa.RecordBatch) -> pa.Array | None:
        col = {}
        for s in self.signal_names:
            arr = batch.column(s)
            if pa.types.is_floating(arr.type):
                col[s] = np.asarray(pc.fill_null(arr, np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)
            elif pa.types.is_boolean(arr.type):
                col[s] = np_bool(arr)
            elif not (pa.types.is_integer(arr.type)):
                continue  # text-valued signals are read from the batch by the rules
            else:
                col[s] = np.asarray(pc.fill_null(arr, -1).to_numpy(zero_copy_only=False))
        rows = applicable_rows(self.name, self.params, batch)  # type: ignore[arg-type]
        applies = np.ones(batch.num_rows, bool) if rows is None else np.isin(np.arange(batch.num_rows), rows)
        rules = [(f"{self.name}:{name}", mask & applies) for name, mask in self.rules(col, batch)]
        return first_reason(batch.num_rows, [(r, pa.array(m)) for r, m in rules])

    def reasons(self, batch: pa.RecordBatch) -> pa.Array | None:
        return self.reasons_for(self.add_signals(batch, staged=True))

    def process(self, batch: pa.RecordBatch) -> StepOutput:
        annotated = self.add_signals(batch, staged=True)
        reasons = self.reasons_for(annotated)
        p: RuleSetParams = self.params  # type: ignore[assignment]
        return StepOutput(annotated if p.keep_signals else batch, reasons)


def rule_set(name: str):
    """Register a RuleSet as ``name`` (annotate + filter) and ``name_signals`` (annotate only)."""
    def deco(cls: type[RuleSet]) -> type[RuleSet]:
        register_step(name)(cls)

        class Signals(Annotator):
            __doc__ = f"Only the signal columns of '{name}' ({', '.join(cls.signal_names)})."
            Params = cls.Params
            signal_names = cls.signal_names
            _impl = cls

            def setup(self) -> None:
                self.rs = self._impl(self.params)
                self.rs.ensure_setup()

            def annotate(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
                out = self.rs.add_signals(batch)
                return {s: out.column(s) for s in self.rs.signal_names}

        Signals.__name__ = Signals.__qualname__ = f"{cls.__name__}Signals"
        register_step(f"{name}_signals")(Signals)
        cls.signals_step = Signals  # type: ignore[attr-defined]
        return cls
    return deco


def threshold(value: Any) -> bool:
    """A threshold is active unless it is None (the published code treats 0 the same way)."""
    return value is not None and value is not False
