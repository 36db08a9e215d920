"""``corpuskit classifier train`` and the quality_classifier step, on small real document sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpuskit.cli import main
from corpuskit.quality.classifier import train_classifier
from corpuskit.registry import step_class
from test_quality_helpers import batch_of, stdlib_documents, write_jsonl


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> tuple[Path, Path, list[dict], list[dict]]:
    d = tmp_path_factory.mktemp("clf")
    docs = stdlib_documents()
    prose = [x for x in docs if x["kind"] == "prose"]
    code = [x for x in docs if x["kind"] == "code"]
    write_jsonl(d / "pos.jsonl", prose)
    write_jsonl(d / "neg.jsonl", code)
    return d / "pos.jsonl", d / "neg.jsonl", prose, code


def test_cli_trains_and_reports(sets, tmp_path: Path, capsys) -> None:
    pos, neg, prose, code = sets
    model = tmp_path / "q.bin"
    rc = main(["classifier", "train", "-p", str(pos), "-n", str(neg), "-o", str(model), "--holdout", "0.3",
               "--max-chars", "3000", "--bucket", "20000", "--dim", "32", "--epoch", "20", "--lr", "0.2"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "precision" in out and "recall" in out
    report = json.loads((tmp_path / "q.bin.json").read_text())
    assert report["documents"]["test"]["hq"] > 0 and report["documents"]["test"]["lq"] > 0
    assert report["precision"] >= 0.8 and report["recall"] >= 0.8
    # the step scores documents into a column a keep: expression can use
    step = step_class("quality_classifier")(model=str(model))
    step.ensure_setup()
    scored = step.process(batch_of(prose[:20] + code[:20])).batch.column("quality_score").to_pylist()
    assert sum(scored[:20]) / 20 > sum(scored[20:]) / 20 + 0.3
    keep = step_class("filter")(keep="quality_score >= 0.5")
    keep.ensure_setup()
    reasons = keep.reasons(step.process(batch_of(prose[:20] + code[:20])).batch).to_pylist()
    assert sum(r is None for r in reasons[:20]) > sum(r is None for r in reasons[20:])


def test_training_is_deterministic(sets, tmp_path: Path) -> None:
    pos, neg, _, _ = sets
    kw = dict(holdout=0.3, max_chars=3000, bucket=20000, dim=32, epoch=20, lr=0.2)
    a = train_classifier([str(pos)], [str(neg)], tmp_path / "a.bin", **kw)
    b = train_classifier([str(pos)], [str(neg)], tmp_path / "b.bin", **kw)
    assert (a["precision"], a["recall"], a["documents"]) == (b["precision"], b["recall"], b["documents"])
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()


def test_needs_both_classes(sets, tmp_path: Path) -> None:
    pos, _, _, _ = sets
    with pytest.raises(Exception, match="both classes"):
        train_classifier([str(pos)], [str(pos)], tmp_path / "m.bin", holdout=1.0)
