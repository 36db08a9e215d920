"""HF ``tokenizers`` training: byte-level BPE (GPT-2 / cl100k regex) and Unigram.

The GPT-2 and cl100k regexes make a whole run of Chinese characters (and GPT-2 a whole digit run)
one pre-token.  BPE then encodes every such run from scratch (a cache miss each time: ~1 MB/s)
and its trainer keeps a count per distinct run.  A guard split in front cuts CJK runs into
chunks of ``cjk_max_chars``, digit runs into ``digits_max`` groups and long blank runs into
blocks, so pre-tokens repeat, the cache hits and training counts stay small.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..errors import CorpusError
from .config import HFConfig, PreTokenizeConfig, TrainConfig
from .convert import SPIECE, set_post_processor

GPT2_REGEX = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
CL100K_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
CJK_CHARS = r"\p{Han}\p{Hiragana}\p{Katakana}"
BYTE_PIECES = [f"<0x{i:02X}>" for i in range(256)]


def split_regex(pt: PreTokenizeConfig) -> str:
    """The GPT-2 or cl100k regex with the guards folded in (one regex pass, no extra split):
    letters exclude CJK, which gets its own bounded alternative; digit and blank runs are bounded.
    With every guard off this is exactly the original regex."""
    letters = rf"[\p{{L}}&&[^{CJK_CHARS}]]" if pt.cjk_max_chars else r"\p{L}"
    cjk = rf"[{CJK_CHARS}]{{1,{pt.cjk_max_chars}}}"
    blank = rf"{{1,{pt.whitespace_max}}}" if pt.whitespace_max else "+"
    if pt.regex == "gpt2":
        digits = rf" ?\p{{N}}{{1,{pt.digits_max}}}" if pt.digits_max else r" ?\p{N}+"
        parts = ["'s|'t|'re|'ve|'m|'ll|'d", f" ?{letters}+"] + ([f" ?{cjk}"] if pt.cjk_max_chars else []) + \
                [digits, r" ?[^\s\p{L}\p{N}]+", rf"\s{blank}(?!\S)", rf"\s{blank}"]
    elif pt.regex == "cl100k":
        lead = r"[^\r\n\p{L}\p{N}]?"
        parts = [r"(?i:'s|'t|'re|'ve|'m|'ll|'d)", f"{lead}{letters}+"] + ([f"{lead}{cjk}"] if pt.cjk_max_chars else []) \
            + [rf"\p{{N}}{{1,{pt.digits_max or 3}}}", r" ?[^\s\p{L}\p{N}]+[\r\n]*", r"\s*[\r\n]+",
               rf"\s{blank}(?!\S)", rf"\s{blank}"]
    else:
        raise ValueError(f"no split regex for {pt.regex!r}")
    return "|".join(parts)


def guard_regex(pt: PreTokenizeConfig) -> str | None:
    """For the metaspace (Unigram) pre-tokenizer: a split isolating bounded CJK and digit runs."""
    alts = []
    if pt.cjk_max_chars:
        alts.append(f"[{CJK_CHARS}]{{1,{pt.cjk_max_chars}}}")
    if pt.digits_max:
        alts.append(rf"\p{{N}}{{1,{pt.digits_max}}}")
    return "|".join(alts) or None


def pre_tokenizer(pt: PreTokenizeConfig) -> Any:
    from tokenizers import Regex, pre_tokenizers

    if pt.regex == "metaspace":  # the normaliser has already escaped spaces (see metaspace_normalizer)
        meta = pre_tokenizers.Metaspace(replacement=SPIECE, prepend_scheme="never", split=True)
        guard = guard_regex(pt)
        return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(guard), behavior="isolated"), meta]) \
            if guard else meta
    return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(split_regex(pt)), behavior="isolated"),
                                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])


def metaspace_normalizer() -> Any:
    """Dummy prefix and ``▁`` escaping as SentencePiece does them (also before a leading space)."""
    from tokenizers import normalizers

    return normalizers.Sequence([normalizers.Prepend(SPIECE), normalizers.Replace(" ", SPIECE)])


def _metaspace_decoder() -> Any:
    from tokenizers import decoders

    return decoders.Sequence([decoders.Replace(SPIECE, " "), decoders.ByteFallback(), decoders.Fuse(),
                              decoders.Strip(content=" ", left=1, right=0)])


def special_list(cfg: TrainConfig) -> list[str]:
    st = cfg.special_tokens
    out = [st.unk, st.bos, st.eos, st.pad]
    assert cfg.hf is not None
    out += [s for s in cfg.hf.control_symbols if s not in out]
    return out


def build_untrained(cfg: TrainConfig) -> tuple[Any, Any]:
    """The empty tokenizer and its trainer for a config (benchmarks call them directly too)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    h: HFConfig = cfg.hf  # type: ignore[assignment]
    specials = special_list(cfg)
    if h.model == "bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizer(h.pre_tokenize)
        if h.pre_tokenize.regex == "metaspace":
            tok.normalizer = metaspace_normalizer()
            tok.decoder = _metaspace_decoder()
            alphabet: list[str] = []
        else:
            tok.decoder = decoders.ByteLevel()
            alphabet = pre_tokenizers.ByteLevel.alphabet()
        trainer = trainers.BpeTrainer(vocab_size=h.vocab_size, min_frequency=h.min_frequency,
                                      special_tokens=specials, initial_alphabet=alphabet, show_progress=False,
                                      max_token_length=h.max_token_length or None)
    else:
        tok = Tokenizer(models.Unigram())
        pt = h.pre_tokenize if h.pre_tokenize.regex == "metaspace" else h.pre_tokenize.model_copy(
            update={"regex": "metaspace"})
        tok.normalizer = metaspace_normalizer()
        tok.pre_tokenizer = pre_tokenizer(pt)
        tok.decoder = _metaspace_decoder()
        reserve = len(BYTE_PIECES) if h.byte_fallback else 0
        trainer = trainers.UnigramTrainer(vocab_size=h.vocab_size - reserve, special_tokens=specials,
                                          unk_token=cfg.special_tokens.unk, shrinking_factor=h.shrinking_factor,
                                          max_piece_length=h.max_token_length or 16, show_progress=False)
    return tok, trainer


def _add_byte_fallback(tok: Any) -> Any:
    """Append the 256 byte pieces to a trained Unigram model and turn byte fallback on."""
    import orjson
    from tokenizers import Tokenizer

    state = orjson.loads(tok.to_str())
    model = state["model"]
    vocab = model["vocab"]
    have = {p for p, _ in vocab}
    floor = min(s for _, s in vocab if s != 0.0) - 10.0 if vocab else -20.0
    vocab.extend([b, floor] for b in BYTE_PIECES if b not in have)
    model["byte_fallback"] = True
    return Tokenizer.from_str(orjson.dumps(state).decode())


def train_hf(pieces: Iterator[str], cfg: TrainConfig) -> Any:
    """Train and return a ``tokenizers.Tokenizer`` ready to save."""
    from tokenizers import AddedToken

    h: HFConfig = cfg.hf  # type: ignore[assignment]
    tok, trainer = build_untrained(cfg)
    try:
        tok.train_from_iterator(pieces, trainer=trainer)
    except Exception as e:  # tokenizers raises a bare Exception
        hint = ""
        if "not large enough to contain all chars" in str(e):
            hint = (" (HF Unigram keeps every character of the sample: raise vocab_size above the number of"
                    " distinct characters, or use SentencePiece unigram, which has character_coverage)")
        raise CorpusError(f"tokenizers training failed: {e}{hint}") from e
    if h.model == "unigram" and h.byte_fallback:
        tok = _add_byte_fallback(tok)
    specials = special_list(cfg)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if h.user_defined_symbols:
        tok.add_tokens([AddedToken(s, special=False, normalized=False) for s in h.user_defined_symbols])
    st = cfg.special_tokens
    set_post_processor(tok, st.bos if cfg.add_bos else None, st.eos if cfg.add_eos else None)
    return tok
