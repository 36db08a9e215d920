"""Ray executor: the same task functions as the local executor, run as Ray tasks.

Ray is an optional extra (``pip install corpuskit[ray]``).  With no address a local instance is
started; ``--ray-address auto`` or ``ray://host:10001`` joins a cluster.  Every task writes its
files under temporary names and renames them, and its marker last, so a task Ray retries after a
worker dies rewrites the same bytes: nothing is written twice or half.  On a cluster the output
directory (and so the intermediate files under ``_work/``) must be on storage every node sees.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable

from .. import progress
from ..errors import ConfigError, CorpusError


def runtime_env() -> dict[str, Any]:
    """Workers see the driver's import path, so user plugins (``imports:``) load on every node
    that shares the code's location."""
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}}


class RayExecutor:
    def __init__(self, workers: int, progress: bool = True, address: str | None = None, max_retries: int = 3):
        try:
            import ray
        except ImportError:
            raise ConfigError("executor 'ray' needs Ray: pip install 'corpuskit[ray]'") from None
        self.ray = ray
        self.workers = max(1, workers)
        self.show = progress
        self.max_retries = max_retries
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"runtime_env": runtime_env(), "log_to_driver": True,
                                      "logging_level": "ERROR"}
            if address:
                ray.init(address=address, **kwargs)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, **kwargs)
            self._started = True
        self._remotes: dict[Callable, Any] = {}

    def _remote(self, fn: Callable) -> Any:
        if fn not in self._remotes:
            self._remotes[fn] = self.ray.remote(max_retries=self.max_retries, retry_exceptions=False)(fn)
        return self._remotes[fn]

    def map(self, fn: Callable[[dict], Any], specs: list[dict], desc: str, threads: int = 1) -> list[Any]:
        if not specs:
            return []
        remote = self._remote(fn)
        refs = [remote.remote(s) for s in specs]
        bar = progress.Bar(len(specs), desc, None, self.show)
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[Any] = [None] * len(refs)
        pending = list(refs)
        docs = 0
        t0 = time.monotonic()
        try:
            while pending:
                done, pending = self.ray.wait(pending, num_returns=1, timeout=0.5)
                for ref in done:
                    try:
                        res = self.ray.get(ref)
                    except self.ray.exceptions.RayTaskError as e:
                        cause = getattr(e, "cause", None)
                        for p in pending:
                            self.ray.cancel(p, force=True)
                        if isinstance(cause, CorpusError):
                            raise cause from None
                        raise CorpusError(f"{desc}: a Ray task failed: {e}") from None
                    results[index[ref]] = res
                    if isinstance(res, dict):
                        docs += int(res.get("docs_out", 0) or 0)
                if done:
                    rate = docs / max(time.monotonic() - t0, 1e-6)
                    bar.bar.set_postfix_str(f"{docs:,} docs out, {rate:,.0f} docs/s", refresh=False)
                bar.bar.update(len(done))
        finally:
            bar.bar.close()
        return results

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()
            self._started = False
