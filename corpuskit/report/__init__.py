"""The run report: one self-contained ``report.html`` plus PNG plots, from finished run directories.

Built only from files a run leaves behind (``stats.json``, ``data/``, ``excluded/``,
``quarantine/``), a tokenizer evaluation (``eval.json``) and a shard ``manifest.json``, so a report
can be made at any later time, on any machine, without rerunning anything.
"""

from .build import build_report

__all__ = ["build_report"]
