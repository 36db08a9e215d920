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


_PRE = f"(?:\\.\\.+|……|[{_cls(_PUNCT + _QUOTES + _CURRENCY + '§%=—–+')}]|\\p{{So}})"
_SUF = f"(?:\\.+|……|['’][sS]|[{_cls(_PUNCT + _QUOTES + '—–')}]|\\p{{So}})"
PREFIX_RUN_RE = f"^{_PRE}+"
SUFFIX_RUN_RE = f"{_SUF}+$"
#: one affix token: an ellipsis, a clitic 's, or one character
AFFIX_TOKEN_RE = r"\.\.+|……|['’][sS]|."
#: a "." after these is split off as a suffix (spaCy: lower-case or uncased letter, digit, %, punctuation,
#: two capitals); otherwise it stays (``U.S.``, ``A.``)
DOT_SPLITS_AFTER_RE = f"(?:[0-9\\p{{Ll}}\\p{{Lo}}%²\\-+{_cls(_PUNCT + _QUOTES)}]|[\\p{{Lu}}\\p{{Lo}}][\\p{{Lu}}\\p{{Lo}}])$"
URL_RE = (r"^(?:[\pL\pN_+\-.][\pL\pN_+\-.]+://)?(?:\S+(?::\S*)?@)?(?:(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])"
          r"(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4])|"
          r"(?:[\pL\pN](?:[\pL\pN_-]*[\pL\pN])?\.)+\p{Ll}\p{Ll}+)(?::\d\d+)?(?:[/?#]\S*)?$")
URL_HINT_RE = r"\.\p{Ll}\p{Ll}|://|@"
_Q = _cls("'\"”“‘’`")
#: (pattern, replacement) infix splits, each applied twice so overlapping matches are all split
INFIXES = [
    (r"\.\.+|…|\p{So}", r" \0 "),
    (r"([0-9])([+\-*^])([0-9-])", r"\1 \2 \3"),
    (f"([\\p{{Ll}}\\p{{Lo}}{_Q}])(\\.)([\\p{{Lu}}\\p{{Lo}}{_Q}])", r"\1 \2 \3"),
    (r"(\pL)(,)(\pL)", r"\1 \2 \3"),
    (r"([\pL0-9])(---|--|——|-|–|—|~)(\pL)", r"\1 \2 \3"),
    (r"([\pL0-9])([:<>=/])(\pL)", r"\1 \2 \3"),
]
INFIX_ANY_RE = f"\\.\\.|[…+\\-*^.,–—~:<>=/]|\\p{{So}}"
UNIT_HINT_RE = f"[0-9](?:{_UNITS}|[{_cls(_CURRENCY)}]|\\+)$"
UNIT_SUFFIX_RE = f"^(.*[0-9])({_UNITS}|[{_cls(_CURRENCY)}]|\\+)$"
PLAIN_RE = r"^[\pL]+$"


@lru_cache(maxsize=1)
def _single_specials() -> pa.Array:
    """Special cases spaCy keeps as one token although they hold affix characters (``"):"``, ``"'s"``)."""
    raw = json.loads(resources.files(__package__).joinpath("data/en_tokenizer_exceptions.json").read_text("utf-8"))
    return pa.array([k for k, v in raw.items() if len(v) == 1 and not k.isalnum()], pa.large_string())


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


def _offsets(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Byte offsets and data of a large_string array (no nulls)."""
    bufs = arr.buffers()
    offs = np.frombuffer(bufs[1], dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offs, data


def _slice(arr: pa.Array, start: np.ndarray, length: np.ndarray) -> pa.Array:
    """Per-row byte slices ``arr[i][start[i]:start[i]+length[i]]`` (short slices: affixes)."""
    offs, data = _offsets(arr)
    new = np.zeros(len(arr) + 1, np.int64)
    np.cumsum(length, out=new[1:])
    idx = np.repeat(offs[:-1] + start - new[:-1], length) + np.arange(new[-1], dtype=np.int64)
    return pa.LargeStringArray.from_buffers(len(arr), pa.py_buffer(new), pa.py_buffer(data[idx].tobytes()))


def _nbytes(arr: pa.Array) -> np.ndarray:
    return pc.binary_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)


def _mask(arr: pa.Array, pattern: str) -> pa.Array:
    return pc.match_substring_regex(arr, pattern)


def _split_core(core: pa.Array) -> pa.Array:
    """Exceptions, digit+unit suffixes and infix splits of a chunk's core (affixes removed)."""
    exc = _exception_lookup(core)

    def infix(x: pa.Array) -> pa.Array:
        for pat, rep in INFIXES:
            def one(y: pa.Array, pat: str = pat, rep: str = rep) -> pa.Array:
                y = pc.replace_substring_regex(y, pat, rep)
                return pc.replace_substring_regex(y, pat, rep)
            x = _subset_apply(x, _mask(x, pat), one)
        return x

    def work(c: pa.Array) -> pa.Array:
        c = _subset_apply(c, _mask(c, UNIT_HINT_RE), lambda x: pc.replace_substring_regex(x, UNIT_SUFFIX_RE, r"\1 \2"))
        maybe_url = _mask(c, URL_HINT_RE)
        c = _subset_apply(c, maybe_url, lambda x: _subset_apply(x, pc.invert(_mask(x, URL_RE)), infix))
        return _subset_apply(c, pc.invert(maybe_url), infix)
    todo = pc.and_(pc.is_null(exc), _mask(core, f"{UNIT_HINT_RE}|{INFIX_ANY_RE}"))
    out = _subset_apply(core, todo, work)
    return pc.coalesce(exc, out)


def _split_chunks(chunks: pa.Array) -> pa.Array:
    """Whitespace-free chunks -> their spaCy-style tokens separated by spaces.

    Prefix and suffix runs are found with capture-free patterns (RE2 runs those as a DFA) and
    cut out by byte offsets; only the rarer rules run on the subsets they concern."""
    _, _, dots = _exceptions()
    t = chunks.type
    rest = pc.replace_substring_regex(chunks, PREFIX_RUN_RE, "")
    pre_len = _nbytes(chunks) - _nbytes(rest)
    core = pc.replace_substring_regex(rest, SUFFIX_RUN_RE, "")
    core_len = _nbytes(core)
    suf_len = _nbytes(rest) - core_len
    suf = _slice(rest, core_len, suf_len)
    pre = _slice(chunks, np.zeros(len(chunks), np.int64), pre_len)
    has_pre = pre_len > 0
    if has_pre.any():
        # "+" is a prefix only before a non-digit ("+1" stays whole)
        plus = _subset_mask(pre, has_pre, r"\+$") & _subset_mask(core, has_pre, r"^[0-9]")
        if plus.any():
            pm = pa.array(plus)
            core = pc.if_else(pm, pc.binary_join_element_wise(pa.scalar("+", t), core, pa.scalar("", t)), core)
            pre = pc.if_else(pm, pc.utf8_slice_codeunits(pre, 0, -1), pre)
            pre_len = _nbytes(pre)
            has_pre = pre_len > 0
    # a final "." stays on abbreviations and after a single capital ("Mr.", "U.S.", "A.")
    soffs, sdata = _offsets(suf)
    first = np.zeros(len(suf), np.uint8)
    second = np.zeros(len(suf), np.uint8)
    nz = suf_len > 0
    first[nz] = sdata[soffs[:-1][nz]]
    two = suf_len > 1
    second[two] = sdata[soffs[:-1][two] + 1]
    starts_dot = (first == 46) & (second != 46) & (core_len > 0)
    if starts_dot.any():
        sd = pa.array(starts_dot)
        core_dot = pc.binary_join_element_wise(core, pa.scalar(".", t), pa.scalar("", t))
        keep_dot = (np.asarray(pc.is_in(core_dot, value_set=dots).to_numpy(zero_copy_only=False), dtype=bool)
                    | ~_subset_mask(core, starts_dot, DOT_SPLITS_AFTER_RE))
        move = pa.array(starts_dot & keep_dot)
        core = pc.if_else(move, core_dot, core)
        suf = pc.if_else(move, pc.utf8_slice_codeunits(suf, 1), suf)
        suf_len = _nbytes(suf)
        del sd
    if has_pre.any():
        pre = _subset_apply(pre, pa.array(has_pre), lambda x: pc.replace_substring_regex(x, AFFIX_TOKEN_RE, r"\0 "))
    if (suf_len > 0).any():
        suf = _subset_apply(suf, pa.array(suf_len > 0), lambda x: pc.replace_substring_regex(x, AFFIX_TOKEN_RE, r" \0"))
    return pc.binary_join_element_wise(pre, _split_core(core), suf, pa.scalar("", t))


def _subset_mask(arr: pa.Array, rows: np.ndarray, pattern: str) -> np.ndarray:
    """``pattern`` matched on the rows where ``rows`` holds; False elsewhere."""
    out = np.zeros(len(arr), bool)
    if rows.any():
        sel = np.flatnonzero(rows)
        out[sel] = np.asarray(_mask(arr.take(pa.array(sel)), pattern).to_numpy(zero_copy_only=False), dtype=bool)
    return out


def _merge_specials(tokens: pa.Array, chunk: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """spaCy re-joins split tokens that spell a special case (``"):"``, ``"'s"``, ``"8)"``)."""
    keys = _single_specials()
    n = len(tokens)
    if n < 2:
        return tokens, chunk
    lens = _nbytes(tokens)
    cand = np.flatnonzero((chunk[:-1] == chunk[1:]) & (lens[:-1] + lens[1:] <= 6))
    if len(cand) == 0:
        return tokens, chunk
    a, b = tokens.take(pa.array(cand)), tokens.take(pa.array(cand + 1))
    pair = pc.binary_join_element_wise(a, b, pa.scalar("", tokens.type))
    hit = np.asarray(pc.is_in(pair, value_set=keys).to_numpy(zero_copy_only=False), dtype=bool)
    if not hit.any():
        return tokens, chunk
    pos, pairs = cand[hit], pair.filter(pa.array(hit))
    ok = np.ones(len(pos), bool)
    ok[1:] = pos[1:] != pos[:-1] + 1  # overlapping pairs: the left one wins
    pos, pairs = pos[ok], pairs.filter(pa.array(ok))
    idx = np.arange(n, dtype=np.int64)
    idx[pos] = n + np.arange(len(pos))
    keep = np.ones(n, bool)
    keep[pos + 1] = False
    merged = pa.concat_arrays([tokens, pairs.cast(tokens.type)]).take(pa.array(idx[keep]))
    return merged, chunk[keep]


#: texts are tokenized in slices of about this many bytes, which bounds the intermediate arrays
SLICE_BYTES = 4 << 20


def tokenize(texts: pa.Array, cjk_chars: bool = True) -> tuple[pa.Array, np.ndarray]:
    """Tokens of every text, flattened, and the index of the text each token came from."""
    texts = texts.cast(pa.large_string()) if texts.type != pa.large_string() else texts
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    sizes = _nbytes(texts) if len(texts) else np.zeros(0, np.int64)
    if sizes.sum() <= SLICE_BYTES or len(texts) < 2:
        return _tokenize(texts, cjk_chars)
    bounds = np.searchsorted(np.cumsum(sizes), np.arange(SLICE_BYTES, sizes.sum(), SLICE_BYTES), side="right")
    edges = [0, *sorted(set(int(b) for b in bounds if 0 < b < len(texts))), len(texts)]
    toks, docs = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        t, d = _tokenize(texts.slice(a, b - a), cjk_chars)
        toks.append(t)
        docs.append(d + a)
    return pa.concat_arrays(toks), np.concatenate(docs)


def _tokenize(texts: pa.Array, cjk_chars: bool) -> tuple[pa.Array, np.ndarray]:
    if cjk_chars and len(texts):
        has_cjk = pc.match_substring_regex(texts, CJK_SPLIT_CLASS)
        texts = _subset_apply(texts, has_cjk, lambda t: pc.replace_substring_regex(t, CJK_SPLIT_CLASS, r" \0 "))
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
    tokens, tok_chunk = _merge_specials(tokens, tok_chunk)
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
    def dictionary_encoded(self) -> pa.DictionaryArray:
        """The tokens as an Arrow dictionary array: ``dictionary`` holds each distinct token once."""
        if "dict" not in self._cache:
            self._cache["dict"] = pc.dictionary_encode(self.tokens)
        return self._cache["dict"]

    @property
    def ids(self) -> np.ndarray:
        """A batch-wide integer id per distinct token string (equal strings, equal ids)."""
        if "ids" not in self._cache:
            self._cache["ids"] = self.dictionary_encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
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


def remember(batch: pa.RecordBatch, words: Words, cjk_chars: bool = True) -> None:
    """Record ``words`` as the tokens of ``batch`` (a step that rewrote the text and already knows
    its tokens, like C4's line cleaning, saves the next word-based step a tokenization)."""
    _last[cjk_chars] = (batch.column("id"), batch.column("text"), words)
