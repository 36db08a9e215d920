"""``corpuskit shards validate``: check every shard against its format and the manifest.

Per shard: files present, sizes and sha256 as in the manifest; Megatron ``.idx`` header (magic,
version, dtype code), file size = 34 + 12S + 8D, sequence lengths, pointers, document indices,
``.bin`` size; ``.ds`` metadata, index monotonic and ending at the token count; token ids in
``[0, vocab)``; EOS/BOS where the config put them; both formats holding the same tokens; counts
equal to the manifest's.  Then a sample of documents is decoded with the tokenizer and
re-encoded.  Every problem names the file and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorpusError
from . import megatron, nanotron
from .files import sha256_file
from .manifest import load_manifest
from .megatron import FormatError
from .tokenizer import ShardTokenizer, file_sha256

CHUNK = 16 << 20
MAX_LISTED = 50


class ValidationError(CorpusError):
    pass


@dataclass
class ValidationReport:
    directory: str
    shards: int = 0
    files: int = 0
    tokens: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _first_bad(mask: np.ndarray) -> int | None:
    bad = np.flatnonzero(mask)
    return int(bad[0]) if len(bad) else None


def _scan_ids(tokens: np.ndarray, vocab: int, name: str, problems: list[str]) -> None:
    """Token ids within [0, vocab), checked a chunk at a time (bounded memory on any shard size)."""
    for a in range(0, len(tokens), CHUNK):
        chunk = np.asarray(tokens[a:a + CHUNK])
        hi, lo = int(chunk.max()), int(chunk.min())
        if hi >= vocab or lo < 0:
            pos = a + _first_bad((chunk >= vocab) | (chunk < 0))
            problems.append(f"{name}: token ids: token {pos} is {int(tokens[pos])}, outside the vocabulary "
                            f"[0, {vocab})")
            return


def _check_specials(tokens: np.ndarray, starts: np.ndarray, cfg: dict, tok: dict, name: str,
                    problems: list[str]) -> None:
    lens = np.diff(starts)
    if (lens == 0).any():
        problems.append(f"{name}: documents: document {_first_bad(lens == 0)} is empty")
        return
    if cfg.get("append_eos") and tok.get("eos_id") is not None and len(lens):
        ends = np.asarray(tokens[starts[1:] - 1])
        bad = _first_bad(ends != tok["eos_id"])
        if bad is not None:
            problems.append(f"{name}: EOS: document {bad} ends with token {int(ends[bad])}, not EOS "
                            f"{tok['eos_id']}")
    if cfg.get("add_bos") and tok.get("bos_id") is not None and len(lens):
        firsts = np.asarray(tokens[starts[:-1]])
        bad = _first_bad(firsts != tok["bos_id"])
        if bad is not None:
            problems.append(f"{name}: BOS: document {bad} starts with token {int(firsts[bad])}, not BOS "
                            f"{tok['bos_id']}")


def _check_megatron(prefix: Path, shard: dict, m: dict, problems: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    vocab = m["tokenizer"]["vocab_size"]
    name = prefix.name
    try:
        idx = megatron.read_index(prefix.with_name(name + ".idx"))
    except FormatError as e:
        problems.append(str(e))
        return None
    iname = name + ".idx"
    want = megatron.token_dtype(vocab)
    if idx.dtype != want:
        problems.append(f"{iname}: dtype code: is {idx.dtype_code} ({idx.dtype.name}), expected "
                        f"{megatron.CODE_OF[want]} ({want.name}) for a vocabulary of {vocab:,}")
        return None
    S, D = idx.n_sequences, len(idx.doc_indices)
    lens = np.asarray(idx.seq_lens, dtype=np.int64)
    max_seq = m["config"]["max_doc_tokens"]
    bad = _first_bad((lens <= 0) | (lens > max_seq))
    if bad is not None:
        problems.append(f"{iname}: sequence lengths: sequence {bad} has {int(lens[bad])} tokens, outside "
                        f"1..{max_seq} (max_doc_tokens)")
    expect_ptr = np.zeros(S, dtype=np.int64)
    if S > 1:
        np.cumsum(lens[:-1] * idx.dtype.itemsize, out=expect_ptr[1:])
    bad = _first_bad(np.asarray(idx.pointers) != expect_ptr)
    if bad is not None:
        problems.append(f"{iname}: pointers: pointer[{bad}] is {int(idx.pointers[bad])}, expected "
                        f"{int(expect_ptr[bad])} (previous pointer + length x {idx.dtype.itemsize})")
    di = np.asarray(idx.doc_indices)
    if D < 1 or di[0] != 0 or di[-1] != S:
        problems.append(f"{iname}: document indices: must start at 0 and end at S={S}, got "
                        f"{int(di[0]) if D else None}..{int(di[-1]) if D else None}")
    elif (bad := _first_bad(np.diff(di) < 0)) is not None:
        problems.append(f"{iname}: document indices: decrease at entry {bad + 1} ({int(di[bad])} -> "
                        f"{int(di[bad + 1])})")
    n_tokens = int(lens.sum())
    bin_path = prefix.with_name(name + ".bin")
    size = bin_path.stat().st_size
    if size != n_tokens * idx.dtype.itemsize:
        problems.append(f"{name}.bin: file size: is {size:,} bytes; the .idx sequence lengths sum to {n_tokens:,} "
                        f"tokens = {n_tokens * idx.dtype.itemsize:,} bytes")
        return None
    for key, got in (("documents", D - 1), ("sequences", S), ("tokens", n_tokens)):
        if shard.get(key) is not None and shard[key] != got:
            problems.append(f"{iname}: {key}: the index has {got:,}, the manifest says {shard[key]:,}")
    tokens = np.memmap(bin_path, dtype=idx.dtype, mode="r") if size else np.zeros(0, idx.dtype)
    seq_starts = np.zeros(S + 1, dtype=np.int64)
    np.cumsum(lens, out=seq_starts[1:])
    return tokens, seq_starts[np.clip(di, 0, S)]


def _check_nanotron(prefix: Path, shard: dict, m: dict, problems: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    vocab = m["tokenizer"]["vocab_size"]
    name = prefix.name + ".ds"
    try:
        nf = nanotron.read_nanotron(prefix.with_name(name))
    except FormatError as e:
        problems.append(str(e))
        return None
    want = nanotron.token_dtype(vocab)
    if nf.dtype != want:
        problems.append(f"{name}.metadata: token size: is {nf.dtype.itemsize}, expected {want.itemsize} for a "
                        f"vocabulary of {vocab:,}")
        return None
    ends = np.asarray(nf.doc_ends, dtype=np.int64)
    n = len(nf.tokens)
    if nf.metadata_tokens != n:
        problems.append(f"{name}.metadata: token count: says {nf.metadata_tokens:,}, the .ds holds {n:,}")
    if len(ends) and (bad := _first_bad(np.diff(np.concatenate([[0], ends])) < 0)) is not None:
        problems.append(f"{name}.index: document ends: decrease at entry {bad}")
        return None
    if (ends[-1] if len(ends) else 0) != n:
        problems.append(f"{name}.index: document ends: the last is {int(ends[-1]) if len(ends) else 0:,}, "
                        f"the .ds holds {n:,} tokens")
        return None
    for key, got in (("documents", len(ends)), ("tokens", n)):
        if shard.get(key) is not None and shard[key] != got:
            problems.append(f"{name}.index: {key}: the files have {got:,}, the manifest says {shard[key]:,}")
    starts = np.zeros(len(ends) + 1, dtype=np.int64)
    starts[1:] = ends
    return nf.tokens, starts


def _same_tokens(a: np.ndarray, b: np.ndarray) -> int | None:
    """First position where two token streams differ (None if equal)."""
    if len(a) != len(b):
        return min(len(a), len(b))
    for s in range(0, len(a), CHUNK):
        x = np.asarray(a[s:s + CHUNK]).astype(np.int64)
        y = np.asarray(b[s:s + CHUNK]).astype(np.int64)
        bad = _first_bad(x != y)
        if bad is not None:
            return s + bad
    return None


def validate(directory: str | Path, tokenizer: str | None = None, samples: int | None = None,
             hashes: bool = True, seed: int = 0) -> ValidationReport:
    d = Path(directory)
    m = load_manifest(d)
    rep = ValidationReport(str(d))
    cfg, tok = m["config"], m["tokenizer"]
    vocab = tok["vocab_size"]
    opened: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for split, sp in m["splits"].items():
        docs = toks = 0
        opened[split] = []
        for shard in sp["shards"]:
            rep.shards += 1
            before = len(rep.problems)
            prefix = d / shard["name"]
            for fname, info in shard["files"].items():
                p = d / fname
                rep.files += 1
                if not p.is_file():
                    rep.problems.append(f"{fname}: file: missing")
                    continue
                size = p.stat().st_size
                if size != info["bytes"]:
                    rep.problems.append(f"{fname}: size: is {size:,} bytes, the manifest says {info['bytes']:,}")
                elif hashes and sha256_file(p) != info["sha256"]:
                    rep.problems.append(f"{fname}: sha256: differs from the manifest (file changed or corrupt)")
            if len(rep.problems) > before:
                continue
            streams = []
            if "megatron" in m["formats"]:
                streams.append(("megatron", prefix.name + ".bin", _check_megatron(prefix, shard, m, rep.problems)))
            if "nanotron" in m["formats"]:
                streams.append(("nanotron", prefix.name + ".ds", _check_nanotron(prefix, shard, m, rep.problems)))
            if len(rep.problems) > before or any(s[2] is None for s in streams):
                continue
            for fmt, fname, (tokens, starts) in streams:
                _scan_ids(tokens, vocab, fname, rep.problems)
                _check_specials(tokens, starts, cfg, tok, fname, rep.problems)
            if len(streams) == 2:
                pos = _same_tokens(streams[0][2][0], streams[1][2][0])
                if pos is not None:
                    rep.problems.append(f"{prefix.name}: formats: the .bin and .ds token streams differ at token {pos}")
            tokens, starts = streams[0][2]
            rep.tokens += len(tokens)
            docs += len(starts) - 1
            toks += len(tokens)
            opened[split].append((tokens, starts))
        if not rep.problems:
            if docs != sp["documents"]:
                rep.problems.append(f"manifest.json: splits.{split}.documents: the shards hold {docs:,}, the manifest "
                                    f"says {sp['documents']:,}")
            if toks != sp["tokens"]:
                rep.problems.append(f"manifest.json: splits.{split}.tokens: the shards hold {toks:,}, the manifest "
                                    f"says {sp['tokens']:,}")
    n_samples = cfg.get("validate_samples", 8) if samples is None else samples
    if n_samples > 0 and not rep.problems:
        _sample_decode(rep, m, opened, tokenizer, n_samples, seed)
    return rep


def _sample_decode(rep: ValidationReport, m: dict, opened: dict, tokenizer: str | None, n: int, seed: int) -> None:
    tok_info, cfg = m["tokenizer"], m["config"]
    path = tokenizer or tok_info["path"]
    try:
        tok = ShardTokenizer(path, need_eos=False, encoder="tokenizers")  # the reference, not the fast path
    except CorpusError as e:
        rep.notes.append(f"decode check skipped: tokenizer {path!r} not loadable ({e}); pass --tokenizer")
        return
    if file_sha256(tok.file) != tok_info["sha256"]:
        rep.problems.append(f"tokenizer: sha256 of {tok.file} differs from the manifest's (another tokenizer?)")
        return
    rng = np.random.default_rng(seed)
    nb = 1 if cfg.get("add_bos") and tok_info.get("bos_id") is not None else 0
    ne = 1 if cfg.get("append_eos") and tok_info.get("eos_id") is not None else 0
    for split, shards in opened.items():
        total = sum(len(s) - 1 for _, s in shards)
        if total == 0:
            continue
        for g in sorted(rng.choice(total, size=min(n, total), replace=False).tolist()):
            k = g
            for tokens, starts in shards:
                if k < len(starts) - 1:
                    break
                k -= len(starts) - 1
            ids = np.asarray(tokens[starts[k] + nb:starts[k + 1] - ne]).astype(np.int64)
            text = tok.decode(ids)
            again = tok.encode([text], reference=True)[0]
            same = len(again) == len(ids) and bool((again.astype(np.int64) == ids).all())
            rep.samples.append({"split": split, "document": int(g), "tokens": int(len(ids)), "chars": len(text),
                                "reencodes": same, "text": text})
    bad = [s for s in rep.samples if not s["reencodes"]]
    if bad:
        rep.notes.append(f"{len(bad)} of {len(rep.samples)} sampled documents re-encode to different ids "
                         f"(expected only for tokenizers that normalise text)")


def raise_for(rep: ValidationReport) -> None:
    if rep.ok:
        return
    listed = rep.problems[:MAX_LISTED]
    more = len(rep.problems) - len(listed)
    msg = f"{rep.directory}: {len(rep.problems)} problem(s):\n  " + "\n  ".join(listed)
    if more:
        msg += f"\n  ... and {more} more"
    raise ValidationError(msg)
