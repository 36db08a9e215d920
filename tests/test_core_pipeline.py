"""The pipeline core end to end: config validation, readers, steps, writers, stats accounting."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpuskit.errors import ConfigError
from corpuskit.pipeline import Pipeline
from corpuskit.readers.jsonl import JsonlReader
from corpuskit.runner import run
from corpuskit.steps.generic import ExpressionFilter, LengthFilter


def read_shards(out: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in sorted((out / "data").glob("*.parquet"))])


def write_yaml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_python_pipeline_filters_and_accounts(jsonl_corpus: Path, tmp_path: Path, real_docs: list[dict]):
    pipe = Pipeline(JsonlReader(), [LengthFilter(min_chars=400),
                                    ExpressionFilter(keep="len(text) < 3000", reason="long")])
    summary = run(pipe, [str(jsonl_corpus)], tmp_path / "out", workers=2, show_progress=False)
    lengths = [len(d["text"]) for d in real_docs]
    want_kept = sum(1 for n in lengths if 400 <= n < 3000)
    assert summary["records_in"] == len(real_docs)
    assert summary["docs_out"] == want_kept
    steps = {s["name"]: s for s in summary["steps"]}
    assert steps["length_filter"]["drops"] == {"too_short": sum(1 for n in lengths if n < 400)}
    assert steps["filter"]["drops"] == {"long": sum(1 for n in lengths if n >= 3000)}
    assert summary["balanced"]
    table = read_shards(tmp_path / "out")
    assert table.num_rows == want_kept
    assert table.schema.names[:4] == ["id", "text", "source", "metadata"]
    # ids come from the input, other fields are kept in metadata
    by_id = {d["id"]: d for d in real_docs}
    row = table.slice(0, 1).to_pylist()[0]
    assert row["text"] == by_id[row["id"]]["text"]
    assert json.loads(row["metadata"]) == {"url": by_id[row["id"]]["url"]}
    # excluded sample names step and reason
    excluded = pa.concat_tables([pq.read_table(p) for p in (tmp_path / "out" / "excluded").glob("*.parquet")])
    assert set(excluded.column("reason").to_pylist()) == {"too_short", "long"}
    assert json.loads((tmp_path / "out" / "stats.json").read_text())["docs_out"] == want_kept


def test_yaml_pipeline_and_jsonl_writer(jsonl_corpus: Path, tmp_path: Path):
    y = write_yaml(tmp_path / "p.yaml", """
name: t
reader: {type: jsonl, source: docs}
steps:
  - length_filter: {min_chars: 300}
  - filter: {drop: "contains(text, 'deprecated')"}
writer: {format: jsonl, excluded: all}
""")
    summary = run(Pipeline.from_yaml(y), [str(jsonl_corpus / "*.jsonl*")], tmp_path / "out", workers=1,
                  show_progress=False)
    import gzip
    rows = []
    for p in sorted((tmp_path / "out" / "data").glob("*.jsonl.gz")):
        rows += [json.loads(line) for line in gzip.open(p, "rt", encoding="utf-8")]
    assert len(rows) == summary["docs_out"] > 0
    assert all(set(r) == {"id", "text", "source", "metadata"} and r["source"] == "docs" for r in rows)
    assert not any("deprecated" in r["text"] for r in rows)
    excluded = pa.concat_tables([pq.read_table(p) for p in (tmp_path / "out" / "excluded").glob("*.parquet")])
    assert excluded.num_rows == summary["dropped"]


@pytest.mark.parametrize("text, message", [
    ("steps:\n  - lenght_filter: {}\n", "unknown step 'lenght_filter' (did you mean 'length_filter'"),
    ("steps:\n  - length_filter: {min_char: 3}\n", "steps[0].length_filter.min_char: unknown parameter; "
                                                    "valid parameters: max_chars, min_chars"),
    ("steps:\n  - length_filter: {min_chars: -1}\n", "steps[0].length_filter.min_chars: Input should be greater"),
    ("steps:\n  - filter: {keep: \"lang == \"}\n", "is not valid"),
    ("reader: {type: jsnl}\n", "unknown reader type 'jsnl'"),
    ("reader: {type: jsonl, text_feild: x}\n", "reader.text_feild: unknown parameter"),
    ("writer: {format: csv}\n", "writer.format: Input should be 'parquet' or 'jsonl'"),
    ("steps:\n  - preset: no/such/preset\n", "preset 'no/such/preset' not found"),
])
def test_config_errors_name_file_and_key(tmp_path: Path, text: str, message: str):
    y = write_yaml(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError) as e:
        Pipeline.from_yaml(y)
    assert str(y) in str(e.value)
    assert message in str(e.value)


def test_presets_splice_steps(tmp_path: Path):
    (tmp_path / "configs").mkdir()
    write_yaml(tmp_path / "configs" / "short.yaml", "steps:\n  - length_filter: {min_chars: 10}\n")
    y = write_yaml(tmp_path / "p.yaml", "steps:\n  - preset: short\n  - filter: {keep: 'len(text) > 1'}\n")
    pipe = Pipeline.from_yaml(y)
    assert [s.name for s in pipe.steps] == ["length_filter", "filter"]
    assert pipe.steps[0].params.min_chars == 10


def test_expression_filter_on_signals(tmp_path: Path):
    batch = pa.RecordBatch.from_pydict({
        "id": ["a", "b", "c", "d"], "text": pa.array(["x", "y", "z", "w"], pa.large_string()),
        "source": ["s"] * 4, "metadata": [None] * 4,
        "lang": ["en", "zh", "en", None], "lang_score": [0.9, 0.99, 0.5, 0.9],
    })
    f = ExpressionFilter(keep="lang in ['en', 'de'] and lang_score >= 0.65")
    f.ensure_setup()
    assert f.reasons(batch).to_pylist() == [None, f.reason, f.reason, f.reason]
    bad = ExpressionFilter(keep="lang_scor > 1")
    bad.ensure_setup()
    with pytest.raises(ConfigError, match="lang_scor"):
        bad.reasons(batch)


def test_parquet_input_keeps_signal_columns(jsonl_corpus: Path, tmp_path: Path):
    first = run(Pipeline(JsonlReader(), [LengthFilter(min_chars=500)]), [str(jsonl_corpus)], tmp_path / "a",
                workers=1, show_progress=False)
    y = write_yaml(tmp_path / "p.yaml", "reader: {type: parquet}\nsteps:\n  - filter: {keep: 'len(text) < 2000'}\n")
    second = run(Pipeline.from_yaml(y), [str(tmp_path / "a" / "data")], tmp_path / "b", workers=2,
                 show_progress=False)
    assert second["records_in"] == first["docs_out"]
    ids_a = set(read_shards(tmp_path / "a").column("id").to_pylist())
    ids_b = set(read_shards(tmp_path / "b").column("id").to_pylist())
    assert ids_b <= ids_a and len(ids_b) == second["docs_out"]


def test_global_stage_phases_and_plugins(jsonl_corpus: Path, tmp_path: Path, real_docs: list[dict]):
    y = write_yaml(tmp_path / "p.yaml", """
imports: [plugins.steps_for_tests]
steps:
  - length_filter: {min_chars: 250}
  - test_first_word_dedup: {partitions: 3}
  - filter: {keep: "len(text) > 0"}
""")
    summary = run(Pipeline.from_yaml(y), [str(jsonl_corpus)], tmp_path / "out", workers=2, show_progress=False)
    kept = [d for d in real_docs if len(d["text"]) >= 250]
    import re
    firsts: dict[str, str] = {}
    for d in sorted(kept, key=lambda d: d["id"]):
        w = re.match(r"^\W*(\w+)", d["text"])
        if w:
            firsts.setdefault(w.group(1).lower(), d["id"])
    with_word = [d for d in kept if re.match(r"^\W*(\w+)", d["text"])]
    assert summary["duplicates"] == len(with_word) - len(firsts) > 0
    assert summary["docs_out"] + summary["duplicates"] + summary["dropped"] == summary["records_in"]
    out_ids = set(read_shards(tmp_path / "out").column("id").to_pylist())
    assert set(firsts.values()) <= out_ids
    assert summary["stages"]["test_first_word_dedup"]["partition"]["duplicates"] == summary["duplicates"]
    assert not (tmp_path / "out" / "_work" / "seg0").exists()  # intermediates cleaned


def test_auto_reader_takes_jsonl_and_parquet_together(jsonl_corpus: Path, tmp_path: Path, real_docs: list[dict]):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    pq.write_table(pa.Table.from_pylist(real_docs[:100]), mixed / "a.parquet")
    (mixed / "b.jsonl").write_text("".join(json.dumps(d) + "\n" for d in real_docs[100:150]))
    y = write_yaml(tmp_path / "p.yaml", "reader: {type: auto}\n")
    summary = run(Pipeline.from_yaml(y), [str(mixed)], tmp_path / "out", workers=1, show_progress=False)
    assert summary["docs_out"] == 150 and summary["balanced"]
    table = read_shards(tmp_path / "out")
    assert sorted(table.column("id").to_pylist()) == sorted(d["id"] for d in real_docs[:150])
    row = table.filter(pa.compute.equal(table.column("id"), "doc-00003")).to_pylist()[0]
    assert json.loads(row["metadata"]) == {"url": real_docs[3]["url"]}
