"""Local executor: N worker processes (spawned, so native libraries start clean), or in-process for N=1."""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from .. import progress
from ..errors import CorpusError


def _init_worker(counters: Any) -> None:
    progress.install(counters)


class LocalExecutor:
    def __init__(self, workers: int, progress: bool = True):
        self.workers = max(1, workers)
        self.show = progress
        self._ctx = mp.get_context("spawn")
        self.counters = (self._ctx.Value("q", 0), self._ctx.Value("q", 0))
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=self._ctx, initializer=_init_worker,
                                             initargs=(self.counters,))
        return self._pool

    def map(self, fn: Callable[[dict], Any], specs: list[dict], desc: str, threads: int = 1) -> list[Any]:
        """``fn`` over ``specs`` in the worker processes; in-process with one worker, on ``threads``
        threads at once (for a ``fn`` that spends its time in native code that drops the GIL)."""
        if not specs:
            return []
        bar = progress.Bar(len(specs), desc, self.counters, self.show)
        try:
            if self.workers == 1 or len(specs) == 1:
                progress.install(self.counters)
                if threads > 1 and len(specs) > 1:
                    with ThreadPoolExecutor(min(threads, len(specs)), thread_name_prefix=desc) as tp:
                        futures = [tp.submit(fn, s) for s in specs]
                        try:
                            for i, f in enumerate(futures):
                                f.result()
                                bar.refresh(i + 1)
                        except BaseException:
                            for f in futures:
                                f.cancel()
                            raise
                    return [f.result() for f in futures]
                out = []
                for s in specs:
                    out.append(fn(s))
                    bar.refresh(len(out))
                return out
            pool = self._get_pool()
            futures = [pool.submit(fn, s) for s in specs]
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                bar.refresh(len(futures) - len(pending))
                for f in done:
                    if f.exception() is not None:
                        for p in pending:
                            p.cancel()
                        err = f.exception()
                        if isinstance(err, BrokenProcessPool):
                            self._pool = None
                            raise CorpusError("a worker process died (killed, or out of memory?); completed tasks "
                                              "are kept: run the same command again to resume") from None
                        raise err
            return [f.result() for f in futures]
        finally:
            bar.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
