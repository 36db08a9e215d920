"""SentencePiece training from a streamed sample (``sentence_iterator``), model bytes in memory."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Iterator

from ..errors import CorpusError
from ..writers.atomic import write_bytes_atomic
from .config import TrainConfig


def trainer_options(cfg: TrainConfig) -> dict[str, Any]:
    """The exact SentencePieceTrainer keyword arguments a config means (also used by benchmarks)."""
    sp = cfg.sentencepiece
    assert sp is not None
    st = cfg.special_tokens
    opts: dict[str, Any] = {
        "model_type": sp.model_type,
        "vocab_size": sp.vocab_size,
        "character_coverage": sp.character_coverage,
        "byte_fallback": sp.byte_fallback,
        "split_digits": sp.split_digits,
        "split_by_unicode_script": sp.split_by_unicode_script,
        "split_by_whitespace": sp.split_by_whitespace,
        "allow_whitespace_only_pieces": sp.allow_whitespace_only_pieces,
        "max_sentencepiece_length": sp.max_sentencepiece_length,
        "normalization_rule_name": sp.normalization_rule_name,
        "remove_extra_whitespaces": sp.remove_extra_whitespaces,
        "add_dummy_prefix": sp.add_dummy_prefix,
        "user_defined_symbols": list(sp.user_defined_symbols),
        "control_symbols": list(sp.control_symbols),
        "num_threads": sp.num_threads or os.cpu_count() or 1,
        # pieces are already cut to this length, so SentencePiece never skips one
        "max_sentence_length": cfg.sample.max_piece_bytes,
        "input_sentence_size": 0,
        "unk_id": 0, "bos_id": 1, "eos_id": 2, "pad_id": 3,
        "unk_piece": st.unk, "bos_piece": st.bos, "eos_piece": st.eos, "pad_piece": st.pad,
        "minloglevel": 1,
    }
    if sp.train_extremely_large_corpus:  # deprecated flag: only pass it when asked
        opts["train_extremely_large_corpus"] = True
    opts.update(sp.extra)
    return opts


def train_sentencepiece(pieces: Path | Iterator[str], cfg: TrainConfig) -> bytes:
    """Train from a file of lines (SentencePiece's own reader) or an iterator of sentences;
    return the serialized ModelProto."""
    import sentencepiece as spm

    buf = io.BytesIO()
    source: dict[str, Any] = {"input": str(pieces)} if isinstance(pieces, Path) else {"sentence_iterator": pieces}
    try:
        spm.SentencePieceTrainer.train(**source, model_writer=buf, **trainer_options(cfg))
    except RuntimeError as e:
        hint = ""
        if "Vocabulary size too high" in str(e):
            hint = " (the sample is too small for this vocab_size: raise sample.max_bytes or lower vocab_size," \
                   " or set sentencepiece.extra.hard_vocab_limit: false)"
        raise CorpusError(f"SentencePiece training failed: {e}{hint}") from e
    return buf.getvalue()


def write_sentencepiece(model: bytes, out: Path, stem: str = "tokenizer") -> dict[str, str]:
    """``.model`` as trained and ``.vocab`` as SentencePiece writes it (piece TAB score)."""
    from .convert import load_proto

    proto = load_proto(model)
    write_bytes_atomic(out / f"{stem}.model", model)
    lines = [f"{p.piece}\t{p.score:g}" for p in proto.pieces]
    write_bytes_atomic(out / f"{stem}.vocab", ("\n".join(lines) + "\n").encode("utf-8"))
    return {f"{stem}.model": str(out / f"{stem}.model"), f"{stem}.vocab": str(out / f"{stem}.vocab")}
