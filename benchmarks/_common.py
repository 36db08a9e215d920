"""Helpers the benchmark scripts share (they run as scripts, so this directory is on sys.path)."""

from __future__ import annotations

import os
import resource
from pathlib import Path


def data_dir(arg: str | None) -> Path:
    """The benchmark corpus: ``--data``, else ``$CORPUSKIT_BENCH_DATA``, else ~/corpuskit-bench-data."""
    return Path(arg or os.environ.get("CORPUSKIT_BENCH_DATA") or Path.home() / "corpuskit-bench-data").expanduser()


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM: ru_maxrss would include the parent's, carried across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
