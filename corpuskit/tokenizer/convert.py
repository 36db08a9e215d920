"""SentencePiece ``.model`` -> HF ``tokenizers.Tokenizer`` without transformers' slow tokenizers.

BPE merges are recovered from the vocabulary (every split of a piece into two pieces, ranked by
the piece's score, as SentencePiece merges the highest-scoring pair first); Unigram keeps the
pieces' log-probabilities.  Normalisation uses the model's own precompiled charsmap, whitespace
becomes the ``▁`` meta symbol, and byte-fallback pieces decode back to bytes, so the converted
tokenizer gives SentencePiece's ids on the test text (checked in the tests).
"""

from __future__ import annotations

from typing import Any

SPIECE = "\u2581"
# sentencepiece_model.proto ModelProto.SentencePiece.Type
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
UNIGRAM_TYPE, BPE_TYPE = 1, 2


def load_proto(data: bytes) -> Any:
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString(data)
    return proto


def bpe_merges(proto: Any) -> list[tuple[str, str]]:
    """Merges ordered as SentencePiece applies them: by the merged piece's score, then its id."""
    pieces = proto.pieces
    mergeable = {p.piece: i for i, p in enumerate(pieces) if p.type == NORMAL}
    ranked = sorted(((-p.score, i) for i, p in enumerate(pieces) if p.type == NORMAL and len(p.piece) > 1))
    merges: list[tuple[str, str]] = []
    for _, i in ranked:
        piece = pieces[i].piece
        local = []
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            li, ri = mergeable.get(left), mergeable.get(right)
            if li is not None and ri is not None:
                local.append((li, ri, left, right))
        local.sort()
        merges.extend((lft, rgt) for _, _, lft, rgt in local)
    return merges


def metaspace_split(proto: Any) -> bool:
    """Splitting before every ``▁`` matches SentencePiece only when it splits words the same way."""
    ts = proto.trainer_spec
    return bool(ts.split_by_whitespace) and not ts.allow_whitespace_only_pieces and not ts.treat_whitespace_as_suffix


def sp_to_tokenizer(proto: Any, add_bos: bool = False, add_eos: bool = False):
    """Build the equivalent ``tokenizers.Tokenizer`` of a SentencePiece ModelProto."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE, Unigram

    ts, ns = proto.trainer_spec, proto.normalizer_spec
    pieces = proto.pieces
    unk_id = ts.unk_id if 0 <= ts.unk_id < len(pieces) else 0
    if ts.model_type == UNIGRAM_TYPE:
        model = Unigram([(p.piece, p.score) for p in pieces], unk_id, bool(ts.byte_fallback))
    elif ts.model_type == BPE_TYPE:
        vocab = {p.piece: i for i, p in enumerate(pieces)}
        model = BPE(vocab, bpe_merges(proto), unk_token=pieces[unk_id].piece, fuse_unk=True,
                    byte_fallback=bool(ts.byte_fallback))
    else:
        raise ValueError(f"SentencePiece model type {ts.model_type} has no tokenizers equivalent")
    tok = Tokenizer(model)

    norm = []
    if ns.precompiled_charsmap:
        norm.append(normalizers.Precompiled(ns.precompiled_charsmap))
    if ns.remove_extra_whitespaces:
        norm += [normalizers.Strip(left=True, right=True), normalizers.Replace(Regex(" {2,}"), " ")]
    # SentencePiece always adds the dummy prefix, even before a leading space; the Metaspace
    # pre-tokenizer skips it there, so the prefix and the escaping are done as normalisation
    if ns.add_dummy_prefix:
        norm.append(normalizers.Prepend(SPIECE))
    norm.append(normalizers.Replace(" ", SPIECE))
    tok.normalizer = normalizers.Sequence(norm)
    if metaspace_split(proto):
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPIECE, prepend_scheme="never", split=True)
    dec = [decoders.Replace(SPIECE, " "), decoders.ByteFallback(), decoders.Fuse()]
    if ns.add_dummy_prefix:
        dec.append(decoders.Strip(content=" ", left=1, right=0))
    tok.decoder = decoders.Sequence(dec)

    special = [AddedToken(p.piece, special=True, normalized=False)
               for p in pieces if p.type in (CONTROL, UNKNOWN)]
    # added tokens split the text before normalisation, so the text after a user-defined piece
    # gets its own dummy prefix (as in transformers' legacy LLaMA tokenizer); SentencePiece adds
    # it only at the start.  Plain text without such pieces gives SentencePiece's ids exactly.
    user = [AddedToken(p.piece, special=False, normalized=False) for p in pieces if p.type == USER_DEFINED]
    if special:
        tok.add_special_tokens(special)
    if user:
        tok.add_tokens(user)
    bos = pieces[ts.bos_id].piece if 0 <= ts.bos_id < len(pieces) else None
    eos = pieces[ts.eos_id].piece if 0 <= ts.eos_id < len(pieces) else None
    set_post_processor(tok, bos if add_bos else None, eos if add_eos else None)
    return tok


def set_post_processor(tok: Any, bos: str | None, eos: str | None) -> None:
    """bos/eos around every encoded text (pair: around each) when asked; nothing otherwise."""
    if not bos and not eos:
        return
    from tokenizers.processors import TemplateProcessing

    pre = f"{bos}:0 " if bos else ""
    post = f" {eos}:0" if eos else ""
    pre1 = f"{bos}:1 " if bos else ""
    post1 = f" {eos}:1" if eos else ""
    specials = [(t, tok.token_to_id(t)) for t in (bos, eos) if t]
    tok.post_processor = TemplateProcessing(single=f"{pre}$A:0{post}", pair=f"{pre}$A:0{post} {pre1}$B:1{post1}",
                                            special_tokens=specials)
