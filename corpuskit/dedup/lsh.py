"""LSH banding: parameters from a Jaccard threshold, candidate pairs from band buckets.

Bands and rows come from ``datasketch.lsh._optimal_param`` (the grid search ``MinHashLSH``
runs: minimise the weighted integrals of false-positive and false-negative probability), so
corpuskit's buckets are exactly the ones a ``MinHashLSH(threshold, num_perm)`` would build.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .components import dedupe


@lru_cache(maxsize=64)
def optimal_params(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) as ``datasketch.MinHashLSH(threshold, num_perm, weights)`` chooses them."""
    from datasketch.lsh import _optimal_param

    b, r = _optimal_param(threshold, num_perm, fp_weight, fn_weight)
    return int(b), int(r)


def candidate_probability(j: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """Probability that two documents of Jaccard ``j`` share at least one band."""
    return 1.0 - (1.0 - np.power(j, rows)) ** bands


def bucket_edges(keys: np.ndarray, docs: np.ndarray, chain: bool) -> tuple[np.ndarray, np.ndarray]:
    """Edges among documents sharing a band key: each member to the bucket's smallest document
    (enough for connected components), plus consecutive members when ``chain`` (so a pair that
    fails verification against the first member can still be linked to its neighbour).

    Returns unique ``(u, v)`` with ``u < v``.
    """
    if len(keys) == 0:
        z = np.zeros(0, np.uint64)
        return z, z
    order = np.lexsort((docs, keys))
    k, d = keys[order], docs[order]
    same = np.zeros(len(k), bool)
    same[1:] = k[1:] == k[:-1]
    idx = np.arange(len(k))
    start = np.maximum.accumulate(np.where(same, 0, idx))
    member = same  # rows that are not the first of their bucket
    u = [d[start[member]]]
    v = [d[member]]
    if chain:
        u.append(d[:-1][same[1:]])
        v.append(d[1:][same[1:]])
    uu, vv = np.concatenate(u), np.concatenate(v)
    keep = uu != vv  # a document can repeat in a bucket only through its own duplicate rows
    uu, vv = uu[keep], vv[keep]
    return dedupe(np.minimum(uu, vv), np.maximum(uu, vv))
