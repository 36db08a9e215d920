"""Word tokenization of a whole text column at once, shared by every word-based rule of a batch.

The published rule sets were tuned on a particular notion of "word": datatrove (whose Gopher,
FineWeb and C4 rules we match) uses spaCy's English tokenizer, which splits punctuation off
words (``"end."`` -> ``end``, ``.``), keeps URLs and abbreviations whole (``U.S.``, ``e.g.``)
and splits clitics (``don't`` -> ``do``, ``n't``).  Re-running spaCy per document in Python is
what makes those rules slow, so this module re-creates its rules as a few RE2 passes over the
flattened whitespace chunks of the batch (``pyarrow.compute``), with spaCy's exception table
(``data/en_tokenizer_exceptions.json``, MIT licence) applied by hash lookup.

Han and kana characters are each made a word of their own (``cjk_chars=True``), so word-count
rules count Chinese and Japanese text in characters instead of seeing one giant "word".

The result is cached for the last batch of the process, row by row: a later step that sees the
same documents (or a filtered subset, or some rewritten) re-tokenizes only what changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .charsets import CJK_SPLIT_CLASS

_PUNCT = "…,:;!?¿؟¡()[]{}<>_#*&。？！，、；：～·।،۔؛٪"
_QUOTES = "'\"”“`‘´’‚„»«「」『』（）〔〕【】《》〈〉〈〉⟦⟧"
_CURRENCY = "$£€¥฿₽﷼₴₠₡₢₣₤₥₦₧₨₩₪₫₭₮₯₰₱₲₳₵₶₷₸₹₺₻₼₾₿"
_UNITS = ("km|km²|km³|m|m²|m³|dm|dm²|dm³|cm|cm²|cm³|mm|mm²|mm³|ha|µm|nm|yd|in|ft|kg|g|mg|µg|t|lb|oz|m/s|km/h|"
          "kmh|mph|hPa|Pa|mbar|mb|MB|kb|KB|gb|GB|tb|TB|T|G|M|K|%")


def _cls(chars: str) -> str:
    return "".join(f"\\x{{{ord(c):x}}}" for c in sorted(set(chars)))


_PRE = f"(?:\\.\\.+|……|[{_cls(_PUNCT + _QUOTES + _CURRENCY + '§%=—–')}]|\\p{{So}})"
_SUF = f"(?:\\.+|……|['’][sS]|[{_cls(_PUNCT + _QUOTES + '—–')}]|\\p{{So}})"
AFFIX_RE = f"^(?P<pre>{_PRE}*)(?P<core>.*?)(?P<suf>{_SUF}*)$"
#: one affix token: an ellipsis, a clitic 's, or one character
AFFIX_TOKEN_RE = r"(\.\.+|……|['’][sS]|.)"
#: a "." after these is split off as a suffix (spaCy: lower-case letter, digit, %, punctuation, two capitals)
DOT_SPLITS_AFTER_RE = f"(?:[0-9\\p{{Ll}}%²\\-+{_cls(_PUNCT + _QUOTES)}]|\\p{{Lu}}\\p{{Lu}})$"
URL_RE = (r"^(?:[\pL\pN_+\-.]{2,}://)?(?:\S+(?::\S*)?@)?(?:(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])"
          r"(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4])|"
          r"(?:(?:[A-Za-z0-9\x{a1}-\x{ffff}][A-Za-z0-9\x{a1}-\x{ffff}_-]{0,62})?[A-Za-z0-9\x{a1}-\x{ffff}]\.)+"
          r"\p{Ll}{2,63})(?::\d{2,5})?(?:[/?#]\S*)?$")
_Q = _cls("'\"”“‘’`")
#: (pattern, replacement) infix splits, each applied twice so overlapping matches are all split
INFIXES = [
    (r"(\.\.+|…|\p{So})", r" \1 "),
    (r"([0-9])([+\-*^])([0-9-])", r"\1 \2 \3"),
    (f"([\\p{{Ll}}{_Q}])(\\.)([\\p{{Lu}}{_Q}])", r"\1 \2 \3"),
    (r"(\pL)(,)(\pL)", r"\1 \2 \3"),
    (r"([\pL0-9])(---|--|——|-|–|—|~)(\pL)", r"\1 \2 \3"),
    (r"([\pL0-9])([:<>=/])(\pL)", r"\1 \2 \3"),
]
INFIX_ANY_RE = f"\\.\\.|[…+\\-*^.,–—~:<>=/]|\\p{{So}}"
UNIT_SUFFIX_RE = f"^(.*[0-9])({_UNITS}|[{_cls(_CURRENCY)}]|\\+)$"
PLAIN_RE = r"^[\pL]+$"


@lru_cache(maxsize=1)
def _exceptions() -> tuple[pa.Array, pa.Array, pa.Array]:
    """spaCy's English special cases: keys, their tokens joined by spaces, and the ``X.`` keys."""
    raw = json.loads(resources.files(__package__).joinpath("data/en_tokenizer_exceptions.json").read_text("utf-8"))
    keys = pa.array(list(raw), pa.large_string())
    values = pa.array([" ".join(v) for v in raw.values()], pa.large_string())
    dots = pa.array([k for k, v in raw.items() if k.endswith(".") and len(v) == 1], pa.large_string())
    return keys, values, dots


def _flatten(lists: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Flatten a list<string> column, dropping empty strings (what Arrow's splits leave at the ends)."""
    flat = pc.list_flatten(lists)
    parent = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    nonempty = pc.greater(pc.binary_length(flat), 0)
    if not pc.all(nonempty).as_py():
        keep = np.asarray(nonempty.to_numpy(zero_copy_only=False), dtype=bool)
        flat, parent = flat.filter(nonempty), parent[keep]
    return flat, parent


def _subset_apply(arr: pa.Array, mask: pa.Array, fn) -> pa.Array:
    """``fn`` applied to the rows of ``arr`` where ``mask`` holds, the other rows unchanged."""
    m = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
    if not m.any():
        return arr
    if m.all():
        return fn(arr)
    sel = np.flatnonzero(m)
    done = fn(arr.filter(mask))
    idx = np.arange(len(arr), dtype=np.int64)
    idx[sel] = len(arr) + np.arange(len(sel))
    return pa.concat_arrays([arr.cast(done.type), done]).take(pa.array(idx))


def _exception_lookup(chunks: pa.Array) -> pa.Array:
    """Replace chunks that are special cases by their space-joined tokens; null where none."""
    keys, values, _ = _exceptions()
    idx = pc.index_in(chunks, value_set=keys)
    return pc.take(values, idx)


def _split_core(core: pa.Array) -> pa.Array:
    """Exceptions, digit+unit suffixes and infix splits of a chunk's core (affixes removed)."""
    exc = _exception_lookup(core)
    plain = pc.is_valid(exc)

    def rest(c: pa.Array) -> pa.Array:
        c = pc.replace_substring_regex(c, UNIT_SUFFIX_RE, r"\1 \2")
        not_url = pc.invert(pc.match_substring_regex(c, URL_RE))
        has_infix = pc.and_(not_url, pc.match_substring_regex(c, INFIX_ANY_RE))

        def infix(x: pa.Array) -> pa.Array:
            for pat, rep in INFIXES:
                x = pc.replace_substring_regex(x, pat, rep)
                x = pc.replace_substring_regex(x, pat, rep)
            return x
        return _subset_apply(c, has_infix, infix)
    out = _subset_apply(core, pc.invert(plain), rest)
    return pc.coalesce(exc, out)


def _split_chunks(chunks: pa.Array) -> pa.Array:
    """One whitespace-free chunk -> its spaCy-style tokens separated by spaces."""
    _, _, dots = _exceptions()
    parts = pc.extract_regex(chunks, AFFIX_RE)
    pre, core, suf = (parts.field(i) for i in range(3))
    starts_dot = pc.match_substring_regex(suf, r"^\.(?:[^.]|$)")
    core_dot = pc.binary_join_element_wise(core, pa.scalar(".", core.type), pa.scalar("", core.type))
    move = pc.and_(starts_dot, pc.and_(pc.greater(pc.utf8_length(core), 0),
                                       pc.or_(pc.is_in(core_dot, value_set=dots),
                                              pc.invert(pc.match_substring_regex(core, DOT_SPLITS_AFTER_RE)))))
    core = pc.if_else(move, core_dot, core)
    suf = pc.if_else(move, pc.utf8_slice_codeunits(suf, 1), suf)
    pre = pc.replace_substring_regex(pre, AFFIX_TOKEN_RE, r"\1 ")
    suf = pc.replace_substring_regex(suf, AFFIX_TOKEN_RE, r" \1")
    return pc.binary_join_element_wise(pre, _split_core(core), suf, pa.scalar("", core.type))


def tokenize(texts: pa.Array, cjk_chars: bool = True) -> tuple[pa.Array, np.ndarray]:
    """Tokens of every text, flattened, and the index of the text each token came from."""
    texts = texts.cast(pa.large_string()) if texts.type != pa.large_string() else texts
    if cjk_chars and len(texts):
        has_cjk = pc.match_substring_regex(texts, CJK_SPLIT_CLASS)
        texts = _subset_apply(texts, has_cjk, lambda t: pc.replace_substring_regex(t, f"({CJK_SPLIT_CLASS})", r" \1 "))
    chunks, chunk_doc = _flatten(pc.utf8_split_whitespace(texts))
    if len(chunks) == 0:
        return chunks, chunk_doc.astype(np.int64)
    whole = _exception_lookup(chunks)
    plain = pc.match_substring_regex(chunks, PLAIN_RE)
    todo = pc.and_(pc.is_null(whole), pc.invert(plain))
    processed = pc.coalesce(whole, _subset_apply(chunks, todo, _split_chunks))
    needs_split = pc.match_substring_regex(processed, " ")
    if not pc.any(needs_split).as_py():
        return processed, chunk_doc.astype(np.int64)
    tokens, tok_chunk = _flatten(pc.utf8_split_whitespace(processed))
    return tokens, chunk_doc[tok_chunk].astype(np.int64)


@dataclass
class Words:
    """The tokens of a batch's documents: ``tokens[offsets[d]:offsets[d+1]]`` belong to document ``d``."""

    tokens: pa.Array
    doc: np.ndarray
    n_docs: int
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def offsets(self) -> np.ndarray:
        if "offsets" not in self._cache:
            counts = np.bincount(self.doc, minlength=self.n_docs)
            self._cache["offsets"] = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return self._cache["offsets"]

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def lengths(self) -> np.ndarray:
        """Characters (code points) per token."""
        if "lengths" not in self._cache:
            self._cache["lengths"] = pc.utf8_length(self.tokens).to_numpy(zero_copy_only=False).astype(np.int64)
        return self._cache["lengths"]

    @property
    def ids(self) -> np.ndarray:
        """A batch-wide integer id per distinct token string (equal strings, equal ids)."""
        if "ids" not in self._cache:
            enc = pc.dictionary_encode(self.tokens)
            self._cache["ids"] = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        return self._cache["ids"]

    def match(self, pattern: str) -> np.ndarray:
        """Per-token bool: the RE2 ``pattern`` matches somewhere in the token (cached)."""
        key = ("match", pattern)
        if key not in self._cache:
            self._cache[key] = np.asarray(pc.match_substring_regex(self.tokens, pattern)
                                          .to_numpy(zero_copy_only=False), dtype=bool)
        return self._cache[key]

    def per_doc_sum(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.doc, weights=values, minlength=self.n_docs)

    def take_docs(self, rows: np.ndarray) -> "Words":
        """The tokens of documents ``rows`` (in that order), renumbered 0..len(rows)-1."""
        off = self.offsets
        starts, ends = off[rows], off[rows + 1]
        counts = ends - starts
        total = int(counts.sum())
        new_doc = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
        idx = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(total)
        return Words(self.tokens.take(pa.array(idx, pa.int64())), new_doc, len(rows))


def _build(texts: pa.Array, cjk_chars: bool) -> Words:
    tokens, doc = tokenize(texts, cjk_chars)
    return Words(tokens, doc, len(texts))


_last: dict[bool, tuple[pa.Array, pa.Array, Words]] = {}


def words_for(batch: pa.RecordBatch, cjk_chars: bool = True) -> Words:
    """Tokens of ``batch``'s text, reusing the previous call's tokens for unchanged documents."""
    texts = batch.column("text")
    ids = batch.column("id")
    prev = _last.get(cjk_chars)
    if prev is not None:
        p_ids, p_texts, p_words = prev
        if p_texts is texts:
            return p_words
        pos = pc.index_in(ids, value_set=p_ids)
        valid = pc.is_valid(pos)
        if pc.any(valid).as_py():
            posn = pc.fill_null(pos, 0).to_numpy(zero_copy_only=False).astype(np.int64)
            same = pc.and_kleene(valid, pc.equal(texts, p_texts.take(pa.array(posn))))
            same_np = np.asarray(pc.fill_null(same, False).to_numpy(zero_copy_only=False), dtype=bool)
            if same_np.all():
                words = p_words.take_docs(posn)
            elif same_np.any():
                fresh_rows = np.flatnonzero(~same_np)
                fresh = _build(texts.take(pa.array(fresh_rows)), cjk_chars)
                reused = p_words.take_docs(posn[same_np])
                words = _merge(len(texts), np.flatnonzero(same_np), reused, fresh_rows, fresh)
            else:
                words = _build(texts, cjk_chars)
            _last[cjk_chars] = (ids, texts, words)
            return words
    words = _build(texts, cjk_chars)
    _last[cjk_chars] = (ids, texts, words)
    return words


def _merge(n: int, rows_a: np.ndarray, a: Words, rows_b: np.ndarray, b: Words) -> Words:
    """Interleave two token sets whose documents are rows ``rows_a`` / ``rows_b`` of one batch."""
    doc = np.concatenate([rows_a[a.doc], rows_b[b.doc]])
    order = np.argsort(doc, kind="stable")
    tokens = pa.concat_arrays([a.tokens, b.tokens.cast(a.tokens.type)]).take(pa.array(order))
    return Words(tokens, doc[order], n)
