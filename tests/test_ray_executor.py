"""The Ray executor gives the same bytes, stats and accounting as the local one (a local 2-CPU Ray)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is the optional extra corpuskit[ray]; the dev extra installs it")

from corpuskit.pipeline import Pipeline  # noqa: E402
from corpuskit.runner import run  # noqa: E402

PIPELINE = """
imports: [plugins.steps_for_tests]
steps:
  - length_filter: {min_chars: 300}
  - test_first_word_dedup: {partitions: 2}
  - filter: {keep: "len(text) < 6000", reason: long}
"""


def digests(out: Path) -> dict[str, str]:
    return {f"{p.parent.name}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("data", "excluded") for p in sorted((out / sub).glob("*"))}


@pytest.fixture(scope="module")
def ray_instance():
    from corpuskit.executors.ray import runtime_env

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", runtime_env=runtime_env())
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from corpuskit.demo import build

    root = tmp_path_factory.mktemp("demo")
    build(root)
    return root


@pytest.mark.parametrize("pipeline, part", [("web", "web"), ("books", "books"), ("code", "code")])
def test_ready_pipelines_on_ray_match_local(ray_instance, demo_corpus: Path, tmp_path: Path, pipeline: str,
                                           part: str):
    path = Path(__file__).parent.parent / "pipelines" / f"{pipeline}.yaml"
    local = run(Pipeline.from_yaml(path), [str(demo_corpus / part)], tmp_path / "local", workers=2,
                show_progress=False)
    on_ray = run(Pipeline.from_yaml(path), [str(demo_corpus / part)], tmp_path / "ray", workers=2, executor="ray",
                 show_progress=False)
    assert local["balanced"] and local["docs_out"] > 0
    assert digests(tmp_path / "local") == digests(tmp_path / "ray")
    keys = ("records_in", "docs_out", "dropped", "duplicates", "quarantined", "balanced")
    assert {k: local[k] for k in keys} == {k: on_ray[k] for k in keys}
    assert [(s["name"], s["drops"], s["counters"]) for s in local["steps"]] == \
        [(s["name"], s["drops"], s["counters"]) for s in on_ray["steps"]]


def test_ray_matches_local(ray_instance, jsonl_corpus: Path, tmp_path: Path):
    y = tmp_path / "p.yaml"
    y.write_text(PIPELINE)
    local = run(Pipeline.from_yaml(y), [str(jsonl_corpus)], tmp_path / "local", workers=2, show_progress=False)
    on_ray = run(Pipeline.from_yaml(y), [str(jsonl_corpus)], tmp_path / "ray", workers=2, executor="ray",
                 show_progress=False)
    assert digests(tmp_path / "local") == digests(tmp_path / "ray")
    keys = ("records_in", "docs_out", "dropped", "duplicates", "quarantined", "balanced")
    assert {k: local[k] for k in keys} == {k: on_ray[k] for k in keys}
    assert [(s["name"], s["drops"], s["docs_out"]) for s in local["steps"]] == \
        [(s["name"], s["drops"], s["docs_out"]) for s in on_ray["steps"]]
    assert on_ray["executor"] == "ray" and on_ray["duplicates"] > 0
    assert json.loads((tmp_path / "ray" / "stats.json").read_text())["balanced"]
