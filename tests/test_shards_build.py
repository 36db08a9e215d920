"""Shard builds on real text (Python stdlib docstrings and sources plus hand-written multilingual
documents) with tokenizers trained on the fly: round trip, determinism, shuffle, weights, split,
long documents, SentencePiece, pipeline-run input, resume."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from corpus_fixtures import stdlib_docs, stdlib_sources
from corpuskit.errors import ConfigError
from corpuskit.shards import build as build_mod
from corpuskit.shards.build import build
from corpuskit.shards.config import ShardsConfig, load_config
from corpuskit.shards.megatron import read_index
from corpuskit.shards.nanotron import read_nanotron
from corpuskit.shards.reader import TokenShards
from corpuskit.shards.tokenizer import ShardTokenizer

INTL = [
    "Straße, Größe und Übermaß: deutsche Umlaute in einem kurzen Absatz.\n\nZweiter Absatz.",
    "Le cœur a ses raisons que la raison ne connaît point. — Pascal",
    "中文文本：数据处理流程把原始网页转换成干净的训练语料。",
    "日本語のテキストも正しく往復できること。",
    "Emoji 🎉🚀 and combining marks: e\u0301, a\u0308; tabs\tand trailing spaces   ",
    "   leading whitespace and\r\nwindows newlines\r\n",
    "",  # empty: skipped and counted
]




def _docs() -> list[dict]:
    docs = [{"id": f"doc-{i:04d}", "text": t, "source": "docs"} for i, t in enumerate(d["text"] for d in stdlib_docs(160))]
    docs += [{"id": f"code/{name}", "text": text[:6000], "source": "code"} for name, text in stdlib_sources(40)]
    docs += [{"id": f"intl-{i}", "text": t, "source": "intl"} for i, t in enumerate(INTL)]
    return docs


def _write_jsonl(path: Path, docs: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[dict]]:
    root = tmp_path_factory.mktemp("shards-in")
    docs = _docs()
    _write_jsonl(root / "docs.jsonl", [d for d in docs if d["source"] == "docs"])
    _write_jsonl(root / "code.jsonl", [d for d in docs if d["source"] == "code"])
    _write_jsonl(root / "intl.jsonl", [d for d in docs if d["source"] == "intl"])
    return root, docs


@pytest.fixture(scope="module")
def hf_tok(tmp_path_factory, corpus) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=800, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([d["text"] for d in corpus[1]], trainer)
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return path


def _decoded(out: Path, tok: Path, split: str = "train", fmt: str | None = None) -> list[str]:
    t = ShardTokenizer(tok)
    eos = t.eos_id
    texts = []
    for ids in TokenShards(out, split, fmt):
        assert int(ids[-1]) == eos
        texts.append(t.decode(ids[:-1]))
    return texts


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and p.name != "build.json"}


def test_round_trip_every_document(tmp_path: Path, corpus, hf_tok) -> None:
    root, docs = corpus
    cfg = ShardsConfig(formats=["megatron", "nanotron"], shard_tokens=20_000, valid_fraction=0.1, seed=7)
    rec = build(hf_tok, [str(root)], tmp_path / "out", cfg, workers=1, show_progress=False)
    out = tmp_path / "out"
    m = json.loads((out / "manifest.json").read_text())
    assert rec["shards"] > 3 and len(m["splits"]["valid"]["shards"]) >= 1
    want = Counter(d["text"] for d in docs if d["text"])
    for fmt in ("megatron", "nanotron"):
        got = Counter(_decoded(out, hf_tok, "train", fmt)) + Counter(_decoded(out, hf_tok, "valid", fmt))
        assert got == want
    assert m["documents"]["empty_skipped"] == 1 and m["sources"]["intl"]["empty_skipped"] == 1
    assert m["documents"]["read"] == len(docs)
    assert m["documents"]["written"] == len(docs) - 1
    # per-shard counts and tokens in the manifest agree with the files
    for split in ("train", "valid"):
        for shard in m["splits"][split]["shards"]:
            idx = read_index(out / f"{shard['name']}.idx")
            assert idx.n_documents == shard["documents"] and int(idx.seq_lens.sum()) == shard["tokens"]
    assert sum(s["tokens_out"] for s in m["sources"].values()) == m["tokens"]["written"]
    assert m["inputs"]["files"][0]["sha256"] and m["tokenizer"]["sha256"]


def test_output_identical_for_1_and_2_workers(tmp_path: Path, corpus, hf_tok) -> None:
    root, _ = corpus
    cfg = ShardsConfig(formats=["megatron", "nanotron"], shard_tokens=30_000, valid_tokens=5_000,
                       weights={"code": 2.0, "docs": 0.5}, seed=3)
    build(hf_tok, [str(root)], tmp_path / "w1", cfg, workers=1, show_progress=False)
    build(hf_tok, [str(root)], tmp_path / "w2", cfg, workers=2, show_progress=False)
    a, b = _files(tmp_path / "w1"), _files(tmp_path / "w2")
    assert a.keys() == b.keys() and len(a) > 5
    for name in a:  # the manifest included
        assert a[name] == b[name], name
    # other batch sizes change only how many documents go to each encode call, not one output byte
    small = cfg.model_copy(update={"batch_docs": 7, "batch_bytes": 3000})
    build(hf_tok, [str(root)], tmp_path / "w3", small, workers=1, show_progress=False)
    c = _files(tmp_path / "w3")
    assert all(c[name] == a[name] for name in a if name != "manifest.json")
    ma, mc = json.loads(a["manifest.json"]), json.loads(c["manifest.json"])
    assert ma["splits"] == mc["splits"] and ma["sources"] == mc["sources"] and ma["inputs"] == mc["inputs"]
    # one task at a time on one thread (workers=1 otherwise runs tasks on several threads at once)
    seq = cfg.model_copy(update={"threads_per_worker": 1})
    build(hf_tok, [str(root)], tmp_path / "w4", seq, workers=1, show_progress=False)
    d = _files(tmp_path / "w4")
    assert all(d[name] == a[name] for name in a if name != "manifest.json")
    md = json.loads(d["manifest.json"])
    assert ma["splits"] == md["splits"] and ma["sources"] == md["sources"] and ma["inputs"] == md["inputs"]


def test_shuffle_is_a_seeded_permutation(tmp_path: Path, corpus, hf_tok) -> None:
    root, _ = corpus
    orders = {}
    for name, cfg in {"plain": ShardsConfig(shuffle=False), "s1": ShardsConfig(seed=1),
                      "s1b": ShardsConfig(seed=1), "s2": ShardsConfig(seed=2)}.items():
        build(hf_tok, [str(root)], tmp_path / name, cfg, workers=1, show_progress=False)
        orders[name] = [tuple(d.tolist()) for d in TokenShards(tmp_path / name)]
    assert Counter(orders["plain"]) == Counter(orders["s1"]) == Counter(orders["s2"])
    assert orders["s1"] == orders["s1b"]
    assert orders["s1"] != orders["plain"] and orders["s1"] != orders["s2"]
    # shuffled across input files: the first 20 documents do not all come from one source
    first = {d: i for i, d in enumerate(orders["plain"])}
    positions = [first[d] for d in orders["s1"][:20]]
    assert max(positions) - min(positions) > 50


def test_mixture_weights(tmp_path: Path, corpus, hf_tok) -> None:
    root, docs = corpus
    cfg = ShardsConfig(weights={"code": 2.0, "docs": 0.5, "intl": 1.0}, seed=11)
    build(hf_tok, [str(root)], tmp_path / "out", cfg, workers=1, show_progress=False)
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    texts = Counter(_decoded(tmp_path / "out", hf_tok))
    by_src = {s: Counter(d["text"] for d in docs if d["source"] == s and d["text"]) for s in ("code", "docs", "intl")}
    assert len(by_src["docs"]) > 120 and not set(by_src["docs"]) & set(by_src["code"])
    assert all(texts[t] == 2 * n for t, n in by_src["code"].items())
    assert all(texts[t] == n for t, n in by_src["intl"].items())
    assert all(texts[t] <= n for t, n in by_src["docs"].items())
    kept = sum(texts[t] for t in by_src["docs"])
    assert 0.35 * 160 < kept < 0.65 * 160
    src = m["sources"]
    assert src["code"]["documents_out"] == 2 * src["code"]["documents_in"]
    assert src["code"]["tokens_out"] == 2 * src["code"]["tokens_in"]
    assert src["docs"]["documents_out"] == kept
    total = sum(s["tokens_out"] for s in src.values())
    assert abs(src["code"]["share_out"] - src["code"]["tokens_out"] / total) < 1e-5
    assert m["documents"]["sampled_out"] == 160 - kept
    # a document's fate depends on its id and the seed, not on the other files in the build
    build(hf_tok, [str(root / "docs.jsonl")], tmp_path / "alone", cfg, workers=1, show_progress=False)
    alone = Counter(_decoded(tmp_path / "alone", hf_tok))
    assert alone == Counter({t: texts[t] for t in by_src["docs"] if texts[t]})


def test_validation_split(tmp_path: Path, corpus, hf_tok) -> None:
    root, _ = corpus
    cfg = ShardsConfig(valid_fraction=0.15, weights={"code": 2.0}, seed=5)
    build(hf_tok, [str(root)], tmp_path / "out", cfg, workers=1, show_progress=False)
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    total = m["tokens"]["written"]
    valid = m["splits"]["valid"]["tokens"]
    assert valid >= 0.15 * total
    longest = max(int(len(d)) for d in TokenShards(tmp_path / "out", "valid"))
    assert valid < 0.15 * total + 2 * longest
    train_docs = {tuple(d.tolist()) for d in TokenShards(tmp_path / "out", "train")}
    valid_docs = [tuple(d.tolist()) for d in TokenShards(tmp_path / "out", "valid")]
    assert not train_docs & set(valid_docs)  # copies of a document stay in one split

    cfg2 = ShardsConfig(valid_tokens=3_000, seed=5)
    build(hf_tok, [str(root)], tmp_path / "out2", cfg2, workers=1, show_progress=False)
    m2 = json.loads((tmp_path / "out2" / "manifest.json").read_text())
    assert m2["splits"]["valid"]["tokens"] >= 3_000
    assert m2["splits"]["valid"]["tokens"] + m2["splits"]["train"]["tokens"] == m2["tokens"]["written"]


def test_long_documents_split_or_drop(tmp_path: Path, corpus, hf_tok) -> None:
    root, docs = corpus
    limit = 300
    cfg = ShardsConfig(formats=["megatron", "nanotron"], max_doc_tokens=limit, long_docs="split", seed=1)
    build(hf_tok, [str(root)], tmp_path / "split", cfg, workers=1, show_progress=False)
    m = json.loads((tmp_path / "split" / "manifest.json").read_text())
    n_long = m["documents"]["long_split"]
    assert n_long > 10
    shard = m["splits"]["train"]["shards"][0]
    idx = read_index(tmp_path / "split" / f"{shard['name']}.idx")
    assert int(idx.seq_lens.max()) <= limit
    assert idx.n_sequences > idx.n_documents == shard["documents"]
    assert m["splits"]["train"]["sequences"] > m["splits"]["train"]["documents"]
    nf = read_nanotron(tmp_path / "split" / f"{shard['name']}.ds")
    assert len(nf.doc_ends) == shard["documents"]  # .ds has no sequence level: one entry per document
    want = Counter(d["text"] for d in docs if d["text"])
    assert Counter(_decoded(tmp_path / "split", hf_tok)) == want  # nothing cut

    cfg = ShardsConfig(max_doc_tokens=limit, long_docs="drop", seed=1)
    build(hf_tok, [str(root)], tmp_path / "drop", cfg, workers=1, show_progress=False)
    m2 = json.loads((tmp_path / "drop" / "manifest.json").read_text())
    assert m2["documents"]["long_dropped"] == n_long and m2["documents"]["long_dropped_tokens"] > n_long * limit
    assert m2["documents"]["written"] == sum(want.values()) - n_long
    lens = TokenShards(tmp_path / "drop").document_lengths()
    assert int(lens.max()) <= limit


def test_write_buffer_smaller_than_documents(tmp_path: Path, corpus, hf_tok, monkeypatch) -> None:
    """Shards gathered through a 7-token read buffer (every document crosses it, many are longer
    than it) are the bytes gathered through the default one."""
    from corpuskit.shards import write_pass

    root, _ = corpus
    cfg = ShardsConfig(formats=["megatron", "nanotron"], shard_tokens=30_000, seed=3)
    build(hf_tok, [str(root)], tmp_path / "default", cfg, workers=1, show_progress=False)
    monkeypatch.setattr(write_pass, "FLUSH_TOKENS", 7)
    build(hf_tok, [str(root)], tmp_path / "tiny", cfg, workers=1, show_progress=False)
    assert _files(tmp_path / "tiny") == _files(tmp_path / "default")
    assert len(_files(tmp_path / "default")) >= 8


def test_truncated_work_file_is_named(tmp_path: Path) -> None:
    import os

    from corpuskit.errors import CorpusError
    from corpuskit.shards.write_pass import _pread_exact

    f = tmp_path / "00003.tokens"
    f.write_bytes(b"\x01\x00" * 10)
    fd = os.open(f, os.O_RDONLY)
    try:
        buf = bytearray(8)
        _pread_exact(fd, f, memoryview(buf), 4)
        assert bytes(buf) == b"\x01\x00" * 4
        with pytest.raises(CorpusError, match=r"00003\.tokens: token file ends at byte 20"):
            _pread_exact(fd, f, memoryview(bytearray(8)), 16)
    finally:
        os.close(fd)


def test_sentencepiece_tokenizer(tmp_path: Path, corpus) -> None:
    import sentencepiece as spm

    root, docs = corpus
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter([d["text"] for d in docs if d["text"]]),
                                   model_writer=model, vocab_size=600, model_type="bpe", byte_fallback=True,
                                   normalization_rule_name="identity", remove_extra_whitespaces=False,
                                   add_dummy_prefix=False, character_coverage=1.0, minloglevel=2,
                                   allow_whitespace_only_pieces=True)
    path = tmp_path / "sp.model"
    path.write_bytes(model.getvalue())
    build(path, [str(root)], tmp_path / "out", ShardsConfig(formats=["nanotron"], add_bos=True), workers=1,
          show_progress=False)
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["tokenizer"]["kind"] == "sentencepiece" and m["tokenizer"]["vocab_size"] == 600
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    texts = []
    for ids in TokenShards(tmp_path / "out"):
        assert int(ids[0]) == sp.bos_id() and int(ids[-1]) == sp.eos_id()
        texts.append(sp.decode([int(x) for x in ids[1:-1]]))
    assert Counter(texts) == Counter(d["text"] for d in docs if d["text"])


def test_reader_windows_and_documents(tmp_path: Path, corpus, hf_tok) -> None:
    root, _ = corpus
    build(hf_tok, [str(root)], tmp_path / "out", ShardsConfig(shard_tokens=15_000), workers=1,
          show_progress=False)
    ds = TokenShards(tmp_path / "out")
    docs = list(ds)
    assert len(docs) == len(ds) and all((ds[i] == d).all() for i, d in enumerate(docs))
    assert (ds[-1] == docs[-1]).all()
    seq = 127
    wins = list(ds.windows(seq))
    assert len(wins) == ds.num_windows(seq) and all(len(w) == seq + 1 for w in wins)
    # the windows are the shards' token streams cut every seq+1 tokens (tails dropped per shard)
    streams = [np.concatenate([d for d in docs[a:b]]) for a, b in
               zip(ds._doc_base[:-1].tolist(), ds._doc_base[1:].tolist())]
    expect = [s[k * (seq + 1):(k + 1) * (seq + 1)] for s in streams for k in range(len(s) // (seq + 1))]
    assert all((w == e).all() for w, e in zip(wins, expect)) and len(expect) == len(wins)
    assert (ds.window(5, seq) == wins[5]).all()
    batches = list(ds.windows(seq, batch_size=8))
    assert sum(len(b) for b in batches) == len(wins) and batches[0].shape == (8, seq + 1)
    with pytest.raises(IndexError):
        ds.window(len(wins), seq)


def test_pipeline_run_directory_as_input(tmp_path: Path, corpus, hf_tok) -> None:
    """A corpuskit run's output is read from data/ only, and the run is recorded in the manifest."""
    from corpuskit.pipeline import Pipeline
    from corpuskit.registry import reader_class
    from corpuskit.runner import run

    root, docs = corpus
    pipe = Pipeline(reader_class("jsonl")(), [])
    run(pipe, [str(root)], tmp_path / "run", workers=1, show_progress=False)
    build(hf_tok, [str(tmp_path / "run")], tmp_path / "out", ShardsConfig(), workers=1, show_progress=False)
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["inputs"]["pipeline_runs"][0]["docs_out"] == len(docs)
    assert all(f["path"].endswith(".parquet") for f in m["inputs"]["files"])
    assert Counter(_decoded(tmp_path / "out", hf_tok)) == Counter(d["text"] for d in docs if d["text"])


def test_resume_after_a_failure_and_rerun(tmp_path: Path, corpus, hf_tok, monkeypatch) -> None:
    root, _ = corpus
    cfg = ShardsConfig(shard_tokens=20_000, seed=4)
    build(hf_tok, [str(root)], tmp_path / "clean", cfg, workers=1, show_progress=False)

    real = build_mod.write_task
    calls = {"n": 0}

    def failing(spec):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return real(spec)

    monkeypatch.setattr(build_mod, "write_task", failing)
    with pytest.raises(RuntimeError, match="killed"):
        build(hf_tok, [str(root)], tmp_path / "out", cfg, workers=1, show_progress=False)
    assert not (tmp_path / "out" / "manifest.json").exists()
    monkeypatch.setattr(build_mod, "write_task", real)
    build(hf_tok, [str(root)], tmp_path / "out", cfg, workers=1, show_progress=False)
    assert _files(tmp_path / "out") == _files(tmp_path / "clean")
    again = build(hf_tok, [str(root)], tmp_path / "out", cfg, workers=1, show_progress=False)
    assert again["resumed"] == "already complete"
    with pytest.raises(ConfigError, match="another build"):
        build(hf_tok, [str(root)], tmp_path / "out", ShardsConfig(seed=5), workers=1, show_progress=False)


def test_config_errors(tmp_path: Path, hf_tok) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("shard_tokens: 100\nweigths: {books: 2}\n")
    with pytest.raises(ConfigError, match=r"c.yaml: weigths: unknown key"):
        load_config(bad)
    bad.write_text("weights: {books: -1}\n")
    with pytest.raises(ConfigError, match="books"):
        load_config(bad)
    cfg = load_config(None, {"weights": {"code": 0.5}, "seed": 3})
    assert cfg.weight("code") == 0.5 and cfg.weight("web") == 1.0
    example = load_config(Path(__file__).parents[1] / "configs" / "shards" / "example.yaml", {"seed": 9})
    assert example.formats == ["megatron", "nanotron"] and example.weight("books") == 2.0 and example.seed == 9
    with pytest.raises(ConfigError, match="eos_token"):
        ShardTokenizer(hf_tok, eos_token="<nope>")


def test_cli_build(tmp_path: Path, corpus, hf_tok, capsys) -> None:
    from corpuskit.cli import main

    root, docs = corpus
    cfg = tmp_path / "shards.yaml"
    cfg.write_text("formats: [nanotron]\nweights: {code: 2}\n")
    args = ["shards", "build", "-t", str(hf_tok), "-i", str(root / "code.jsonl"), "-i", str(root / "intl.jsonl"),
            "-o", str(tmp_path / "out"), "-c", str(cfg), "--format", "megatron", "--weight", "intl=0",
            "--valid-tokens", "2000", "--shard-tokens", "5000", "-w", "1", "--no-progress"]
    assert main(args) == 0
    assert "documents" in capsys.readouterr().out
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert list(m["formats"]) == ["megatron"]
    assert m["config"]["weights"] == {"code": 2.0, "intl": 0.0}
    assert m["sources"]["intl"]["documents_out"] == 0 and m["sources"]["code"]["documents_out"] == 80
    assert m["splits"]["valid"]["tokens"] >= 2000 and len(m["splits"]["train"]["shards"]) > 3
    assert main(args) == 0 and "already complete" in capsys.readouterr().out
    assert main(args + ["--seed", "5"]) == 2
    assert "another build" in capsys.readouterr().err
    assert main(["shards", "build", "-t", str(hf_tok), "-i", str(root), "-o", str(tmp_path / "o2"),
                 "--weight", "books"]) == 2
    assert "SOURCE=WEIGHT" in capsys.readouterr().err
