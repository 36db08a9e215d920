"""Gopher quality and repetition rules (Rae et al. 2021, table A1), with datatrove's definitions.

Both share the batch's tokenization (``words.words_for``), computed once.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from .charsets import CJK_SPLIT_CLASS, punctuation_only_regex
from .ruleset import RuleSet, RuleSetParams, rule_set, threshold
from .segments import (PY_SPACE, SPLITLINES, NGrams, dup_ngram_chars, duplicates, np_bool, np_int, per_doc,
                       ratio, split, top_ngram_chars)
from .words import Words, words_for

STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]
#: the most frequent Chinese function characters: the CJK counterpart of Gopher's stop words
CJK_STOP_WORDS = ["的", "了", "是", "在", "和", "有", "我", "不", "这", "也", "就", "都", "们", "の", "は", "が", "を", "に"]


def word_flags(words: Words, pattern: str) -> np.ndarray:
    """Per-token bool for an RE2 pattern, evaluated once per distinct token (Arrow dictionary)."""
    if len(words.tokens) == 0:
        return np.zeros(0, bool)
    enc = words.dictionary_encoded
    flags = np_bool(pc.match_substring_regex(enc.dictionary, pattern))
    return flags[words.ids]


class GopherQualityParams(RuleSetParams):
    min_doc_words: int | None = Field(50, ge=0)
    max_doc_words: int | None = Field(100_000, ge=0)
    min_avg_word_length: float | None = 3
    max_avg_word_length: float | None = 10
    #: '#' per word and ellipsis per word, each at most this
    max_symbol_word_ratio: float | None = 0.1
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    #: at least this fraction of words must contain a letter
    min_alpha_words_ratio: float | None = 0.8
    min_stop_words: int | None = 2
    stop_words: list[str] = Field(default_factory=lambda: list(STOP_WORDS))
    #: stop words of scripts without spaces, counted together with ``stop_words``
    cjk_stop_words: list[str] = Field(default_factory=lambda: list(CJK_STOP_WORDS))
    #: count Han/kana characters as one word each (False: datatrove's behaviour)
    cjk_chars: bool = True


@rule_set("gopher_quality")
class GopherQuality(RuleSet):
    """Gopher quality: word count, mean word length, symbols, bullets, ellipses, alphabetic words, stop words."""

    Params = GopherQualityParams
    signal_names = ("gopher_words", "gopher_mean_word_length", "gopher_hash_ratio", "gopher_ellipsis_ratio",
                    "gopher_bullet_lines_ratio", "gopher_ellipsis_lines_ratio", "gopher_alpha_words_ratio",
                    "gopher_stop_words")

    def signals(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        p: GopherQualityParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        text = batch.column("text")
        w = words_for(batch, p.cjk_chars)
        n_tokens = w.counts
        symbol = word_flags(w, punctuation_only_regex())
        word = ~symbol
        lengths = w.lengths
        n_words = per_doc(w.doc[word], n)
        mean_mask = word
        if p.cjk_chars:
            mean_mask = word & ~word_flags(w, f"^{CJK_SPLIT_CLASS}$")
        mean_len = ratio(per_doc(w.doc[mean_mask], n, lengths[mean_mask]), per_doc(w.doc[mean_mask], n))
        hashes = np_int(pc.count_substring(text, "#"))
        ellipses = np_int(pc.count_substring(text, "...")) + np_int(pc.count_substring(text, "…"))
        lines, parent = split(text, SPLITLINES)
        n_lines = per_doc(parent, n) - np_bool(pc.or_(pc.equal(pc.binary_length(text), 0),
                                                        pc.match_substring_regex(text, f"(?:{SPLITLINES})$")))
        bullets = per_doc(parent[np_bool(pc.match_substring_regex(lines, f"^{PY_SPACE}*[•\\-]"))], n)
        ell_lines = per_doc(parent[np_bool(pc.match_substring_regex(lines, f"(?:\\.\\.\\.|…){PY_SPACE}*$"))], n)
        alpha = per_doc(w.doc[word_flags(w, r"\pL")], n)
        stops = [*p.stop_words, *p.cjk_stop_words]
        stop_words = np.zeros(n, np.int64)
        if stops and len(w.tokens):
            dict_idx = np_int(pc.fill_null(pc.index_in(w.dictionary_encoded.dictionary,
                                                       value_set=pa.array(stops, w.tokens.type)), -1))
            tok_stop = dict_idx[w.ids]
            hit = tok_stop >= 0
            pairs = np.unique(w.doc[hit] * len(stops) + tok_stop[hit])
            stop_words = per_doc(pairs // len(stops), n)
        return {
            "gopher_words": pa.array(n_words, pa.int64()),
            "gopher_mean_word_length": pa.array(mean_len),
            "gopher_hash_ratio": pa.array(ratio(hashes, n_tokens)),
            "gopher_ellipsis_ratio": pa.array(ratio(ellipses, n_tokens)),
            "gopher_bullet_lines_ratio": pa.array(ratio(bullets, n_lines)),
            "gopher_ellipsis_lines_ratio": pa.array(ratio(ell_lines, n_lines)),
            "gopher_alpha_words_ratio": pa.array(ratio(alpha, n_tokens)),
            "gopher_stop_words": pa.array(stop_words, pa.int64()),
        }

    def rules(self, c: dict[str, np.ndarray], batch: pa.RecordBatch) -> list[tuple[str, np.ndarray]]:
        p: GopherQualityParams = self.params  # type: ignore[assignment]
        words = c["gopher_words"]
        known = words >= 0
        out = []
        if threshold(p.min_doc_words):
            out.append(("too_few_words", known & (words < p.min_doc_words)))
        if threshold(p.max_doc_words):
            out.append(("too_many_words", words > p.max_doc_words))
        if threshold(p.min_avg_word_length):
            out.append(("short_words", c["gopher_mean_word_length"] < p.min_avg_word_length))
        if threshold(p.max_avg_word_length):
            out.append(("long_words", c["gopher_mean_word_length"] > p.max_avg_word_length))
        if threshold(p.max_symbol_word_ratio):
            out.append(("hash_ratio", c["gopher_hash_ratio"] > p.max_symbol_word_ratio))
            out.append(("ellipsis_ratio", c["gopher_ellipsis_ratio"] > p.max_symbol_word_ratio))
        if threshold(p.max_bullet_lines_ratio):
            out.append(("bullet_lines", c["gopher_bullet_lines_ratio"] > p.max_bullet_lines_ratio))
        if threshold(p.max_ellipsis_lines_ratio):
            out.append(("ellipsis_lines", c["gopher_ellipsis_lines_ratio"] > p.max_ellipsis_lines_ratio))
        if threshold(p.min_alpha_words_ratio):
            out.append(("alpha_words", c["gopher_alpha_words_ratio"] < p.min_alpha_words_ratio))
        if threshold(p.min_stop_words):
            sw = c["gopher_stop_words"]
            out.append(("stop_words", (sw >= 0) & (sw < p.min_stop_words)))
        return out


DUP_N_GRAMS = [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)]
TOP_N_GRAMS = [(2, 0.20), (3, 0.18), (4, 0.16)]


class GopherRepetitionParams(RuleSetParams):
    dup_line_frac: float | None = 0.3
    dup_para_frac: float | None = 0.3
    dup_line_char_frac: float | None = 0.2
    dup_para_char_frac: float | None = 0.2
    #: (n, max share of characters in the most frequent word n-gram)
    top_n_grams: list[tuple[int, float]] = Field(default_factory=lambda: list(TOP_N_GRAMS))
    #: (n, max share of characters in repeated word n-grams)
    dup_n_grams: list[tuple[int, float]] = Field(default_factory=lambda: list(DUP_N_GRAMS))
    cjk_chars: bool = True


def repetition_signals(batch: pa.RecordBatch, w: Words, top: list[tuple[int, float | None]],
                       dup: list[tuple[int, float | None]], prefix: str, sep: int,
                       line_limits: dict[str, float | None] | None = None) -> dict[str, pa.Array]:
    """Line/paragraph duplicate fractions and n-gram character shares (Gopher table A1).

    With ``line_limits`` (the filter path) each signal is computed only for documents that pass
    every rule before it, like the published code, which stops at the first failing rule; the
    skipped signals are NaN.  Without it (``*_signals`` steps) every signal is computed."""
    n = batch.num_rows
    text = batch.column("text")
    n_chars = np_int(pc.utf8_length(text))
    paras, pp = split(pc.utf8_trim_whitespace(text), r"\n\n+")
    para_dups, para_dup_chars = duplicates(paras, pp, n)
    lines, lp = split(text, r"\n+")
    line_dups, line_dup_chars = duplicates(lines, lp, n)
    out = {
        f"{prefix}_dup_para_frac": ratio(para_dups, per_doc(pp, n)),
        f"{prefix}_dup_para_char_frac": ratio(para_dup_chars, n_chars),
        f"{prefix}_dup_line_frac": ratio(line_dups, per_doc(lp, n)),
        f"{prefix}_dup_line_char_frac": ratio(line_dup_chars, n_chars),
    }
    alive = n_chars > 0
    if line_limits is not None:
        for key, limit in line_limits.items():
            if limit is not None:
                alive &= ~(out[f"{prefix}_{key}"] > limit)
    ng = NGrams(*((w.ids, w.doc, w.lengths) if len(w.tokens) else (np.zeros(0, np.int64),) * 3))
    stages = [(f"{prefix}_top_{k}gram_frac", k, thr, True) for k, thr in top] + \
             [(f"{prefix}_dup_{k}gram_frac", k, thr, False) for k, thr in dup]
    for name, k, thr, is_top in stages:
        docs = alive if line_limits is not None else None
        chars = top_ngram_chars(ng, n, k, sep, docs) if is_top else dup_ngram_chars(ng, n, k, docs)
        value = ratio(chars, n_chars)
        if docs is not None:
            value[~docs] = np.nan
            if thr is not None:
                alive &= ~(value > thr)
        out[name] = value
    return {k: pa.array(v) for k, v in out.items()}


@rule_set("gopher_repetition")
class GopherRepetition(RuleSet):
    """Gopher repetition: duplicate lines/paragraphs and repeated word n-grams, as shares of the text."""

    staged = True
    Params = GopherRepetitionParams
    signal_names = ("gopher_rep_dup_para_frac", "gopher_rep_dup_para_char_frac", "gopher_rep_dup_line_frac",
                    "gopher_rep_dup_line_char_frac", *(f"gopher_rep_top_{k}gram_frac" for k, _ in TOP_N_GRAMS),
                    *(f"gopher_rep_dup_{k}gram_frac" for k, _ in DUP_N_GRAMS))

    def __init__(self, params=None, **kwargs):
        super().__init__(params, **kwargs)
        p: GopherRepetitionParams = self.params  # type: ignore[assignment]
        self.signal_names = ("gopher_rep_dup_para_frac", "gopher_rep_dup_para_char_frac", "gopher_rep_dup_line_frac",
                             "gopher_rep_dup_line_char_frac",
                             *(f"gopher_rep_top_{k}gram_frac" for k, _ in p.top_n_grams),
                             *(f"gopher_rep_dup_{k}gram_frac" for k, _ in p.dup_n_grams))

    def signals(self, batch: pa.RecordBatch, staged: bool = False) -> dict[str, pa.Array]:
        p: GopherRepetitionParams = self.params  # type: ignore[assignment]
        w = words_for(batch, p.cjk_chars)
        limits = {"dup_para_frac": p.dup_para_frac, "dup_para_char_frac": p.dup_para_char_frac,
                  "dup_line_frac": p.dup_line_frac, "dup_line_char_frac": p.dup_line_char_frac} if staged else None
        return repetition_signals(batch, w, list(p.top_n_grams), list(p.dup_n_grams), "gopher_rep", 1, limits)

    def rules(self, c: dict[str, np.ndarray], batch: pa.RecordBatch) -> list[tuple[str, np.ndarray]]:
        p: GopherRepetitionParams = self.params  # type: ignore[assignment]
        out = [("empty", np_bool(pc.equal(pc.binary_length(batch.column("text")), 0)))]
        for key, value in (("dup_para_frac", p.dup_para_frac), ("dup_para_char_frac", p.dup_para_char_frac),
                           ("dup_line_frac", p.dup_line_frac), ("dup_line_char_frac", p.dup_line_char_frac)):
            if threshold(value):
                out.append((key, c[f"gopher_rep_{key}"] > value))
        for k, frac in p.top_n_grams:
            out.append((f"top_{k}gram", c[f"gopher_rep_top_{k}gram_frac"] > frac))
        for k, frac in p.dup_n_grams:
            out.append((f"dup_{k}gram", c[f"gopher_rep_dup_{k}gram_frac"] > frac))
        return out
