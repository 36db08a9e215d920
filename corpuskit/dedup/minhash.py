"""MinHash signatures of whole Arrow batches, bit-identical to ``datasketch.MinHash``.

Shingles are word n-grams of the normalised text (tokens joined by one space, UTF-8); CJK,
Thai and similar scripts are split into single characters, so Chinese is shingled by character
n-grams without a segmenter.  Each shingle is hashed with the chosen function and permuted with
datasketch's parameters (``np.random.RandomState(seed)``), so for the same shingles, hash
function, ``num_perm``, ``seed`` and scheme the values equal what
``MinHash(num_perm, seed, hashfunc=..., scheme=...).update_batch(shingles)`` gives: they load
into ``LeanMinHash`` / ``MinHashLSH`` as they are (see :meth:`MinHasher.to_datasketch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa

from . import kernels as K
from .normalize import Normalization, buffers, normalize

#: hash functions a scheme accepts (datasketch rejects hash values wider than the scheme)
SCHEME_HASHES = {"affine32": ("tok32", "sha1_32", "xxh32"), "legacy": ("tok32", "sha1_32", "xxh32"),
                 "affine64": ("tok64", "sha1_64", "xxh64")}

#: the normalisation shingling uses by default: case folded (the tokenizer drops punctuation and spaces;
#: NFKC is optional because it costs more than the rest of the signature on non-ASCII text)
SHINGLE_NORMALIZATION = Normalization(lowercase=True, whitespace=False, punctuation=False, digits=False, nfkc=False)


def permutations(num_perm: int, seed: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) permutation parameters datasketch draws for ``MinHash(num_perm, seed, scheme=...)``."""
    gen = np.random.RandomState(seed)
    if scheme == "legacy":
        prime = np.uint64(K.MERSENNE)
        ab = np.array([(gen.randint(1, prime, dtype=np.uint64), gen.randint(0, prime, dtype=np.uint64))
                       for _ in range(num_perm)], dtype=np.uint64).T
        return ab[0].copy(), ab[1].copy()
    width = 32 if scheme == "affine32" else 64
    dtype = np.uint32 if width == 32 else np.uint64
    a = gen.randint(0, 1 << (width - 1), num_perm, dtype=dtype) * dtype(2) + dtype(1)
    b = gen.randint(0, 1 << width, num_perm, dtype=dtype)
    return a.astype(np.uint64), b.astype(np.uint64)


def tok64(shingle: bytes) -> int:
    """The ``tok64`` shingle hash in plain Python: xxh64 of each space-separated token, folded in order.

    Hashing tokens once and combining them costs O(1) per shingle instead of hashing every
    shingle's bytes again (each token is in ``ngram`` shingles); give it to datasketch as
    ``hashfunc`` to reproduce corpuskit's signatures.
    """
    import xxhash

    m = (1 << 64) - 1
    h = K.P64_5
    for tok in shingle.split(b" "):
        h = ((((h << 27) | (h >> 37)) & m) ^ xxhash.xxh64_intdigest(tok)) * K.P64_1 + K.P64_4 & m
    h ^= h >> 33
    h = h * 0xFF51AFD7ED558CCD & m
    h ^= h >> 33
    h = h * 0xC4CEB9FE1A85EC53 & m
    return h ^ (h >> 33)


def tok32(shingle: bytes) -> int:
    """The low 32 bits of :func:`tok64` (for the 32-bit schemes)."""
    return tok64(shingle) & 0xFFFFFFFF


def python_hashfunc(name: str) -> Callable[[bytes], int]:
    """The same hash as a Python callable, to give datasketch as ``hashfunc``."""
    if name == "tok32":
        return tok32
    if name == "tok64":
        return tok64
    if name == "sha1_32":
        from datasketch.hashfunc import sha1_hash32
        return sha1_hash32
    if name == "sha1_64":
        from datasketch.hashfunc import sha1_hash64
        return sha1_hash64
    import xxhash
    return xxhash.xxh32_intdigest if name == "xxh32" else xxhash.xxh64_intdigest


@dataclass(frozen=True)
class MinHasher:
    """Signatures for a fixed (ngram, num_perm, seed, scheme, hash) configuration."""

    ngram: int = 5
    num_perm: int = 128
    seed: int = 1
    scheme: str = "affine32"
    hash: str = "tok32"
    normalization: Normalization = SHINGLE_NORMALIZATION

    def __post_init__(self) -> None:
        if self.hash not in SCHEME_HASHES[self.scheme]:
            raise ValueError(f"hash {self.hash!r} does not fit scheme {self.scheme!r}; "
                             f"use one of {SCHEME_HASHES[self.scheme]}")
        K.load()
        a, b = permutations(self.num_perm, self.seed, self.scheme)
        object.__setattr__(self, "_a", a)
        object.__setattr__(self, "_b", b)

    @property
    def dtype(self) -> type:
        return np.uint64 if self.scheme == "affine64" else np.uint32

    def shingle_hashes(self, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Hashes of every shingle of every text, and per-text offsets into them."""
        data, offsets = buffers(normalize(texts, self.normalization))
        return K.shingle_hashes(data, offsets, K.token_table(), self.ngram, K.HASH_KINDS[self.hash])

    def signatures(self, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """``(signatures[n, num_perm], shingle_count[n])`` for an Arrow string array."""
        sig, off, _ = self.sign(texts)
        return sig, np.diff(off)

    def sign(self, texts: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(signatures, shingle offsets, shingle hashes)``; with ``tok32`` the shingle hashes are
        the full 64-bit ``tok64`` values (whose low half is ``tok32``), for exact-Jaccard checks."""
        kind = "tok64" if self.hash == "tok32" else self.hash
        data, offsets = buffers(normalize(texts, self.normalization))
        hashes, off = K.shingle_hashes(data, offsets, K.token_table(), self.ngram, K.HASH_KINDS[kind])
        # the 32-bit schemes' fmix32 reads the low 32 bits; legacy multiplies the whole value
        values = hashes & np.uint64(K.M32) if (self.hash == "tok32" and self.scheme == "legacy") else hashes
        out = np.empty((len(off) - 1, self.num_perm), dtype=self.dtype)
        K.minhash(values, off, self._a, self._b, K.SCHEMES[self.scheme], out)  # type: ignore[attr-defined]
        return out, off, hashes

    # -- reference and interoperability ---------------------------------------------------
    def shingles(self, text: str) -> list[bytes]:
        """The shingles of one text as bytes, in plain Python (the reference the kernels match)."""
        norm = normalize(pa.array([text], pa.large_string()), self.normalization)[0].as_py()
        table = K.token_table()
        tokens: list[str] = []
        cur: list[str] = []
        for ch in norm:
            cls = table[ord(ch)]
            if cls == K.WORD:
                cur.append(ch)
                continue
            if cur:
                tokens.append("".join(cur))
                cur = []
            if cls == K.CHAR:
                tokens.append(ch)
        if cur:
            tokens.append("".join(cur))
        if not tokens:
            return []
        if len(tokens) < self.ngram:
            return [" ".join(tokens).encode()]
        return [" ".join(tokens[i:i + self.ngram]).encode() for i in range(len(tokens) - self.ngram + 1)]

    def datasketch_kwargs(self) -> dict:
        """Arguments that make ``datasketch.MinHash`` compute the same signatures."""
        return {"num_perm": self.num_perm, "seed": self.seed, "scheme": self.scheme,
                "hashfunc": python_hashfunc(self.hash)}

    def to_datasketch(self, signature: np.ndarray):
        """A ``datasketch.LeanMinHash`` holding one of our signatures."""
        from datasketch import LeanMinHash

        return LeanMinHash(seed=self.seed, hashvalues=np.asarray(signature).astype(
            np.uint64 if self.scheme == "legacy" else self.dtype), scheme=self.scheme)
