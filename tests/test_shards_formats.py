"""Byte-level checks of the shard formats against hand-computed bytes, and against datatrove's writers."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from corpuskit.shards import megatron, nanotron
from corpuskit.shards.build import build
from corpuskit.shards.config import ShardsConfig
from corpuskit.shards.megatron import FormatError, MegatronWriter, encode_index, read_index, split_sequences
from corpuskit.shards.nanotron import NanotronWriter, read_nanotron
from corpuskit.shards.reader import TokenShards


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", "").replace("\n", ""))


# Two documents [5, 6, 7, EOS=1] and [8, 9, EOS=1], uint16 (vocabulary under 65,500), computed by hand
# from the format: magic, version 1, dtype code 8, S=2, D=3, lengths, pointers (bytes), document indices.
IDX_BYTES = h("""
4d 4d 49 44 49 44 58 00 00
01 00 00 00 00 00 00 00
08
02 00 00 00 00 00 00 00
03 00 00 00 00 00 00 00
04 00 00 00  03 00 00 00
00 00 00 00 00 00 00 00  08 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00  01 00 00 00 00 00 00 00  02 00 00 00 00 00 00 00
""")
BIN_BYTES = h("0500 0600 0700 0100 0800 0900 0100")
DS_INDEX_BYTES = h("0400000000000000 0700000000000000")


def test_megatron_writer_matches_hand_computed_bytes(tmp_path: Path) -> None:
    w = MegatronWriter(tmp_path / "s", vocab_size=100, max_seq=1000)
    w.write(np.array([5, 6, 7, 1, 8, 9, 1], dtype=np.uint32))
    files = w.close(np.array([4, 3]))
    assert (tmp_path / "s.idx").read_bytes() == IDX_BYTES
    assert (tmp_path / "s.bin").read_bytes() == BIN_BYTES
    assert len(IDX_BYTES) == 34 + 12 * 2 + 8 * 3
    assert files["s.bin"]["bytes"] == 14 and files["s.idx"]["bytes"] == len(IDX_BYTES)
    import hashlib
    assert files["s.idx"]["sha256"] == hashlib.sha256(IDX_BYTES).hexdigest()


def test_megatron_int32_for_large_vocabulary(tmp_path: Path) -> None:
    assert megatron.token_dtype(65_499) == np.dtype("<u2")
    assert megatron.token_dtype(65_500) == np.dtype("<i4")
    w = MegatronWriter(tmp_path / "big", vocab_size=100_000, max_seq=1000)
    w.write(np.array([99_999, 70_000, 3], dtype=np.uint32))
    w.close(np.array([3]))
    raw = (tmp_path / "big.idx").read_bytes()
    assert raw[17] == 4  # int32
    assert (tmp_path / "big.bin").read_bytes() == struct.pack("<3i", 99_999, 70_000, 3)
    idx = read_index(tmp_path / "big.idx")
    assert idx.dtype == np.dtype("<i4") and idx.seq_lens.tolist() == [3] and idx.pointers.tolist() == [0]


def test_read_index_roundtrip_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "x.idx"
    p.write_bytes(IDX_BYTES)
    idx = read_index(p)
    assert idx.version == 1 and idx.dtype_code == 8
    assert idx.seq_lens.tolist() == [4, 3]
    assert idx.pointers.tolist() == [0, 8]
    assert idx.doc_indices.tolist() == [0, 1, 2]
    p.write_bytes(b"MMIDIDY\x00\x00" + IDX_BYTES[9:])
    with pytest.raises(FormatError, match="magic"):
        read_index(p)
    p.write_bytes(IDX_BYTES[:-3])
    with pytest.raises(FormatError, match="file size"):
        read_index(p)
    p.write_bytes(IDX_BYTES[:9] + struct.pack("<Q", 2) + IDX_BYTES[17:])
    with pytest.raises(FormatError, match="version"):
        read_index(p)


def test_split_sequences_keeps_one_document() -> None:
    seq, docs = split_sequences(np.array([3, 10, 4]), max_seq=4)
    assert seq.tolist() == [3, 4, 4, 2, 4]
    assert docs.tolist() == [0, 1, 4, 5]
    raw = encode_index(np.dtype("<u2"), seq, docs)
    assert struct.unpack_from("<QQ", raw, 18) == (5, 4)
    ptrs = np.frombuffer(raw[34 + 20:34 + 60], "<i8")
    assert ptrs.tolist() == [0, 6, 14, 22, 26]


def test_nanotron_writer_matches_hand_computed_bytes(tmp_path: Path) -> None:
    w = NanotronWriter(tmp_path / "s", vocab_size=100, tokenizer_name="tok.json")
    w.write(np.array([5, 6, 7, 1, 8, 9, 1], dtype=np.uint32))
    w.close(np.array([4, 3]))
    assert (tmp_path / "s.ds").read_bytes() == BIN_BYTES
    assert (tmp_path / "s.ds.index").read_bytes() == DS_INDEX_BYTES
    assert (tmp_path / "s.ds.metadata").read_text() == "tok.json|2\n7\n"
    nf = read_nanotron(tmp_path / "s.ds")
    assert nf.tokens.tolist() == [5, 6, 7, 1, 8, 9, 1] and nf.doc_ends.tolist() == [4, 7]
    assert nanotron.token_dtype(65_536) == np.dtype("<u2") and nanotron.token_dtype(65_537) == np.dtype("<u4")


def _word_tokenizer(path: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, "</s>": 1, "the": 2, "cat": 3, "sat": 4, "dog": 5, "ran": 6}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(path))
    return path


def test_build_end_to_end_produces_hand_computed_bytes(tmp_path: Path) -> None:
    """The whole build (reader, tokenizer, EOS, plan, writers) on a word-level tokenizer we can do by hand."""
    tok = _word_tokenizer(tmp_path / "tokenizer.json")
    inp = tmp_path / "in"
    inp.mkdir()
    with open(inp / "a.jsonl", "w") as fh:
        fh.write(json.dumps({"id": "a", "text": "the cat sat", "source": "s"}) + "\n")
        fh.write(json.dumps({"id": "b", "text": "the dog", "source": "s"}) + "\n")
    cfg = ShardsConfig(formats=["megatron", "nanotron"], shuffle=False)
    build(tok, [str(inp)], tmp_path / "out", cfg, workers=1, show_progress=False)
    out = tmp_path / "out"
    # [2,3,4,EOS] [2,5,EOS]
    assert (out / "train-00000.bin").read_bytes() == h("0200 0300 0400 0100 0200 0500 0100")
    assert (out / "train-00000.idx").read_bytes() == IDX_BYTES
    assert (out / "train-00000.ds").read_bytes() == h("0200 0300 0400 0100 0200 0500 0100")
    assert (out / "train-00000.ds.index").read_bytes() == DS_INDEX_BYTES
    m = json.loads((out / "manifest.json").read_text())
    assert m["splits"]["train"]["shards"][0]["tokens"] == 7
    assert m["tokenizer"]["eos_id"] == 1 and m["tokenizer"]["eos_token"] == "</s>"
    ds = TokenShards(out)
    assert [d.tolist() for d in ds] == [[2, 3, 4, 1], [2, 5, 1]]


def test_same_bytes_as_datatrove_writers(tmp_path: Path) -> None:
    """datatrove's own Megatron and .ds writers, fed the same documents, write the same bytes."""
    dt_meg = pytest.importorskip("datatrove.pipeline.tokens.megatron_tokenizer")
    dt_tok = pytest.importorskip("datatrove.pipeline.tokens.tokenizer")
    rng = np.random.default_rng(3)
    docs = [rng.integers(0, 30_000, size=int(n)).tolist() for n in rng.integers(1, 400, size=60)]
    flat = np.array([t for d in docs for t in d], dtype=np.uint32)
    lens = np.array([len(d) for d in docs])

    ref = dt_meg.MegatronTokenizedFile(str(tmp_path / "dt"), "shard", token_size=2)
    for d in docs:
        ref.write(d)
    ref.close()
    w = MegatronWriter(tmp_path / "ck" / "shard", vocab_size=30_000, max_seq=1 << 20)
    w.write(flat)
    w.close(lens)
    for ext in (".bin", ".idx"):
        assert (tmp_path / "ck" / f"shard{ext}").read_bytes() == (tmp_path / "dt" / f"shard{ext}").read_bytes()

    ref2 = dt_tok.TokenizedFile(str(tmp_path / "dt2"), "shard.ds", token_size=2)
    for d in docs:
        ref2.write(d, None)
    ref2.close()
    w2 = NanotronWriter(tmp_path / "ck2" / "shard", vocab_size=30_000, tokenizer_name="x")
    w2.write(flat)
    w2.close(lens)
    for ext in (".ds", ".ds.index"):
        assert (tmp_path / "ck2" / f"shard{ext}").read_bytes() == (tmp_path / "dt2" / f"shard{ext}").read_bytes()
