"""Replacement strategies, density drops, spans and count columns, allow-lists and per-source settings."""

from __future__ import annotations

import re

import pytest

from corpuskit.document import make_batch
from corpuskit.pii.replace import Span, pseudonym, resolve
from corpuskit.pii.step import PiiScrubber
from corpuskit.stats import StepStats

DOC = ("Contact Ana Ruiz at ana.ruiz@posteo.de or +44 20 7946 0958. If she is away, write to "
       "ANA.RUIZ@POSTEO.DE again, or to the desk at desk@posteo.de; the server is 81.2.69.160.")


def _step(**kw) -> PiiScrubber:
    s = PiiScrubber(**kw)
    s.stats = StepStats("pii")
    s.ensure_setup()
    return s


def _run(step: PiiScrubber, texts: list[str], sources: list[str] | None = None, ids: list[str] | None = None):
    ids = ids or [f"doc{i}" for i in range(len(texts))]
    return step.process(make_batch(ids, texts, sources or ["web"] * len(texts), [None] * len(texts)))


def test_typed_placeholders():
    out, reasons = _run(_step(), [DOC])
    assert reasons is None
    assert out.column("text").to_pylist() == [
        "Contact Ana Ruiz at <EMAIL> or <PHONE>. If she is away, write to <EMAIL> again, or to the desk at "
        "<EMAIL>; the server is <IP_ADDRESS>."]


def test_pseudonyms_are_consistent_within_a_document_and_salted():
    step = _step(replace="pseudonym", salt="s3cret")
    out, _ = _run(step, [DOC, DOC], ids=["a", "b"])
    a, b = out.column("text").to_pylist()
    names = re.findall(r"<EMAIL_[0-9a-f]{8}>", a)
    assert len(names) == 3 and names[0] == names[1] != names[2]  # same address (any case), same name
    assert a != b  # document scope: the same value is named differently in another document
    assert re.search(r"<PHONE_[0-9a-f]{8}>", a) and re.search(r"<IP_ADDRESS_[0-9a-f]{8}>", a)
    corpus = _step(replace="pseudonym", salt="s3cret", pseudonym_scope="corpus")
    a2, b2 = _run(corpus, [DOC, DOC], ids=["a", "b"])[0].column("text").to_pylist()
    assert a2 == b2
    other_salt = _step(replace="pseudonym", salt="other", pseudonym_scope="corpus")
    assert _run(other_salt, [DOC])[0].column("text").to_pylist()[0] != a2
    assert pseudonym("EMAIL_ADDRESS", "Ana.Ruiz@Posteo.de", "k", "d") == pseudonym("EMAIL_ADDRESS", "ana.ruiz@posteo.de",
                                                                                    "k", "d")


def test_density_drop_and_columns():
    dump = "\n".join(f"user{i}@posteo.de +44 20 7946 {1000 + i}" for i in range(12))
    prose = "A long paragraph about gardening, mentioning one address: ana@posteo.de, and nothing else. " * 3
    step = _step(max_density=0.3, spans_column="pii_spans", count_column="n_pii")
    out, reasons = _run(step, [dump, prose, "no PII at all here"])
    assert reasons.to_pylist() == ["pii_density", None, None]
    assert out.column("n_pii").to_pylist() == [24, 3, 0]
    spans = out.column("pii_spans").to_pylist()
    assert spans[2] == [] and [s["type"] for s in spans[1]] == ["EMAIL_ADDRESS"] * 3
    first = spans[0][0]
    assert dump[first["start"]:first["end"]] == "user0@posteo.de"  # offsets in the original text
    assert step.stats.counters["EMAIL_ADDRESS"] == 15 and step.stats.counters["docs_with_pii"] == 2


def test_annotate_only_keeps_text():
    out, _ = _run(_step(replace="none", spans_column="pii_spans"), [DOC])
    assert out.column("text").to_pylist() == [DOC]
    assert len(out.column("pii_spans").to_pylist()[0]) == 5


def test_allow_lists():
    text = ("See user@example.com, admin@mail.example and 192.0.2.15 or 2001:db8::1 in the RFCs, "
            "but write to ops@posteo.de from 81.2.69.160; noreply@posteo.de is fine to keep.")
    kept = _run(_step(allow_documentation=True, allow_list=["noreply@posteo.de"]), [text])[0]
    assert kept.column("text").to_pylist() == [
        "See user@example.com, admin@mail.example and 192.0.2.15 or 2001:db8::1 in the RFCs, "
        "but write to <EMAIL> from <IP_ADDRESS>; noreply@posteo.de is fine to keep."]
    scrubbed = _run(_step(), [text])[0].column("text").to_pylist()[0]
    assert scrubbed.count("<EMAIL>") == 4 and scrubbed.count("<IP_ADDRESS>") == 3


def test_per_source_settings():
    rules = [{"match": ["python-*", "code"], "entities": ["email", "ip"], "ip_scope": "global",
              "allow_documentation": True},
             {"match": ["private-notes"], "skip": True}]
    step = _step(sources=rules)
    text = "# maintainer: ana@posteo.de; listen on 127.0.0.1 and 0.0.0.0, upstream 81.2.69.160, card 4111111111111111"
    out, _ = _run(step, [text, text, text], sources=["python-stdlib", "private-notes", "web"])
    code, notes, web = out.column("text").to_pylist()
    assert code == ("# maintainer: <EMAIL>; listen on 127.0.0.1 and 0.0.0.0, upstream <IP_ADDRESS>, "
                    "card 4111111111111111")
    assert notes == text
    assert web == ("# maintainer: <EMAIL>; listen on <IP_ADDRESS> and <IP_ADDRESS>, upstream <IP_ADDRESS>, "
                   "card <CREDIT_CARD>")


def test_overlapping_types_resolve_to_one_span():
    spans = [Span(0, 19, "CREDIT_CARD", 1.0), Span(0, 19, "CN_BANK_CARD", 1.0), Span(5, 15, "PHONE_NUMBER", 0.4),
             Span(20, 30, "US_SSN", 0.5), Span(22, 30, "PHONE_NUMBER", 0.4)]
    assert resolve(spans) == [Span(0, 19, "CN_BANK_CARD", 1.0), Span(20, 30, "US_SSN", 0.5)]


@pytest.mark.parametrize("params", [{"max_density": 0}, {"score_threshold": 2}, {"replace": "mask"}])
def test_invalid_parameters_rejected(params):
    with pytest.raises(Exception):
        PiiScrubber(**params)
