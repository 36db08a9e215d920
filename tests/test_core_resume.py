"""Crash safety and determinism: kill -9 then rerun, and any worker count, give byte-identical outputs."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from corpuskit.pipeline import Pipeline
from corpuskit.runner import run

PIPELINE = """
name: resume
imports: [plugins.steps_for_tests]
reader: {type: jsonl, batch_size: 40}
steps:
  - test_sleep: {seconds: %s}
  - length_filter: {min_chars: 300}
  - test_first_word_dedup: {partitions: 2}
  - filter: {keep: "n_chars < 5000", reason: long}
writer: {excluded: all}
"""


def digest_tree(out: Path) -> dict[str, str]:
    """sha256 of every output file that must be reproducible (not stats.json, which has timings)."""
    files = {}
    for sub in ("data", "excluded", "quarantine"):
        for p in sorted((out / sub).glob("*")):
            files[f"{sub}/{p.name}"] = hashlib.sha256(p.read_bytes()).hexdigest()
    return files


def many_files(root: Path, docs: list[dict], n_files: int = 12) -> Path:
    root.mkdir()
    for k in range(n_files):
        with open(root / f"f{k:02d}.jsonl", "w", encoding="utf-8") as fh:
            for d in docs[k::n_files]:
                fh.write(json.dumps(d) + "\n")
    return root


def test_output_identical_whatever_the_worker_count(jsonl_corpus: Path, tmp_path: Path):
    y = tmp_path / "p.yaml"
    y.write_text(PIPELINE % 0)
    s1 = run(Pipeline.from_yaml(y), [str(jsonl_corpus)], tmp_path / "w1", workers=1, show_progress=False)
    s2 = run(Pipeline.from_yaml(y), [str(jsonl_corpus)], tmp_path / "w2", workers=2, show_progress=False)
    d1, d2 = digest_tree(tmp_path / "w1"), digest_tree(tmp_path / "w2")
    assert d1 == d2 and len(d1) >= 12
    for key in ("records_in", "docs_out", "dropped", "duplicates", "quarantined"):
        assert s1[key] == s2[key]
    assert [s["drops"] for s in s1["steps"]] == [s["drops"] for s in s2["steps"]]
    assert s1["balanced"] and s1["duplicates"] > 0


def test_kill_9_then_rerun_is_byte_identical(tmp_path: Path, real_docs: list[dict]):
    inputs = many_files(tmp_path / "in", real_docs)
    y = tmp_path / "p.yaml"
    y.write_text(PIPELINE % 0.15)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "corpuskit.cli", "run", str(y), "--input", str(inputs), "--output",
           str(tmp_path / "killed"), "--workers", "2", "--no-progress"]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    markers = tmp_path / "killed" / "_work" / "markers" / "seg0"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(markers.glob("*.json"))) < 3:
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p.name for p in markers.glob("*.json")}
    assert 3 <= len(done_before) < 12, "the kill should land in the middle of the run"
    assert not (tmp_path / "killed" / "stats.json").exists()
    # nothing that looks complete without its marker: only finished tasks have final-named files
    final_parts = {p.name.split(".")[0] for p in (tmp_path / "killed" / "_work" / "seg0").glob("part-*.parquet")}
    assert final_parts <= {n.split(".")[0] for n in done_before}

    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    clean = subprocess.run([*cmd[:-5], "--output", str(tmp_path / "clean"), "--workers", "1", "--no-progress"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stderr
    assert digest_tree(tmp_path / "killed") == digest_tree(tmp_path / "clean")
    a = json.loads((tmp_path / "killed" / "stats.json").read_text())
    b = json.loads((tmp_path / "clean" / "stats.json").read_text())
    assert (a["records_in"], a["docs_out"], a["duplicates"]) == (b["records_in"], b["docs_out"], b["duplicates"])

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "already complete" in again.stdout
