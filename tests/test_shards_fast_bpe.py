"""The tiktoken-core encoder gives the ids of ``tokenizers`` itself, or is not used.

Real text (stdlib docstrings and sources), every script's characters at random, and the edge
cases the checks are for: a merge list that ranked BPE cannot reproduce, a pre-tokenizer regex
the two engines read differently, text the regex leaves unmatched, long pieces, added tokens
inside documents.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from corpus_fixtures import stdlib_docs, stdlib_sources
from corpuskit.shards import fast_bpe
from corpuskit.shards.build import build
from corpuskit.shards.config import ShardsConfig
from corpuskit.shards.fast_bpe import GPT2_PATTERN, FastBPE, merge_ranks
from corpuskit.shards.tokenizer import ShardTokenizer

EDGE = [
    "",
    "<|endoftext|>",
    "before<|endoftext|>after <|endoftext|><|endoftext|> end",
    "don't won't I'm you're we've they'll he'd 'S 'ſ ſ's DON'T",
    "Straße, Größe und Übermaß. Le cœur a ses raisons. — Pascal",
    "中文文本：数据处理流程把原始网页转换成干净的训练语料。日本語のテキスト、カタカナ。한국어 문장입니다.",
    "Emoji 🎉🚀👩‍👩‍👧 flags 🏳️‍🌈 and combining marks: e\u0301, a\u0308, \u0915\u094d\u0937",
    "digits 123 ١٢٣ ۴۵۶ ४५६ ⅫⅣ ½ ²³ 1,234.56e-7",
    "   leading blanks\r\n\r\nwindows newlines\r\n\t\ttabs \u00a0nbsp\u3000ideographic\u2028line sep\u0085",
    "x" * 20_000,
    "=" * 5_000 + "\n" + "ab12" * 3_000,
    "mixed\u200bzero\u200dwidth\ufeffbom \U0001d400\U0001d401 math letters \U000e0041 tag",
]


def _train(tmp: Path, texts: list[str], pre_tokenizer, vocab: int = 1200) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<|endoftext|>", "<pad>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    path = tmp / "tokenizer.json"
    tok.save(str(path))
    return path


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [d["text"] for d in stdlib_docs(600)] + [t[:20_000] for _, t in stdlib_sources(60)] + EDGE


def _pre_tokenizers():
    from tokenizers import pre_tokenizers

    from corpuskit.tokenizer.config import PreTokenizeConfig
    from corpuskit.tokenizer.hf_train import pre_tokenizer

    return {
        "gpt2-bytelevel": pre_tokenizers.ByteLevel(add_prefix_space=False),
        "corpuskit-gpt2-guarded": pre_tokenizer(PreTokenizeConfig(regex="gpt2", cjk_max_chars=16, digits_max=3,
                                                                  whitespace_max=32)),
        "corpuskit-cl100k-guarded": pre_tokenizer(PreTokenizeConfig(regex="cl100k", cjk_max_chars=16,
                                                                    whitespace_max=32)),
    }


def _assert_same(fb: FastBPE, hf, docs: list[str]) -> int:
    """The fast encoder's ids are tokenizers'; returns how many documents it handed to tokenizers."""
    fallbacks: list[int] = []
    flat, lens = fb.encode(docs, fallbacks=fallbacks)
    ref = hf.encode_batch_fast(docs, add_special_tokens=False)
    assert lens.tolist() == [len(e.ids) for e in ref]
    assert flat.tolist() == [i for e in ref for i in e.ids]
    return sum(fallbacks)


@pytest.mark.parametrize("kind", ["gpt2-bytelevel", "corpuskit-gpt2-guarded", "corpuskit-cl100k-guarded"])
def test_same_ids_as_tokenizers(tmp_path: Path, texts: list[str], kind: str) -> None:
    from tokenizers import Tokenizer

    path = _train(tmp_path, texts[:400], _pre_tokenizers()[kind])
    hf = Tokenizer.from_file(str(path))
    fb, why = FastBPE.load(path, hf)
    assert fb is not None, why
    reference = _assert_same(fb, hf, texts)
    # characters from every plane, assigned or not, in words, runs and next to the contexts
    rng = random.Random(5)
    pool = [c for c in range(0x20, 0x30000) if not 0xD800 <= c < 0xE000]
    fuzz = []
    for _ in range(300):
        chars = [chr(rng.choice(pool)) for _ in range(rng.randint(1, 40))]
        glue = rng.choice(["", " ", "a", "1", "\n", "'s ", "中"])
        fuzz.append(glue.join(chars))
    reference += _assert_same(fb, hf, fuzz)
    assert reference == 0  # every character split alike by both engines here


def _toy_tokenizer(tmp: Path, merges: list[tuple[str, str]]) -> Path:
    """A byte-level BPE with the given merges on top of the 256 byte tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    path = tmp / "toy.json"
    tok.save(str(path))
    return path


def test_merge_list_ranked_bpe_cannot_reproduce_is_refused(tmp_path: Path) -> None:
    import tiktoken
    from tokenizers import Tokenizer

    # b+c first, then a+b, then ab+c: the merge list leaves "abc" as a|bc, while ranked BPE
    # merges a+bc (whose concatenation is a token) into abc
    path = _toy_tokenizer(tmp_path, [("b", "c"), ("a", "b"), ("ab", "c")])
    hf = Tokenizer.from_file(str(path))
    assert [hf.id_to_token(i) for i in hf.encode("xabc").ids] == ["x", "a", "bc"]
    ranks = {bytes([b]): b for b in range(256)} | {b"bc": 256, b"ab": 257, b"abc": 258}
    naive = tiktoken.Encoding("naive", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={})
    assert naive.decode_tokens_bytes(naive.encode_ordinary("xabc")) == [b"xabc"[:1], b"abc"]  # differs
    fb, why = FastBPE.load(path, hf)
    assert fb is None and "abc" in why and "not a merge" in why
    # the shard tokenizer then encodes with tokenizers itself
    tok = ShardTokenizer(path, need_eos=False)
    assert tok.encoder == "tokenizers" and "abc" in tok.describe()["encoder_note"]
    assert tok.encode(["xabc"])[0].tolist() == hf.encode("xabc").ids


def test_token_made_by_two_merges_is_refused(tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    path = _toy_tokenizer(tmp_path, [("b", "c"), ("a", "b"), ("a", "bc"), ("ab", "c")])
    fb, why = FastBPE.load(path, Tokenizer.from_file(str(path)))
    assert fb is None and "two merges" in why


def test_unsupported_tokenizers_are_refused_with_a_reason(tmp_path: Path, texts: list[str]) -> None:
    from tokenizers import Tokenizer, normalizers, pre_tokenizers

    path = _train(tmp_path, texts[:100], pre_tokenizers.ByteLevel(add_prefix_space=True), vocab=400)
    assert "prefix space" in FastBPE.load(path, Tokenizer.from_file(str(path)))[1]
    hf = Tokenizer.from_file(str(path))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.normalizer = normalizers.NFKC()
    hf.save(str(path))
    assert "normalizer" in FastBPE.load(path, hf)[1]


@pytest.fixture(scope="module")
def gpt2_tok(tmp_path_factory, texts: list[str]) -> Path:
    from tokenizers import pre_tokenizers

    return _train(tmp_path_factory.mktemp("tok"), texts[:400], pre_tokenizers.ByteLevel(add_prefix_space=False))


def _parts(path: Path):
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(path))
    spec = json.loads(path.read_text())
    added = {a["content"]: a["id"] for a in spec["added_tokens"]}
    ranks, ids, why = merge_ranks(spec["model"], set(added.values()))
    assert not why
    return hf, ranks, ids, added


def test_characters_the_engines_split_differently_go_to_tokenizers(gpt2_tok: Path) -> None:
    hf, ranks, ids, added = _parts(gpt2_tok)
    # a tiktoken regex that knows only ASCII digits: other digits split apart from 1, 2, 3
    ascii_digits = GPT2_PATTERN.replace(r"\p{N}", "0-9").replace(r" ?0-9+", r" ?[0-9]+")
    fb = FastBPE(hf, ascii_digits, ranks, ids, added)
    assert "\u0661" in fb._bad and "\u0661" not in fb._contexts  # the Arabic-Indic digit one
    docs = ["plain ascii 123", "digits ١٢٣ and ४५६", "Größe 12", "٣"]
    assert _assert_same(fb, hf, docs) == 2  # the two documents with non-ASCII digits


def test_text_the_regex_leaves_unmatched_goes_to_tokenizers(gpt2_tok: Path) -> None:
    import tiktoken

    hf, ranks, ids, added = _parts(gpt2_tok)
    fb = FastBPE(hf, GPT2_PATTERN, ranks, ids, added)
    # an engine whose regex matches letters and blanks only would skip digits and punctuation:
    # the per-document byte count must catch it
    specials = {c: len(ranks) + k for k, c in enumerate(sorted(added))}
    fb._enc = tiktoken.Encoding("gaps", pat_str=r" ?\p{L}+|\s+", mergeable_ranks=ranks, special_tokens=specials)
    docs = ["only words here", "a sentence, with punctuation!", "x1", ""]
    assert _assert_same(fb, hf, docs) == 2


def test_ascii_split_differently_disables_the_fast_encoder(gpt2_tok: Path) -> None:
    hf, ranks, ids, added = _parts(gpt2_tok)
    with pytest.raises(ValueError, match="split ASCII text differently"):
        FastBPE(hf, r" ?\p{L}+|\s+", ranks, ids, added)


def test_checked_merges_are_remembered_per_file(gpt2_tok: Path, tmp_path: Path, monkeypatch) -> None:
    from tokenizers import Tokenizer

    monkeypatch.setenv("CORPUSKIT_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    real = fast_bpe.unclean_token
    monkeypatch.setattr(fast_bpe, "unclean_token", lambda *a: calls.append(1) or real(*a))
    hf = Tokenizer.from_file(str(gpt2_tok))
    assert FastBPE.load(gpt2_tok, hf)[0] is not None
    assert FastBPE.load(gpt2_tok, hf)[0] is not None
    assert len(calls) == 1 and len(list((tmp_path / "cache" / "bpe-checks").iterdir())) == 1


def test_shards_identical_with_either_encoder(tmp_path: Path, texts: list[str], gpt2_tok: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    with open(root / "docs.jsonl", "w", encoding="utf-8") as fh:
        for i, t in enumerate(texts):
            fh.write(json.dumps({"id": f"d{i}", "text": t, "source": "s"}, ensure_ascii=False) + "\n")
    outs = {}
    for enc in ("auto", "tokenizers"):
        cfg = ShardsConfig(formats=["megatron", "nanotron"], shard_tokens=50_000, encoder=enc)
        build(gpt2_tok, [str(root)], tmp_path / enc, cfg, workers=1, show_progress=False)
        outs[enc] = {p.name: p.read_bytes() for p in sorted((tmp_path / enc).iterdir())
                     if p.suffix in (".bin", ".idx", ".ds", ".index")}
        m = json.loads((tmp_path / enc / "manifest.json").read_text())
        assert m["tokenizer"]["encoder"] == ("tokenizers" if enc == "tokenizers" else
                                             "tiktoken (checked against tokenizers)")
        assert m["documents"]["reference_encoded"] == 0
    assert len(outs["auto"]) >= 4 and outs["auto"] == outs["tokenizers"]
    tok = ShardTokenizer(gpt2_tok)
    ids = np.concatenate([np.fromfile(tmp_path / "auto" / n, dtype=np.uint16)
                          for n in sorted(outs["auto"]) if n.endswith(".bin")])
    # one EOS after each document, plus the literal "<|endoftext|>"s inside documents, which
    # tokenizers (and so the fast encoder) reads as the added token
    assert int((ids == tok.eos_id).sum()) == sum(1 + t.count("<|endoftext|>") for t in texts if t)
