"""The pii step as the ready pipelines use it: typed placeholders, counts per type, code-safe settings."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus_fixtures import stdlib_docs
from corpuskit.document import make_batch
from corpuskit.pipeline import Pipeline
from corpuskit.registry import step_class
from corpuskit.runner import run
from corpuskit.stats import StepStats

PLANTED = [
    ("Write to maria.lopez@gmail.com or call +1 212-555-0148 today.",
     "Write to <EMAIL> or call <PHONE> today."),
    ("请联系张先生，手机 13812345678，身份证 11010519491231002X。",
     "请联系张先生，手机 <PHONE>，身份证 <ID_NUMBER>。"),
    ("Card 4111 1111 1111 1111 and IBAN GB82 WEST 1234 5698 7654 32; server 81.2.69.160.",
     "Card <CREDIT_CARD> and IBAN <IBAN>; server <IP_ADDRESS>."),
]


def test_placeholders_and_counts():
    step = step_class("pii")()
    step.stats = StepStats("pii")
    step.ensure_setup()
    batch = make_batch(["a", "b", "c"], [t for t, _ in PLANTED], ["web"] * 3, [None] * 3)
    out, reasons = step.process(batch)
    assert out.column("text").to_pylist() == [want for _, want in PLANTED]
    assert step.stats.counters["EMAIL_ADDRESS"] == 1 and step.stats.counters["CN_RESIDENT_ID"] == 1
    assert step.stats.counters["CREDIT_CARD"] == 1 and step.stats.counters["IBAN_CODE"] == 1


def test_pii_pipeline_on_real_documents(tmp_path: Path):
    docs = stdlib_docs(300)
    for i, d in enumerate(docs[:30]):
        d["text"] += f"\n\nQuestions: contact-{i}@mailbox.org"
    inp = tmp_path / "docs.jsonl"
    inp.write_text("".join(json.dumps(d) + "\n" for d in docs))
    pipeline = Path(__file__).parent.parent / "pipelines" / "pii.yaml"
    summary = run(Pipeline.from_yaml(pipeline), [str(inp)], tmp_path / "out", workers=2, show_progress=False)
    assert summary["balanced"] and summary["records_in"] == 300
    table = pa.concat_tables([pq.read_table(p) for p in (tmp_path / "out" / "data").glob("*.parquet")])
    texts = dict(zip(table.column("id").to_pylist(), table.column("text").to_pylist()))
    for d in docs[:30]:
        assert texts[d["id"]].endswith("Questions: <EMAIL>")
    counters = next(s for s in summary["steps"] if s["name"] == "pii")["counters"]
    assert counters["EMAIL_ADDRESS"] >= 30
