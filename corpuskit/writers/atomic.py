"""Write under a temporary name, rename when complete: a kill never leaves a file that looks done."""

from __future__ import annotations

import os
from pathlib import Path

TMP_MARK = ".tmp-"


def tmp_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}")


def commit(tmp: str | Path, final: str | Path) -> None:
    os.replace(tmp, final)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    commit(tmp, path)


def remove_stale_tmp(root: str | Path) -> int:
    """Delete temporary files a killed run left behind; returns how many."""
    n = 0
    for p in Path(root).rglob(f"*{TMP_MARK}*"):
        if p.is_file():
            p.unlink()
            n += 1
    return n
