"""datatrove / nanotron tokenized files: ``X.ds`` + ``X.ds.index`` + ``X.ds.metadata``.

``X.ds`` is the token stream with no header (uint16 when the vocabulary has at most 65,536 entries,
else uint32); ``X.ds.index`` holds one uint64 per document, its cumulative end offset in tokens
(no leading 0); ``X.ds.metadata`` is ``<tokenizer name>|<token size>`` and the token count, one per
line.  With EOS appended, the ``.ds`` stream is also what nanoGPT/OLMo-style memmap loaders read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import HashingFile
from .megatron import FormatError


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype("<u2") if vocab_size <= 65_536 else np.dtype("<u4")


def metadata_text(tokenizer_name: str, token_size: int, tokens: int) -> str:
    return f"{tokenizer_name.replace('|', '_')}|{token_size}\n{tokens}\n"


class NanotronWriter:
    """Streams tokens into ``PREFIX.ds``; ``close`` writes the index and metadata and renames all three."""

    format = "nanotron"

    def __init__(self, prefix: str | Path, vocab_size: int, tokenizer_name: str):
        prefix = Path(prefix)
        self.dtype = token_dtype(vocab_size)
        self.tokenizer_name = tokenizer_name
        self.ds = HashingFile(prefix.with_name(prefix.name + ".ds"))
        self.tokens = 0

    def write(self, tokens: np.ndarray) -> None:
        self.ds.write(memoryview(np.ascontiguousarray(tokens, dtype=self.dtype)).cast("B"))
        self.tokens += len(tokens)

    def close(self, doc_lens: np.ndarray) -> dict[str, dict]:
        ends = np.cumsum(np.asarray(doc_lens, dtype=np.int64)).astype("<u8")
        index = HashingFile(self.ds.path.with_name(self.ds.path.name + ".index"))
        meta = HashingFile(self.ds.path.with_name(self.ds.path.name + ".metadata"))
        try:
            index.write(ends.tobytes())
            meta.write(metadata_text(self.tokenizer_name, self.dtype.itemsize, self.tokens).encode())
            return {self.ds.path.name: self.ds.commit(), index.path.name: index.commit(), meta.path.name: meta.commit()}
        except BaseException:
            index.abort()
            meta.abort()
            raise

    def abort(self) -> None:
        self.ds.abort()


@dataclass
class NanotronFiles:
    ds: Path
    dtype: np.dtype
    tokens: np.ndarray  # memmap
    doc_ends: np.ndarray  # memmap, uint64
    tokenizer_name: str
    metadata_tokens: int


def read_nanotron(ds_path: str | Path) -> NanotronFiles:
    """Open a ``.ds`` with its index and metadata; the token size comes from the metadata."""
    ds = Path(ds_path)
    index = ds.with_name(ds.name + ".index")
    meta = ds.with_name(ds.name + ".metadata")
    for p in (ds, index, meta):
        if not p.is_file():
            raise FormatError(p, "file", "missing")
    lines = meta.read_text(encoding="utf-8", errors="replace").splitlines()
    if len(lines) < 2 or "|" not in lines[0]:
        raise FormatError(meta, "metadata", f"expected '<tokenizer>|<token size>' and a token count, got {lines!r}")
    name, _, size_s = lines[0].rpartition("|")
    try:
        token_size = int(size_s)
        meta_tokens = int(lines[1])
    except ValueError:
        raise FormatError(meta, "metadata", f"token size {size_s!r} or count {lines[1]!r} is not an integer") from None
    if token_size not in (2, 4):
        raise FormatError(meta, "token size", f"is {token_size}, expected 2 or 4")
    dtype = np.dtype("<u2") if token_size == 2 else np.dtype("<u4")
    size = ds.stat().st_size
    if size % token_size:
        raise FormatError(ds, "file size", f"{size} bytes is not a multiple of the token size {token_size}")
    isize = index.stat().st_size
    if isize % 8:
        raise FormatError(index, "file size", f"{isize} bytes is not a multiple of 8 (uint64 document ends)")
    tokens = np.memmap(ds, dtype=dtype, mode="r") if size else np.zeros(0, dtype)
    ends = np.memmap(index, dtype="<u8", mode="r") if isize else np.zeros(0, "<u8")
    return NanotronFiles(ds, dtype, tokens, ends, name, meta_tokens)
