"""Read built shards without Megatron or PyTorch: documents by index, training windows, iteration.

Everything is a numpy memory map, so opening a multi-terabyte split costs only its index files.
Windows follow nanotron: non-overlapping runs of ``seq_len + 1`` tokens (inputs and shifted
targets) from the start of each shard; a shard's tail shorter than a window is not used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from .manifest import load_manifest
from .megatron import read_index
from .nanotron import read_nanotron


class TokenShards:
    """One split of a shards build: ``len()`` documents, ``ds[i]`` is document ``i``'s token ids."""

    def __init__(self, directory: str | Path, split: str = "train", fmt: str | None = None):
        self.directory = Path(directory)
        self.manifest = load_manifest(self.directory)
        formats = list(self.manifest["formats"])
        self.format = fmt or ("megatron" if "megatron" in formats else formats[0])
        if self.format not in formats:
            raise ValueError(f"{directory}: format {self.format!r} not built (built: {', '.join(formats)})")
        if split not in self.manifest["splits"]:
            raise KeyError(f"{directory}: no split {split!r} (splits: {', '.join(self.manifest['splits'])})")
        self.split = split
        self.names = [s["name"] for s in self.manifest["splits"][split]["shards"]]
        self._tokens: list[np.ndarray] = []
        self._starts: list[np.ndarray] = []  # per shard: token offset of each document, plus the end
        for name in self.names:
            tokens, starts = self._open(self.directory / name)
            self._tokens.append(tokens)
            self._starts.append(starts)
        self._bases: dict[int, np.ndarray] = {}
        self._doc_base = np.zeros(len(self.names) + 1, dtype=np.int64)
        np.cumsum([len(s) - 1 for s in self._starts], out=self._doc_base[1:])

    def _open(self, prefix: Path) -> tuple[np.ndarray, np.ndarray]:
        if self.format == "megatron":
            idx = read_index(prefix.with_name(prefix.name + ".idx"))
            bin_path = prefix.with_name(prefix.name + ".bin")
            tokens = np.memmap(bin_path, dtype=idx.dtype, mode="r") if bin_path.stat().st_size else \
                np.zeros(0, idx.dtype)
            seq_starts = np.zeros(idx.n_sequences + 1, dtype=np.int64)
            np.cumsum(idx.seq_lens, out=seq_starts[1:])
            return tokens, seq_starts[np.asarray(idx.doc_indices)]
        nf = read_nanotron(prefix.with_name(prefix.name + ".ds"))
        starts = np.zeros(len(nf.doc_ends) + 1, dtype=np.int64)
        starts[1:] = nf.doc_ends
        return nf.tokens, starts

    # -- documents -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._doc_base[-1])

    @property
    def n_tokens(self) -> int:
        return int(sum(len(t) for t in self._tokens))

    def locate(self, i: int) -> tuple[int, int]:
        """(shard number, document number within the shard) of global document ``i``."""
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"document {i} out of range (0..{n - 1})")
        s = int(np.searchsorted(self._doc_base, i, side="right")) - 1
        return s, i - int(self._doc_base[s])

    def document(self, i: int) -> np.ndarray:
        s, j = self.locate(i)
        st = self._starts[s]
        return self._tokens[s][st[j]:st[j + 1]]

    __getitem__ = document

    def __iter__(self) -> Iterator[np.ndarray]:
        for tokens, starts in zip(self._tokens, self._starts):
            for a, b in zip(starts[:-1].tolist(), starts[1:].tolist()):
                yield tokens[a:b]

    def document_lengths(self) -> np.ndarray:
        return np.concatenate([np.diff(s) for s in self._starts]) if self._starts else np.zeros(0, np.int64)

    # -- training windows ----------------------------------------------------------------------
    def _window_base(self, seq_len: int) -> np.ndarray:
        """Cumulative window counts per shard (cached per ``seq_len``)."""
        base = self._bases.get(seq_len)
        if base is None:
            counts = [len(t) // (seq_len + 1) for t in self._tokens]
            base = self._bases[seq_len] = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
        return base

    def num_windows(self, seq_len: int) -> int:
        return int(self._window_base(seq_len)[-1])

    def window(self, i: int, seq_len: int) -> np.ndarray:
        """Window ``i``: ``seq_len + 1`` tokens (train on ``w[:-1]`` to predict ``w[1:]``)."""
        base = self._window_base(seq_len)
        if not 0 <= i < base[-1]:
            raise IndexError(f"window {i} out of range (0..{int(base[-1]) - 1})")
        s = int(np.searchsorted(base, i, side="right")) - 1
        k = i - int(base[s])
        return self._tokens[s][k * (seq_len + 1):(k + 1) * (seq_len + 1)]

    def windows(self, seq_len: int, batch_size: int | None = None) -> Iterator[np.ndarray]:
        """Every window in order; with ``batch_size``, 2-D arrays of up to that many windows."""
        w = seq_len + 1
        for tokens in self._tokens:
            n = len(tokens) // w
            if n == 0:
                continue
            grid = tokens[:n * w].reshape(n, w)
            if batch_size is None:
                yield from grid
            else:
                for a in range(0, n, batch_size):
                    yield grid[a:a + batch_size]
