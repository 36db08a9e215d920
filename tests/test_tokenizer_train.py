"""Training SentencePiece and HF tokenizers from a corpus directory, the files they write, the
SentencePiece -> tokenizer.json conversion, and exact round trips on hard text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from corpuskit.cli import main
from corpuskit.errors import ConfigError
from corpuskit.tokenizer.config import load_config, parse_config
from corpuskit.tokenizer.train import train

from test_tokenizer_corpus import ZH_PARAGRAPHS, corpus_docs, write_corpus

HARD_TEXTS = [
    "Plain English, with punctuation: don't stop; it's fine!",
    "  two leading spaces, trailing two  ",
    "tabs\tand\r\nwindows newlines\n\n\nand blank lines",
    "控制字符 \x00 \x01 \x07 \x1b[31mred\x1b[0m \x7f \u200b zero-width",
    "emoji 😀 👍🏽 👨‍👩‍👧 🇨🇳 and flags",
    "中文和English混合，还有数字１２３和123456789012345。",
    "罕见字：龘靐齉 and combining: e\u0301 a\u0308 ﬁ ligature, Ω Å",
    "def f(x):\n    return {'a': [1, 2, 3]}  # comment\n\tif x >= 0x1F: pass\n",
    "日本語のテキストとカタカナ、ひらがな。한국어 텍스트.",
    " ",
    "\n",
    "",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("train-corpus"))


def _sp_cfg(model_type: str = "bpe", **sp) -> dict:
    return {"library": "sentencepiece",
            "sample": {"max_bytes": 10_000_000, "seed": 3},
            "sentencepiece": {"model_type": model_type, "vocab_size": 900, "character_coverage": 0.9995,
                              "byte_fallback": True, "allow_whitespace_only_pieces": True, **sp}}


@pytest.fixture(scope="module")
def sp_bpe(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sp-bpe")
    cfg_path = out.parent / "sp-bpe.yaml"
    cfg_path.write_text(yaml.safe_dump(_sp_cfg("bpe", user_defined_symbols=["<|sep|>"], control_symbols=["<|ctl|>"])))
    assert main(["tokenizer", "train", str(cfg_path), "--input", str(corpus), "--output", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def hf_bpe(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hf-bpe")
    cfg = parse_config({"library": "hf", "sample": {"max_bytes": 10_000_000, "split": "documents",
                                                    "max_piece_bytes": 100_000},
                        "hf": {"model": "bpe", "vocab_size": 900,
                               "pre_tokenize": {"regex": "cl100k", "cjk_max_chars": 3}}})
    train(cfg, [str(corpus)], out)
    return out


def test_sentencepiece_outputs_and_report(sp_bpe, corpus):
    for f in ("tokenizer.model", "tokenizer.vocab", "tokenizer.json", "tokenizer_config.json",
              "special_tokens_map.json", "training_report.json"):
        assert (sp_bpe / f).exists(), f
    rep = json.loads((sp_bpe / "training_report.json").read_text())
    total = sum(len(r["text"].encode()) for r in corpus_docs())
    assert rep["sample"]["bytes"] == total  # the budget exceeds the corpus: everything is sampled
    assert rep["sample"]["docs"] == len(corpus_docs())
    assert rep["options"]["byte_fallback"] is True and rep["options"]["vocab_size"] == 900
    assert rep["seconds"]["train"] > 0 and rep["peak_rss_bytes"]["train"] > 10 << 20
    # every non-blank line reached the trainer
    lines = [ln.rstrip("\r") for r in corpus_docs() for ln in r["text"].split("\n")]
    kept = [ln for ln in lines if ln and not ln.isspace()]
    assert rep["pieces"]["pieces"] == len(kept)
    assert rep["pieces"]["bytes"] == sum(len(ln.encode()) for ln in kept)
    vocab_lines = (sp_bpe / "tokenizer.vocab").read_text().splitlines()
    assert len(vocab_lines) == 900 and vocab_lines[0].split("\t")[0] == "<unk>"


def test_converted_tokenizer_json_matches_sentencepiece(sp_bpe):
    import sentencepiece as spm
    from tokenizers import Tokenizer

    sp = spm.SentencePieceProcessor(model_file=str(sp_bpe / "tokenizer.model"))
    tok = Tokenizer.from_file(str(sp_bpe / "tokenizer.json"))
    texts = [r["text"] for r in corpus_docs()] + HARD_TEXTS + ["left <|sep|>"]
    for t in texts:
        assert tok.encode(t, add_special_tokens=False).ids == sp.encode(t), t[:60]
    # the one known difference: text right after a user-defined piece gets a dummy prefix
    hf_ids = tok.encode("left<|sep|>right", add_special_tokens=False).ids
    assert hf_ids == sp.encode("left<|sep|>") + sp.encode("right")
    # a user-defined symbol is one piece wherever it appears; a control symbol has an id but is
    # never produced from text by SentencePiece
    sep, ctl = sp.piece_to_id("<|sep|>"), sp.piece_to_id("<|ctl|>")
    assert sep > 3 and ctl > 3 and sp.encode("x<|sep|>y").count(sep) == 1
    assert ctl not in sp.encode("x<|ctl|>y") and tok.token_to_id("<|ctl|>") == ctl


def test_unigram_conversion_and_nfkc_normalisation(corpus, tmp_path):
    import sentencepiece as spm
    from tokenizers import Tokenizer

    cfg = parse_config({**_sp_cfg("unigram", normalization_rule_name="nmt_nfkc", vocab_size=700,
                                  allow_whitespace_only_pieces=False), "sample": {"max_bytes": 150_000}})
    train(cfg, [str(corpus)], tmp_path)
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "tokenizer.model"))
    tok = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    texts = [r["text"] for r in corpus_docs()] + HARD_TEXTS
    same = sum(tok.encode(t, add_special_tokens=False).ids == sp.encode(t) for t in texts)
    assert same >= 0.95 * len(texts)  # Viterbi ties between equal-scoring paths may differ
    # NFKC: the full-width digits and the ligature are normalised by both
    assert tok.encode("１２３ ﬁ").ids == sp.encode("１２３ ﬁ") == sp.encode("123 fi")


def test_loads_in_transformers_with_special_tokens(sp_bpe, hf_bpe):
    transformers = pytest.importorskip("transformers")
    for d in (sp_bpe, hf_bpe):
        fast = transformers.PreTrainedTokenizerFast.from_pretrained(str(d))
        assert (fast.unk_token, fast.bos_token, fast.eos_token, fast.pad_token) == ("<unk>", "<s>", "</s>", "<pad>")
        assert (fast.unk_token_id, fast.bos_token_id, fast.eos_token_id, fast.pad_token_id) == (0, 1, 2, 3)
        direct = transformers.PreTrainedTokenizerFast(tokenizer_file=str(d / "tokenizer.json"), bos_token="<s>",
                                                      eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
        text = "数据清洗 pipeline: dedup, PII scrubbing."
        assert direct(text)["input_ids"] == fast(text, add_special_tokens=False)["input_ids"]
        batch = fast([text, "short"], padding=True)
        assert batch["input_ids"][1][-1] == 3 or batch["input_ids"][1][0] == 3  # padded with <pad>
        assert fast.decode(fast(text, add_special_tokens=False)["input_ids"]) == text
    # the LLaMA-style add_bos: the sentencepiece config asked for none here, so none is added
    cfg = json.loads((sp_bpe / "tokenizer_config.json").read_text())
    assert cfg["add_bos_token"] is False and cfg["model_max_length"] == 4096


def test_round_trip_byte_level_and_byte_fallback(sp_bpe, hf_bpe, corpus, tmp_path):
    import sentencepiece as spm
    from tokenizers import Tokenizer

    uni = tmp_path / "hf-uni"
    train(parse_config({"library": "hf", "sample": {"max_bytes": 60_000},
                        "hf": {"model": "unigram", "vocab_size": 1100, "byte_fallback": True,
                               "pre_tokenize": {"regex": "metaspace"}}}), [str(corpus)], uni)
    gpt2 = tmp_path / "gpt2"
    train(parse_config({"library": "hf", "sample": {"max_bytes": 10_000_000, "split": "documents"},
                        "hf": {"model": "bpe", "vocab_size": 600,
                               "pre_tokenize": {"regex": "gpt2", "digits_max": 3}}}), [str(corpus)], gpt2)
    texts = HARD_TEXTS + [r["text"] for r in corpus_docs()]
    sp = spm.SentencePieceProcessor(model_file=str(sp_bpe / "tokenizer.model"))
    for t in texts:
        assert sp.decode(sp.encode(t)) == t
    for d in (sp_bpe, hf_bpe, uni, gpt2):
        tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        for t in texts:
            assert tok.decode(tok.encode(t, add_special_tokens=False).ids, skip_special_tokens=False) == t, (d, t)
    # byte fallback is really used for characters the model never saw (not <unk>)
    ids = sp.encode("龘靐齉")
    assert sp.id_to_piece(ids[0]) == "\u2581"  # the dummy prefix
    assert len(ids) == 1 + 9 and all(sp.is_byte(i) for i in ids[1:])  # 3 characters x 3 UTF-8 bytes


def test_cjk_guard_bounds_pre_tokens(hf_bpe):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(hf_bpe / "tokenizer.json"))
    text = ZH_PARAGRAPHS[0] + ZH_PARAGRAPHS[3]
    pre = tok.pre_tokenizer.pre_tokenize_str(text)
    spans = [text[a:b] for _, (a, b) in pre]
    assert "".join(spans) == text
    han = re.compile(r"[\u4e00-\u9fff]")
    assert max(len(han.findall(s)) for s in spans) == 3
    # and tokens never cross a pre-token: no token holds more than 3 Chinese characters
    enc = tok.encode(text, add_special_tokens=False)
    assert max(len(han.findall(text[a:b])) for a, b in enc.offsets) <= 3
    # merges across characters were learned within the bound
    assert any(len(han.findall(text[a:b])) >= 2 for a, b in enc.offsets)
    assert len(enc.ids) < len(text.encode()) * 0.75


def test_long_lines_are_cut_and_counted(tmp_path):
    line = " ".join(f"token{i % 97}" for i in range(3000))  # ~25 kB, one line
    rows = [{"id": f"long/{i}", "text": f"head {i}\n{line}\n" + ZH_PARAGRAPHS[i % 12], "source": "x"} for i in range(4)]
    src = write_corpus(tmp_path / "in", rows, files=1)
    cfg = parse_config({"library": "sentencepiece", "sample": {"max_bytes": 1_000_000, "max_piece_bytes": 2048},
                        "sentencepiece": {"model_type": "bpe", "vocab_size": 300, "byte_fallback": False,
                                          "character_coverage": 1.0}})
    rep = train(cfg, [str(src)], tmp_path / "out")
    assert rep["pieces"]["long_pieces"] == 4
    n_chunks = rep["pieces"]["long_pieces"] + rep["pieces"]["extra_chunks"]
    assert n_chunks >= 4 * (len(line) // 2048)
    assert rep["pieces"]["bytes"] == sum(len(ln.encode()) for r in rows for ln in r["text"].split("\n") if ln)
    # a second run does not silently replace a tokenizer; with overwrite, no stale file survives
    with pytest.raises(ConfigError, match="not empty"):
        train(cfg, [str(src)], tmp_path / "out")
    hf = parse_config({"library": "hf", "sample": {"max_bytes": 1_000_000}, "hf": {"vocab_size": 300}})
    train(hf, [str(src)], tmp_path / "out", overwrite=True)
    assert not (tmp_path / "out" / "tokenizer.model").exists() and (tmp_path / "out" / "tokenizer.json").exists()


def test_config_errors_name_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("library: sentencepiece\nsentencepiece:\n  vocab_sise: 100\n")
    with pytest.raises(ConfigError, match=r"sentencepiece\.vocab_sise"):
        load_config(bad)
    bad.write_text("library: hf\nsample:\n  mix:\n    by: nonsense\nhf: {}\n")
    with pytest.raises(ConfigError, match=r"sample\.mix"):
        load_config(bad)
    with pytest.raises(ConfigError, match="no such tokenizer config"):
        load_config(tmp_path / "missing.yaml")
    assert main(["tokenizer", "train", str(bad), "-i", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    # an error in the sampling process reaches the user as a configuration error
    src = write_corpus(tmp_path / "in", corpus_docs()[:5], files=1)
    cfg = parse_config({"library": "sentencepiece", "sample": {"mix": {"weights": {"nonexistent": 1}}},
                        "sentencepiece": {"vocab_size": 100}})
    with pytest.raises(ConfigError, match="no training text sampled"):
        train(cfg, [str(src)], tmp_path / "o2")
    assert not any(p.name.startswith(".sample") for p in (tmp_path / "o2").iterdir())


def test_presets_load_and_override():
    presets = sorted(Path(__file__).resolve().parents[1].joinpath("configs", "tokenizer").glob("*.yaml"))
    names = {p.stem for p in presets}
    assert {"llama-bpe-32k", "zh-en-64k", "bytelevel-bpe-32k", "bytelevel-bpe-64k", "bytelevel-bpe-128k",
            "bytelevel-bpe-32k-gpt2", "sp-unigram-32k", "hf-unigram-32k"} <= names
    for p in presets:
        cfg = load_config(p)
        assert cfg.name == p.stem
    llama = load_config("llama-bpe-32k", ["sample.max_bytes=1000", "sentencepiece.vocab_size=8000"])
    assert llama.sample.max_bytes == 1000 and llama.sentencepiece.vocab_size == 8000
    assert llama.sentencepiece.byte_fallback and llama.sentencepiece.split_digits
    assert load_config("zh-en-64k").sentencepiece.character_coverage == 0.9995
