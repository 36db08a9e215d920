"""Native kernels (numba) for the dedup hot paths: tokenising UTF-8, hashing shingles, MinHash.

The functions here are plain Python until :func:`load` compiles them with ``numba.njit(cache=True)``
(numba is imported only there, because the step registry imports every module of this package).
They work on the raw buffers of Arrow string arrays (``data`` bytes + ``offsets``), so a whole
batch is one call with no per-document Python.

Hashes are bit-exact with the reference libraries (tested): ``sha1_32``/``sha1_64`` are
datasketch's ``sha1_hash32``/``sha1_hash64``, ``xxh32``/``xxh64`` are ``xxhash.xxh32_intdigest``/
``xxh64_intdigest`` (seed 0).  MinHash permutations follow datasketch 2.x exactly: ``legacy``
(``(a*h+b) mod 2^64 mod (2^61-1)``, low 32 bits), ``affine32`` and ``affine64`` (MurmurHash3
finaliser, then ``a*h+b`` wrapping).
"""

from __future__ import annotations

import os

import numpy as np

# token classes of the code point table
SEP, WORD, CHAR = 0, 1, 2
# hash kinds: byte-exact hashes of the shingle's bytes, or "tok": xxh64 of each token, combined
SHA1_32, SHA1_64, XXH32, XXH64, TOK32, TOK64 = 0, 1, 2, 3, 4, 5
HASH_KINDS = {"sha1_32": SHA1_32, "sha1_64": SHA1_64, "xxh32": XXH32, "xxh64": XXH64, "tok32": TOK32, "tok64": TOK64}
# permutation schemes
LEGACY, AFFINE32, AFFINE64 = 0, 1, 2
SCHEMES = {"legacy": LEGACY, "affine32": AFFINE32, "affine64": AFFINE64}

M32 = 0xFFFFFFFF
MERSENNE = (1 << 61) - 1
P32_1, P32_2, P32_3, P32_4, P32_5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
P64_1 = 11400714785074694791
P64_2 = 14029467366897019727
P64_3 = 1609587929392839161
P64_4 = 9650029242287828579
P64_5 = 2870177450012600261


# ------------------------------------------------------------------------------------------
# small helpers (all uint64 arithmetic; 32-bit values are masked)
# ------------------------------------------------------------------------------------------
def _rotl32(x, r):
    x = x & np.uint64(M32)
    return ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & np.uint64(M32)


def _rotl64(x, r):
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def _read32le(buf, p):
    return (np.uint64(buf[p]) | (np.uint64(buf[p + 1]) << np.uint64(8)) | (np.uint64(buf[p + 2]) << np.uint64(16))
            | (np.uint64(buf[p + 3]) << np.uint64(24)))


def _read64le(buf, p):
    return _read32le(buf, p) | (_read32le(buf, p + 4) << np.uint64(32))


def _bswap32(x):
    return (((x & np.uint64(0xFF)) << np.uint64(24)) | ((x & np.uint64(0xFF00)) << np.uint64(8))
            | ((x >> np.uint64(8)) & np.uint64(0xFF00)) | ((x >> np.uint64(24)) & np.uint64(0xFF)))


def fmix32(h):
    h = h & np.uint64(M32)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(M32)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(M32)
    h ^= h >> np.uint64(16)
    return h


def fmix64(h):
    h ^= h >> np.uint64(33)
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


# ------------------------------------------------------------------------------------------
# hash functions over buf[start:end]
# ------------------------------------------------------------------------------------------
def xxh32(buf, start, end, seed):
    p = start
    n = end - start
    mask = np.uint64(M32)
    if n >= 16:
        v1 = (np.uint64(seed) + np.uint64(P32_1) + np.uint64(P32_2)) & mask
        v2 = (np.uint64(seed) + np.uint64(P32_2)) & mask
        v3 = np.uint64(seed) & mask
        v4 = (np.uint64(seed) - np.uint64(P32_1)) & mask
        limit = end - 16
        while p <= limit:
            v1 = (_rotl32((v1 + _read32le(buf, p) * np.uint64(P32_2)) & mask, 13) * np.uint64(P32_1)) & mask
            v2 = (_rotl32((v2 + _read32le(buf, p + 4) * np.uint64(P32_2)) & mask, 13) * np.uint64(P32_1)) & mask
            v3 = (_rotl32((v3 + _read32le(buf, p + 8) * np.uint64(P32_2)) & mask, 13) * np.uint64(P32_1)) & mask
            v4 = (_rotl32((v4 + _read32le(buf, p + 12) * np.uint64(P32_2)) & mask, 13) * np.uint64(P32_1)) & mask
            p += 16
        h = (_rotl32(v1, 1) + _rotl32(v2, 7) + _rotl32(v3, 12) + _rotl32(v4, 18)) & mask
    else:
        h = (np.uint64(seed) + np.uint64(P32_5)) & mask
    h = (h + np.uint64(n)) & mask
    while p + 4 <= end:
        h = (h + _read32le(buf, p) * np.uint64(P32_3)) & mask
        h = (_rotl32(h, 17) * np.uint64(P32_4)) & mask
        p += 4
    while p < end:
        h = (h + np.uint64(buf[p]) * np.uint64(P32_5)) & mask
        h = (_rotl32(h, 11) * np.uint64(P32_1)) & mask
        p += 1
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(P32_2)) & mask
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(P32_3)) & mask
    h ^= h >> np.uint64(16)
    return h


def _xxh64_round(acc, lane):
    acc = acc + lane * np.uint64(P64_2)
    acc = _rotl64(acc, 31)
    return acc * np.uint64(P64_1)


def _xxh64_merge(acc, val):
    acc ^= _xxh64_round(np.uint64(0), val)
    return acc * np.uint64(P64_1) + np.uint64(P64_4)


def xxh64(buf, start, end, seed):
    p = start
    n = end - start
    s = np.uint64(seed)
    if n >= 32:
        v1 = s + np.uint64(P64_1) + np.uint64(P64_2)
        v2 = s + np.uint64(P64_2)
        v3 = s
        v4 = s - np.uint64(P64_1)
        limit = end - 32
        while p <= limit:
            v1 = _xxh64_round(v1, _read64le(buf, p))
            v2 = _xxh64_round(v2, _read64le(buf, p + 8))
            v3 = _xxh64_round(v3, _read64le(buf, p + 16))
            v4 = _xxh64_round(v4, _read64le(buf, p + 24))
            p += 32
        h = _rotl64(v1, 1) + _rotl64(v2, 7) + _rotl64(v3, 12) + _rotl64(v4, 18)
        h = _xxh64_merge(h, v1)
        h = _xxh64_merge(h, v2)
        h = _xxh64_merge(h, v3)
        h = _xxh64_merge(h, v4)
    else:
        h = s + np.uint64(P64_5)
    h = h + np.uint64(n)
    while p + 8 <= end:
        h ^= _xxh64_round(np.uint64(0), _read64le(buf, p))
        h = _rotl64(h, 27) * np.uint64(P64_1) + np.uint64(P64_4)
        p += 8
    if p + 4 <= end:
        h ^= _read32le(buf, p) * np.uint64(P64_1)
        h = _rotl64(h, 23) * np.uint64(P64_2) + np.uint64(P64_3)
        p += 4
    while p < end:
        h ^= np.uint64(buf[p]) * np.uint64(P64_5)
        h = _rotl64(h, 11) * np.uint64(P64_1)
        p += 1
    h ^= h >> np.uint64(33)
    h = h * np.uint64(P64_2)
    h ^= h >> np.uint64(29)
    h = h * np.uint64(P64_3)
    h ^= h >> np.uint64(32)
    return h


def _rotl32u(x, r):
    return np.uint32((x << np.uint32(r)) | (x >> np.uint32(32 - r)))


def _sha1_block(msg, pos, w, st):
    """One SHA-1 compression of the 64 bytes at msg[pos:pos+64] into the state st (uint32[5])."""
    for i in range(16):
        q = pos + 4 * i
        w[i] = np.uint32((np.uint32(msg[q]) << np.uint32(24)) | (np.uint32(msg[q + 1]) << np.uint32(16))
                         | (np.uint32(msg[q + 2]) << np.uint32(8)) | np.uint32(msg[q + 3]))
    for t in range(16, 80):
        w[t] = _rotl32u(np.uint32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]), 1)
    a, b, c, d, e = st[0], st[1], st[2], st[3], st[4]
    for t in range(0, 20):
        tmp = np.uint32(_rotl32u(a, 5) + np.uint32((b & c) | (~b & d)) + e + np.uint32(0x5A827999) + w[t])
        e, d, c, b, a = d, c, _rotl32u(b, 30), a, tmp
    for t in range(20, 40):
        tmp = np.uint32(_rotl32u(a, 5) + np.uint32(b ^ c ^ d) + e + np.uint32(0x6ED9EBA1) + w[t])
        e, d, c, b, a = d, c, _rotl32u(b, 30), a, tmp
    for t in range(40, 60):
        tmp = np.uint32(_rotl32u(a, 5) + np.uint32((b & c) | (b & d) | (c & d)) + e + np.uint32(0x8F1BBCDC) + w[t])
        e, d, c, b, a = d, c, _rotl32u(b, 30), a, tmp
    for t in range(60, 80):
        tmp = np.uint32(_rotl32u(a, 5) + np.uint32(b ^ c ^ d) + e + np.uint32(0xCA62C1D6) + w[t])
        e, d, c, b, a = d, c, _rotl32u(b, 30), a, tmp
    st[0] = np.uint32(st[0] + a)
    st[1] = np.uint32(st[1] + b)
    st[2] = np.uint32(st[2] + c)
    st[3] = np.uint32(st[3] + d)
    st[4] = np.uint32(st[4] + e)


def sha1_head(buf, n, w, st, want64):
    """The first 4 (or 8) bytes of SHA-1(buf[0:n]) read little-endian, as datasketch does.

    ``buf`` must have room for the padding (n + 72 bytes): the message is padded in place.
    """
    st[0] = np.uint32(0x67452301)
    st[1] = np.uint32(0xEFCDAB89)
    st[2] = np.uint32(0x98BADCFE)
    st[3] = np.uint32(0x10325476)
    st[4] = np.uint32(0xC3D2E1F0)
    total = ((n + 8) // 64 + 1) * 64  # message + 0x80 + zero pad + 64-bit length
    buf[n] = 0x80
    for i in range(n + 1, total - 8):
        buf[i] = 0
    bits = np.uint64(n) * np.uint64(8)
    for i in range(8):
        buf[total - 1 - i] = np.uint8((bits >> np.uint64(8 * i)) & np.uint64(0xFF))
    for blk in range(0, total, 64):
        _sha1_block(buf, blk, w, st)
    lo = _bswap32(np.uint64(st[0]))
    if want64:
        return lo | (_bswap32(np.uint64(st[1])) << np.uint64(32))
    return lo


def hash_scratch(buf, n, kind, w, st):
    """Hash buf[0:n] (a scratch buffer with 72 spare bytes, which SHA-1 pads in place)."""
    if kind == 0:
        return sha1_head(buf, n, w, st, False)
    if kind == 1:
        return sha1_head(buf, n, w, st, True)
    if kind == 2:
        return xxh32(buf, 0, n, 0)
    return xxh64(buf, 0, n, 0)


# ------------------------------------------------------------------------------------------
# batch kernels
# ------------------------------------------------------------------------------------------
def hash_strings(data, offsets, seed):
    """xxh64 of every string of an Arrow string array (data + offsets)."""
    n = len(offsets) - 1
    out = np.empty(n, np.uint64)
    for i in range(n):
        out[i] = xxh64(data, offsets[i], offsets[i + 1], seed)
    return out


def tok_combine(h, th):
    """One step of the ``tok`` shingle hash: fold a token's xxh64 into the running value."""
    return (_rotl64(h, 27) ^ th) * np.uint64(P64_1) + np.uint64(P64_4)


def _decode(data, p, end):
    """Code point and length of the UTF-8 sequence at p (invalid bytes: code point 0xFFFD, length 1)."""
    c = np.int64(data[p])
    if c < 0x80:
        return c, 1
    if c >= 0xF0 and p + 3 < end:
        return ((c & 0x07) << 18) | ((np.int64(data[p + 1]) & 0x3F) << 12) | ((np.int64(data[p + 2]) & 0x3F) << 6) \
            | (np.int64(data[p + 3]) & 0x3F), 4
    if c >= 0xE0 and p + 2 < end:
        return ((c & 0x0F) << 12) | ((np.int64(data[p + 1]) & 0x3F) << 6) | (np.int64(data[p + 2]) & 0x3F), 3
    if c >= 0xC0 and p + 1 < end:
        return ((c & 0x1F) << 6) | (np.int64(data[p + 1]) & 0x3F), 2
    return 0xFFFD, 1


def tokenize(data, start, end, table, tok_start, tok_end):
    """Token byte ranges of data[start:end] into tok_start/tok_end; returns the count.

    ``table[cp]``: SEP breaks tokens, WORD joins runs, CHAR (CJK, Thai...) is a token by itself.
    """
    nt = 0
    p = start
    in_word = False
    while p < end:
        byte = data[p]
        if byte < 0x80:
            cp = np.int64(byte)
            ln = 1
        else:
            cp, ln = _decode(data, p, end)
        cls = table[cp] if cp < len(table) else 0
        if cls == 1:
            if not in_word:
                tok_start[nt] = p
                in_word = True
        else:
            if in_word:
                tok_end[nt] = p
                nt += 1
                in_word = False
            if cls == 2:
                tok_start[nt] = p
                tok_end[nt] = p + ln
                nt += 1
        p += ln
    if in_word:
        tok_end[nt] = p
        nt += 1
    return nt


def shingle_hashes(data, offsets, table, ngram, kind):
    """Hash of every word n-gram (tokens joined by one space) of every string.

    Returns ``(hashes uint64, doc_offsets int64)``; a document with fewer than ``ngram`` tokens
    gives one shingle of all its tokens, one with no token gives none.
    """
    n = len(offsets) - 1
    longest = 0
    for i in range(n):
        longest = max(longest, offsets[i + 1] - offsets[i])
    # a token takes at least one byte and a separator (or is a 3-byte CJK character), so a
    # document has at most len/2 + 1 shingles; token buffers only need the longest document
    out = np.empty((offsets[n] - offsets[0]) // 2 + n + 16, np.uint64)
    doc_off = np.empty(n + 1, np.int64)
    tok_start = np.empty(longest + 16, np.int64)
    tok_end = np.empty(longest + 16, np.int64)
    scratch = np.empty(1024, np.uint8)
    w = np.empty(80, np.uint32)
    st = np.empty(5, np.uint32)
    th = np.empty(longest + 16 if kind >= 4 else 1, np.uint64)
    k = 0
    doc_off[0] = 0
    for i in range(n):
        nt = tokenize(data, offsets[i], offsets[i + 1], table, tok_start, tok_end)
        if nt > 0 and kind >= 4:
            for t in range(nt):
                th[t] = xxh64(data, tok_start[t], tok_end[t], 0)
            m = nt - ngram + 1 if nt >= ngram else 1
            width = ngram if nt >= ngram else nt
            for s in range(m):
                h = np.uint64(P64_5)
                for t in range(s, s + width):
                    h = tok_combine(h, th[t])
                h = fmix64(h)
                out[k] = h & np.uint64(M32) if kind == 4 else h
                k += 1
        elif nt > 0:
            m = nt - ngram + 1 if nt >= ngram else 1
            width = ngram if nt >= ngram else nt
            for s in range(m):
                ln = 0
                for t in range(s, s + width):
                    ln += tok_end[t] - tok_start[t] + 1
                if ln + 72 > len(scratch):
                    scratch = np.empty(2 * ln + 72, np.uint8)
                q = 0
                for t in range(s, s + width):
                    if t > s:
                        scratch[q] = 32
                        q += 1
                    for b in range(tok_start[t], tok_end[t]):
                        scratch[q] = data[b]
                        q += 1
                out[k] = hash_scratch(scratch, q, kind, w, st)
                k += 1
        doc_off[i + 1] = k
    return out[:k], doc_off


def token_spans(data, offsets, table):
    """Token byte ranges (relative to each string) and per-document token offsets."""
    n = len(offsets) - 1
    cap = offsets[n] - offsets[0] + 16
    tok_start = np.empty(cap, np.int64)
    tok_end = np.empty(cap, np.int64)
    doc_off = np.empty(n + 1, np.int64)
    doc_off[0] = 0
    k = 0
    for i in range(n):
        nt = tokenize(data, offsets[i], offsets[i + 1], table, tok_start[k:], tok_end[k:])
        for t in range(k, k + nt):
            tok_start[t] -= offsets[i]
            tok_end[t] -= offsets[i]
        k += nt
        doc_off[i + 1] = k
    return tok_start[:k], tok_end[:k], doc_off


def minhash(hashes, doc_off, a, b, scheme, out):
    """MinHash signatures: out[i, j] = min over document i's shingles of permutation j of the hash."""
    n = len(doc_off) - 1
    p = len(a)
    mersenne = np.uint64(MERSENNE)
    m32 = np.uint64(M32)
    a32 = a.astype(np.uint32)
    b32 = b.astype(np.uint32)
    for i in range(n):
        row = out[i]
        for j in range(p):
            row[j] = np.uint64(M32) if scheme != 2 else np.uint64(0xFFFFFFFFFFFFFFFF)
        for s in range(doc_off[i], doc_off[i + 1]):
            h = hashes[s]
            if scheme == 0:
                for j in range(p):
                    x = a[j] * h + b[j]
                    r = (x & mersenne) + (x >> np.uint64(61))
                    if r >= mersenne:
                        r -= mersenne
                    r &= m32
                    if r < row[j]:
                        row[j] = r
            elif scheme == 1:
                hm = np.uint32(fmix32(h))
                for j in range(p):
                    r = np.uint32(a32[j] * hm + b32[j])
                    row[j] = min(row[j], r)
            else:
                hm = fmix64(h)
                for j in range(p):
                    r = a[j] * hm + b[j]
                    if r < row[j]:
                        row[j] = r


def band_keys(sig, bands, rows):
    """One 64-bit key per (document, band): a hash of the band's values and the band number."""
    n = sig.shape[0]
    out = np.empty((n, bands), np.uint64)
    for i in range(n):
        for bnd in range(bands):
            h = fmix64(np.uint64(bnd + 1) * np.uint64(P64_1))
            for j in range(bnd * rows, (bnd + 1) * rows):
                h = fmix64(h ^ (np.uint64(sig[i, j]) * np.uint64(P64_2))) + np.uint64(P64_4)
            out[i, bnd] = h
    return out


def agreement(sig_a, sig_b):
    """Share of equal values per row of two signature matrices (datasketch's ``jaccard``)."""
    n, p = sig_a.shape
    out = np.empty(n, np.float64)
    for i in range(n):
        c = 0
        for j in range(p):
            if sig_a[i, j] == sig_b[i, j]:
                c += 1
        out[i] = c / p
    return out


def sorted_intersections(values, off, ia, ib):
    """|A n B| for pairs of sorted unique sets stored as values[off[i]:off[i+1]]."""
    n = len(ia)
    out = np.empty(n, np.int64)
    for k in range(n):
        p, pe = off[ia[k]], off[ia[k] + 1]
        q, qe = off[ib[k]], off[ib[k] + 1]
        c = 0
        while p < pe and q < qe:
            x, y = values[p], values[q]
            if x == y:
                c += 1
                p += 1
                q += 1
            elif x < y:
                p += 1
            else:
                q += 1
        out[k] = c
    return out


def sort_unique_segments(values, off):
    """Sort and deduplicate each segment values[off[i]:off[i+1]]; returns (values, offsets)."""
    n = len(off) - 1
    out = np.empty(len(values), values.dtype)
    new_off = np.empty(n + 1, np.int64)
    new_off[0] = 0
    k = 0
    for i in range(n):
        seg = np.sort(values[off[i]:off[i + 1]])
        for t in range(len(seg)):
            if t == 0 or seg[t] != seg[t - 1]:
                out[k] = seg[t]
                k += 1
        new_off[i + 1] = k
    return out[:k], new_off


def group_min(keys, vals):
    """For keys sorted ascending: per run of equal keys, the minimum of vals (run starts + mins)."""
    n = len(keys)
    starts = np.empty(n, np.int64)
    mins = np.empty(n, vals.dtype)
    g = -1
    for i in range(n):
        if i == 0 or keys[i] != keys[i - 1]:
            g += 1
            starts[g] = i
            mins[g] = vals[i]
        elif vals[i] < mins[g]:
            mins[g] = vals[i]
    return starts[:g + 1], mins[:g + 1]


# order matters: callees before callers
_ORDER = ["_rotl32", "_rotl64", "_read32le", "_read64le", "_bswap32", "fmix32", "fmix64", "xxh32", "_xxh64_round",
          "_xxh64_merge", "xxh64", "tok_combine", "_rotl32u", "_sha1_block", "sha1_head", "hash_scratch", "hash_strings", "_decode", "tokenize",
          "shingle_hashes", "token_spans", "minhash", "band_keys", "agreement", "sorted_intersections",
          "sort_unique_segments", "group_min"]
_loaded = False


def load() -> None:
    """Compile (or load from numba's on-disk cache) every kernel, once per process."""
    global _loaded
    if _loaded:
        return
    import numba

    g = globals()
    for name in _ORDER:
        g[name] = numba.njit(cache=True, nogil=True)(g[name])
    _loaded = True


_table: np.ndarray | None = None

#: scripts written without spaces between words: every character is a token of its own
CHAR_RANGES = [
    (0x0E00, 0x0EFF),   # Thai, Lao
    (0x1000, 0x109F),   # Myanmar
    (0x1780, 0x17FF),   # Khmer
    (0x2E80, 0x2FDF),   # CJK radicals
    (0x3040, 0x30FF),   # Hiragana, Katakana
    (0x3100, 0x31BF),   # Bopomofo
    (0x31F0, 0x31FF),   # Katakana extension
    (0x3400, 0x4DBF),   # CJK extension A
    (0x4E00, 0x9FFF),   # CJK unified ideographs
    (0xF900, 0xFAFF),   # CJK compatibility ideographs
    (0x20000, 0x3134F),  # CJK extensions B-G
]


def token_table() -> np.ndarray:
    """Class of every code point: WORD for ``str.isalnum()`` or ``_`` (Python's ``\\w``), CHAR for
    the scripts in ``CHAR_RANGES`` (so Chinese is shingled by characters, no segmenter), else SEP."""
    global _table
    if _table is None:
        import hashlib
        import unicodedata
        from pathlib import Path

        tag = hashlib.sha1(f"{unicodedata.unidata_version}{CHAR_RANGES}".encode()).hexdigest()[:12]
        cache = Path(__file__).parent / "__pycache__" / f"token_table-{tag}.npy"
        try:
            _table = np.load(cache)
        except (OSError, ValueError):
            _table = _build_table()
            try:
                cache.parent.mkdir(exist_ok=True)
                tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
                with open(tmp, "wb") as fh:
                    np.save(fh, _table)
                os.replace(tmp, cache)
            except OSError:
                pass
    return _table


def _build_table() -> np.ndarray:
    import re

    chars = "".join(map(chr, range(0xD800))) + "\0" * 0x800 + "".join(map(chr, range(0xE000, 0x110000)))
    # Python's \w is exactly str.isalnum() or "_"; the regex engine classifies all code points in C
    marked = re.sub(r"[^\x01]", "\x00", re.sub(r"\w", "\x01", chars))
    t = np.frombuffer(marked.encode("latin-1"), dtype=np.uint8).copy()
    t[1] = SEP  # the marker itself
    cps = np.arange(0x110000)
    for lo, hi in CHAR_RANGES:
        t[(cps >= lo) & (cps <= hi) & (t == WORD)] = CHAR
    return t
