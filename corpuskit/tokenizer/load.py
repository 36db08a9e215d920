"""One interface over SentencePiece and HF tokenizers for evaluation: ids, offsets, decoding.

SentencePiece models are measured with the sentencepiece library itself (its speed is what a
user of the ``.model`` gets); ``tokenizer.json`` files with ``tokenizers``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError

BYTE_PIECE_LEN = len("<0x00>")


class Encoder:
    name: str
    kind: str
    path: str
    vocab_size: int
    unk_id: int | None
    #: vocabulary ids that are byte-fallback pieces ``<0xNN>`` (empty for byte-level BPE)
    byte_ids: np.ndarray
    #: byte-level or byte-fallback: every input must round-trip exactly
    lossless: bool

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError  # abstract

    def encode_spans(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per text: token ids, and each token's start and end *character* offsets."""
        raise NotImplementedError  # abstract

    def decode(self, ids: list[int]) -> str:
        raise NotImplementedError  # abstract


def _byte_mask(pieces: list[str]) -> np.ndarray:
    ids = [i for i, p in enumerate(pieces) if len(p) == BYTE_PIECE_LEN and p.startswith("<0x") and p.endswith(">")]
    return np.array(ids, dtype=np.int64)


class SentencePieceEncoder(Encoder):
    kind = "sentencepiece"

    def __init__(self, path: Path, name: str):
        import sentencepiece as spm

        self.path, self.name = str(path), name
        self.sp = spm.SentencePieceProcessor(model_file=str(path))
        n = self.sp.get_piece_size()
        self.vocab_size = n
        self.unk_id = self.sp.unk_id()
        self.byte_ids = np.array([i for i in range(n) if self.sp.is_byte(i)], dtype=np.int64)
        from .convert import load_proto

        proto = load_proto(path.read_bytes())
        self.lossless = bool(proto.trainer_spec.byte_fallback) and proto.normalizer_spec.name == "identity" \
            and not proto.normalizer_spec.remove_extra_whitespaces

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def encode_spans(self, texts: list[str]):
        out = []
        for text in texts:
            pieces = self.sp.encode(text, return_type="proto").pieces
            ids = np.fromiter((p.id for p in pieces), np.int64, len(pieces))
            b = np.fromiter((p.begin for p in pieces), np.int64, len(pieces))
            e = np.fromiter((p.end for p in pieces), np.int64, len(pieces))
            byte_to_char = _byte_to_char(text)
            out.append((ids, byte_to_char[b], byte_to_char[e]))
        return out

    def decode(self, ids: list[int]) -> str:
        return self.sp.decode(ids)


class HFEncoder(Encoder):
    kind = "tokenizers"

    def __init__(self, path: Path, name: str):
        from tokenizers import Tokenizer

        self.path, self.name = str(path), name
        self.tok = Tokenizer.from_file(str(path))
        self.vocab_size = self.tok.get_vocab_size(with_added_tokens=True)
        vocab = self.tok.get_vocab(with_added_tokens=True)
        pieces = [""] * (max(vocab.values()) + 1)
        for p, i in vocab.items():
            pieces[i] = p
        import orjson

        model = orjson.loads(self.tok.to_str()).get("model", {})
        unk = model.get("unk_token")
        self.unk_id = model.get("unk_id") if model.get("type") == "Unigram" else (vocab.get(unk) if unk else None)
        fallback = bool(model.get("byte_fallback"))
        self.byte_ids = _byte_mask(pieces) if fallback else np.zeros(0, np.int64)
        byte_level = '"ByteLevel"' in self.tok.to_str()
        self.lossless = byte_level or fallback

    def encode(self, text: str) -> list[int]:
        # the library's fastest path (no offsets) where it has one, as bulk tokenization uses it
        fast = getattr(self.tok, "encode_batch_fast", None)
        if fast is not None:
            return fast([text], add_special_tokens=False)[0].ids
        return self.tok.encode(text, add_special_tokens=False).ids

    def encode_spans(self, texts: list[str]):
        out = []
        for enc in self.tok.encode_batch(texts, add_special_tokens=False):
            ids = np.array(enc.ids, dtype=np.int64)
            offs = np.array(enc.offsets, dtype=np.int64).reshape(-1, 2)
            out.append((ids, offs[:, 0], offs[:, 1]))
        return out

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids, skip_special_tokens=False)


def _byte_to_char(text: str) -> np.ndarray:
    """Map every UTF-8 byte offset (0..len] to the index of the character it falls in."""
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    widths = 1 + (cps >= 0x80) + (cps >= 0x800) + (cps >= 0x10000)
    starts = np.concatenate(([0], np.cumsum(widths)))
    nbytes = int(starts[-1])
    return np.searchsorted(starts, np.arange(nbytes + 1), side="right") - 1


def load_encoder(spec: str) -> Encoder:
    """``PATH`` or ``NAME=PATH``; PATH is a ``.model``, a ``tokenizer.json`` or a training output
    directory (its ``tokenizer.model`` if there is one, else its ``tokenizer.json``)."""
    name, sep, path_s = spec.partition("=")
    if not sep:
        path_s, name = spec, ""
    path = Path(path_s)
    if path.is_dir():
        name = name or path.name
        if (path / "tokenizer.model").exists():
            return SentencePieceEncoder(path / "tokenizer.model", name)
        if (path / "tokenizer.json").exists():
            return HFEncoder(path / "tokenizer.json", name)
        raise ConfigError(f"{path}: no tokenizer.model or tokenizer.json")
    if not path.exists():
        raise ConfigError(f"{path}: no such tokenizer")
    name = name or (path.parent.name if path.stem == "tokenizer" else path.stem)
    if path.suffix == ".model":
        return SentencePieceEncoder(path, name)
    if path.suffix == ".json":
        return HFEncoder(path, name)
    raise ConfigError(f"{path}: expected a SentencePiece .model or a tokenizer.json")
