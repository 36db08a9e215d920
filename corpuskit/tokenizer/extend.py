"""Vocabulary extension, Chinese-LLaMA style: append a domain model's new pieces to a base model.

Every base piece keeps its id, score and type, so embeddings trained with the base model stay
valid and only the new rows need training.  For BPE the new pieces get scores below every base
piece, in the domain model's order, so base text still merges as before and the new pieces merge
after; for Unigram they keep the domain model's log-probabilities.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from ..errors import ConfigError
from ..writers.atomic import write_bytes_atomic
from .convert import BPE_TYPE, NORMAL, USER_DEFINED, load_proto, sp_to_tokenizer
from .hf_files import write_hf_files
from .sp_train import write_sentencepiece


def _read_model(path: str | Path) -> Any:
    p = Path(path)
    if p.is_dir():
        p = p / "tokenizer.model"
    if not p.exists():
        raise ConfigError(f"{path}: no SentencePiece model (expected a .model file or a directory with tokenizer.model)")
    try:
        return load_proto(p.read_bytes())
    except Exception as e:  # protobuf raises DecodeError
        raise ConfigError(f"{p}: not a SentencePiece model: {e}") from e


def merge_models(base: Any, add: Any, max_new: int | None = None) -> tuple[Any, dict[str, int]]:
    """Return (merged ModelProto, counts); the base is not modified."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    if base.trainer_spec.model_type != add.trainer_spec.model_type:
        raise ConfigError("base and added models have different model types "
                          f"({base.trainer_spec.model_type} vs {add.trainer_spec.model_type}); "
                          "train the domain model with the base's model_type")
    merged = pb.ModelProto()
    merged.CopyFrom(base)
    have = {p.piece for p in base.pieces}
    candidates = [p for p in add.pieces if p.type in (NORMAL, USER_DEFINED) and p.piece not in have]
    candidates.sort(key=lambda p: -p.score)  # domain model's own priority order
    if max_new is not None:
        candidates = candidates[:max_new]
    is_bpe = base.trainer_spec.model_type == BPE_TYPE
    floor = min((p.score for p in base.pieces if p.type == NORMAL), default=0.0)
    for rank, p in enumerate(candidates):
        new = merged.pieces.add()
        new.piece = p.piece
        new.type = p.type
        new.score = floor - 1.0 - rank if is_bpe else p.score
    merged.trainer_spec.vocab_size = len(merged.pieces)
    counts = {"base_pieces": len(base.pieces), "added_model_pieces": len(add.pieces),
              "new_pieces": len(candidates), "already_in_base": sum(1 for p in add.pieces if p.piece in have),
              "merged_pieces": len(merged.pieces)}
    return merged, counts


def _special(proto: Any) -> dict[str, str]:
    ts = proto.trainer_spec
    pieces = proto.pieces

    def piece(i: int) -> str | None:
        return pieces[i].piece if 0 <= i < len(pieces) else None

    unk, bos, eos, pad = piece(ts.unk_id), piece(ts.bos_id), piece(ts.eos_id), piece(ts.pad_id)
    out = {"unk": unk, "bos": bos, "eos": eos, "pad": pad or eos or unk}
    return {k: v for k, v in out.items() if v}


def extend(base_path: str | Path, add_path: str | Path, output: str | Path,
           max_new: int | None = None) -> dict[str, Any]:
    """Merge, write the merged model and its HF files, and check that it loads with unchanged base ids."""
    import sentencepiece as spm

    base, add = _read_model(base_path), _read_model(add_path)
    merged, counts = merge_models(base, add, max_new)
    data = merged.SerializeToString()
    sp = spm.SentencePieceProcessor(model_proto=data)  # loads: or raises here, before writing
    changed = [i for i, p in enumerate(base.pieces) if sp.id_to_piece(i) != p.piece]
    if changed:
        raise ConfigError(f"merged model changed {len(changed)} base ids (first: {changed[0]})")
    out = Path(output)
    files = write_sentencepiece(data, out)
    tok = sp_to_tokenizer(merged)
    files.update(write_hf_files(tok, out, _special(merged), model_max_length=4096))
    report = {"base": str(base_path), "added": str(add_path), **counts, "files": sorted(files)}
    write_bytes_atomic(out / "extend_report.json", orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    return report
