"""Secret-like strings in code (cloud keys, tokens, private keys, passwords in assignments).

Training on credentials teaches a model to emit them.  Each pattern is an RE2 regex run by
pyarrow.compute over the whole text column (no per-document Python), counted per type, and then
redacted to ``<SECRET>``-style placeholders, flagged in a column, or used to drop the document.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from ..document import TEXT, replace_text, with_column
from ..registry import register_step
from .base import StepOutput, StepParams, Transform, first_reason

#: type -> RE2 pattern.  Kept specific (fixed prefixes, lengths, key names) so code is not mangled.
PATTERNS: dict[str, str] = {
    "aws_access_key": r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
    "aws_secret_key": r"(?i)aws_?secret_?(?:access_?)?key['\"]?\s*[:=]\s*['\"][A-Za-z0-9/+=]{40}['\"]",
    "github_token": r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{82}\b",
    "gitlab_token": r"\bglpat-[A-Za-z0-9_-]{20}\b",
    "slack_token": r"\bxox[abposr]-[A-Za-z0-9-]{10,72}\b",
    "stripe_key": r"\b(?:sk|rk)_live_[A-Za-z0-9]{24,99}\b",
    "google_api_key": r"\bAIza[0-9A-Za-z_-]{35}\b",
    "openai_key": r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20}T3BlbkFJ[A-Za-z0-9_-]{20}\b",
    "jwt": r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b",
    "private_key": r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"
                   r"[\s\S]*?-----END (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----",
    "password_assignment": r"(?i)\b(?:password|passwd|pwd|secret|api_?key|auth_?token|access_?token)\b['\"]?"
                           r"\s*[:=]\s*['\"][^'\"\s]{8,}['\"]",
}


class SecretsParams(StepParams):
    #: redact: replace each match by <SECRET:type>; flag: only count (column); drop: drop documents with any
    action: Literal["redact", "flag", "drop"] = "redact"
    #: which patterns to use (default: all)
    types: list[str] | None = None
    #: column with the number of secrets found per document
    column: str = "secrets_found"
    #: values that are documented examples, not secrets (AWS's own example keys are kept by default)
    allow: list[str] = Field(default_factory=lambda: ["AKIAIOSFODNN7EXAMPLE",
                                                      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"])


@register_step("secrets")
class Secrets(Transform):
    """Find secret-like strings (keys, tokens, private keys, passwords) and redact, flag or drop."""

    Params = SecretsParams

    def setup(self) -> None:
        p: SecretsParams = self.params  # type: ignore[assignment]
        unknown = set(p.types or []) - set(PATTERNS)
        if unknown:
            from ..errors import ConfigError
            raise ConfigError(f"secrets.types: unknown {sorted(unknown)}; valid: {', '.join(PATTERNS)}")
        self.patterns = {k: v for k, v in PATTERNS.items() if p.types is None or k in p.types}

    def transform(self, batch: pa.RecordBatch) -> StepOutput:
        p: SecretsParams = self.params  # type: ignore[assignment]
        text = batch.column(TEXT)
        for value in p.allow:  # protect allowed values from every pattern
            text = pc.replace_substring(text, value, f"\x00ALLOW{p.allow.index(value)}\x00")
        total = pa.array([0] * batch.num_rows, pa.int32())
        for name, pattern in self.patterns.items():
            counts = pc.count_substring_regex(text, pattern)
            n = pc.sum(counts).as_py() or 0
            if n == 0:
                continue
            self.count(f"secrets:{name}", n)
            total = pc.add(total, counts.cast(pa.int32()))
            if p.action == "redact":
                text = pc.replace_substring_regex(text, pattern, f"<SECRET:{name}>")
        for i, value in enumerate(p.allow):
            text = pc.replace_substring(text, f"\x00ALLOW{i}\x00", value)
        out = with_column(batch, p.column, total)
        if p.action == "redact":
            out = replace_text(out, text)
        reasons = None
        if p.action == "drop":
            reasons = first_reason(batch.num_rows, [("secrets", pc.greater(total, 0))])
        return StepOutput(out, reasons)
