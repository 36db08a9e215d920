"""The files ``transformers`` loads a fast tokenizer from: tokenizer.json plus its two configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from ..writers.atomic import write_bytes_atomic


def _json(path: Path, obj: Any) -> None:
    write_bytes_atomic(path, orjson.dumps(obj, option=orjson.OPT_INDENT_2) + b"\n")


def write_hf_files(tok: Any, out: Path, special: dict[str, str], model_max_length: int,
                   add_bos: bool = False, add_eos: bool = False) -> dict[str, str]:
    """Write tokenizer.json, tokenizer_config.json and special_tokens_map.json; returns their paths.

    ``special`` maps unk/bos/eos/pad to token strings; each must be in the vocabulary, so that
    ``PreTrainedTokenizerFast`` resolves them to ids without adding new tokens.
    """
    out.mkdir(parents=True, exist_ok=True)
    for role, token in special.items():
        if tok.token_to_id(token) is None:
            raise ValueError(f"special token {role}={token!r} is not in the vocabulary")
    write_bytes_atomic(out / "tokenizer.json", tok.to_str(pretty=True).encode("utf-8"))
    added = {}
    for idx, t in sorted(tok.get_added_tokens_decoder().items()):
        added[str(idx)] = {"content": t.content, "lstrip": t.lstrip, "normalized": t.normalized,
                           "rstrip": t.rstrip, "single_word": t.single_word, "special": t.special}
    names = {f"{role}_token": token for role, token in special.items()}
    _json(out / "special_tokens_map.json", names)
    _json(out / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **names,
        "add_bos_token": add_bos,
        "add_eos_token": add_eos,
        "model_max_length": model_max_length,
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": added,
    })
    return {k: str(out / k) for k in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")}
