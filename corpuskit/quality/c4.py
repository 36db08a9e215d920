"""C4's cleaning (Raffel et al. 2020): keep only lines that end in terminal punctuation, have at
least 3 words and mention neither javascript nor cookie/terms-of-use policies; drop pages with
"lorem ipsum", a curly bracket, or fewer than 5 sentences.  Same definitions and order as
datatrove's ``C4QualityFilter``, computed for all lines of a batch at once."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from ..document import replace_text, with_column
from ..registry import register_step
from ..steps.base import StepOutput, Transform, first_reason
from .charsets import SENTENCE_END
from .ruleset import RuleSetParams, applicable_rows
from .segments import SPLITLINES, np_bool, np_int, per_doc, scatter, split
from .words import Words, remember, tokenize

CITATION_RE = r"\[\p{Nd}*\]|\[edit\]|\[citation needed\]"
POLICY_SUBSTRINGS = ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"]


class C4Params(RuleSetParams):
    remove_citations: bool = True
    #: drop lines that do not end in . ? ! " ' (or end in an ellipsis)
    filter_no_terminal_punct: bool = True
    #: drop documents with fewer sentences than this after cleaning (-1: never)
    min_num_sentences: int = 5
    min_words_per_line: int = 3
    #: drop lines holding a word longer than this (-1: never)
    max_word_length: int = 1000
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True
    policy_substrings: list[str] = Field(default_factory=lambda: list(POLICY_SUBSTRINGS))
    cjk_chars: bool = True


def sentence_counts(lines: pa.Array, cjk_chars: bool = True) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """Sentences per line as spaCy's sentencizer counts them (a token in its sentence-end set,
    then, after any other punctuation, a non-punctuation token, starts a new sentence); also the
    lines' tokens and their line index."""
    tokens, line = tokenize(lines, cjk_chars)
    n = len(lines)
    if len(tokens) == 0:
        return np.zeros(n, np.int64), tokens, line
    enc = pc.dictionary_encode(tokens)
    ids = np_int(enc.indices)
    is_punct = np_bool(pc.match_substring_regex(enc.dictionary, r"^\pP+$"))[ids]
    is_end = np_bool(pc.is_in(enc.dictionary, value_set=pa.array(list(SENTENCE_END), tokens.type)))[ids]
    word = ~is_punct & ~is_end
    keep = word | is_end  # other punctuation neither starts nor ends a sentence
    kw, ke, kl = word[keep], is_end[keep], line[keep]
    starts = np.zeros(len(kw), bool)
    starts[1:] = kw[1:] & ke[:-1] & (kl[1:] == kl[:-1])
    counts = per_doc(line, n) > 0
    return counts.astype(np.int64) + per_doc(kl[starts], n), tokens, line


@register_step("c4")
class C4(Transform):
    """C4 line cleaning (terminal punctuation, >= 3 words, javascript/policy lines, citations) and page rules."""

    Params = C4Params

    def transform(self, batch: pa.RecordBatch) -> StepOutput:
        p: C4Params = self.params  # type: ignore[assignment]
        rows = applicable_rows(self.name, p, batch)
        sub = batch if rows is None else batch.take(pa.array(rows, pa.int64()))
        n = sub.num_rows
        if n == 0:
            if p.keep_signals:
                batch = with_column(batch, "c4_sentences", pa.nulls(batch.num_rows, pa.int64()))
            return StepOutput(batch)
        lines, parent = split(sub.column("text"), SPLITLINES)
        s = pc.utf8_trim_whitespace(lines)
        slen = np_int(pc.utf8_length(s))
        nwords = np.where(slen == 0, 0, np_int(pc.list_value_length(pc.utf8_split_whitespace(s))))
        keep = np.ones(len(s), bool)
        if p.max_word_length != -1:
            long_line = np.flatnonzero(slen > p.max_word_length)
            if len(long_line):
                ws = pc.utf8_split_whitespace(s.take(pa.array(long_line)))
                wl = np_int(pc.utf8_length(pc.list_flatten(ws)))
                wp = np_int(pc.list_parent_indices(ws))
                too_long = np.zeros(len(long_line), bool)
                too_long[wp[wl > p.max_word_length]] = True
                keep[long_line[too_long]] = False
                self.count("lines_removed:too_long_word", int(too_long.sum()))
        if p.remove_citations:
            has_bracket = np_bool(pc.match_substring(s, "["))
            if has_bracket.any():
                s = _replace_rows(s, has_bracket, lambda x: pc.replace_substring_regex(x, CITATION_RE, ""))
        if p.filter_no_terminal_punct:
            term = np_bool(pc.match_substring_regex(s, r"[.?!\"']$")) & ~np_bool(pc.ends_with(s, "..."))
            self.count("lines_removed:no_terminal_punct", int((keep & ~term).sum()))
            keep &= term
        few = nwords < p.min_words_per_line
        self.count("lines_removed:too_few_words", int((keep & few).sum()))
        keep &= ~few
        lorem_line = np.zeros(len(s), bool)
        curly_line = np.zeros(len(s), bool)
        cand = np.flatnonzero(keep)
        if len(cand):
            cs = s.take(pa.array(cand))
            low = pc.utf8_lower(cs)
            if p.filter_lorem_ipsum:
                lorem_line[cand] = np_bool(pc.match_substring(low, "lorem ipsum"))
            js = np_bool(pc.match_substring(low, "javascript")) if p.filter_javascript else np.zeros(len(cand), bool)
            if p.filter_curly_bracket:
                curly_line[cand] = np_bool(pc.match_substring(cs, "{")) & ~js & ~lorem_line[cand]
            pol = np.zeros(len(cand), bool)
            if p.filter_policy and p.policy_substrings:
                for sub_s in p.policy_substrings:
                    pol |= np_bool(pc.match_substring(low, sub_s))
            self.count("lines_removed:javascript", int((js & ~lorem_line[cand]).sum()))
            self.count("lines_removed:policy", int((pol & ~js & ~lorem_line[cand] & ~curly_line[cand]).sum()))
            keep[cand] &= ~js & ~pol & ~lorem_line[cand] & ~curly_line[cand]
        # page rules: the first line that triggers one decides (lorem ipsum is checked before "{")
        big = len(s) + 1
        first_lorem = np.full(n, big)
        first_curly = np.full(n, big)
        li = np.flatnonzero(lorem_line)
        np.minimum.at(first_lorem, parent[li], li)
        ci = np.flatnonzero(curly_line)
        np.minimum.at(first_curly, parent[ci], ci)
        kept_idx = np.flatnonzero(keep)
        kept_lines = s.take(pa.array(kept_idx))
        kept_parent = parent[kept_idx]
        sentences_per_line, tokens, tok_line = sentence_counts(kept_lines, p.cjk_chars)
        sentences = per_doc(kept_parent, n, sentences_per_line).astype(np.int64)
        lorem = first_lorem < np.minimum(first_curly, big)
        curly = (first_curly < big) & ~lorem
        few_sent = (sentences < p.min_num_sentences) & ~lorem & ~curly if p.min_num_sentences != -1 else \
            np.zeros(n, bool)
        counts = per_doc(kept_parent, n)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32 if len(kept_lines) < 2**31 else np.int64)
        joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets.astype(np.int64)), kept_lines),
                                pa.scalar("\n", kept_lines.type))
        new_text = pc.utf8_trim_whitespace(joined)
        reasons = first_reason(n, [("c4:lorem_ipsum", pa.array(lorem)), ("c4:curly_bracket", pa.array(curly)),
                                   ("c4:too_few_sentences", pa.array(few_sent))])
        if rows is None:
            out = replace_text(batch, new_text)
            remember(out, Words(tokens, kept_parent[tok_line] if len(tok_line) else tok_line, n), p.cjk_chars)
        else:
            full = scatter(new_text, rows, batch.num_rows)
            out = replace_text(batch, pc.coalesce(full, batch.column("text")))
            reasons = scatter(reasons, rows, batch.num_rows) if reasons is not None else None
        if p.keep_signals:
            out = with_column(out, "c4_sentences", scatter(pa.array(sentences, pa.int64()), rows, batch.num_rows))
        return StepOutput(out, reasons)


def _replace_rows(arr: pa.Array, rows: np.ndarray, fn) -> pa.Array:
    sel = np.flatnonzero(rows)
    done = fn(arr.take(pa.array(sel)))
    idx = np.arange(len(arr), dtype=np.int64)
    idx[sel] = len(arr) + np.arange(len(sel))
    return pa.concat_arrays([arr, done.cast(arr.type)]).take(pa.array(idx))
