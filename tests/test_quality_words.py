"""The batch tokenizer: spaCy-compatible splits on hand-checked strings and on real documents."""

from __future__ import annotations

import pyarrow as pa
import pytest

from corpuskit.document import make_batch
from corpuskit.quality.words import tokenize, words_for
from test_quality_helpers import stdlib_documents


def toks(text: str, cjk: bool = True) -> list[str]:
    t, _ = tokenize(pa.array([text], pa.large_string()), cjk)
    return t.to_pylist()


@pytest.mark.parametrize("text, expected", [
    ("Don't stop...", ["Do", "n't", "stop", "..."]),
    ("The U.S. economy, e.g. jobs.", ["The", "U.S.", "economy", ",", "e.g.", "jobs", "."]),
    ("well-known (see http://x.com/a).", ["well", "-", "known", "(", "see", "http://x.com/a", ")", "."]),
    ("It's $100, 50% off!", ["It", "'s", "$", "100", ",", "50", "%", "off", "!"]),
    ("Mr. Smith said: \"Hi,\"", ["Mr.", "Smith", "said", ":", '"', "Hi", ",", '"']),
    ("x86-64 and/or a/b 3.14 file.txt", ["x86", "-", "64", "and/or", "a", "/", "b", "3.14", "file.txt"]),
    ("gonna can't 10am.", ["gon", "na", "ca", "n't", "10", "am", "."]),
    ("  spaces\tand\nnewlines  ", ["spaces", "and", "newlines"]),
])
def test_splits_like_spacy(text: str, expected: list[str]) -> None:
    assert toks(text) == expected


def test_cjk_characters_are_words() -> None:
    assert toks("我们是中国人。Hello") == ["我", "们", "是", "中", "国", "人", "。", "Hello"]
    assert toks("我们是中国人。", cjk=False) == ["我们是中国人", "。"]


def test_document_index_and_empty_texts() -> None:
    t, doc = tokenize(pa.array(["a b", "", "c"], pa.large_string()))
    assert t.to_pylist() == ["a", "b", "c"]
    assert doc.tolist() == [0, 0, 2]


def test_same_tokens_as_spacy_on_real_documents() -> None:
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    docs = [d for d in stdlib_documents() if d["kind"] == "prose"][:24]
    texts = [d["text"][:6_000] for d in docs]
    t, doc = tokenize(pa.array(texts, pa.large_string()), cjk_chars=False)
    mine: list[list[str]] = [[] for _ in texts]
    for tok, d in zip(t.to_pylist(), doc.tolist()):
        mine[d].append(tok)
    same = 0
    for text, m in zip(texts, mine):
        nlp.max_length = len(text) + 10
        ref = [x.text.strip() for x in nlp(text) if x.text.strip()]
        same += ref == m
    assert same / len(texts) >= 0.9


def test_cache_reuses_unchanged_rows() -> None:
    b1 = make_batch(["a", "b", "c"], ["one two", "three", "four five six"], [None] * 3, [None] * 3)
    w1 = words_for(b1)
    assert w1.counts.tolist() == [2, 1, 3]
    # a filtered and partly rewritten batch: row "c" dropped, row "b" changed
    b2 = make_batch(["a", "b"], ["one two", "three four"], [None] * 2, [None] * 2)
    w2 = words_for(b2)
    assert w2.counts.tolist() == [2, 2]
    assert w2.tokens.to_pylist() == ["one", "two", "three", "four"]
