"""Code-repository reader: a directory tree of repositories, one source file per document.

Files that are not worth training on are skipped with a counted reason, cheapest test first, so
a ``node_modules`` of 100k files costs a path check each and is never opened:

    vendored -> generated (lock files, *_pb2.py, ...) -> minified (by name) -> unknown_extension
    -> excluded_language -> oversized -> empty -> binary -> generated (header markers)
    -> minified (line lengths)
"""

from __future__ import annotations

import os
import re
from typing import Iterator, Literal

import pyarrow as pa
from pydantic import Field

from ..document import dump_metadata
from ..registry import register_reader
from ._decode import decode_bytes
from ._files import group_tasks, walk_inputs
from ._languages import language_of
from .base import BatchBuilder, ReadContext, Reader, ReaderParams, ReaderTask

DEFAULT_VENDORED = [
    "node_modules", "bower_components", "jspm_packages", "vendor", "vendors", "third_party", "third-party",
    "thirdparty", "external", "extern", ".git", ".hg", ".svn", "dist", "build", "__pycache__", ".venv", "venv",
    "site-packages", ".tox", ".mypy_cache", ".pytest_cache", "Pods", "Carthage", ".gradle", ".next", ".nuxt",
]
LOCK_FILES = frozenset({
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "Cargo.lock",
    "poetry.lock", "Pipfile.lock", "uv.lock", "pdm.lock", "composer.lock", "Gemfile.lock", "go.sum", "flake.lock",
    "mix.lock", "pubspec.lock", "Podfile.lock", "packages.lock.json", "gradle.lockfile", "conda-lock.yml",
})
_GENERATED_NAME = re.compile(
    r"(_pb2(_grpc)?\.pyi?|\.pb\.(go|cc|h|c)|\.pb-c\.[ch]|_grpc\.pb\.go|\.generated\.\w+|\.g\.dart|\.freezed\.dart|"
    r"\.designer\.cs|_generated\.\w+)$")
_MINIFIED_NAME = re.compile(r"[.-]min\.(js|mjs|css)$")
#: header markers of generated files, searched in the first ``GENERATED_HEADER`` characters
_GENERATED_MARK = re.compile(
    r"do not edit|auto-?generated|automatically generated|@generated|"
    r"^\W*(?:this (?:file|code) (?:is|was|has been) )?generated (?:by|from|with|using)\b",
    re.IGNORECASE | re.MULTILINE)
GENERATED_HEADER = 1024


class CodeRepoParams(ReaderParams):
    #: files larger than this are skipped as ``oversized`` (not quarantined: big files are normal in repos)
    max_file_bytes: int = Field(1_000_000, ge=1)
    #: files whose extension maps to no language: skip them or keep them with ``lang: null``
    unknown_extension: Literal["skip", "keep"] = "skip"
    #: keep only these languages (None: all known); others are skipped as ``excluded_language``
    languages: list[str] | None = None
    #: directory names whose files are vendored / build output (matched on any path component)
    vendored_dirs: list[str] = Field(default_factory=lambda: list(DEFAULT_VENDORED))
    #: skip lock files, protobuf/codegen outputs and files whose header says generated / DO NOT EDIT
    skip_generated: bool = True
    #: skip *.min.js / *.min.css and files with a line over ``max_line_length`` chars when the mean
    #: line is over ``max_mean_line_length`` (one long line in normal code is kept)
    skip_minified: bool = True
    max_line_length: int = Field(1000, ge=1)
    max_mean_line_length: float = Field(100.0, gt=0)
    #: task grouping, as for the text reader
    task_bytes: int = Field(64 << 20, ge=1)
    task_files: int = Field(4000, ge=1)


@register_reader("code")
class CodeRepoReader(Reader):
    """One document per source file; id = path relative to the input directory; language from the name."""

    Params = CodeRepoParams

    def __init__(self, params: CodeRepoParams | dict | None = None, **kwargs):
        super().__init__(params, **kwargs)
        p: CodeRepoParams = self.params  # type: ignore[assignment]
        self._vendored = frozenset(p.vendored_dirs)
        self._languages = frozenset(p.languages) if p.languages is not None else None

    def plan(self, inputs: list[str]) -> list[ReaderTask]:
        p: CodeRepoParams = self.params  # type: ignore[assignment]
        entries = walk_inputs(inputs, keep_file=lambda name: True,
                              weigh=lambda rel, size: self.path_reason(rel, size)[0] is None)
        return group_tasks(entries, p.task_bytes, p.task_files)

    def path_reason(self, rel: str, size: int) -> tuple[str | None, str | None]:
        """(skip reason or None, language) decided from the path and size alone, without opening the file."""
        p: CodeRepoParams = self.params  # type: ignore[assignment]
        parts = rel.replace(os.sep, "/").split("/")
        name = parts[-1]
        if self._vendored and not self._vendored.isdisjoint(parts[:-1]):
            return "vendored", None
        if p.skip_generated and (name in LOCK_FILES or _GENERATED_NAME.search(name)):
            return "generated", None
        if p.skip_minified and _MINIFIED_NAME.search(name):
            return "minified", None
        lang = language_of(name)
        if lang is None and p.unknown_extension == "skip":
            return "unknown_extension", None
        if self._languages is not None and lang not in self._languages:
            return "excluded_language", lang
        if size > p.max_file_bytes:
            return "oversized", lang
        return None, lang

    def read(self, task: ReaderTask, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        p: CodeRepoParams = self.params  # type: ignore[assignment]
        builder = BatchBuilder(p.batch_size, p.batch_bytes)
        root = task.root
        source = p.source or os.path.basename(root.rstrip("/")) or "code"
        for path in task.paths:
            rel = self.relpath(path, root)
            ctx.records += 1
            doc = self._read_file(path, rel, root, ctx)
            if doc is None:
                continue
            batch = builder.add(rel, doc[0], source, dump_metadata(doc[1]))
            if batch is not None:
                yield batch
        last = builder.flush()
        if last is not None:
            yield last

    def _read_file(self, path: str, rel: str, root: str, ctx: ReadContext) -> tuple[str, dict] | None:
        p: CodeRepoParams = self.params  # type: ignore[assignment]
        try:
            size = os.path.getsize(path)
        except OSError as e:
            ctx.quarantine(path, "file", f"cannot stat file: {e}")
            return None
        reason, lang = self.path_reason(rel, size)
        if reason is not None:
            ctx.skip(reason)
            return None
        try:
            with open(path, "rb") as fh:
                data = fh.read(p.max_file_bytes + 1)
        except OSError as e:
            ctx.quarantine(path, "file", f"unreadable file: {type(e).__name__}: {e}")
            return None
        if len(data) > p.max_file_bytes:  # grew since it was planned
            ctx.skip("oversized")
            return None
        if not data.strip():
            ctx.skip("empty")
            return None
        dec = decode_bytes(data)
        if dec.text is None:
            ctx.skip("binary")  # NUL / control bytes, or no encoding decodes it
            return None
        text = dec.text
        if p.skip_generated and _GENERATED_MARK.search(text, 0, GENERATED_HEADER):
            ctx.skip("generated")
            return None
        if p.skip_minified and _minified(text, p.max_line_length, p.max_mean_line_length):
            ctx.skip("minified")
            return None
        parts = rel.split("/")
        repo = parts[0] if len(parts) > 1 else os.path.basename(root.rstrip("/"))
        return text, {"path": rel, "repo": repo, "lang": lang, "encoding": dec.encoding, "bytes": len(data)}


def _minified(text: str, max_line: int, max_mean: float) -> bool:
    if len(text) <= max_line:
        return False
    lines = text.split("\n")
    if len(text) / len(lines) <= max_mean:
        return False
    return max(map(len, lines)) > max_line
