"""The shard build configuration: one validated model, loaded from YAML and overridden from the CLI.

Everything that changes the output bytes lives here, so the manifest can record it and a rerun
with the same config and inputs reproduces the same shards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ConfigError

#: Megatron's rule: uint16 tokens when the vocabulary has fewer entries than this, else int32
MEGATRON_UINT16_LIMIT = 65_500


class ReaderConfig(BaseModel):
    """How input documents are read; ``auto`` picks the reader from the files' extensions."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = "auto"


class ShardsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: output formats: Megatron ``.bin/.idx`` and/or datatrove/nanotron ``.ds`` (+ ``.index``, ``.metadata``)
    formats: list[Literal["megatron", "nanotron"]] = Field(default_factory=lambda: ["megatron"], min_length=1)
    #: a shard is closed at the first document boundary at or after this many tokens
    shard_tokens: int = Field(1 << 28, ge=1)
    #: append the tokenizer's end-of-document token to every document
    append_eos: bool = True
    #: prepend the beginning-of-document token
    add_bos: bool = False
    #: override the EOS/BOS token (a token string or an id); default: found from the tokenizer
    eos_token: str | int | None = None
    bos_token: str | int | None = None
    #: documents longer than this (in tokens, specials included) follow ``long_docs``
    max_doc_tokens: int = Field(1 << 20, ge=2, le=(1 << 31) - 1)
    #: ``split``: written whole, as consecutive Megatron sequences of <= max_doc_tokens (one document);
    #: ``drop``: left out and counted in the manifest
    long_docs: Literal["split", "drop"] = "split"
    #: seed of the shuffle, the split and fractional mixture weights
    seed: int = Field(0, ge=0)
    #: shuffle document order globally (across all input files)
    shuffle: bool = True
    #: per-source mixture weights: 2 = every document twice, 0.5 = a seeded, hash-chosen half
    weights: dict[str, float] = Field(default_factory=dict)
    #: weight of sources not listed in ``weights``
    default_weight: float = Field(1.0, ge=0)
    #: validation split: this fraction of the (weighted) tokens ...
    valid_fraction: float = Field(0.0, ge=0, lt=1)
    #: ... or this many tokens (takes precedence over the fraction)
    valid_tokens: int | None = Field(None, ge=1)
    #: documents per ``encode_batch`` call ...
    batch_docs: int = Field(1024, ge=1)
    #: ... and at most this many bytes of text per call: a call's encodings take ~80 bytes per
    #: byte of text, so a worker's peak memory is about threads x 80 x max(this, largest document)
    batch_bytes: int = Field(1 << 20, ge=1)
    #: ``auto``: byte-level BPE tokenizer.json files whose merges and pre-tokenizer pass the checks of
    #: corpuskit.shards.fast_bpe are encoded by tiktoken's core (same ids, ~3x faster); ``tokenizers``:
    #: always the tokenizers library.  The ids written are the same either way.
    encoder: Literal["auto", "tokenizers"] = "auto"
    #: encode threads per worker process (0: cores / workers, at least 1)
    threads_per_worker: int = Field(0, ge=0)
    #: documents decoded by ``shards validate`` per split
    validate_samples: int = Field(8, ge=0)
    #: how the input is read (``type: auto|parquet|jsonl|arrow`` and the reader's parameters)
    reader: ReaderConfig = Field(default_factory=ReaderConfig)

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        for name, w in v.items():
            if not (w >= 0) or w > 1000:
                raise ValueError(f"weight of source {name!r} must be between 0 and 1000, got {w}")
        return dict(sorted(v.items()))

    @field_validator("formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        return sorted(set(v))

    def weight(self, source: str) -> float:
        return self.weights.get(source, self.default_weight)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> ShardsConfig:
    """Read a YAML config (optional) and apply CLI overrides; errors name the file and key."""
    data: dict[str, Any] = {}
    origin = "<command line>"
    if path is not None:
        p = Path(path)
        origin = str(p)
        if not p.is_file():
            raise ConfigError(f"shards config {origin!r} does not exist")
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{origin}: not valid YAML: {e}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{origin}: a shards config is a mapping of keys (formats, shard_tokens, ...)")
        data.update(loaded)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key == "weights":
            data["weights"] = {**(data.get("weights") or {}), **value}
        else:
            data[key] = value
    try:
        return ShardsConfig.model_validate(data)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"])
            if err["type"] == "extra_forbidden":
                valid = ", ".join(sorted(ShardsConfig.model_fields))
                lines.append(f"{origin}: {loc}: unknown key; valid keys: {valid}")
            else:
                lines.append(f"{origin}: {loc}: {err['msg']} (got {err.get('input')!r})")
        raise ConfigError("\n".join(lines)) from None
