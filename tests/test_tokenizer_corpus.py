"""Test corpus for the tokenizer tests (real text: stdlib docstrings and sources, written Chinese)
and the tests of the deterministic, memory-bounded sampler."""

from __future__ import annotations

import gzip
import inspect
import json
import random
from pathlib import Path

import pytest

from corpuskit.tokenizer.config import MixConfig, SampleConfig
from corpuskit.tokenizer.sample import PieceStats, cut_long, draw_sample, iter_pieces

ZH_PARAGRAPHS = [
    "今天早上下了一场大雨，街上的行人都撑着伞匆匆忙忙地走向地铁站。雨停以后，空气变得格外清新，公园里的树叶绿得发亮。",
    "这家小饭馆开在老城区的巷子里，已经有三十多年的历史了。老板每天凌晨四点起床熬汤，所以他家的牛肉面味道特别浓郁。",
    "学习一门新的编程语言，最好的办法是动手写一些小程序。先从读取文件、处理字符串开始，再慢慢尝试网络请求和数据库操作。",
    "我们的数据清洗流程包括去重、语言识别、质量过滤和隐私信息脱敏。每一步都会记录删除了多少文档以及删除的原因。",
    "春节期间，很多人会回到家乡和家人团聚。火车站和机场人山人海，大家提着行李，脸上都带着回家的喜悦。",
    "这本小说讲述了一个年轻人离开小山村，到大城市打拼的故事。作者用朴实的语言描写了他在工作和生活中遇到的困难与希望。",
    "机器学习模型的效果很大程度上取决于训练数据的质量。如果数据里有大量重复或者错误的内容，模型就会学到不好的习惯。",
    "图书馆周末开放到晚上九点，借书需要带上身份证或者学生证。新到的杂志放在二楼阅览室，可以随便翻阅，但是不能带走。",
    "医生建议每天至少运动半个小时，多吃蔬菜水果，少吃油炸食品。保持良好的作息习惯，对身体健康非常重要。",
    "分词器把文本切分成模型能够处理的单元。对于中文来说，一个好的分词器应该能把常用词语作为一个整体，而不是拆成单个的字。",
    "上海是中国最大的城市之一，也是重要的经济和金融中心。外滩的万国建筑群和对岸陆家嘴的高楼大厦形成了鲜明的对比。",
    "他在日记里写道：“人生没有白走的路，每一步都算数。”后来这句话成了很多年轻人的座右铭。",
]


def _english_docs() -> list[str]:
    import argparse, collections, email.message, json as _json, logging, pathlib, shutil, subprocess, textwrap
    docs = []
    for mod in (argparse, collections, email.message, _json, logging, pathlib, shutil, subprocess, textwrap):
        for _, obj in inspect.getmembers(mod):
            doc = inspect.getdoc(obj)
            if doc and len(doc) > 200 and doc not in docs:
                docs.append(doc)
    return docs


def _code_docs() -> list[str]:
    import csv, fractions, heapq, json.decoder, textwrap
    return [inspect.getsource(m) for m in (csv, fractions, heapq, json.decoder, textwrap)]


def _zh_docs(n: int = 60, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        paras = rng.sample(ZH_PARAGRAPHS, k=rng.randint(2, 5))
        docs.append("\n".join(paras))
    return docs


def corpus_docs() -> list[dict]:
    rows = []
    for i, t in enumerate(_english_docs()):
        rows.append({"id": f"web/en/{i}", "text": t, "source": "web", "metadata": {"lang": "en"}})
    for i, t in enumerate(_code_docs()):
        rows.append({"id": f"code/py/{i}", "text": t, "source": "code", "metadata": {"lang": "python"}})
    for i, t in enumerate(_zh_docs()):
        rows.append({"id": f"zh/{i}", "text": t, "source": "zh", "metadata": {"lang": "zh"}})
    return rows


def write_corpus(root: Path, rows: list[dict] | None = None, files: int = 3) -> Path:
    """Write rows as gzip JSONL spread over ``files`` files (a pipeline-like input)."""
    rows = corpus_docs() if rows is None else rows
    root.mkdir(parents=True, exist_ok=True)
    handles = [gzip.open(root / f"part-{i:05d}.jsonl.gz", "wt", encoding="utf-8") for i in range(files)]
    for i, r in enumerate(rows):
        handles[i % files].write(json.dumps(r, ensure_ascii=False) + "\n")
    for h in handles:
        h.close()
    return root


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


def _cfg(**kw) -> SampleConfig:
    return SampleConfig(**kw)


def test_sample_is_deterministic_and_independent_of_file_layout(tmp_path, corpus_dir):
    rows = corpus_docs()
    other = write_corpus(tmp_path / "other", list(reversed(rows)), files=5)
    cfg = _cfg(max_bytes=60_000, seed=7, mix=MixConfig(weights={"web": 1, "code": 1, "zh": 1}))
    a = draw_sample([str(corpus_dir)], cfg)
    b = draw_sample([str(other)], cfg)
    c = draw_sample([str(corpus_dir)], cfg.model_copy(update={"workers": 2}))
    assert a.docs == b.docs == c.docs
    assert 0 < a.bytes <= 60_000
    d = draw_sample([str(corpus_dir)], cfg.model_copy(update={"seed": 8}))
    assert d.docs != a.docs


def test_sample_respects_budgets_and_weights(corpus_dir):
    cfg = _cfg(max_bytes=40_000, seed=1, mix=MixConfig(weights={"web": 2, "zh": 1, "code": 1}))
    s = draw_sample([str(corpus_dir)], cfg)
    g = s.groups
    assert g["web"]["bytes_sampled"] <= 20_000 and g["zh"]["bytes_sampled"] <= 10_000
    assert g["code"]["bytes_sampled"] <= 10_000
    # budgets are filled close to the limit when a group has enough text
    assert g["web"]["bytes_sampled"] > 15_000
    assert g["zh"]["bytes_sampled"] > 7_000
    assert sum(x["docs_sampled"] for x in g.values()) == len(s.docs)
    # every document seen is accounted for
    assert sum(x["docs_seen"] for x in g.values()) == len(corpus_docs())


def test_weight_zero_and_other(corpus_dir):
    cfg = _cfg(max_bytes=30_000, mix=MixConfig(weights={"zh": 1}, other=0))
    s = draw_sample([str(corpus_dir)], cfg)
    assert s.groups["zh"]["docs_sampled"] > 0
    assert s.groups["other"]["docs_sampled"] == 0 and s.groups["other"]["docs_seen"] > 0
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in d.decode()) for d in s.docs)


def test_group_by_metadata_and_id_prefix(corpus_dir):
    s = draw_sample([str(corpus_dir)], _cfg(max_bytes=10**9, mix=MixConfig(by="metadata.lang")))
    assert set(s.groups) == {"en", "python", "zh"}
    s = draw_sample([str(corpus_dir)], _cfg(max_bytes=10**9, mix=MixConfig(by="id_prefix",
                                                                             groups={"prose": ["web", "zh"]},
                                                                             weights={"prose": 1, "code": 1})))
    assert set(s.groups) == {"prose", "code"}
    assert s.groups["prose"]["docs_seen"] == sum(1 for r in corpus_docs() if r["source"] != "code")


def test_holdout_is_never_sampled(corpus_dir):
    full = draw_sample([str(corpus_dir)], _cfg(max_bytes=10**9))
    held = draw_sample([str(corpus_dir)], _cfg(max_bytes=10**9, holdout=0.3))
    n_held = sum(g["docs_holdout"] for g in held.groups.values())
    assert 0 < n_held < len(full.docs)
    assert len(held.docs) == len(full.docs) - n_held
    assert set(held.docs) < set(full.docs)


def test_long_lines_are_cut_not_lost():
    line = ("数据清洗 " * 700) + "end"
    chunks = cut_long(line, 256)
    assert "".join(chunks) == line
    assert all(len(c.encode()) <= 256 for c in chunks)
    no_space = "中" * 1000
    chunks = cut_long(no_space, 100)
    assert "".join(chunks) == no_space and all(len(c.encode()) <= 100 for c in chunks)
    st = PieceStats()
    docs = ["short line\n" + line + "\n\n  \nlast", "x"]
    pieces = list(iter_pieces(docs, "lines", 256, 2, st))
    assert st.long_pieces == 1 and st.extra_chunks == len(cut_long(line, 256)) - 1
    assert st.skipped_short == 1
    assert "".join(pieces) == "short line" + line + "last"
    assert st.bytes == sum(len(p.encode()) for p in pieces)


def test_document_split_keeps_newlines():
    st = PieceStats()
    doc = "def f(x):\n    return x\n" * 50
    pieces = list(iter_pieces([doc], "documents", 200, 1, st))
    assert "".join(pieces) == doc and all(len(p.encode()) <= 200 for p in pieces)
    assert st.long_pieces == 1


def test_sentences_split_chinese_and_english():
    st = PieceStats()
    pieces = list(iter_pieces(["First one. Second one! 第一句。第二句？"], "sentences", 4192, 1, st))
    assert pieces == ["First one.", "Second one!", "第一句。", "第二句？"]


def test_reads_a_pipeline_parquet_output(tmp_path, corpus_dir):
    """A pipeline's output directory (data/part-*.parquet + stats.json, signal columns) samples
    exactly like the same documents as JSONL."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = corpus_docs()
    out = tmp_path / "run"
    (out / "data").mkdir(parents=True)
    for i in range(2):
        part = rows[i::2]
        table = pa.table({"id": [r["id"] for r in part], "text": pa.array([r["text"] for r in part], pa.large_string()),
                          "source": [r["source"] for r in part],
                          "metadata": [json.dumps(r["metadata"], separators=(",", ":")) for r in part],
                          "quality_score": [0.5] * len(part)})
        pq.write_table(table, out / "data" / f"part-{i:05d}.parquet")
    (out / "stats.json").write_text("{}")
    cfg = _cfg(max_bytes=50_000, seed=5, mix=MixConfig(by="metadata.lang", weights={"en": 1, "zh": 1, "python": 1}))
    a = draw_sample([str(out)], cfg)
    b = draw_sample([str(corpus_dir)], cfg)
    assert a.docs == b.docs and a.records == len(rows)
    assert set(a.groups) == {"en", "zh", "python"}
