"""The pii step through the runner (JSONL and Parquet input, density drops in the summary) and optional NER."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus_fixtures import stdlib_docs
from corpuskit.errors import ConfigError
from corpuskit.pipeline import Pipeline
from corpuskit.runner import run

PIPELINE = Path(__file__).parent.parent / "pipelines" / "pii.yaml"
CODE = 'SERVER = "81.2.69.160"  # ops@posteo.de\nLOCAL = "127.0.0.1"\nVERSION = "1.2.3.4"\n'


def _docs() -> list[dict]:
    docs = stdlib_docs(120)
    for i, d in enumerate(docs[:40]):
        d["text"] += f"\n\nReport problems to maint-{i}@posteo.de or +44 20 7946 {1000 + i}."
    docs.append({"id": "code-1", "text": CODE, "source": "python-stdlib"})
    docs.append({"id": "prose-1", "text": CODE, "source": "blog"})
    return docs


def _read(out: Path) -> dict[str, dict]:
    table = pa.concat_tables([pq.read_table(p) for p in sorted((out / "data").glob("*.parquet"))])
    return {r["id"]: r for r in table.to_pylist()}


def _check(summary: dict, rows: dict[str, dict], docs: list[dict]) -> None:
    assert summary["balanced"] and summary["records_in"] == len(docs) == summary["docs_out"]
    for i in range(40):
        assert rows[docs[i]["id"]]["text"].endswith("Report problems to <EMAIL> or <PHONE>.")
        assert rows[docs[i]["id"]]["pii_count"] >= 2
    # source rule: code keeps loopback and version quads, prose does not
    assert rows["code-1"]["text"] == CODE.replace("81.2.69.160", "<IP_ADDRESS>").replace("ops@posteo.de", "<EMAIL>")
    assert rows["prose-1"]["text"].count("<IP_ADDRESS>") == 3
    counters = next(s for s in summary["steps"] if s["name"] == "pii")["counters"]
    assert counters["EMAIL_ADDRESS"] >= 42 and counters["PHONE_NUMBER"] >= 40


def test_pipeline_on_jsonl_and_parquet(tmp_path: Path):
    docs = _docs()
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text("".join(json.dumps(d) + "\n" for d in docs))
    summary = run(Pipeline.from_yaml(PIPELINE), [str(jsonl)], tmp_path / "out-jsonl", workers=1, show_progress=False)
    _check(summary, _read(tmp_path / "out-jsonl"), docs)
    parquet = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs],
                             "source": [d["source"] for d in docs]}), parquet)
    summary = run(Pipeline.from_yaml(PIPELINE), [str(parquet)], tmp_path / "out-parquet", workers=1,
                  show_progress=False)
    _check(summary, _read(tmp_path / "out-parquet"), docs)


def test_density_drops_are_reported(tmp_path: Path):
    docs = stdlib_docs(30)
    docs.append({"id": "leak", "text": "\n".join(f"user{i}@posteo.de, +44 20 7946 {1000 + i}" for i in range(50)),
                 "source": "paste"})
    inp = tmp_path / "docs.jsonl"
    inp.write_text("".join(json.dumps(d) + "\n" for d in docs))
    pipe = Pipeline.from_config({"name": "t", "reader": {"type": "jsonl"},
                                 "steps": [{"pii": {"max_density": 0.5, "replace": "pseudonym", "salt": "x"}}]})
    summary = run(pipe, [str(inp)], tmp_path / "out", workers=1, show_progress=False)
    step = next(s for s in summary["steps"] if s["name"] == "pii")
    assert step["drops"] == {"pii_density": 1} and summary["docs_out"] == 30 and summary["balanced"]


def test_ner_without_a_model_names_what_to_install():
    with pytest.raises(ConfigError) as err:
        Pipeline.from_config({"name": "t", "steps": [{"pii": {"ner": True, "ner_model": "en_core_web_zz"}}]},
                             origin="p.yaml")
    msg = str(err.value)
    assert "p.yaml" in msg and "en_core_web_zz" in msg and "python -m spacy download en_core_web_zz" in msg
    with pytest.raises(ConfigError, match="spacy download"):
        Pipeline.from_config({"name": "t", "steps": [{"pii": {"entities": ["email", "person"],
                                                              "ner_model": "en_core_web_zz"}}]})


def test_ner_with_a_saved_spacy_pipeline(tmp_path: Path):
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": "Ada Lovelace"}, {"label": "GPE", "pattern": "London"},
                        {"label": "ORG", "pattern": "Royal Society"}])
    nlp.to_disk(tmp_path / "ner-model")
    from corpuskit.document import make_batch
    from corpuskit.pii.step import PiiScrubber

    step = PiiScrubber(ner=True, ner_model=str(tmp_path / "ner-model"))
    step.ensure_setup()
    text = "Ada Lovelace wrote from London to the Royal Society; reply to ada@posteo.de."
    out = step.process(make_batch(["a"], [text], ["books"], [None])).batch
    assert out.column("text").to_pylist() == ["<PERSON> wrote from <LOCATION> to the <ORG>; reply to <EMAIL>."]
