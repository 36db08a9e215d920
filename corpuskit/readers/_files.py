"""File-tree helpers for the one-file-per-document readers (text, code): walk inputs, group into tasks.

A directory of 100k small files must not become 100k tasks (each task is a shard, a marker and a
process round-trip), so files are grouped by sorted path into tasks of about ``task_bytes`` bytes or
``task_files`` files.  Grouping depends only on the sorted file list and sizes, so a rerun plans
the same tasks and resumes cleanly.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import Callable

from ..errors import ConfigError
from .base import ReaderTask


#: a task holds at most this many times ``task_files`` paths, counting files skipped by path
UNWEIGHTED_FACTOR = 32


@dataclass(frozen=True)
class FileEntry:
    path: str  # absolute
    root: str  # the directory ids are relative to
    size: int
    #: counts toward task grouping (False for files skipped by path alone, which cost nothing to read)
    weighted: bool = True


def walk_inputs(inputs: list[str], keep_file: Callable[[str], bool], skip_dir: Callable[[str], bool] | None = None,
                weigh: Callable[[str, int], bool] | None = None) -> list[FileEntry]:
    """Resolve files, directories and globs to sorted entries.

    ``keep_file(name)`` selects files found inside directories (files named explicitly are always
    kept); ``skip_dir(name)`` prunes directories; ``weigh(relpath, size)`` says whether a file counts
    toward task size (given its relative path and size).  Symlinked directories are not followed (no cycles, no escaping the tree).
    """
    found: dict[str, FileEntry] = {}
    for spec in inputs:
        matches = sorted(glob.glob(spec, recursive=True)) if glob.has_magic(spec) else [spec]
        if not matches:
            raise ConfigError(f"input {spec!r} matches no file")
        for m in matches:
            if os.path.isdir(m):
                root = os.path.abspath(m)
                for path, size in _walk(root, keep_file, skip_dir):
                    if path not in found:
                        rel = os.path.relpath(path, root)
                        found[path] = FileEntry(path, root, size, weigh(rel, size) if weigh else True)
            elif os.path.isfile(m):
                p = os.path.abspath(m)
                if p not in found:
                    found[p] = FileEntry(p, os.path.dirname(p), os.path.getsize(p), True)
            else:
                raise ConfigError(f"input {m!r} does not exist")
    if not found:
        raise ConfigError(f"no input files under {', '.join(inputs)}")
    return [found[p] for p in sorted(found)]


def _walk(top: str, keep_file: Callable[[str], bool],
          skip_dir: Callable[[str], bool] | None) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    if skip_dir is None or not skip_dir(e.name):
                        subdirs.append(e.path)
                elif e.is_file() and keep_file(e.name):
                    out.append((os.path.abspath(e.path), e.stat().st_size))
            except OSError:
                continue
        stack.extend(reversed(subdirs))
    return out


def group_tasks(entries: list[FileEntry], task_bytes: int, task_files: int) -> list[ReaderTask]:
    """Cut the sorted entries into tasks of at most ~task_bytes / task_files (weighted files only)."""
    tasks: list[ReaderTask] = []
    paths: list[str] = []
    root = ""
    nbytes = nfiles = 0
    for e in entries:
        full = e.weighted and (nfiles >= task_files or (nbytes > 0 and nbytes + e.size > task_bytes))
        # files skipped by path cost only a check, but keep the task spec itself bounded
        if paths and (e.root != root or full or len(paths) >= UNWEIGHTED_FACTOR * task_files):
            tasks.append(ReaderTask(len(tasks), paths, root))
            paths, nbytes, nfiles = [], 0, 0
        root = e.root
        paths.append(e.path)
        if e.weighted:
            nbytes += e.size
            nfiles += 1
    if paths:
        tasks.append(ReaderTask(len(tasks), paths, root))
    return tasks
