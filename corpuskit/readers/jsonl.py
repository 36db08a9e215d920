"""JSONL reader (plain, .gz, .zst, .bz2, .xz), line-numbered errors, Dolma records as they are."""

from __future__ import annotations

import zlib
from typing import Iterator

import orjson
import pyarrow as pa

from ..document import dump_metadata
from ..registry import register_reader
from .base import BatchBuilder, ReadContext, Reader, ReaderParams, ReaderTask, default_source, open_maybe_compressed


class JsonlParams(ReaderParams):
    text_field: str = "text"
    id_field: str = "id"
    source_field: str = "source"


@register_reader("jsonl")
class JsonlReader(Reader):
    Params = JsonlParams
    extensions = (".jsonl", ".json", ".ndjson")

    def read(self, task: ReaderTask, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        p: JsonlParams = self.params  # type: ignore[assignment]
        builder = BatchBuilder(p.batch_size, p.batch_bytes)
        for path in task.paths:
            rel = self.relpath(path, task.root)
            fallback_source = p.source or default_source(path)
            yield from self._read_file(path, rel, fallback_source, builder, ctx)
        last = builder.flush()
        if last is not None:
            yield last

    def _read_file(self, path: str, rel: str, fallback_source: str, builder: BatchBuilder,
                   ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        p: JsonlParams = self.params  # type: ignore[assignment]
        tf, idf, sf = p.text_field, p.id_field, p.source_field
        limit = p.max_doc_bytes or None
        override_source = p.source
        loads = orjson.loads
        lineno = 0
        seen = 0
        try:
            with open_maybe_compressed(path) as fh:
                for line in fh:
                    lineno += 1
                    if limit is not None and len(line) > limit:
                        ctx.records += 1
                        seen += 1
                        ctx.quarantine(path, f"line {lineno}",
                                       f"record is {len(line) / 1e6:.1f} MB, over max_doc_bytes "
                                       f"({limit / 1e6:.1f} MB)", line[:200])
                        continue
                    if not line.strip():
                        continue
                    ctx.records += 1
                    seen += 1
                    try:
                        rec = loads(line)
                    except orjson.JSONDecodeError as e:
                        ctx.quarantine(path, f"line {lineno}", _json_error(line, e), line)
                        continue
                    if type(rec) is not dict:
                        ctx.quarantine(path, f"line {lineno}", f"record is a JSON {type(rec).__name__}, not an object",
                                       line)
                        continue
                    text = rec.pop(tf, None)
                    if type(text) is not str:
                        what = "missing" if text is None else f"a {type(text).__name__}, not a string"
                        ctx.quarantine(path, f"line {lineno}", f"text field {tf!r} is {what}", line)
                        continue
                    doc_id = rec.pop(idf, None)
                    doc_id = f"{rel}:{lineno}" if doc_id is None else str(doc_id)
                    src = rec.pop(sf, None)
                    source = override_source or (src if type(src) is str else fallback_source)
                    meta = rec.pop("metadata", None) if "metadata" in rec else None
                    if type(meta) is dict:
                        if rec:
                            meta.update(rec)
                    elif meta is not None:
                        rec["metadata"] = meta
                        meta = rec
                    else:
                        meta = rec
                    batch = builder.add(doc_id, text, source, dump_metadata(meta))
                    if batch is not None:
                        yield batch
        except (EOFError, OSError, zlib.error) as e:
            ctx.quarantine(path, f"after line {lineno}", f"truncated or corrupt file: {type(e).__name__}: {e}")
            ctx.records += 1
        except Exception as e:  # zstandard raises its own ZstdError
            if type(e).__name__ != "ZstdError":
                raise
            ctx.quarantine(path, f"after line {lineno}", f"truncated or corrupt zstd file: {e}")
            ctx.records += 1
        if seen == 0 and lineno == 0:
            ctx.warn(f"{path}: empty file (no records)")


def _json_error(line: bytes, e: Exception) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as u:
        return f"invalid UTF-8 at byte {u.start} of the line"
    return f"malformed JSON: {e}"
