"""Chinese / Japanese rule set: the Gopher ideas re-stated for text without spaces.

Words are characters here (``words.tokenize`` makes every Han and kana character a token), so:
length is counted in CJK characters, stop words are the most frequent function characters,
"lines end in punctuation" accepts the full-width marks (。！？…」), and repetition is measured
on character n-grams (joined without separators) with Gopher's thresholds.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from .charsets import CJK_CLASS, CJK_LINE_END, TERMINAL_PUNCTUATION, re2_class
from .gopher import DUP_N_GRAMS, TOP_N_GRAMS, repetition_signals
from .ruleset import RuleSet, RuleSetParams, rule_set, threshold
from .segments import PY_SPACE, np_bool, np_int, per_doc, ratio, split_literal
from .words import words_for

#: modern and classical Chinese function characters, plus the commonest Japanese particles
CJK_STOP_CHARS = ["的", "了", "是", "在", "和", "有", "我", "不", "这", "也", "就", "都", "们", "你", "他", "她",
                  "之", "而", "以", "其", "于", "者", "为", "の", "は", "が", "を", "に", "で", "と"]


class CJKParams(RuleSetParams):
    #: CJK characters a document must have (Gopher's 50 words is about 80 Chinese characters;
    #: reviews and poems are shorter, so the default is lower)
    min_cjk_chars: int | None = Field(30, ge=0)
    max_cjk_chars: int | None = Field(200_000, ge=0)
    #: at least this share of the non-space characters must be CJK
    min_cjk_ratio: float | None = 0.3
    #: at least this share of non-blank lines must end in sentence punctuation
    min_line_punct_ratio: float | None = 0.1
    #: distinct function characters a document must contain
    min_stop_chars: int | None = 2
    stop_chars: list[str] = Field(default_factory=lambda: list(CJK_STOP_CHARS))
    dup_line_frac: float | None = 0.3
    dup_line_char_frac: float | None = 0.2
    dup_para_frac: float | None = 0.3
    dup_para_char_frac: float | None = 0.2
    #: (n, max share of characters in the most frequent character n-gram)
    top_n_grams: list[tuple[int, float]] = Field(default_factory=lambda: list(TOP_N_GRAMS))
    #: (n, max share of characters in repeated character n-grams)
    dup_n_grams: list[tuple[int, float]] = Field(default_factory=lambda: list(DUP_N_GRAMS))


_REP = ("cjk_dup_para_frac", "cjk_dup_para_char_frac", "cjk_dup_line_frac", "cjk_dup_line_char_frac")


@rule_set("cjk_quality")
class CJKQuality(RuleSet):
    """Chinese/Japanese quality: CJK characters and ratio, line punctuation, function characters,
    character n-gram repetition."""

    staged = True
    Params = CJKParams
    signal_names = ("cjk_chars", "cjk_ratio", "cjk_line_punct_ratio", "cjk_stop_chars", *_REP,
                    *(f"cjk_top_{k}gram_frac" for k, _ in TOP_N_GRAMS),
                    *(f"cjk_dup_{k}gram_frac" for k, _ in DUP_N_GRAMS))

    def __init__(self, params=None, **kwargs):
        super().__init__(params, **kwargs)
        p: CJKParams = self.params  # type: ignore[assignment]
        self.signal_names = ("cjk_chars", "cjk_ratio", "cjk_line_punct_ratio", "cjk_stop_chars", *_REP,
                             *(f"cjk_top_{k}gram_frac" for k, _ in p.top_n_grams),
                             *(f"cjk_dup_{k}gram_frac" for k, _ in p.dup_n_grams))

    def signals(self, batch: pa.RecordBatch, staged: bool = False) -> dict[str, pa.Array]:
        p: CJKParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        text = batch.column("text")
        total = np_int(pc.utf8_length(text))
        non_space = np_int(pc.utf8_length(pc.replace_substring_regex(text, f"{PY_SPACE}+", "")))
        cjk = total - np_int(pc.utf8_length(pc.replace_substring_regex(text, f"{CJK_CLASS}+", "")))
        lines, parent = split_literal(text, "\n")
        nonblank = ~np_bool(pc.match_substring_regex(lines, f"^{PY_SPACE}*$"))
        lines, parent = lines.filter(pa.array(nonblank)), parent[nonblank]
        end_re = f"{re2_class(CJK_LINE_END + TERMINAL_PUNCTUATION)}{PY_SPACE}*$"
        punct = per_doc(parent[np_bool(pc.match_substring_regex(lines, end_re))], n)
        w = words_for(batch, True)
        stops = np.zeros(n, np.int64)
        if p.stop_chars and len(w.tokens):
            idx = np_int(pc.fill_null(pc.index_in(w.dictionary_encoded.dictionary,
                                                  value_set=pa.array(p.stop_chars, w.tokens.type)), -1))[w.ids]
            hit = idx >= 0
            pairs = np.unique(w.doc[hit] * len(p.stop_chars) + idx[hit])
            stops = per_doc(pairs // len(p.stop_chars), n)
        out = {
            "cjk_chars": pa.array(cjk, pa.int64()),
            "cjk_ratio": pa.array(ratio(cjk, non_space)),
            "cjk_line_punct_ratio": pa.array(ratio(punct, per_doc(parent, n))),
            "cjk_stop_chars": pa.array(stops, pa.int64()),
        }
        limits = {"dup_para_frac": p.dup_para_frac, "dup_para_char_frac": p.dup_para_char_frac,
                  "dup_line_frac": p.dup_line_frac, "dup_line_char_frac": p.dup_line_char_frac} if staged else None
        out.update(repetition_signals(batch, w, list(p.top_n_grams), list(p.dup_n_grams), "cjk", 0, limits))
        return out

    def rules(self, c: dict[str, np.ndarray], batch: pa.RecordBatch) -> list[tuple[str, np.ndarray]]:
        p: CJKParams = self.params  # type: ignore[assignment]
        chars = c["cjk_chars"]
        out = []
        if threshold(p.min_cjk_chars):
            out.append(("too_few_chars", (chars >= 0) & (chars < p.min_cjk_chars)))
        if threshold(p.max_cjk_chars):
            out.append(("too_many_chars", chars > p.max_cjk_chars))
        if threshold(p.min_cjk_ratio):
            out.append(("cjk_ratio", c["cjk_ratio"] < p.min_cjk_ratio))
        if threshold(p.min_line_punct_ratio):
            out.append(("line_punct_ratio", c["cjk_line_punct_ratio"] < p.min_line_punct_ratio))
        if threshold(p.min_stop_chars):
            sc = c["cjk_stop_chars"]
            out.append(("stop_chars", (sc >= 0) & (sc < p.min_stop_chars)))
        for key, value in (("dup_para_frac", p.dup_para_frac), ("dup_para_char_frac", p.dup_para_char_frac),
                           ("dup_line_frac", p.dup_line_frac), ("dup_line_char_frac", p.dup_line_char_frac)):
            if threshold(value):
                out.append((key, c[f"cjk_{key}"] > value))
        for k, frac in p.top_n_grams:
            out.append((f"top_{k}gram", c[f"cjk_top_{k}gram_frac"] > frac))
        for k, frac in p.dup_n_grams:
            out.append((f"dup_{k}gram", c[f"cjk_dup_{k}gram_frac"] > frac))
        return out


@rule_set("zh_quality")
class ZhQuality(CJKQuality):
    """Chinese quality rule set (the CJK rules with their Chinese defaults)."""
