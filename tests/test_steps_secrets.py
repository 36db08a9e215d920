"""Secret-like strings in real code are redacted, counted per type, and ordinary code is left alone."""

from __future__ import annotations

import pyarrow as pa

from corpus_fixtures import stdlib_sources
from corpuskit.document import make_batch
from corpuskit.steps.secrets import Secrets
from corpuskit.stats import StepStats

LEAKY = '''import boto3

AWS_ACCESS_KEY_ID = "AKIA2E0A8F3B244C9986"
aws_secret_access_key = "Xq7b1FzP0m9T4kL2cV8nR6sD3wY5hJ1gA0eU7iO2"
GITHUB_TOKEN = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
password = "correct-horse-battery"
EXAMPLE = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key

def client():
    return boto3.client("s3", region_name="eu-west-1")
'''


def run_step(step: Secrets, texts: list[str]) -> tuple[pa.RecordBatch, StepStats]:
    step.stats = StepStats("secrets")
    step.ensure_setup()
    batch = make_batch([f"d{i}" for i in range(len(texts))], texts, ["code"] * len(texts), [None] * len(texts))
    out, reasons = step.process(batch)
    assert reasons is None
    return out, step.stats


def test_redacts_each_type_and_keeps_the_rest():
    out, stats = run_step(Secrets(), [LEAKY])
    text = out.column("text")[0].as_py()
    assert 'AWS_ACCESS_KEY_ID = "<SECRET:aws_access_key>"' in text
    assert "<SECRET:aws_secret_key>" in text and "<SECRET:github_token>" in text
    assert "<SECRET:password_assignment>" in text
    assert 'EXAMPLE = "AKIAIOSFODNN7EXAMPLE"' in text  # allow-listed documentation key
    assert 'boto3.client("s3", region_name="eu-west-1")' in text
    assert stats.counters == {"secrets:aws_access_key": 1, "secrets:aws_secret_key": 1, "secrets:github_token": 1,
                              "secrets:password_assignment": 1}
    assert out.column("secrets_found").to_pylist() == [4]


def test_real_stdlib_code_is_untouched():
    sources = [text for _, text in stdlib_sources(150)]
    out, stats = run_step(Secrets(), sources)
    changed = [i for i, t in enumerate(out.column("text").to_pylist()) if t != sources[i]]
    # the standard library holds no credentials
    assert changed == [] and stats.counters == {}
    assert sum(out.column("secrets_found").to_pylist()) == sum(stats.counters.values())


def test_drop_mode_gives_a_reason():
    step = Secrets(action="drop")
    step.stats = StepStats("secrets")
    step.ensure_setup()
    batch = make_batch(["a", "b"], [LEAKY, "print('hello')\n"], ["code", "code"], [None, None])
    _, reasons = step.process(batch)
    assert reasons.to_pylist() == ["secrets", None]
