"""Load a HF ``tokenizer.json`` or a SentencePiece ``.model`` and encode batches straight to numpy.

Special tokens are added here, not by the tokenizer's post-processor, so BOS/EOS are exactly what
the shard config says whatever template the tokenizer file carries; truncation and padding set in
a ``tokenizer.json`` are switched off, because a silently cut document is a corrupted document.

A byte-level BPE ``tokenizer.json`` is encoded by :mod:`.fast_bpe` (tiktoken's core, checked to
give ``tokenizers``' ids) when its checks pass; ``tokenizers`` stays the reference, and the
validator re-encodes with it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .fast_bpe import FastBPE

EOS_CANDIDATES = ("<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>", "<|eos|>", "[EOS]", "<|end|>")
BOS_CANDIDATES = ("<s>", "<|begin_of_text|>", "<bos>", "<|bos|>", "[BOS]", "<|startoftext|>", "<|endoftext|>")


def resolve_tokenizer_file(path: str | Path) -> tuple[Path, str]:
    """``(file, kind)`` for a tokenizer.json, a SentencePiece .model, or a directory holding one
    (its ``tokenizer.model`` first, as ``corpuskit tokenizer`` commands do, then ``tokenizer.json``)."""
    p = Path(path)
    if p.is_dir():
        for name in ("tokenizer.model", "tokenizer.json"):
            if (p / name).is_file():
                p = p / name
                break
        else:
            models = sorted(p.glob("*.model"))
            if len(models) != 1:
                raise ConfigError(f"tokenizer directory {str(path)!r} holds no tokenizer.json and no single "
                                  f"SentencePiece .model file")
            p = models[0]
    if not p.is_file():
        raise ConfigError(f"tokenizer {str(path)!r} does not exist")
    if p.suffix == ".json":
        return p, "hf"
    if p.suffix == ".model":
        return p, "sentencepiece"
    raise ConfigError(f"tokenizer {str(path)!r}: expected a HF tokenizer.json or a SentencePiece .model file")


def file_sha256(path: str | Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _special_from_config(directory: Path, key: str) -> str | None:
    """bos/eos token string from a HF tokenizer_config.json / special_tokens_map.json next to the file."""
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        f = directory / name
        if not f.is_file():
            continue
        try:
            value = json.loads(f.read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError):
            continue
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str) and value:
            return value
    return None


class ShardTokenizer:
    """One loaded tokenizer; ``encode`` returns (flat token ids, per-document lengths)."""

    def __init__(self, path: str | Path, eos_token: str | int | None = None, bos_token: str | int | None = None,
                 need_eos: bool = True, need_bos: bool = False, threads: int = 1, encoder: str = "auto"):
        self.source_path = str(path)
        self.file, self.kind = resolve_tokenizer_file(path)
        self.threads = max(1, threads)
        if self.kind == "hf":
            from tokenizers import Tokenizer

            try:
                self._hf = Tokenizer.from_file(str(self.file))
            except Exception as e:
                raise ConfigError(f"tokenizer {self.file}: cannot load: {e}") from None
            self._hf.no_truncation()
            self._hf.no_padding()
            added = self._hf.get_added_tokens_decoder()
            # ids of added tokens may lie past the model's vocabulary: the bound is the largest id + 1
            self.vocab_size = max(self._hf.get_vocab_size(with_added_tokens=True), max(added, default=-1) + 1)
            self._sp = None
            self._fast, self.encoder_note = (None, "encoder: tokenizers (set in the config)") \
                if encoder == "tokenizers" else FastBPE.load(self.file, self._hf)
            self.encoder = "tiktoken (checked against tokenizers)" if self._fast is not None else "tokenizers"
        else:
            import sentencepiece as spm

            self._sp = spm.SentencePieceProcessor()
            try:
                self._sp.Load(str(self.file))
            except Exception as e:
                raise ConfigError(f"tokenizer {self.file}: cannot load SentencePiece model: {e}") from None
            self.vocab_size = int(self._sp.GetPieceSize())
            self._hf = None
            self._fast, self.encoder, self.encoder_note = None, "sentencepiece", ""
        self.eos_id = self._special("eos", eos_token, EOS_CANDIDATES, need_eos)
        self.bos_id = self._special("bos", bos_token, BOS_CANDIDATES, need_bos)

    # -- special tokens ----------------------------------------------------------------------
    def _special(self, which: str, given: str | int | None, candidates: tuple[str, ...], needed: bool) -> int | None:
        if given is not None:
            tid = self.token_to_id(given) if isinstance(given, str) else int(given)
            if tid is None or not 0 <= tid < self.vocab_size:
                raise ConfigError(f"tokenizer {self.file}: {which}_token {given!r} is not in the vocabulary")
            return tid
        if self.kind == "sentencepiece":
            tid = int(self._sp.eos_id() if which == "eos" else self._sp.bos_id())
            if tid >= 0:
                return tid
        else:
            named = _special_from_config(self.file.parent, f"{which}_token")
            if named is not None and self.token_to_id(named) is not None:
                return self.token_to_id(named)
            for cand in candidates:
                tid = self.token_to_id(cand)
                if tid is not None:
                    return tid
        if needed:
            raise ConfigError(f"tokenizer {self.file}: no {which.upper()} token found (looked for "
                              f"{', '.join(candidates[:4])}, ...); set {which}_token in the shards config")
        return None

    def token_to_id(self, token: str) -> int | None:
        if self._hf is not None:
            return self._hf.token_to_id(token)
        tid = int(self._sp.PieceToId(token))
        return tid if self._sp.IdToPiece(tid) == token else None

    def id_to_token(self, tid: int) -> str | None:
        if self._hf is not None:
            return self._hf.id_to_token(int(tid))
        return self._sp.IdToPiece(int(tid)) if 0 <= tid < self.vocab_size else None

    # -- encoding ------------------------------------------------------------------------------
    def encode_lists(self, texts: list[str]) -> list[list[int]]:
        if self._hf is not None:
            return [e.ids for e in self._hf.encode_batch_fast(texts, add_special_tokens=False)]
        return self._sp.Encode(texts, out_type=int, num_threads=self.threads)

    def encode(self, texts: list[str], nbytes: np.ndarray | None = None, reference: bool = False,
               fallbacks: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Flat uint32 ids of every document (specials not added) and each document's length.
        ``nbytes``: the documents' UTF-8 sizes if known; ``reference``: the tokenizer library
        itself; ``fallbacks``: see :meth:`FastBPE.encode`."""
        if self._fast is not None and not reference:
            return self._fast.encode(texts, nbytes, fallbacks)
        ids = self.encode_lists(texts)
        lens = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.uint32, count=int(lens.sum()))
        return flat, lens

    def decode(self, ids: np.ndarray | list[int]) -> str:
        ids = [int(x) for x in ids]
        if self._hf is not None:
            return self._hf.decode(ids, skip_special_tokens=False)
        return self._sp.Decode(ids)

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.source_path,
            "file": self.file.name,
            "kind": self.kind,
            "encoder": self.encoder,
            **({"encoder_note": self.encoder_note} if self.encoder_note else {}),
            "sha256": file_sha256(self.file),
            "vocab_size": self.vocab_size,
            "eos_id": self.eos_id,
            "eos_token": self.id_to_token(self.eos_id) if self.eos_id is not None else None,
            "bos_id": self.bos_id,
            "bos_token": self.id_to_token(self.bos_id) if self.bos_id is not None else None,
        }


def configure_parallelism() -> None:
    """Keep each ``encode_batch`` call on its calling thread: corpuskit runs its own encode threads,
    each on a bounded sub-batch, rather than one Rust pool over a whole batch (whose per-document
    encodings, ~80 bytes per byte of text, would all be alive at once)."""
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
