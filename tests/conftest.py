"""Shared fixtures: small real corpora made from text already on the machine (Python's stdlib)."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # so spawned workers can import tests/plugins

from corpus_fixtures import stdlib_docs  # noqa: E402


@pytest.fixture(scope="session")
def real_docs() -> list[dict]:
    """About a thousand real English documents: docstrings of Python's standard library."""
    return stdlib_docs(1000)


@pytest.fixture
def jsonl_corpus(tmp_path: Path, real_docs: list[dict]) -> Path:
    """The real documents split over six JSONL files, plain and gzip-compressed."""
    root = tmp_path / "in"
    root.mkdir()
    for k in range(6):
        part = real_docs[k::6]
        name = root / (f"part{k}.jsonl.gz" if k % 2 else f"part{k}.jsonl")
        opener = gzip.open if k % 2 else open
        with opener(name, "wt", encoding="utf-8") as fh:
            for d in part:
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    return root
