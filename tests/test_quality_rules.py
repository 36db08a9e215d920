"""The published rule sets: signals on hand-checked texts, and keep/drop agreement with datatrove's
own filters on real documents."""

from __future__ import annotations

import math
import re

import pyarrow as pa
import pytest

from corpuskit.document import make_batch
from corpuskit.registry import step_class
from test_quality_helpers import CHINESE, batch_of, stdlib_documents

PROSE = ("The committee met on Tuesday to review the proposal. It agreed that the plan was sound, and that the "
         "budget should be approved with minor changes. Members of the public were invited to comment. "
         "Several residents spoke in favour of the new library, which will have a reading room and a garden. "
         "Others asked about parking and about the cost to the town over the next ten years. The chair "
         "thanked everyone for their time and closed the meeting at nine in the evening.")


def run(name: str, batch: pa.RecordBatch, **params):
    step = step_class(name)(**params)
    step.ensure_setup()
    return step.process(batch)


def one(text: str) -> pa.RecordBatch:
    return make_batch(["d0"], [text], ["t"], [None])


def test_gopher_quality_signals_by_hand() -> None:
    out = run("gopher_quality", one(PROSE))
    row = out.batch.to_pylist()[0]
    words = re.findall(r"[A-Za-z]+", PROSE)  # every word is alphabetic; "." and "," are the other tokens
    n_tokens = len(words) + len(re.findall(r"[.,]", PROSE))
    assert row["gopher_words"] == len(words)
    assert row["gopher_stop_words"] == 8  # the, be, to, of, and, that, have, with: all eight
    assert row["gopher_hash_ratio"] == 0
    assert row["gopher_bullet_lines_ratio"] == 0
    assert row["gopher_mean_word_length"] == pytest.approx(sum(map(len, words)) / len(words))
    assert row["gopher_alpha_words_ratio"] == pytest.approx(len(words) / n_tokens)
    assert out.reasons.to_pylist() == [None]
    short = run("gopher_quality", one("Too short to be a document."))
    assert short.reasons.to_pylist() == ["gopher_quality:too_few_words"]
    bullets = "\n".join(f"- item number {i} of the list with the and of" for i in range(30))
    assert run("gopher_quality", one(bullets)).reasons.to_pylist() == ["gopher_quality:bullet_lines"]


def test_gopher_repetition_signals_by_hand() -> None:
    para = "The quick brown fox jumps over the lazy dog near the river bank today."
    text = "\n\n".join([para] * 3 + ["A different closing paragraph about something else entirely, with new words."])
    row = run("gopher_repetition_signals", one(text)).batch.to_pylist()[0]
    assert row["gopher_rep_dup_para_frac"] == pytest.approx(2 / 4)
    assert row["gopher_rep_dup_para_char_frac"] == pytest.approx(2 * len(para) / len(text))
    assert row["gopher_rep_dup_line_frac"] == pytest.approx(2 / 4)
    assert row["gopher_rep_dup_5gram_frac"] > 0.3
    # the filter stops at the first failing rule, like the published code: later signals stay null
    dropped = run("gopher_repetition", one(text))
    assert dropped.reasons.to_pylist() == ["gopher_repetition:dup_para_frac"]
    assert dropped.batch.column("gopher_rep_dup_5gram_frac").to_pylist() == [None]
    clean = run("gopher_repetition", one(PROSE))
    assert clean.reasons.to_pylist() == [None]
    assert clean.batch.column("gopher_rep_dup_para_frac").to_pylist() == [0.0]


def test_fineweb_signals_by_hand() -> None:
    text = "A title\nThe first line ends well.\nshort\nThe last line also ends with a stop.\nshort"
    row = run("fineweb", one(text)).batch.to_pylist()[0]
    assert row["fineweb_line_punct_ratio"] == pytest.approx(2 / 5)
    assert row["fineweb_short_line_ratio"] == pytest.approx(4 / 5)  # all but the 36-character line
    assert row["fineweb_dup_line_char_ratio"] == pytest.approx(5 / (len(text) - 4))  # the second "short"
    assert row["fineweb_newline_ratio"] == pytest.approx(4 / 19)  # 19 tokens: 17 words and 2 "."


def test_c4_cleans_lines_and_drops_pages() -> None:
    text = ("Home | About | Contact\n"
            "This site uses cookies to improve your experience.\n"
            "Please enable JavaScript to view the comments below.\n"
            + PROSE.replace(". ", ".\n") + "\nSee also[1] the appendix.[2]")
    out = run("c4", one(text))
    cleaned = out.batch.column("text").to_pylist()[0]
    assert "Home" not in cleaned and "cookies" not in cleaned and "JavaScript" not in cleaned
    assert cleaned.startswith("The committee met on Tuesday")
    assert cleaned.endswith("See also the appendix.")
    assert out.reasons.to_pylist() == [None]
    assert out.batch.column("c4_sentences").to_pylist()[0] >= 5
    curly = run("c4", one(PROSE + "\nfunction f() { return 1; }"))
    assert curly.reasons.to_pylist() == [None]  # the brace line lacks terminal punctuation: line dropped
    curly = run("c4", one(PROSE + "\nThe value is {x} in this sentence."))
    assert curly.reasons.to_pylist() == ["c4:curly_bracket"]


def test_languages_parameter_routes_documents() -> None:
    docs = [{"id": "en", "text": "Too short."}, {"id": "zh", "text": CHINESE[0]}]
    batch = batch_of(docs)
    batch = batch.append_column("lang", pa.array(["en", "zh"]))
    out = run("gopher_quality", batch, languages=["en"])
    assert out.reasons.to_pylist() == ["gopher_quality:too_few_words", None]
    assert out.batch.column("gopher_words").to_pylist()[1] is None
    with pytest.raises(Exception, match="langid"):
        run("gopher_quality", batch_of(docs), languages=["en"])


def test_signals_are_reused_not_recomputed() -> None:
    batch = run("gopher_quality_signals", one(PROSE)).batch
    assert "gopher_words" in batch.schema.names
    tampered = batch.set_column(batch.schema.get_field_index("gopher_words"), "gopher_words", pa.array([10]))
    assert run("gopher_quality", tampered).reasons.to_pylist() == ["gopher_quality:too_few_words"]
    # thresholds are parameters
    assert run("gopher_quality", tampered, min_doc_words=5).reasons.to_pylist() == [None]


# -- agreement with datatrove ----------------------------------------------------------------------
def _datatrove_decisions(filt, docs: list[dict]) -> list[bool]:
    from datatrove.data import Document

    out = []
    for d in docs:
        r = filt.filter(Document(text=d["text"], id=d["id"]))
        out.append(r is True or (isinstance(r, tuple) and r[0] is True))
    return out


@pytest.fixture(scope="module")
def real_docs() -> list[dict]:
    docs = stdlib_documents()[::3]
    for d in docs:
        d["text"] = d["text"][:4_000]
    return docs


@pytest.mark.parametrize("name, peer", [
    ("gopher_quality", "GopherQualityFilter"),
    ("gopher_repetition", "GopherRepetitionFilter"),
    ("fineweb", "FineWebQualityFilter"),
    ("c4", "C4QualityFilter"),
])
def test_agrees_with_datatrove(real_docs: list[dict], name: str, peer: str) -> None:
    filters = pytest.importorskip("datatrove.pipeline.filters")
    pytest.importorskip("spacy")
    params = {"cjk_chars": False}
    out = run(name, batch_of(real_docs), **params)
    mine = [r is None for r in out.reasons.to_pylist()] if out.reasons is not None else [True] * len(real_docs)
    theirs = _datatrove_decisions(getattr(filters, peer)(), real_docs)
    agree = sum(a == b for a, b in zip(mine, theirs)) / len(real_docs)
    assert agree >= 0.99, f"{name}: {agree:.3f} agreement"
    # the documents are a real mix: some kept, some dropped
    assert 0 < sum(mine) < len(mine)
    if name == "c4":  # the cleaned text is the same too
        from datatrove.data import Document

        c4 = filters.C4QualityFilter()
        texts = out.batch.column("text").to_pylist()
        for d, keep, text in zip(real_docs[:40], mine, texts):
            doc = Document(text=d["text"], id=d["id"])
            if keep and c4.filter(doc) is True:
                assert text == doc.text


def test_ratios_are_exact_at_the_threshold() -> None:
    # 3 of 10 lines duplicated: 0.3 is not > 0.3, so the document stays (float32 would round up)
    lines = [f"line number {i} of a list that has its own words" for i in range(7)]
    text = "\n".join(lines + lines[:3])
    row = run("gopher_repetition", one(text), dup_line_char_frac=None, dup_para_char_frac=None,
              top_n_grams=[], dup_n_grams=[]).batch.to_pylist()[0]
    assert row["gopher_rep_dup_line_frac"] == 0.3
    assert not math.isnan(row["gopher_rep_dup_line_char_frac"])
