"""``corpuskit chain`` (behind ``make all``) on already-extracted JSONL inputs: the ready pipelines
switch to the JSONL/Parquet reader, keep their steps and source name, and the chain goes on to a
tokenizer, validated shards and a report."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpuskit.chain import ChainConfig, holds_records, run_chain
from corpuskit.demo import prose
from corpuskit.pipeline import PROJECT_ROOT, Pipeline
from corpuskit.readers.auto import AutoReader
from corpuskit.shards.reader import TokenShards

from corpus_fixtures import stdlib_docs, stdlib_sources


def _jsonl_gz(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def test_another_reader_keeps_the_steps_and_the_shared_reader_parameters():
    base = Pipeline.from_yaml(PROJECT_ROOT / "pipelines" / "books.yaml")
    pipe = Pipeline.from_yaml(PROJECT_ROOT / "pipelines" / "books.yaml", reader_overrides={"type": "auto"})
    assert isinstance(pipe.reader, AutoReader)
    assert pipe.reader.params.source == "books"  # the text reader's own options are left out
    assert [s.name for s in pipe.steps] == [s.name for s in base.steps]
    code = Pipeline.from_yaml(PROJECT_ROOT / "pipelines" / "code.yaml",
                              reader_overrides={"type": "auto", "text_field": "content"})
    assert code.reader.params.source == "code" and code.reader.params.text_field == "content"


def test_holds_records(tmp_path: Path):
    recs = tmp_path / "recs"
    _jsonl_gz(recs / "a.jsonl.gz", [{"text": "x"}])
    pq.write_table(pa.table({"text": ["y"]}), recs / "b.parquet")
    (recs / "_summary.json").write_text("{}")  # metadata files are not inputs
    assert holds_records(str(recs)) and holds_records(str(recs / "*.jsonl.gz"))
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "book.txt").write_text("text")
    assert not holds_records(str(raw))
    (raw / "more.jsonl").write_text('{"text": "z"}\n')
    assert not holds_records(str(raw))  # mixed: left to the pipeline's own reader
    assert not holds_records(str(tmp_path / "missing"))


def test_chain_on_jsonl_inputs(tmp_path: Path):
    paras = [p for p in (prose(d["text"]) for d in stdlib_docs(1200)) if p]
    books = [{"id": f"book-{i}", "text": "\n\n".join(paras[i:i + 6]), "source": "stdlib-doc"}
             for i in range(0, len(paras) - 6, 6)]
    books += books[:20]  # exact duplicates for the dedup stage
    code = [{"id": f"src/{name}", "text": text, "source": "python", "metadata": {"path": name, "lang": "python"}}
            for name, text in stdlib_sources(80)]
    half = len(books) // 2
    _jsonl_gz(tmp_path / "in" / "books" / "part-0.jsonl.gz", books[:half])
    _jsonl_gz(tmp_path / "in" / "books" / "part-1.jsonl.gz", books[half:])
    _jsonl_gz(tmp_path / "in" / "code" / "code.jsonl.gz", code)
    out = tmp_path / "out"
    summary = run_chain(ChainConfig(
        output=out, workers=2,
        inputs={"books": str(tmp_path / "in" / "books"), "code": str(tmp_path / "in" / "code")},
        tokenizer="llama-bpe-32k", tokenizer_set=["sentencepiece.vocab_size=1200"], shard_tokens=50_000,
        valid_fraction=0.05))
    runs = summary["runs"]
    assert runs["books"]["records_in"] == len(books) and runs["code"]["records_in"] == len(code)
    for stats in runs.values():  # every document accounted for
        assert stats["balanced"]
        assert stats["records_in"] == stats["docs_out"] + stats["dropped"] + stats["duplicates"] + stats["quarantined"]
    assert runs["books"]["duplicates"] >= 10 and runs["books"]["docs_out"] > len(books) // 2
    assert all(c["exit"] == 0 and c["peak_rss_mb_so_far"]["chain_process"] > 0 for c in summary["commands"])
    run_cmds = [c["command"] for c in summary["commands"] if c["command"][1] == "run"]
    assert all("reader.type=auto" in cmd for cmd in run_cmds)
    manifest = json.loads((out / "shards" / "manifest.json").read_text())
    assert set(manifest["sources"]) == {"books", "code"}  # the pipelines' source names
    kept = runs["books"]["docs_out"] + runs["code"]["docs_out"]
    assert manifest["documents"]["written"] == kept
    assert sum(1 for _ in TokenShards(out / "shards")) + sum(
        1 for _ in TokenShards(out / "shards", split="valid")) == kept
    assert (out / "report" / "report.html").stat().st_size > 10_000


def test_installed_copies_of_presets_and_pipelines(tmp_path, monkeypatch):
    """A wheel puts configs/ and pipelines/ under <prefix>/share/corpuskit: every file of both is
    listed for it, and presets and pipelines are found there when no checkout is around."""
    import glob
    import shutil
    import tomllib

    import corpuskit.pipeline as pl

    data_files = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    shipped = {f"{dest}/{Path(f).name}".removeprefix("share/corpuskit/")
               for dest, pats in data_files.items() for pat in pats for f in glob.glob(str(PROJECT_ROOT / pat))}
    present = {p.relative_to(PROJECT_ROOT).as_posix() for d in ("configs", "pipelines")
               for p in (PROJECT_ROOT / d).rglob("*") if p.is_file()}
    assert present and present == shipped

    share = tmp_path / "share" / "corpuskit"
    (share / "configs" / "quality").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "configs" / "quality" / "english.yaml", share / "configs" / "quality")
    monkeypatch.setattr(pl, "PROJECT_ROOT", tmp_path / "site-packages")
    monkeypatch.setattr(pl, "SHARE_ROOT", share)
    monkeypatch.chdir(tmp_path)
    assert pl.data_root() == share
    assert pl.find_preset("quality/english", tmp_path / "elsewhere") == share / "configs" / "quality" / "english.yaml"
    assert ChainConfig(output=tmp_path / "o", inputs={}).pipelines_dir == share / "pipelines"
