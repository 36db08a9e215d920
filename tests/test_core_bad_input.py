"""Bad input never stops a run by default: each bad record is quarantined, named, and accounted for."""

from __future__ import annotations

import bz2
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from corpuskit.pipeline import Pipeline
from corpuskit.readers.jsonl import JsonlReader
from corpuskit.runner import run
from corpuskit.steps.generic import LengthFilter


def jsonl_bytes(docs: list[dict]) -> bytes:
    return b"".join(json.dumps(d).encode() + b"\n" for d in docs)


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory: pytest.TempPathFactory, real_docs: list[dict]) -> tuple[Path, int]:
    """Every kind of bad input next to good documents; returns the folder and the number of good docs."""
    root = tmp_path_factory.mktemp("bad")
    good = real_docs[:200]
    lines = jsonl_bytes(good[:50]).split(b"\n")
    lines.insert(10, b'{"id": "broken", "text": "no closing brace"')          # malformed JSON, line 11
    lines.insert(20, b'{"id": "latin1", "text": "caf\xe9 au lait"}')           # invalid UTF-8, line 21
    lines.insert(30, b'{"id": "num", "text": 42}')                             # non-string text, line 31
    lines.insert(40, b'{"id": "none", "body": "text under another key"}')      # missing text, line 41
    lines.insert(45, b'["an", "array"]')                                       # not an object, line 46
    (root / "mixed.jsonl").write_bytes(b"\n".join(lines))
    full = gzip.compress(jsonl_bytes(good[50:100]))
    (root / "truncated.jsonl.gz").write_bytes(full[: len(full) // 2])
    zfull = zstandard.ZstdCompressor().compress(jsonl_bytes(good[100:150]))
    (root / "truncated.jsonl.zst").write_bytes(zfull[: len(zfull) // 2])
    (root / "fine.jsonl.bz2").write_bytes(bz2.compress(jsonl_bytes(good[150:200])))
    (root / "empty.jsonl").write_bytes(b"")
    huge = {"id": "huge", "text": "word " * (21 * 1024 * 1024)}  # a single ~105 MB document
    with open(root / "huge.jsonl", "w") as fh:
        fh.write(json.dumps(huge) + "\n" + json.dumps(good[0] | {"id": "after-huge"}) + "\n")
    return root, 200


def quarantine_entries(out: Path) -> list[dict]:
    return [json.loads(line) for p in sorted((out / "quarantine").glob("*.jsonl")) for line in p.open()]


def test_bad_records_are_quarantined_and_named(bad_corpus: tuple[Path, int], tmp_path: Path):
    root, _ = bad_corpus
    summary = run(Pipeline(JsonlReader(), [LengthFilter(min_chars=1)]), [str(root)], tmp_path / "out", workers=2,
                  show_progress=False)
    q = quarantine_entries(tmp_path / "out")
    where = {(Path(e["file"]).name, e["where"]): e["error"] for e in q}
    assert where[("mixed.jsonl", "line 11")].startswith("malformed JSON")
    bad_at = b'{"id": "latin1", "text": "caf\xe9 au lait"}'.index(b"\xe9")
    assert where[("mixed.jsonl", "line 21")] == f"invalid UTF-8 at byte {bad_at} of the line"
    assert where[("mixed.jsonl", "line 31")] == "text field 'text' is a int, not a string"
    assert where[("mixed.jsonl", "line 41")] == "text field 'text' is missing"
    assert where[("mixed.jsonl", "line 46")] == "record is a JSON list, not an object"
    assert "truncated or corrupt" in next(v for (f, _), v in where.items() if f == "truncated.jsonl.gz")
    assert "truncated or corrupt" in next(v for (f, _), v in where.items() if f == "truncated.jsonl.zst")
    assert "over max_doc_bytes" in where[("huge.jsonl", "line 1")]
    assert any("empty.jsonl: empty file" in w for w in summary["warnings"])
    # every record is accounted for, and the documents before each break survive
    assert summary["balanced"]
    assert summary["records_in"] == summary["docs_out"] + summary["dropped"] + summary["quarantined"]
    ids = set(pa.concat_tables([pq.read_table(p) for p in (tmp_path / "out" / "data").glob("*.parquet")])
              .column("id").to_pylist())
    assert "after-huge" in ids and "doc-00000" in ids and "doc-00199" in ids
    # mixed (50) + bz2 (50) + after-huge (1), and the documents before the cut of the truncated gzip file
    from_truncated_gz = \
        [i for i in ids if i.startswith("doc-000") and 50 <= int(i[4:]) < 100]
    assert len(from_truncated_gz) >= 10
    assert summary["docs_out"] == 101 + len(from_truncated_gz) + len(
        [i for i in ids if i.startswith("doc-00") and 100 <= int(i[4:]) < 150])


def test_a_100_mb_document_passes_when_allowed(bad_corpus: tuple[Path, int], tmp_path: Path):
    root, _ = bad_corpus
    summary = run(Pipeline(JsonlReader(max_doc_bytes=0), []), [str(root / "huge.jsonl")], tmp_path / "out",
                  workers=1, show_progress=False)
    assert summary["docs_out"] == 2 and summary["quarantined"] == 0
    assert summary["bytes_out"] > 100 * 1024 * 1024


def test_strict_stops_at_first_bad_record(bad_corpus: tuple[Path, int], tmp_path: Path):
    root, _ = bad_corpus
    y = tmp_path / "p.yaml"
    y.write_text("reader: {type: jsonl}\n")
    r = subprocess.run([sys.executable, "-m", "corpuskit.cli", "run", str(y), "--input", str(root / "mixed.jsonl"),
                        "--output", str(tmp_path / "out"), "--strict", "--no-progress"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1
    assert "mixed.jsonl:line 11: malformed JSON" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out" / "stats.json").exists()


def test_cli_reports_config_errors_without_traceback(tmp_path: Path):
    y = tmp_path / "p.yaml"
    y.write_text("steps:\n  - length_filter: {min_chars: lots}\n")
    (tmp_path / "in.jsonl").write_text('{"text": "x"}\n')
    r = subprocess.run([sys.executable, "-m", "corpuskit.cli", "run", str(y), "-i", str(tmp_path / "in.jsonl"),
                        "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert f"{y}: steps[0].length_filter.min_chars: Input should be a valid integer" in r.stderr
    assert "Traceback" not in r.stderr
