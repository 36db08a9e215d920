"""Generic steps every pipeline can use: expression filters and simple length bounds."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from ..document import TEXT
from ..registry import register_step
from .base import Filter, StepParams, first_reason
from .expression import compile_expression, evaluate_mask


class ExpressionParams(StepParams):
    #: keep documents for which this is true (e.g. "lang == 'en' and lang_score >= 0.65")
    keep: str | None = None
    #: drop documents for which this is true
    drop: str | None = None
    #: the drop reason recorded (default: the expression itself)
    reason: str | None = None

    @model_validator(mode="after")
    def _one(self) -> "ExpressionParams":
        if (self.keep is None) == (self.drop is None):
            raise ValueError("give exactly one of 'keep' or 'drop'")
        compile_expression(self.keep or self.drop or "")
        return self


@register_step("filter")
class ExpressionFilter(Filter):
    """Keep or drop documents by an expression over signal columns (scores are columns; this decides)."""

    Params = ExpressionParams

    def setup(self) -> None:
        p: ExpressionParams = self.params  # type: ignore[assignment]
        self.src = p.keep or p.drop or ""
        self.fn, self.columns = compile_expression(self.src)
        self.reason = p.reason or (f"keep: {p.keep}" if p.keep else f"drop: {p.drop}")
        self.is_keep = p.keep is not None

    def reasons(self, batch: pa.RecordBatch) -> pa.Array | None:
        mask = evaluate_mask(self.fn, self.columns, batch, self.src)
        drop = pc.invert(mask) if self.is_keep else mask
        return first_reason(batch.num_rows, [(self.reason, drop)])


class LengthParams(StepParams):
    min_chars: int = Field(0, ge=0)
    max_chars: int | None = Field(None, ge=1)


@register_step("length_filter")
class LengthFilter(Filter):
    """Drop documents shorter than ``min_chars`` or longer than ``max_chars`` characters."""

    Params = LengthParams

    def reasons(self, batch: pa.RecordBatch) -> pa.Array | None:
        p: LengthParams = self.params  # type: ignore[assignment]
        n = pc.utf8_length(batch.column(TEXT))
        rules = []
        if p.min_chars:
            rules.append(("too_short", pc.less(n, p.min_chars)))
        if p.max_chars:
            rules.append(("too_long", pc.greater(n, p.max_chars)))
        return first_reason(batch.num_rows, rules)
