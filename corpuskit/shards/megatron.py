"""Megatron-LM indexed dataset (``.bin`` + ``.idx``), as read by Megatron-LM, GPT-NeoX and NeMo.

``.idx`` (little-endian): magic ``MMIDIDX\\x00\\x00``, uint64 version 1, uint8 dtype code, uint64
sequence count S, uint64 document-index count D, int32[S] sequence lengths, int64[S] byte pointers
into ``.bin``, int64[D] document indices (document k = sequences [d[k], d[k+1])).  ``.bin`` is the
token arrays back to back, no header.  Written from that description, not from Megatron's code.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CorpusError
from .config import MEGATRON_UINT16_LIMIT
from .files import HashingFile

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
HEADER_BYTES = 34
DTYPE_CODES: dict[int, np.dtype] = {
    1: np.dtype("u1"), 2: np.dtype("i1"), 3: np.dtype("<i2"), 4: np.dtype("<i4"),
    5: np.dtype("<i8"), 6: np.dtype("<f8"), 7: np.dtype("<f4"), 8: np.dtype("<u2"),
}
CODE_OF = {dt: code for code, dt in DTYPE_CODES.items()}


class FormatError(CorpusError):
    """A shard file does not follow its format; names the file and the field."""

    def __init__(self, path: str | Path, field: str, message: str):
        self.path = str(path)
        self.field = field
        super().__init__(f"{Path(path).name}: {field}: {message}")


def token_dtype(vocab_size: int) -> np.dtype:
    """Megatron's choice: uint16 (code 8) under 65,500 entries, else int32 (code 4)."""
    return np.dtype("<u2") if vocab_size < MEGATRON_UINT16_LIMIT else np.dtype("<i4")


def split_sequences(doc_lens: np.ndarray, max_seq: int) -> tuple[np.ndarray, np.ndarray]:
    """Sequence lengths and document indices: a document over ``max_seq`` tokens becomes
    consecutive sequences of ``max_seq`` (the last one shorter), still one document."""
    doc_lens = np.asarray(doc_lens, dtype=np.int64)
    n_seq = (doc_lens + max_seq - 1) // max_seq
    doc_indices = np.zeros(len(doc_lens) + 1, dtype=np.int64)
    np.cumsum(n_seq, out=doc_indices[1:])
    total = int(doc_indices[-1])
    if total == len(doc_lens):
        return doc_lens.astype(np.int32), doc_indices
    seq_lens = np.full(total, max_seq, dtype=np.int64)
    last = doc_indices[1:] - 1
    seq_lens[last] = doc_lens - (n_seq - 1) * max_seq
    return seq_lens.astype(np.int32), doc_indices


def encode_index(dtype: np.dtype, seq_lens: np.ndarray, doc_indices: np.ndarray) -> bytes:
    """The complete ``.idx`` file for these sequences."""
    dtype = np.dtype(dtype).newbyteorder("<")
    seq_lens = np.asarray(seq_lens, dtype="<i4")
    pointers = np.zeros(len(seq_lens), dtype="<i8")
    if len(seq_lens) > 1:
        np.cumsum(seq_lens[:-1].astype(np.int64) * dtype.itemsize, out=pointers[1:])
    doc_indices = np.asarray(doc_indices, dtype="<i8")
    header = MAGIC + struct.pack("<Q", VERSION) + struct.pack("<B", CODE_OF[dtype]) + \
        struct.pack("<Q", len(seq_lens)) + struct.pack("<Q", len(doc_indices))
    return b"".join([header, seq_lens.tobytes(), pointers.tobytes(), doc_indices.tobytes()])


class MegatronWriter:
    """Streams tokens into ``PREFIX.bin``; ``close`` writes ``PREFIX.idx`` and renames both."""

    format = "megatron"

    def __init__(self, prefix: str | Path, vocab_size: int, max_seq: int):
        prefix = Path(prefix)
        self.dtype = token_dtype(vocab_size)
        self.max_seq = max_seq
        self.bin = HashingFile(prefix.with_name(prefix.name + ".bin"))
        self.idx_path = prefix.with_name(prefix.name + ".idx")
        self.sequences = 0

    def write(self, tokens: np.ndarray) -> None:
        self.bin.write(memoryview(np.ascontiguousarray(tokens, dtype=self.dtype)).cast("B"))

    def close(self, doc_lens: np.ndarray) -> dict[str, dict]:
        seq_lens, doc_indices = split_sequences(doc_lens, self.max_seq)
        self.sequences = len(seq_lens)
        idx = HashingFile(self.idx_path)
        try:
            idx.write(encode_index(self.dtype, seq_lens, doc_indices))
            files = {self.bin.path.name: self.bin.commit(), self.idx_path.name: idx.commit()}
        except BaseException:
            idx.abort()
            raise
        return files

    def abort(self) -> None:
        self.bin.abort()


@dataclass
class MegatronIndex:
    path: Path
    version: int
    dtype_code: int
    dtype: np.dtype
    seq_lens: np.ndarray
    pointers: np.ndarray
    doc_indices: np.ndarray

    @property
    def n_sequences(self) -> int:
        return len(self.seq_lens)

    @property
    def n_documents(self) -> int:
        return len(self.doc_indices) - 1


def read_index(path: str | Path) -> MegatronIndex:
    """Parse an ``.idx`` file (memory-mapped arrays); raises FormatError naming the broken field."""
    path = Path(path)
    size = path.stat().st_size
    if size < HEADER_BYTES:
        raise FormatError(path, "header", f"file is {size} bytes, shorter than the {HEADER_BYTES}-byte header")
    with open(path, "rb") as fh:
        head = fh.read(HEADER_BYTES)
    if head[:9] != MAGIC:
        raise FormatError(path, "magic", f"starts with {head[:9]!r}, expected {MAGIC!r}")
    version = struct.unpack_from("<Q", head, 9)[0]
    if version != VERSION:
        raise FormatError(path, "version", f"is {version}, expected {VERSION}")
    code = head[17]
    if code not in DTYPE_CODES:
        raise FormatError(path, "dtype code", f"is {code}, not one of {sorted(DTYPE_CODES)}")
    n_seq, n_doc = struct.unpack_from("<QQ", head, 18)
    expected = HEADER_BYTES + 12 * n_seq + 8 * n_doc
    if size != expected:
        raise FormatError(path, "file size", f"is {size} bytes; the header's counts (sequences={n_seq}, "
                                             f"document indices={n_doc}) need 34 + 12*S + 8*D = {expected}")
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    seq_lens = mm[HEADER_BYTES:HEADER_BYTES + 4 * n_seq].view("<i4")
    pointers = mm[HEADER_BYTES + 4 * n_seq:HEADER_BYTES + 12 * n_seq].view("<i8")
    doc_indices = mm[HEADER_BYTES + 12 * n_seq:].view("<i8")
    return MegatronIndex(path, version, code, DTYPE_CODES[code], seq_lens, pointers, doc_indices)
