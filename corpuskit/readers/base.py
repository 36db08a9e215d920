"""The reader base: input resolution, task planning, batching, and the read context.

A reader never raises on a bad record: it hands the record to ``ReadContext.quarantine`` with
the file and the line or record number, and goes on (``--strict`` turns that into a stop).
Every record a reader sees is counted in ``records``, so the run summary can account for it.
"""

from __future__ import annotations

import bz2
import io
import lzma
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Iterator

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from ..document import make_batch
from ..errors import ConfigError, InputError, StrictModeError


class ReaderParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: documents per batch handed to the steps
    batch_size: int = Field(2048, ge=1)
    #: a batch is cut at this many characters of text (bounds the memory of every step)
    batch_bytes: int = Field(16 << 20, ge=1 << 16)
    #: records larger than this many bytes are quarantined (0: no limit)
    max_doc_bytes: int = Field(64 << 20, ge=0)
    #: the ``source`` of every document; default: the record's own source, else the file's stem
    source: str | None = None


@dataclass
class ReaderTask:
    """One unit of reading work: JSON-able so any executor can ship it."""

    index: int
    paths: list[str]
    root: str

    @property
    def label(self) -> str:
        return self.paths[0] if len(self.paths) == 1 else f"{self.paths[0]} (+{len(self.paths) - 1} files)"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "paths": self.paths, "root": self.root}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ReaderTask":
        return cls(index=d["index"], paths=list(d["paths"]), root=d["root"])


@dataclass
class Quarantined:
    path: str
    where: str
    error: str
    raw: str | None = None
    count: int = 1


@dataclass
class ReadContext:
    """Collects what a reader could not turn into documents; shared by every reader."""

    strict: bool = False
    records: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    raw_limit: int = 4096

    def quarantine(self, path: str, where: str, error: str, raw: bytes | str | None = None, count: int = 1) -> None:
        if self.strict:
            raise StrictModeError(str(InputError(path, where, error)))
        if isinstance(raw, bytes):
            raw = raw[: self.raw_limit].decode("utf-8", errors="replace")
        elif isinstance(raw, str):
            raw = raw[: self.raw_limit]
        self.quarantined.append(Quarantined(path, where, error, raw, count))

    @property
    def n_quarantined(self) -> int:
        return sum(q.count for q in self.quarantined)

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n

    def warn(self, message: str) -> None:
        self.warnings.append(message)


class BatchBuilder:
    """Accumulates documents as parallel lists and cuts batches by count or bytes."""

    def __init__(self, batch_size: int, max_bytes: int = 64 << 20):
        self.batch_size = batch_size
        self.max_bytes = max_bytes
        self._reset()

    def _reset(self) -> None:
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.sources: list[str | None] = []
        self.metas: list[str | None] = []
        self.nbytes = 0

    def add(self, doc_id: str, text: str, source: str | None, meta: str | None) -> pa.RecordBatch | None:
        self.ids.append(doc_id)
        self.texts.append(text)
        self.sources.append(source)
        self.metas.append(meta)
        self.nbytes += len(text)
        if len(self.ids) >= self.batch_size or self.nbytes >= self.max_bytes:
            return self.flush()
        return None

    def flush(self) -> pa.RecordBatch | None:
        if not self.ids:
            return None
        batch = make_batch(self.ids, self.texts, self.sources, self.metas)
        self._reset()
        return batch


COMPRESSIONS = (".gz", ".zst", ".zstd", ".bz2", ".xz")


def open_maybe_compressed(path: str) -> BinaryIO:
    """A buffered binary stream over a plain or compressed file (chosen by extension)."""
    if path.endswith(".gz"):
        return io.BufferedReader(_GzipStream(path), 1 << 20)
    if path.endswith((".zst", ".zstd")):
        return io.BufferedReader(_ZstdStream(path), 1 << 20)
    if path.endswith(".bz2"):
        return io.BufferedReader(bz2.open(path, "rb"), 1 << 20)
    if path.endswith(".xz"):
        return io.BufferedReader(lzma.open(path, "rb"), 1 << 20)
    return open(path, "rb", buffering=1 << 20)


class _Decompressing(io.RawIOBase):
    """Streams a (multi-member) compressed file and hands out every byte it could decode before
    raising ``EOFError`` on a truncated last member, so a cut file loses only its tail."""

    what = "compressed"

    def __init__(self, path: str):
        self._raw = open(path, "rb")
        self._obj = self._new()
        self._buf = b""
        self._pos = 0
        self._in_member = False

    def _new(self):
        raise NotImplementedError  # abstract

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        while self._pos >= len(self._buf):
            chunk = self._raw.read(1 << 20)
            if not chunk:
                if self._in_member:
                    raise EOFError(f"{self.what} stream ends in the middle of a frame (truncated file)")
                return 0
            out = []
            while chunk:
                self._in_member = True
                out.append(self._obj.decompress(chunk))
                if self._obj.eof:
                    self._in_member = False
                    chunk = self._obj.unused_data
                    self._obj = self._new()
                else:
                    chunk = b""
            self._buf, self._pos = b"".join(out), 0
        n = min(len(buf), len(self._buf) - self._pos)
        buf[:n] = self._buf[self._pos:self._pos + n]
        self._pos += n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class _GzipStream(_Decompressing):
    what = "gzip"

    def _new(self):
        return zlib.decompressobj(wbits=31)


class _ZstdStream(_Decompressing):
    what = "zstd"

    def _new(self):
        import zstandard

        return zstandard.ZstdDecompressor(max_window_size=1 << 31).decompressobj()


def strip_compression(name: str) -> str:
    for ext in COMPRESSIONS:
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def expand_inputs(inputs: list[str], extensions: tuple[str, ...]) -> list[tuple[str, str]]:
    """Resolve files, directories and globs to sorted ``(path, root)`` pairs.

    ``root`` is the directory ids are made relative to, so ids do not depend on where the
    corpus is mounted.  Inside directories, hidden and ``_``-prefixed files are left out, and only
    names ending in one of ``extensions`` (before any compression suffix) are taken.
    """
    from ._files import walk_inputs

    def keep(name: str) -> bool:
        if name.startswith((".", "_")):
            return False
        return not extensions or strip_compression(name).endswith(extensions) or name.endswith(extensions)

    return [(e.path, e.root) for e in walk_inputs(inputs, keep)]


def default_source(path: str) -> str:
    name = strip_compression(os.path.basename(path))
    return name.split(".")[0] or name


class Reader:
    name: ClassVar[str] = "reader"
    Params: ClassVar[type[ReaderParams]] = ReaderParams
    #: file name endings this reader takes from a directory (before any compression suffix)
    extensions: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: ReaderParams | dict | None = None, **kwargs: Any):
        if isinstance(params, dict):
            kwargs = {**params, **kwargs}
            params = None
        self.params = params if params is not None else self.Params(**kwargs)

    def plan(self, inputs: list[str]) -> list[ReaderTask]:
        """One task per input file; readers of file trees override this to group files."""
        return [ReaderTask(i, [p], root) for i, (p, root) in enumerate(expand_inputs(inputs, self.extensions))]

    def read(self, task: ReaderTask, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError  # abstract

    def config(self) -> dict[str, Any]:
        return {"type": self.name, **self.params.model_dump(mode="json", exclude_defaults=True)}

    @staticmethod
    def relpath(path: str, root: str) -> str:
        rel = os.path.relpath(path, root)
        return Path(rel).as_posix()
