"""Progress counters shared between worker processes and the bar the main process draws."""

from __future__ import annotations

import sys
import time
from typing import Any

_counters: Any = None  # (docs, bytes) multiprocessing.Value pair, or None


def install(counters: Any) -> None:
    """Called in each worker (pool initializer) and in the main process for in-process runs."""
    global _counters
    _counters = counters


def add(docs: int, nbytes: int) -> None:
    c = _counters
    if c is None:
        return
    docs_v, bytes_v = c
    with docs_v.get_lock():
        docs_v.value += docs
    with bytes_v.get_lock():
        bytes_v.value += nbytes


class Bar:
    """A tqdm bar over tasks with docs/s and MB/s from the shared counters."""

    def __init__(self, total: int, desc: str, counters: Any, enabled: bool = True):
        from tqdm import tqdm

        self.counters = counters
        self.t0 = time.monotonic()
        self.base = self._read()
        self.bar = tqdm(total=total, desc=desc, unit="task", disable=not enabled, file=sys.stderr,
                        mininterval=0.5, dynamic_ncols=True, leave=True)

    def _read(self) -> tuple[int, int]:
        if self.counters is None:
            return (0, 0)
        return (self.counters[0].value, self.counters[1].value)

    def refresh(self, done: int | None = None) -> None:
        docs, nbytes = self._read()
        docs -= self.base[0]
        nbytes -= self.base[1]
        dt = max(time.monotonic() - self.t0, 1e-6)
        self.bar.set_postfix_str(f"{docs:,} docs, {docs / dt:,.0f} docs/s, {nbytes / dt / 1e6:.1f} MB/s",
                                 refresh=False)
        if done is not None and done > self.bar.n:
            self.bar.update(done - self.bar.n)
        else:
            self.bar.refresh()

    def close(self) -> None:
        self.refresh()
        self.bar.close()
