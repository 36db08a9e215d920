"""Code is not prose: pipelines/pii.yaml's code rule leaves version strings, hashes, constants and
example addresses alone on real source (the Python standard library), and still takes authors' e-mails."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from corpus_fixtures import stdlib_sources
from corpuskit.document import make_batch
from corpuskit.pii.step import PiiScrubber

PIPELINE = Path(__file__).parent.parent / "pipelines" / "pii.yaml"

SNIPPET = '''\
"""Client for the metrics service.

Maintainer: Ana Ruiz <ana.ruiz@posteo.de>, support line +44 20 7946 0958.
"""
__version__ = "2.31.0"
RELEASE = "1.2.3.4"  # four-part version, not an address
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
PRIMES = [112272535095293, 112582705942171, 4111111111111111, 6011000990139424]
UUID = "123e4567-e89b-12d3-a456-426614174000"
MASK, LIMIT = 0x7FFFFFFF, 2147483647
LISTEN = ("127.0.0.1", 8080), ("0.0.0.0", 443), ("::1", 53), ("10.0.0.12", 22)
EXAMPLE_PEER = "192.0.2.17"  # RFC 5737
EXAMPLE_MAIL = "someone@example.com"
UPSTREAM = "81.2.69.160"
DATE = "2024-01-31 12:30:45"
'''

EXPECTED = SNIPPET.replace("ana.ruiz@posteo.de", "<EMAIL>").replace("+44 20 7946 0958", "<PHONE>") \
    .replace('"81.2.69.160"', '"<IP_ADDRESS>"')


@pytest.fixture(scope="module")
def code_step() -> PiiScrubber:
    params = yaml.safe_load(PIPELINE.read_text())["steps"][0]["pii"]
    step = PiiScrubber(**{**params, "spans_column": "pii_spans"})
    step.ensure_setup()
    return step


def test_code_rule_on_a_snippet(code_step):
    out = code_step.process(make_batch(["a"], [SNIPPET], ["python-app"], [None])).batch
    assert out.column("text").to_pylist() == [EXPECTED]
    # the same text as prose loses its numbers too: the rule is what keeps code intact
    prose = code_step.process(make_batch(["a"], [SNIPPET], ["web"], [None])).batch.column("text").to_pylist()[0]
    assert "<CREDIT_CARD>" in prose and prose.count("<IP_ADDRESS>") >= 4


def test_false_positives_on_standard_library_sources(code_step):
    sources = stdlib_sources(120)
    texts = [t for _, t in sources]
    out = code_step.process(make_batch([p for p, _ in sources], texts, ["python-stdlib"] * len(texts),
                                       [None] * len(texts))).batch
    spans = out.column("pii_spans").to_pylist()
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    found = [(s["type"], text[s["start"]:s["end"]]) for text, ss in zip(texts, spans) for s in ss]
    not_email = [f for f in found if f[0] != "EMAIL_ADDRESS"]
    assert megabytes > 2
    assert len(not_email) / megabytes < 2.0, not_email  # a handful per megabyte at most
    emails = [v for t, v in found if t == "EMAIL_ADDRESS"]
    assert len(emails) >= 20 and all("@" in v and "." in v.split("@")[1] for v in emails)
    # what the code keeps intact: no version string, hash or example host was touched
    kept = "\n".join(out.column("text").to_pylist())
    for probe in ("127.0.0.1", "0.0.0.0", "example.com", "__version__"):
        assert kept.count(probe) == "\n".join(texts).count(probe), probe
