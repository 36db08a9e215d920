"""pipelines/quality.yaml through the runner, on JSONL and Parquet; presets; per-rule exclusions."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpuskit.pipeline import PROJECT_ROOT, Pipeline
from corpuskit.runner import run
from test_quality_helpers import CHINESE, ENGLISH, stdlib_documents, write_jsonl


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    ds = stdlib_documents()[::5]
    for d in ds:
        d["text"] = d["text"][:4_000]
    return ds + [{"id": f"en{i}", "text": t} for i, t in enumerate(ENGLISH)] + \
        [{"id": f"zh{i}", "text": t} for i, t in enumerate(CHINESE)] + [
        {"id": "zh-repeated", "text": "\n".join([CHINESE[0][:40]] * 12)}]


def _check(summary: dict, out: Path, n: int) -> None:
    assert summary["balanced"] and summary["records_in"] == n
    steps = {s["name"]: s for s in summary["steps"]}
    assert ["langid", "lang_filter", "gopher_repetition", "gopher_quality", "c4", "fineweb", "zh_quality",
            "badwords"] == [s["name"] for s in summary["steps"][1:]]
    drops = {r for s in summary["steps"] for r in s.get("drops", {})}
    assert any(r.startswith("gopher_quality:") for r in drops)
    assert any(r.startswith("zh_quality:") for r in drops)
    assert summary["docs_out"] > 0 and summary["dropped"] > 0
    excluded = pq.read_table(out / "excluded").to_pylist()
    assert excluded and all(":" in r["reason"] for r in excluded)
    assert {r["step"] for r in excluded} >= {"gopher_quality", "zh_quality"}
    kept = pq.read_table(out / "data")
    names = kept.schema.names
    assert {"lang", "lang_score", "gopher_words", "fineweb_line_punct_ratio", "cjk_chars", "c4_sentences"} <= set(names)
    rows = kept.to_pylist()
    zh_kept = [r for r in rows if r["lang"] == "zh"]
    assert len(zh_kept) >= 3 and all(r["gopher_words"] is None for r in zh_kept)  # English rules skipped them
    en_kept = [r for r in rows if r["lang"] == "en"]
    assert en_kept and all(r["gopher_words"] is not None and r["c4_sentences"] >= 5 for r in en_kept)


def test_quality_pipeline_on_jsonl(docs, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", docs)
    pipe = Pipeline.from_yaml(PROJECT_ROOT / "pipelines" / "quality.yaml")
    summary = run(pipe, [str(tmp_path / "in.jsonl")], tmp_path / "out", workers=1, show_progress=False)
    _check(summary, tmp_path / "out", len(docs))
    assert json.loads((tmp_path / "out" / "stats.json").read_text())["docs_out"] == summary["docs_out"]


def test_quality_pipeline_on_parquet(docs, tmp_path: Path) -> None:
    import pyarrow as pa

    pq.write_table(pa.table({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs]}),
                   tmp_path / "in.parquet")
    pipe = Pipeline.from_yaml(PROJECT_ROOT / "pipelines" / "quality.yaml", reader_overrides={"type": "parquet"})
    summary = run(pipe, [str(tmp_path / "in.parquet")], tmp_path / "out", workers=1, show_progress=False)
    _check(summary, tmp_path / "out", len(docs))


@pytest.mark.parametrize("preset", ["quality/english", "quality/chinese", "quality/code"])
def test_presets_load(preset: str) -> None:
    pipe = Pipeline.from_config({"steps": [{"preset": preset}]}, base_dir=PROJECT_ROOT)
    assert pipe.steps
