"""Plain-text directory reader (books): one file per document, any common encoding.

Files are grouped into tasks (``task_bytes`` / ``task_files``) by sorted path, so a directory of
100k small files is a few dozen tasks, and the grouping is the same on every run (resume works).
"""

from __future__ import annotations

import os
from typing import Iterator

import pyarrow as pa
from pydantic import Field

from ..document import dump_metadata
from ..registry import register_reader
from ._decode import decode_bytes
from ._files import group_tasks, walk_inputs
from .base import BatchBuilder, ReadContext, Reader, ReaderParams, ReaderTask, open_maybe_compressed, \
    strip_compression


class TextDirParams(ReaderParams):
    #: file name endings taken from directories (before any .gz/.zst/.bz2/.xz); empty: every file
    extensions: list[str] = Field(default_factory=lambda: [".txt", ".text", ".md", ".rst"])
    #: a task is cut after this many bytes of files ...
    task_bytes: int = Field(64 << 20, ge=1)
    #: ... or this many files
    task_files: int = Field(2000, ge=1)
    #: turn CRLF / CR line ends into LF (Windows and old Mac files)
    normalize_newlines: bool = True


@register_reader("text")
class TextDirReader(Reader):
    """One document per file; id = path relative to the input directory; encoding detected."""

    Params = TextDirParams

    def plan(self, inputs: list[str]) -> list[ReaderTask]:
        p: TextDirParams = self.params  # type: ignore[assignment]
        exts = tuple(p.extensions)

        def keep(name: str) -> bool:
            if name.startswith((".", "_")):
                return False
            return not exts or strip_compression(name).endswith(exts)

        entries = walk_inputs(inputs, keep, skip_dir=lambda name: name.startswith("."))
        return group_tasks(entries, p.task_bytes, p.task_files)

    def read(self, task: ReaderTask, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        p: TextDirParams = self.params  # type: ignore[assignment]
        builder = BatchBuilder(p.batch_size, p.batch_bytes)
        source = p.source or os.path.basename(task.root.rstrip("/")) or "text"
        for path in task.paths:
            rel = self.relpath(path, task.root)
            ctx.records += 1
            doc = self._read_file(path, rel, ctx)
            if doc is None:
                continue
            text, meta = doc
            batch = builder.add(rel, text, source, dump_metadata(meta))
            if batch is not None:
                yield batch
        last = builder.flush()
        if last is not None:
            yield last

    def _read_file(self, path: str, rel: str, ctx: ReadContext) -> tuple[str, dict] | None:
        """The file's text and metadata, or None after counting why it was skipped or quarantined."""
        p: TextDirParams = self.params  # type: ignore[assignment]
        limit = p.max_doc_bytes or None
        try:
            with open_maybe_compressed(path) as fh:
                data = fh.read(limit + 1) if limit is not None else fh.read()
        except (EOFError, OSError) as e:
            ctx.quarantine(path, "file", f"unreadable, truncated or corrupt file: {type(e).__name__}: {e}")
            return None
        except Exception as e:  # zstandard raises its own ZstdError
            if type(e).__name__ != "ZstdError":
                raise
            ctx.quarantine(path, "file", f"truncated or corrupt zstd file: {e}")
            return None
        if limit is not None and len(data) > limit:
            ctx.quarantine(path, "file", f"file is over max_doc_bytes ({limit / 1e6:.1f} MB)", data[:200])
            return None
        if not data.strip():
            ctx.skip("empty")
            return None
        dec = decode_bytes(data)
        if dec.text is None:
            if dec.encoding == "binary":
                ctx.skip("binary")
            else:
                ctx.quarantine(path, "file", "no text encoding decodes this file (tried UTF-8/16/32, "
                                             "uchardet and charset-normalizer guesses)", data[:200])
            return None
        text = dec.text
        if p.normalize_newlines and "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            ctx.skip("empty")
            return None
        return text, {"path": rel, "encoding": dec.encoding, "bytes": len(data)}
