"""Decontamination: documents sharing a 13-gram with user evaluation sets are dropped (or the
spans cut), matches counted per benchmark."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpuskit.pipeline import Pipeline
from corpuskit.runner import run


def doc(name: str) -> str:
    return importlib.import_module(name).__doc__.strip()


@pytest.fixture()
def evalsets(tmp_path: Path) -> Path:
    d = tmp_path / "evals"
    d.mkdir()
    # a QA-style benchmark whose question quotes 20 words of the json module's docstring
    quote = " ".join(doc("json").split()[10:30])
    with open(d / "qa.jsonl", "w") as fh:
        fh.write(json.dumps({"question": f"What does this describe? {quote}", "answer": "json"}) + "\n")
        fh.write(json.dumps({"question": "Which planet is the largest in the solar system?", "answer": "Jupiter"}) + "\n")
    pq.write_table(pa.table({"prompt": [" ".join(doc("heapq").split()[:40])]}), d / "heap.parquet")
    (d / "notes.txt").write_text("completely unrelated words about gardening tomatoes in the early spring "
                                 "with plenty of water and sunshine every single day")
    return d


def write_input(tmp_path: Path) -> Path:
    inp = tmp_path / "in"
    inp.mkdir()
    names = ["json", "heapq", "csv", "argparse", "statistics", "difflib"]
    with open(inp / "a.jsonl", "w") as fh:
        for n in names:
            fh.write(json.dumps({"id": n, "text": doc(n)}) + "\n")
    return inp


def test_drop_contaminated_documents(tmp_path, evalsets):
    cfg = {"name": "t", "reader": {"type": "jsonl"}, "steps": [{"decontaminate": {"path": str(evalsets)}}]}
    s = run(Pipeline.from_config(cfg), [str(write_input(tmp_path))], tmp_path / "out", workers=1,
            show_progress=False)
    ids = set(pq.read_table(sorted((tmp_path / "out" / "data").glob("*.parquet"))).column("id").to_pylist())
    assert ids == {"csv", "argparse", "statistics", "difflib"}
    step = s["steps"][-1]
    assert step["drops"] == {"contaminated": 2}
    assert step["counters"] == {"contaminated:qa": 1, "contaminated:heap": 1}
    assert s["dropped"] == 2 and s["balanced"]


def test_cut_spans(tmp_path, evalsets):
    cfg = {"name": "t", "reader": {"type": "jsonl"},
           "steps": [{"decontaminate": {"path": str(evalsets), "mode": "spans", "min_chars": 20}}]}
    run(Pipeline.from_config(cfg), [str(write_input(tmp_path))], tmp_path / "out", workers=1, show_progress=False)
    t = pq.read_table(sorted((tmp_path / "out" / "data").glob("*.parquet")))
    texts = dict(zip(t.column("id").to_pylist(), t.column("text").to_pylist()))
    original = doc("json")
    words = original.split()
    assert " ".join(words[10:30]) not in " ".join(texts["json"].split())
    assert texts["json"].startswith(original[:40])  # the text around the span stays
    assert words[-1] in texts["json"]
    assert texts["csv"] == doc("csv")


def test_missing_eval_path_is_a_config_error(tmp_path):
    from corpuskit.errors import ConfigError
    from corpuskit.registry import step_class

    step = step_class("decontaminate")(path=str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="does not exist"):
        step.setup()
