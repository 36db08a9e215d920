"""FineWeb's extra rules (Penedo et al. 2024): punctuation-ended lines, short lines, duplicated
line characters, and newlines per word, with datatrove's definitions."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .charsets import TERMINAL_PUNCTUATION, re2_class
from .ruleset import RuleSet, RuleSetParams, rule_set, threshold
from .segments import PY_SPACE, duplicates, np_bool, np_int, per_doc, ratio, split_literal
from .words import words_for


class FineWebParams(RuleSetParams):
    #: at least this fraction of (non-blank) lines must end in terminal punctuation
    line_punct_thr: float | None = 0.12
    #: do not apply line_punct_thr to documents where no line ends in punctuation
    line_punct_exclude_zero: bool = False
    #: characters that count as ending a line (default: every script's terminal punctuation)
    stop_chars: str | None = None
    #: at most this fraction of lines may be short
    short_line_thr: float | None = 0.67
    short_line_length: int = 30
    #: at most this share of characters may be in lines that repeat an earlier line
    char_duplicates_ratio: float | None = 0.01
    #: at most this many newlines per word (list-like pages)
    new_line_ratio: float | None = 0.3
    cjk_chars: bool = True


@rule_set("fineweb")
class FineWeb(RuleSet):
    """FineWeb quality: line punctuation, short lines, duplicated line characters, newlines per word."""

    Params = FineWebParams
    signal_names = ("fineweb_line_punct_ratio", "fineweb_short_line_ratio", "fineweb_dup_line_char_ratio",
                    "fineweb_newline_ratio")

    def signals(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        p: FineWebParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        text = batch.column("text")
        lines, parent = split_literal(text, "\n")
        nonblank = ~np_bool(pc.match_substring_regex(lines, f"^{PY_SPACE}*$"))
        lines, parent = lines.filter(pa.array(nonblank)), parent[nonblank]
        n_lines = per_doc(parent, n)
        end_re = f"{re2_class(p.stop_chars or TERMINAL_PUNCTUATION)}$"
        punct = per_doc(parent[np_bool(pc.match_substring_regex(lines, end_re))], n)
        short = per_doc(parent[np_int(pc.utf8_length(lines)) <= p.short_line_length], n)
        _, dup_chars = duplicates(lines, parent, n)
        newlines = np_int(pc.count_substring(text, "\n"))
        chars_no_nl = np_int(pc.utf8_length(text)) - newlines
        w = words_for(batch, p.cjk_chars)
        return {
            "fineweb_line_punct_ratio": pa.array(ratio(punct, n_lines)),
            "fineweb_short_line_ratio": pa.array(ratio(short, n_lines)),
            "fineweb_dup_line_char_ratio": pa.array(ratio(dup_chars, chars_no_nl)),
            "fineweb_newline_ratio": pa.array(ratio(newlines, w.counts)),
        }

    def rules(self, c: dict[str, np.ndarray], batch: pa.RecordBatch) -> list[tuple[str, np.ndarray]]:
        p: FineWebParams = self.params  # type: ignore[assignment]
        lp = c["fineweb_line_punct_ratio"]
        out = [("empty", np.isnan(lp))]  # no non-blank line (rows the step skips are masked out by the caller)
        if threshold(p.line_punct_thr):
            low = lp < p.line_punct_thr
            if p.line_punct_exclude_zero:
                low &= lp != 0
            out.append(("line_punct_ratio", low))
        if threshold(p.short_line_thr):
            out.append(("short_line_ratio", c["fineweb_short_line_ratio"] > p.short_line_thr))
        if threshold(p.char_duplicates_ratio):
            out.append(("char_dup_ratio", c["fineweb_dup_line_char_ratio"] > p.char_duplicates_ratio))
        if threshold(p.new_line_ratio):
            out.append(("list_ratio", c["fineweb_newline_ratio"] > p.new_line_ratio))
        return out
