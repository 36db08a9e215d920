"""Exact dedup on normalised text across shards: normalisation options, keep rules, accounting."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpuskit.dedup.normalize import Normalization, normalize
from corpuskit.pipeline import Pipeline
from corpuskit.runner import run

def docstrings(n: int) -> list[str]:
    import importlib

    out = []
    for name in ["json", "csv", "argparse", "logging", "pathlib", "textwrap", "difflib", "heapq", "bisect",
                 "fractions", "statistics", "string", "shlex", "glob", "fnmatch", "zipfile", "tarfile"]:
        doc = importlib.import_module(name).__doc__
        if doc and len(doc) > 80 and doc not in out:
            out.append(doc.strip())
    return out[:n]


def write_shards(root: Path, records: list[dict], shards: int = 3) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for k in range(shards):
        with open(root / f"s{k}.jsonl", "w", encoding="utf-8") as fh:
            for r in records[k::shards]:
                fh.write(json.dumps(r) + "\n")


def run_steps(inp: Path, out: Path, steps: list, workers: int = 1) -> dict:
    cfg = {"name": "t", "reader": {"type": "jsonl", "batch_size": 4}, "steps": steps, "writer": {"excluded": "all"}}
    return run(Pipeline.from_config(cfg), [str(inp)], out, workers=workers, show_progress=False)


def kept_ids(out: Path) -> list[str]:
    return sorted(pq.read_table(sorted((out / "data").glob("*.parquet"))).column("id").to_pylist())


def test_normalization_options():
    texts = pa.array(["  Hello,   World! 2024 ", "hello world 1999", "ＡＢＣ ﬁle"], pa.large_string())
    default = normalize(texts, Normalization()).to_pylist()
    assert default[0] == "hello, world! 2024"
    loose = normalize(texts, Normalization(punctuation=True, digits=True, nfkc=True)).to_pylist()
    assert loose[0] == "hello world 0000" and loose[1] == "hello world 0000"
    assert loose[2] == "abc file"
    strict = normalize(texts, Normalization(lowercase=False, whitespace=False)).to_pylist()
    assert strict[0] == "  Hello,   World! 2024 "


def test_exact_duplicates_across_shards_first_kept(tmp_path):
    docs = docstrings(12)
    records = []
    for i, d in enumerate(docs):
        records.append({"id": f"a{i:02d}", "text": d})
    # copies that differ only in case and whitespace, spread over other shards
    records.append({"id": "z-copy0", "text": docs[0].upper()})
    records.append({"id": "z-copy1", "text": "  " + docs[1].replace(" ", "   ") + "\n\n"})
    records.append({"id": "z-copy1b", "text": docs[1]})
    records.append({"id": "z-digits", "text": docs[2].replace("a", "a1", 1)})  # not a copy
    write_shards(tmp_path / "in", records)
    s = run_steps(tmp_path / "in", tmp_path / "out", [{"exact_dedup": {"annotate": True}}])
    ids = kept_ids(tmp_path / "out")
    assert "z-copy0" not in ids and "z-copy1" not in ids and "z-copy1b" not in ids
    assert "z-digits" in ids and all(f"a{i:02d}" in ids for i in range(len(docs)))
    assert s["duplicates"] == 3 and s["balanced"]
    assert s["stages"]["exact_dedup"]["group"]["groups"] == 2
    t = pq.read_table(sorted((tmp_path / "out" / "data").glob("*.parquet")))
    counts = dict(zip(t.column("id").to_pylist(), t.column("exact_dup_count").to_pylist()))
    assert counts["a00"] == 2 and counts["a01"] == 3 and counts["a03"] == 1


@pytest.mark.parametrize("keep,expected", [("longest", "long"), ("quality", "best"), ("first", "first")])
def test_keep_rules(tmp_path, keep, expected):
    base = docstrings(1)[0]
    table = pa.table({
        "id": ["first", "long", "best", "other"],
        "text": [base, base + "   \n\n  ", base.upper(), docstrings(2)[1]],
        "metadata": [None, None, None, None],
        "score": [0.2, 0.1, 0.9, 0.5],  # a signal column, as a classifier step would add
    }, schema=pa.schema([("id", pa.string()), ("text", pa.string()), ("metadata", pa.string()),
                         ("score", pa.float64())]))
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "docs.parquet")
    params: dict = {"keep": keep}
    if keep == "quality":
        params["quality_column"] = "score"
    cfg = {"name": "t", "reader": {"type": "parquet"}, "steps": [{"exact_dedup": params}]}
    s = run(Pipeline.from_config(cfg), [str(tmp_path / "in")], tmp_path / "out", workers=1, show_progress=False)
    ids = kept_ids(tmp_path / "out")
    assert sorted(ids) == sorted([expected, "other"])
    assert s["duplicates"] == 2


def test_quality_rule_needs_column():
    from corpuskit.errors import ConfigError

    with pytest.raises(ConfigError, match="quality_column"):
        Pipeline.from_config({"steps": [{"exact_dedup": {"keep": "quality"}}]})


def test_ready_dedup_pipeline_runs_exact_then_minhash(tmp_path):
    """pipelines/dedup.yaml: exact copies go in the first stage, near copies in the second."""
    docs = docstrings(8)
    records = [{"id": f"d{i}", "text": d} for i, d in enumerate(docs)]
    records.append({"id": "exact", "text": docs[0].upper()})
    records.append({"id": "near", "text": docs[1] + " Extra words here."})
    write_shards(tmp_path / "in", records, shards=2)
    root = Path(__file__).resolve().parent.parent
    pipe = Pipeline.from_yaml(root / "pipelines" / "dedup.yaml")
    s = run(pipe, [str(tmp_path / "in")], tmp_path / "out", workers=1, show_progress=False)
    steps = {st["name"]: st for st in s["steps"]}
    assert steps["exact_dedup"]["drops"] == {"duplicate": 1}
    assert steps["minhash_dedup"]["drops"] == {"duplicate": 1}
    assert kept_ids(tmp_path / "out") == sorted(f"d{i}" for i in range(len(docs)))
    assert s["duplicates"] == 2 and s["balanced"]
