"""Training configuration (``configs/tokenizer/*.yaml``), validated so a typo names its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MixConfig(_Strict):
    """How documents are grouped into sources and how much text each group contributes."""

    #: what names a document's group: its ``source``, the first path segment of its ``id``
    #: (``webtext/...`` -> ``webtext``) or a top-level metadata field (``metadata.lang``)
    by: str = "source"
    #: group name -> fnmatch patterns of the key value (default: the key value is the group)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    #: group name -> relative weight of its share of ``max_bytes``
    weights: dict[str, float] = Field(default_factory=dict)
    #: weight of every document in no listed group (0 leaves them out); with no ``weights`` at
    #: all, every group found is sampled uniformly by document instead
    other: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> "MixConfig":
        if not (self.by in ("source", "id_prefix") or self.by.startswith("metadata.")):
            raise ValueError("by must be 'source', 'id_prefix' or 'metadata.FIELD'")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("weights must be >= 0")
        if self.weights and sum(self.weights.values()) + self.other <= 0:
            raise ValueError("weights sum to 0")
        return self


class SampleConfig(_Strict):
    """The training sample: a seeded bottom-k sample by document, then split into pieces."""

    #: UTF-8 bytes of training text to sample (the memory bound; SentencePiece holds it all)
    max_bytes: int = Field(200_000_000, ge=1)
    seed: int = 0
    #: fraction of documents (by hash) never sampled, so ``tokenizer eval --holdout-from``
    #: can measure on text the tokenizer did not see
    holdout: float = Field(0.0, ge=0, lt=1)
    mix: MixConfig = Field(default_factory=MixConfig)
    #: how documents become training "sentences": lines, sentences or whole documents
    #: (documents keep their newlines, which byte-level BPE should learn for code)
    split: Literal["lines", "sentences", "documents"] = "lines"
    #: pieces longer than this many bytes are cut at a space or character boundary (and counted),
    #: never dropped; SentencePiece itself silently skips lines over its max_sentence_length
    max_piece_bytes: int = Field(4192, ge=16)
    #: pieces shorter than this many characters are skipped (counted)
    min_piece_chars: int = Field(1, ge=1)
    #: reader type ("parquet", "jsonl", ...); default: guessed from the input files
    reader: str | None = None
    #: processes reading the input in parallel (each holds up to max_bytes)
    workers: int = Field(1, ge=1)


class SpecialTokens(_Strict):
    unk: str = "<unk>"
    bos: str = "<s>"
    eos: str = "</s>"
    pad: str = "<pad>"


class SentencePieceConfig(_Strict):
    """SentencePieceTrainer options; ``extra`` passes any other trainer flag through."""

    model_type: Literal["bpe", "unigram"] = "bpe"
    vocab_size: int = Field(32000, ge=16)
    character_coverage: float = Field(0.9995, gt=0, le=1)
    byte_fallback: bool = True
    split_digits: bool = True
    split_by_unicode_script: bool = True
    split_by_whitespace: bool = True
    allow_whitespace_only_pieces: bool = False
    max_sentencepiece_length: int = Field(16, ge=1)
    #: identity, nfkc, nmt_nfkc, nfkc_cf, nmt_nfkc_cf
    normalization_rule_name: Literal["identity", "nfkc", "nmt_nfkc", "nfkc_cf", "nmt_nfkc_cf"] = "identity"
    remove_extra_whitespaces: bool = False
    add_dummy_prefix: bool = True
    user_defined_symbols: list[str] = Field(default_factory=list)
    control_symbols: list[str] = Field(default_factory=list)
    #: 0: every core
    num_threads: int = Field(0, ge=0)
    train_extremely_large_corpus: bool = False
    extra: dict[str, Any] = Field(default_factory=dict)


class PreTokenizeConfig(_Strict):
    """Pre-tokenization for HF models: the splitting regex plus guards against huge pre-tokens."""

    #: gpt2, cl100k (GPT-4), or metaspace (SentencePiece-like: split before spaces)
    regex: Literal["gpt2", "cl100k", "metaspace"] = "cl100k"
    #: cut runs of Han/kana characters into pre-tokens of at most this many characters
    #: (0: off; a run of Chinese is otherwise one pre-token, slow to encode and train)
    cjk_max_chars: int = Field(16, ge=0)
    #: cut digit runs into groups of at most this many digits (0: off)
    digits_max: int = Field(0, ge=0)
    #: cut whitespace runs (not newlines) into blocks of this many characters (0: off)
    whitespace_max: int = Field(32, ge=0)


class HFConfig(_Strict):
    """HF ``tokenizers`` training: byte-level BPE or Unigram."""

    model: Literal["bpe", "unigram"] = "bpe"
    vocab_size: int = Field(32000, ge=16)
    min_frequency: int = Field(2, ge=0)
    #: longest piece the trainer may make, in characters (0: unlimited)
    max_token_length: int = Field(16, ge=0)
    pre_tokenize: PreTokenizeConfig = Field(default_factory=PreTokenizeConfig)
    #: Unigram only: add the 256 <0xNN> byte pieces and fall back to them instead of <unk>
    byte_fallback: bool = True
    #: Unigram only
    shrinking_factor: float = Field(0.75, gt=0, lt=1)
    user_defined_symbols: list[str] = Field(default_factory=list)
    control_symbols: list[str] = Field(default_factory=list)


class TrainConfig(_Strict):
    name: str = "tokenizer"
    library: Literal["sentencepiece", "hf"]
    description: str = ""
    sample: SampleConfig = Field(default_factory=SampleConfig)
    special_tokens: SpecialTokens = Field(default_factory=SpecialTokens)
    #: add bos in front / eos after every encoded text by default (tokenizer.json post-processor)
    add_bos: bool = False
    add_eos: bool = False
    model_max_length: int = Field(4096, ge=1)
    sentencepiece: SentencePieceConfig | None = None
    hf: HFConfig | None = None

    @model_validator(mode="after")
    def _section(self) -> "TrainConfig":
        if self.library == "sentencepiece" and self.sentencepiece is None:
            raise ValueError("library: sentencepiece needs a 'sentencepiece:' section")
        if self.library == "hf" and self.hf is None:
            raise ValueError("library: hf needs an 'hf:' section")
        return self


def _set_path(data: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    cur = data
    for k in keys[:-1]:
        nxt = cur.get(k)
        if nxt is None:
            nxt = cur[k] = {}
        if not isinstance(nxt, dict):
            raise ConfigError(f"--set {dotted}: {k!r} is not a section")
        cur = nxt
    cur[keys[-1]] = value


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Load a training YAML; ``overrides`` are ``KEY.PATH=VALUE`` strings (YAML values)."""
    path = Path(path)
    if not path.exists():
        from ..pipeline import data_root

        preset = data_root() / "configs" / "tokenizer" / f"{path.stem}.yaml"
        if path.suffix == "" and preset.exists():
            path = preset
        else:
            raise ConfigError(f"{path}: no such tokenizer config")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    data.setdefault("name", path.stem)
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: use KEY.PATH=VALUE, e.g. sample.max_bytes=50000000")
        _set_path(data, key.strip(), yaml.safe_load(value))
    return parse_config(data, str(path))


def parse_config(data: dict, where: str = "<config>") -> TrainConfig:
    try:
        return TrainConfig(**data)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
            lines.append(f"  {where}: {loc}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None
