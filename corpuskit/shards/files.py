"""Output files written under a temporary name, hashed as they are written, renamed when complete.

Hashing on the way out means the manifest's sha256 costs no second read of a multi-GB shard.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..writers.atomic import commit, tmp_path


class HashingFile:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp_path(self.path)
        self._fh = open(self.tmp, "wb", buffering=1 << 20)
        self._hash = hashlib.sha256()
        self.nbytes = 0

    def write(self, data: bytes | memoryview) -> None:
        self._fh.write(data)
        self._hash.update(data)
        self.nbytes += len(data)

    def commit(self) -> dict[str, int | str]:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        commit(self.tmp, self.path)
        return {"bytes": self.nbytes, "sha256": self._hash.hexdigest()}

    def abort(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        self.tmp.unlink(missing_ok=True)


def sha256_file(path: str | Path, block: int = 8 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        buf = bytearray(block)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()
