"""Executors run independent task functions (segment tasks, stage phases) and return results in order.

The runner owns every decision about what to run; an executor only maps a picklable, top-level
function over JSON-able task specs.  That is all a new engine (Ray) has to provide.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol


class Executor(Protocol):
    workers: int

    def map(self, fn: Callable[[dict], Any], specs: list[dict], desc: str, threads: int = 1) -> list[Any]: ...

    def close(self) -> None: ...


def make_executor(kind: str, workers: int, progress: bool = True, ray_address: str | None = None) -> Executor:
    if kind == "local":
        from .local import LocalExecutor
        return LocalExecutor(workers, progress=progress)
    if kind == "ray":
        from .ray import RayExecutor  # optional extra: pip install corpuskit[ray]
        return RayExecutor(workers, progress=progress, address=ray_address)
    from ..errors import ConfigError
    raise ConfigError(f"unknown executor {kind!r}; valid choices: local, ray")
