"""Connected components over partitioned edge files: alternating large-star / small-star.

Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014).  Each step is a
group-by on one endpoint, so each runs as ``Q`` independent tasks over edge partitions, with
memory bounded by one partition, never the whole graph: this is what lets clustering run as
many tasks (and later on Ray) instead of one in-memory union-find.  It converges in
O(log^2 n) rounds (a handful in practice) to a star forest: every node linked to its
component's smallest node.

Files (under a stage's workdir)::

    cc/ls{r}/to{q}/from{p}.bin   large-star output of round r, (leaf, min) keyed by leaf
    cc/ss{r}/to{q}/from{p}.bin   small-star output of round r, both orientations, keyed by first
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import kernels as K
from .store import AppendFile, partition_of

EDGE = np.dtype([("u", "<u8"), ("v", "<u8")])


def dedupe(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique (u, v) pairs."""
    if len(u) == 0:
        return u, v
    order = np.lexsort((v, u))
    u, v = u[order], v[order]
    keep = np.ones(len(u), bool)
    keep[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return u[keep], v[keep]


def checksum(a: np.ndarray, b: np.ndarray) -> int:
    """Order-independent fingerprint of a set of undirected edges given as (smaller, larger)."""
    if len(a) == 0:
        return 0
    x = a * np.uint64(0x9E3779B97F4A7C15) ^ (b + np.uint64(0x632BE59BD9B4E019))
    x = (x ^ (x >> np.uint64(31))) * np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(29)
    return int(np.sum(x, dtype=np.uint64))


def read_edges(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    arrays = [np.fromfile(p, dtype=EDGE) for p in paths if p.exists()]
    rec = np.concatenate(arrays) if arrays else np.zeros(0, EDGE)
    return rec["u"].copy(), rec["v"].copy()


def files_to(root: Path, q: int) -> list[Path]:
    d = root / f"to{q:05d}"
    return sorted(p for p in d.iterdir() if ".tmp-" not in p.name) if d.exists() else []


def write_partitioned(root: Path, src: int, u: np.ndarray, v: np.ndarray, key: np.ndarray, n: int) -> None:
    """Write (u, v) rows to ``root/to{part(key)}/from{src}.bin`` for every partition (empty ones too,
    so a rerun of the task replaces all of its outputs)."""
    part = partition_of(key, n) if n > 1 else np.zeros(len(key), np.int64)
    order = np.argsort(part, kind="stable")
    rec = np.empty(len(u), EDGE)
    rec["u"], rec["v"] = u, v
    rec, part = rec[order], part[order]
    bounds = np.searchsorted(part, np.arange(n + 1))
    for q in range(n):
        f = AppendFile(root / f"to{q:05d}" / f"from{src:05d}.bin")
        f.write(rec[bounds[q]:bounds[q + 1]])
        f.commit()


def large_star(u: np.ndarray, v: np.ndarray, out: Path, src: int, n: int) -> dict:
    """Large-star on the directed rows (u, v) of this partition (every neighbour v of each u here).

    Each node u links every larger neighbour to the smallest of u and its neighbours.
    """
    u, v = dedupe(u, v)
    fwd = u < v
    chk, count = checksum(u[fwd], v[fwd]), int(fwd.sum())
    if len(u):
        starts, mins = K.group_min(u, v)
        m = np.minimum(mins, u[starts])
        m_row = np.repeat(m, np.diff(np.append(starts, len(u))))
        sel = v > u
        leaf, root = v[sel], m_row[sel]
    else:
        leaf = root = np.zeros(0, np.uint64)
    write_partitioned(out, src, leaf, root, leaf, n)
    return {"edges_in": count, "checksum_in": f"{chk:x}", "edges_out": int(len(leaf))}


def small_star(leaf: np.ndarray, root: np.ndarray, out: Path, src: int, n: int) -> dict:
    """Small-star on rows (x, y) with y < x keyed by x: x and its smaller neighbours all link to the
    smallest of them.  Writes both orientations for the next large-star."""
    leaf, root = dedupe(leaf, root)
    chk, count = checksum(root, leaf), len(leaf)
    if len(leaf):
        starts, mins = K.group_min(leaf, root)
        m_row = np.repeat(mins, np.diff(np.append(starts, len(leaf))))
        # x's smaller neighbours y (other than the minimum) -> min, and x itself -> min
        sel = root != m_row
        a = np.concatenate([root[sel], leaf[starts]])
        b = np.concatenate([m_row[sel], mins])
    else:
        a = b = np.zeros(0, np.uint64)
    # both orientations: (a, b) keyed by a, (b, a) keyed by b
    uu = np.concatenate([a, b])
    vv = np.concatenate([b, a])
    write_partitioned(out, src, uu, vv, uu, n)
    return {"ls_edges_out": count, "checksum_ls_out": f"{chk:x}"}


def checksum_sum(results: list[dict], key: str) -> int:
    return sum(int(r[key], 16) for r in results) % (1 << 64)


def components_in_memory(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(node, component min) for every node of the edge list, with scipy (reference and small runs)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nodes, inv = np.unique(np.concatenate([u, v]), return_inverse=True)
    n = len(nodes)
    if n == 0:
        return nodes, nodes
    a, b = inv[: len(u)], inv[len(u):]
    g = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(g, directed=False)
    mins = np.full(labels.max() + 1, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(mins, labels, np.arange(n))
    return nodes, nodes[mins[labels]]
