"""``tokenizer eval`` figures on real text, and Chinese-LLaMA-style vocabulary extension."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from corpuskit.cli import main
from corpuskit.errors import ConfigError
from corpuskit.tokenizer.config import parse_config
from corpuskit.tokenizer.evaluate import GroupText, char_classes, measure
from corpuskit.tokenizer.load import Encoder, load_encoder
from corpuskit.tokenizer.train import train

from test_tokenizer_corpus import ZH_PARAGRAPHS, corpus_docs, write_corpus


def _sp(model_type="bpe", vocab=500, **kw) -> dict:
    return {"library": "sentencepiece", "sample": {"max_bytes": 10_000_000, **kw.pop("sample", {})},
            "sentencepiece": {"model_type": model_type, "vocab_size": vocab, **kw}}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval")
    rows = corpus_docs()
    corpus = write_corpus(root / "all", rows)
    english = write_corpus(root / "en", [r for r in rows if r["source"] != "zh"])
    chinese = write_corpus(root / "zh", [r for r in rows if r["source"] == "zh"])
    out = {"corpus": corpus, "english": english, "chinese": chinese}
    # an English-only BPE base (byte fallback), a Chinese domain BPE, one without byte fallback
    train(parse_config(_sp(vocab=600, byte_fallback=True)), [str(english)], root / "base")
    train(parse_config(_sp(vocab=900, byte_fallback=True, character_coverage=1.0)), [str(chinese)], root / "zhsp")
    train(parse_config(_sp(vocab=600, byte_fallback=False)), [str(english)], root / "nofb")
    train(parse_config({"library": "hf", "sample": {"max_bytes": 10_000_000, "split": "documents", "holdout": 0.3},
                        "hf": {"model": "bpe", "vocab_size": 700}}), [str(corpus)], root / "bbpe")
    out.update({k: root / k for k in ("base", "zhsp", "nofb", "bbpe")})
    return out


class CharEncoder(Encoder):
    """One token per character (ids = code points): makes every figure computable by hand."""

    kind = "test"
    name = "chars"
    path = "-"
    vocab_size = 0x110000
    unk_id = None
    byte_ids = np.zeros(0, np.int64)
    lossless = True

    def encode(self, text):
        return [ord(c) for c in text]

    def encode_spans(self, texts):
        return [(np.array(self.encode(t), np.int64), np.arange(len(t)), np.arange(1, len(t) + 1)) for t in texts]

    def decode(self, ids):
        return "".join(map(chr, ids))


def test_word_figures_by_hand():
    is_word, is_cjk = char_classes("naïve café, x2 中文！ 한국")
    assert is_word.sum() == len("naïvecaféx2한국") and is_cjk.sum() == 2
    row, used = measure(CharEncoder(), GroupText("t", ["a bc def", "中文字"]), repeat_time=0.0)
    assert row["tokens"] == 11 and row["words"] == 3 and row["cjk_chars"] == 3
    assert row["fertility"] == pytest.approx(11 / 6)
    assert row["continued_words"] == pytest.approx(2 / 3)  # "bc" and "def" take 2+ tokens
    assert row["bytes_per_token"] == pytest.approx(17 / 11)
    assert row["roundtrip"] == 1.0 and row["unk_rate"] is None
    assert len(used) == 10  # distinct characters: a-f, the space, 中文字


def test_eval_table_json_and_plot(data, tmp_path):
    out = tmp_path / "ev"
    args = ["tokenizer", "eval", "-t", str(data["base"]), "-t", str(data["bbpe"]), "-i", str(data["corpus"]),
            "-o", str(out), "--group-by", "source,lang", "--time", "0.01", "--max-bytes-per-group", "30000"]
    assert main(args) == 0
    res = json.loads((out / "eval.json").read_text())
    assert set(res["groups"]) == {"web/en", "code/python", "zh/zh"}
    assert set(res["tokenizers"]) == {"base", "bbpe"}
    base = res["tokenizers"]["base"]["groups"]
    zh = GroupText("zh", [r["text"] for r in corpus_docs() if r["source"] == "zh"][:20])
    nofb = {"zh/zh": measure(load_encoder(f"nofb={data['nofb']}"), zh, repeat_time=0.0)[0]}
    bbpe = res["tokenizers"]["bbpe"]["groups"]
    for row in (base["zh/zh"], bbpe["zh/zh"]):
        assert row["cjk_chars"] > 0.8 * row["chars"] and row["words"] < 0.01 * row["chars"]
        assert row["fertility"] == pytest.approx(row["tokens"] / (row["cjk_chars"] + row["words"]))
        assert row["bytes_per_token"] * row["tokens"] == pytest.approx(row["bytes"])
    assert base["web/en"]["cjk_chars"] == 0
    assert base["web/en"]["fertility"] == pytest.approx(base["web/en"]["tokens_per_word"])
    # an English-only model: Chinese goes to byte fallback, or to <unk> without it
    assert base["zh/zh"]["byte_fallback_rate"] > 0.5 and base["zh/zh"]["unk_rate"] == 0
    assert nofb["zh/zh"]["unk_rate"] > 0.2 and nofb["zh/zh"]["byte_fallback_rate"] is None
    assert nofb["zh/zh"]["roundtrip"] == 0 and base["zh/zh"]["roundtrip"] == 1
    assert bbpe["zh/zh"]["byte_fallback_rate"] is None and bbpe["zh/zh"]["unk_rate"] is None
    assert all(r["roundtrip"] == 1 for r in bbpe.values())
    # English text compresses better than Chinese bytes with the English model
    assert base["web/en"]["bytes_per_token"] > base["zh/zh"]["bytes_per_token"]
    assert 0 < base["web/en"]["continued_words"] < 1 and base["web/en"]["encode_mb_s"] > 0
    assert 0 < res["tokenizers"]["base"]["vocab_used_all"] <= 1
    md = (out / "eval.md").read_text()
    assert md.count("| zh/zh |") == 2 and "bytes/tok" in md
    assert (out / "eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_on_the_holdout_only(data, tmp_path):
    rep = json.loads((data["bbpe"] / "training_report.json").read_text())
    held = sum(g["docs_holdout"] for g in rep["sample"]["groups"].values())
    assert 0 < held < len(corpus_docs())
    from corpuskit.tokenizer.evaluate import evaluate

    res = evaluate([str(data["bbpe"])], [str(data["corpus"])], tmp_path, group_by=["source"],
                   holdout_from=str(data["bbpe"]), plot=False, repeat_time=0.0)
    assert sum(g["docs"] for g in res["groups"].values()) == held
    with pytest.raises(ConfigError, match="holdout 0"):
        evaluate([str(data["base"])], [str(data["corpus"])], tmp_path, holdout_from=str(data["base"]))


def test_extend_keeps_base_ids_and_adds_chinese(data, tmp_path):
    import sentencepiece as spm
    from tokenizers import Tokenizer

    out = tmp_path / "merged"
    assert main(["tokenizer", "extend", "--base", str(data["base"]), "--add",
                 str(data["zhsp"] / "tokenizer.model"), "--output", str(out)]) == 0
    rep = json.loads((out / "extend_report.json").read_text())
    base = spm.SentencePieceProcessor(model_file=str(data["base"] / "tokenizer.model"))
    zh = spm.SentencePieceProcessor(model_file=str(data["zhsp"] / "tokenizer.model"))
    merged = spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
    n = base.get_piece_size()
    assert rep["base_pieces"] == n and merged.get_piece_size() == n + rep["new_pieces"] > n + 100
    for i in range(n):
        assert merged.id_to_piece(i) == base.id_to_piece(i) and merged.get_score(i) == base.get_score(i)
    new = {merged.id_to_piece(i) for i in range(n, merged.get_piece_size())}
    assert "数据" in new or "清洗" in new
    # English text tokenizes exactly as before; Chinese takes far fewer tokens and no byte fallback
    for r in corpus_docs():
        if r["source"] != "zh":
            assert merged.encode(r["text"]) == base.encode(r["text"])
    text = "".join(ZH_PARAGRAPHS)
    assert len(merged.encode(text)) < 0.5 * len(base.encode(text))
    assert merged.decode(merged.encode(text)) == text
    assert not any(merged.is_byte(i) for i in merged.encode(text))
    assert len(merged.encode(text)) <= 1.2 * len(zh.encode(text))
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert tok.encode(text, add_special_tokens=False).ids == merged.encode(text)
    with pytest.raises(ConfigError, match="model types"):
        from corpuskit.tokenizer.extend import extend

        uni = tmp_path / "uni"
        train(parse_config(_sp("unigram", vocab=700, extra={"hard_vocab_limit": False})), [str(data["chinese"])], uni)
        extend(data["base"], uni, tmp_path / "bad")


def test_load_encoder_errors(tmp_path):
    with pytest.raises(ConfigError, match="no tokenizer.model or tokenizer.json"):
        load_encoder(str(tmp_path))
    with pytest.raises(ConfigError, match="no such tokenizer"):
        load_encoder(str(tmp_path / "nope.model"))


def test_groups_by_script_and_metadata(data):
    from corpuskit.tokenizer.evaluate import collect_groups

    groups = {g.name: g for g in collect_groups([str(data["corpus"])], ["script"], 10**7)}
    assert set(groups) == {"cjk", "latin"}
    assert len(groups["cjk"].texts) == sum(1 for r in corpus_docs() if r["source"] == "zh")
    only = collect_groups([str(data["corpus"])], ["metadata.lang"], 10**7, only=["zh", "py*"])
    assert [g.name for g in only] == ["python", "zh"]
