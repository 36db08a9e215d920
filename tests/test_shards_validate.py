"""`shards validate` passes a clean build and names the file and field of every kind of corruption."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from corpus_fixtures import stdlib_sources
from corpuskit.cli import main
from corpuskit.shards.build import build
from corpuskit.shards.config import ShardsConfig
from corpuskit.shards.validate import validate


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    root = tmp_path_factory.mktemp("val")
    files = stdlib_sources(30)
    (root / "in").mkdir()
    with open(root / "in" / "code.jsonl", "w", encoding="utf-8") as fh:
        for name, text in files:
            fh.write(json.dumps({"id": name, "text": text[:5000], "source": "code"}) + "\n")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([t[:5000] for _, t in files],
                            trainers.BpeTrainer(vocab_size=600, special_tokens=["<|endoftext|>"], show_progress=False,
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok_path = root / "tokenizer.json"
    tok.save(str(tok_path))
    cfg = ShardsConfig(formats=["megatron", "nanotron"], shard_tokens=8_000, valid_fraction=0.1, seed=2)
    build(tok_path, [str(root / "in")], root / "out", cfg, workers=1, show_progress=False)
    return root / "out", tok_path


@pytest.fixture
def copy(built, tmp_path: Path) -> Path:
    dst = tmp_path / "shards"
    shutil.copytree(built[0], dst)
    return dst


def _problems(d: Path, **kw) -> list[str]:
    return validate(d, samples=0, **kw).problems


def test_clean_build_validates_and_decodes(built, capsys) -> None:
    out, _ = built
    rep = validate(out, samples=4)
    assert rep.ok, rep.problems
    assert rep.shards >= 3 and rep.files == rep.shards * 5
    assert len(rep.samples) == 8 and all(s["reencodes"] and s["chars"] > 0 for s in rep.samples)
    assert main(["shards", "validate", str(out)]) == 0
    assert "OK:" in capsys.readouterr().out
    assert main(["shards", "inspect", str(out), "--show", "1"]) == 0
    text = capsys.readouterr().out
    assert "train:" in text and "valid:" in text and "code" in text


def test_flipped_byte_fails_the_checksum(copy: Path) -> None:
    p = copy / "train-00001.bin"
    raw = bytearray(p.read_bytes())
    raw[101] ^= 0x01
    p.write_bytes(bytes(raw))
    assert _problems(copy) == ["train-00001.bin: sha256: differs from the manifest (file changed or corrupt)"]


def test_truncated_files(copy: Path, capsys) -> None:
    p = copy / "train-00000.bin"
    p.write_bytes(p.read_bytes()[:-6])
    q = copy / "valid-00000.ds.index"
    q.write_bytes(q.read_bytes()[:-8])
    probs = _problems(copy)
    assert any(x.startswith("train-00000.bin: size:") for x in probs)
    assert any(x.startswith("valid-00000.ds.index: size:") for x in probs)
    assert main(["shards", "validate", str(copy)]) == 1
    err = capsys.readouterr().err
    assert "train-00000.bin: size" in err


def test_structural_checks_without_hashes(copy: Path) -> None:
    """With the checksum skipped (or rewritten by an attacker), the format checks still catch each field."""
    m = json.loads((copy / "manifest.json").read_text())
    vocab = m["tokenizer"]["vocab_size"]
    idx = copy / "train-00000.idx"
    raw = bytearray(idx.read_bytes())
    n_seq = struct.unpack_from("<Q", raw, 18)[0]

    ptr = bytearray(raw)
    struct.pack_into("<q", ptr, 34 + 4 * n_seq + 8 * 2, 12345)  # pointer[2]
    idx.write_bytes(bytes(ptr))
    assert any(x.startswith("train-00000.idx: pointers: pointer[2] is 12345") for x in
               _problems(copy, hashes=False))

    di = bytearray(raw)
    struct.pack_into("<q", di, 34 + 12 * n_seq + 8 * 3, 0)  # document index 3 goes backwards
    idx.write_bytes(bytes(di))
    assert any(x.startswith("train-00000.idx: document indices") for x in _problems(copy, hashes=False))

    code = bytearray(raw)
    code[17] = 4
    idx.write_bytes(bytes(code))
    assert any(x.startswith("train-00000.idx: dtype code: is 4") for x in _problems(copy, hashes=False))

    magic = bytearray(raw)
    magic[0:2] = b"XX"
    idx.write_bytes(bytes(magic))
    assert any(x.startswith("train-00000.idx: magic") for x in _problems(copy, hashes=False))
    idx.write_bytes(bytes(raw))
    assert _problems(copy, hashes=False) == []

    tokens = np.fromfile(copy / "train-00000.bin", dtype="<u2")
    bad = tokens.copy()
    bad[7] = vocab + 3
    bad.tofile(copy / "train-00000.bin")
    probs = _problems(copy, hashes=False)
    assert f"train-00000.bin: token ids: token 7 is {vocab + 3}, outside the vocabulary [0, {vocab})" in probs
    assert any(x.startswith("train-00000: formats: the .bin and .ds token streams differ at token 7") for x in probs)

    lens = np.frombuffer(bytes(raw[34:34 + 4 * n_seq]), "<i4")
    eos_pos = int(lens[0]) - 1
    bad = tokens.copy()
    bad[eos_pos] = 5
    bad.tofile(copy / "train-00000.ds")
    probs = _problems(copy, hashes=False)
    assert any(x.startswith("train-00000.ds: EOS: document 0 ends with token 5") for x in probs)


def test_nanotron_index_and_metadata(copy: Path) -> None:
    idx = copy / "train-00002.ds.index"
    ends = np.fromfile(idx, dtype="<u8")
    bad = ends.copy()
    bad[1] = bad[0] - 1
    bad.tofile(idx)
    assert any(x.startswith("train-00002.ds.index: document ends: decrease") for x in _problems(copy, hashes=False))
    ends.tofile(idx)
    meta = copy / "train-00002.ds.metadata"
    lines = meta.read_text().splitlines()
    meta.write_text(f"{lines[0]}\n{int(lines[1]) + 1}\n")
    assert any(x.startswith("train-00002.ds.metadata: token count") for x in _problems(copy, hashes=False))


def test_missing_file_and_manifest_counts(copy: Path) -> None:
    (copy / "valid-00000.idx").unlink()
    assert "valid-00000.idx: file: missing" in _problems(copy)
    m = json.loads((copy / "manifest.json").read_text())
    m["splits"]["train"]["shards"][0]["tokens"] += 1
    (copy / "manifest.json").write_text(json.dumps(m))
    probs = _problems(copy)
    assert any(x.startswith("train-00000.idx: tokens: the index has") for x in probs)


def test_tokenizer_mismatch_is_reported(built, copy: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    data = json.loads(built[1].read_text())
    data["model"]["vocab"]["zzzz-extra"] = len(data["model"]["vocab"])
    other.write_text(json.dumps(data))
    rep = validate(copy, tokenizer=str(other), samples=2)
    assert any("tokenizer: sha256" in p for p in rep.problems)
    rep = validate(copy, tokenizer=str(tmp_path / "gone.json"), samples=2)
    assert rep.ok and any("decode check skipped" in n for n in rep.notes)
