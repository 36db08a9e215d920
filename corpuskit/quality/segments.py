"""Batch-wide building blocks for signals: split texts into lines/paragraphs with their document
index, find duplicates per document, sum per document, and n-gram repetition statistics.

Everything works on flat arrays for the whole batch (one Arrow kernel or numpy call per step),
never on one document at a time in Python.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: characters Python's ``str.isspace`` accepts (``strip()`` / ``split()`` in the published rules)
PY_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
#: the line boundaries of Python's ``str.splitlines()``
SPLITLINES = r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x{85}\x{2028}\x{2029}]"


def np_bool(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def np_int(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.int64)


def split(texts: pa.Array, pattern: str) -> tuple[pa.Array, np.ndarray]:
    """Split every text by the RE2 ``pattern`` (like Python's ``re.split``); parts and their document."""
    lists = pc.split_pattern_regex(texts, pattern)
    return pc.list_flatten(lists), np_int(pc.list_parent_indices(lists))


def split_literal(texts: pa.Array, sep: str) -> tuple[pa.Array, np.ndarray]:
    lists = pc.split_pattern(texts, sep)
    return pc.list_flatten(lists), np_int(pc.list_parent_indices(lists))


def per_doc(parent: np.ndarray, n_docs: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Count (or sum ``weights``) per document."""
    if weights is None:
        return np.bincount(parent, minlength=n_docs).astype(np.int64)
    return np.bincount(parent, weights=weights, minlength=n_docs)


def group_ids(values: pa.Array) -> np.ndarray:
    """An integer per element, equal for equal strings (hash table in Arrow)."""
    if len(values) == 0:
        return np.zeros(0, np.int64)
    return np_int(pc.dictionary_encode(values).indices)


def first_occurrence(parent: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """True where an element is the first of its value within its document."""
    if len(ids) == 0:
        return np.zeros(0, bool)
    key = parent.astype(np.int64) * (int(ids.max()) + 1) + ids
    _, first = np.unique(key, return_index=True)
    out = np.zeros(len(ids), bool)
    out[first] = True
    return out


def duplicates(values: pa.Array, parent: np.ndarray, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """Per document: how many elements repeat an earlier one, and their characters
    (datatrove's ``find_duplicates``)."""
    dup = ~first_occurrence(parent, group_ids(values))
    lengths = np_int(pc.utf8_length(values)) if len(values) else np.zeros(0, np.int64)
    return (per_doc(parent[dup], n_docs), per_doc(parent[dup], n_docs, lengths[dup]).astype(np.int64))


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` as float64, NaN where ``den`` is 0 (NaN never trips a threshold)."""
    num = num.astype(np.float64)
    den = den.astype(np.float64)
    out = np.full(len(num), np.nan)
    ok = den > 0
    out[ok] = num[ok] / den[ok]
    return out


# -- n-gram repetition over token ids -------------------------------------------------------------
_MUL = np.uint64(0x9E3779B97F4A7C15)


class NGrams:
    """64-bit hashes of every word n-gram of a batch, built incrementally (n from n-1), and the
    positions whose n-gram repeats within its document.

    An n-gram can only repeat where its (n-1)-gram prefix repeats, so for growing n only the
    previous n's repeated positions are hashed and grouped: the work shrinks as n grows."""

    def __init__(self, ids: np.ndarray, doc: np.ndarray, lengths: np.ndarray):
        self.ids = ids.astype(np.uint64) + np.uint64(1)
        self.doc = doc
        self.lengths = lengths
        self.cum = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
        n_docs = int(doc.max()) + 1 if len(doc) else 0
        self.offsets = np.concatenate([[0], np.cumsum(np.bincount(doc, minlength=n_docs))]).astype(np.int64)
        self._h: dict[int, np.ndarray] = {}
        self._rep: dict[int, np.ndarray] = {}

    def _hash(self, n: int) -> np.ndarray:
        """Hash of the n-gram starting at every position 0..T-n (ignoring document bounds)."""
        if n in self._h:
            return self._h[n]
        T = len(self.ids)
        if n == 1:
            h = self.ids * _MUL
        else:
            prev = self._hash(n - 1)[: T - n + 1]
            with np.errstate(over="ignore"):
                h = (prev ^ (prev >> np.uint64(31))) * _MUL + self.ids[n - 1:]
        self._h[n] = h
        self._h.pop(n - 2, None)
        return h

    def chars(self, starts: np.ndarray, n: int) -> np.ndarray:
        """Characters of the words in each n-gram (no separators)."""
        return self.cum[starts + n] - self.cum[starts]

    def repeated(self, n: int, docs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int,
                                                                          np.ndarray]:
        """Start positions (in text order) of the n-grams that occur at least twice in their
        document, their document, a group id per position (equal n-grams of a document share it;
        numbered in order of first appearance), the number of groups and each group's count.
        ``docs``: only documents where this bool mask holds."""
        T = len(self.ids)
        z = np.zeros(0, np.int64)
        if T < n:
            return z, z, z, 0, z
        if n - 1 in self._rep and n > 2:
            cand = self._rep[n - 1]
            cand = cand[cand + n - 1 < T]
        else:
            cand = np.arange(T - n + 1, dtype=np.int64)
        cand = cand[self.doc[cand] == self.doc[cand + n - 1]]
        if docs is not None:
            cand = cand[docs[self.doc[cand]]]
        if len(cand) == 0:
            self._rep[n] = cand
            return z, z, z, 0, z
        d = self.doc[cand]
        with np.errstate(over="ignore"):
            key = self._hash(n)[cand] ^ (d.astype(np.uint64) * np.uint64(0xD6E8FEB86659FD93))
        enc = pc.dictionary_encode(pa.array(key, pa.uint64()))
        gid = np_int(enc.indices)
        counts = np.bincount(gid, minlength=len(enc.dictionary))
        keep = counts[gid] >= 2
        multi = counts >= 2
        renumber = np.cumsum(multi) - 1
        rel = cand[keep]
        self._rep[n] = rel
        return rel, d[keep], renumber[gid[keep]], int(multi.sum()), counts[multi]


def top_ngram_chars(ng: NGrams, n_docs: int, n: int, sep: int = 1, docs: np.ndarray | None = None) -> np.ndarray:
    """Per document: characters covered by its most frequent n-gram (``len(gram) * count``), ties
    going to the n-gram seen first, as ``collections.Counter.most_common(1)`` does.  ``sep`` is
    the separator width counted between words (1 for ``" ".join``, 0 for CJK characters)."""
    out = np.zeros(n_docs, np.int64)
    if len(ng.ids) == 0:
        return out
    # with no n-gram seen twice, the first n-gram wins with a count of 1
    counts_per_doc = np.diff(ng.offsets)
    has = np.zeros(n_docs, bool)
    has[: len(counts_per_doc)] = counts_per_doc >= n
    if docs is not None:
        has &= docs
    first = ng.offsets[:-1][has[: len(counts_per_doc)]]
    out[has] = ng.chars(first, n) + sep * (n - 1)
    pos, d, gid, G, counts = ng.repeated(n, docs)
    if G == 0:
        return out
    # groups are numbered in order of first appearance: group order is document order and,
    # within a document, text order of first occurrence
    is_first = np.ones(len(gid), bool)
    is_first[1:] = gid[1:] > np.maximum.accumulate(gid)[:-1]
    g_pos, g_doc = pos[is_first], d[is_first]
    doc_start = np.flatnonzero(np.r_[True, g_doc[1:] != g_doc[:-1]])
    best_count = np.maximum.reduceat(counts, doc_start)
    is_best = counts == np.repeat(best_count, np.diff(np.r_[doc_start, G]))
    cand = np.flatnonzero(is_best)
    _, take = np.unique(g_doc[cand], return_index=True)
    best = cand[take]
    out[g_doc[best]] = (ng.chars(g_pos[best], n) + sep * (n - 1)) * counts[best]
    return out


def dup_ngram_chars(ng: NGrams, n_docs: int, n: int, docs: np.ndarray | None = None) -> np.ndarray:
    """Per document: characters of n-grams that repeat an earlier one, scanning left to right and
    jumping past each repeat, as datatrove's ``find_all_duplicate`` does (words joined without spaces).

    The jump makes the scan sequential, so it stays a loop, but it only visits the positions whose
    n-gram occurs at least twice in its document; every other position can neither be a repeat
    nor cause a jump.  Group ids are unique per (document, n-gram) and a jump never crosses a
    document end, so one pass serves the whole batch."""
    out = np.zeros(n_docs, np.int64)
    pos, d, gid, G, _ = ng.repeated(n, docs)
    if G == 0:
        return out
    seen = bytearray(G)
    skip_end = -1
    hits = []
    for i, p, g in zip(range(len(pos)), pos.tolist(), gid.tolist()):
        if p < skip_end:
            continue
        if seen[g]:
            hits.append(i)
            skip_end = p + n
        else:
            seen[g] = 1
    if hits:
        h = np.asarray(hits, np.int64)
        np.add.at(out, d[h], ng.chars(pos[h], n))
    return out


def scatter(values: pa.Array, rows: np.ndarray | None, n: int) -> pa.Array:
    """Place ``values`` (computed for ``rows``) into an array of ``n`` rows, null elsewhere."""
    if rows is None:
        return values
    idx = np.full(n, len(values), np.int64)
    idx[rows] = np.arange(len(rows))
    return pa.concat_arrays([values, pa.nulls(1, values.type)]).take(pa.array(idx))
