"""``tokenizer eval``: how several tokenizers split held-out text, per source and language.

Text is grouped (``--group-by``), each group sampled to a byte budget with the same bottom-k
sampler as training (deterministic), then every tokenizer encodes every group.  Word-level
figures use a vectorised character classification (numpy over code points), not per-character
Python: a *word* is a run of letters/digits outside CJK; CJK text is measured per character.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from ..readers.base import ReadContext
from ..writers.atomic import write_bytes_atomic
from .corpus import doc_keys, holdout_cut, key_values, make_reader, read_batches, resolve_inputs
from .load import Encoder, load_encoder
from .sample import Reservoir

METRICS = [
    ("bytes_per_token", "bytes/tok", "{:.2f}"),
    ("chars_per_token", "chars/tok", "{:.2f}"),
    ("fertility", "fertility", "{:.3f}"),
    ("continued_words", "cont. words", "{:.1%}"),
    ("unk_rate", "unk", "{:.2%}"),
    ("byte_fallback_rate", "byte fb", "{:.2%}"),
    ("vocab_used", "vocab used", "{:.1%}"),
    ("encode_mb_s", "MB/s/thread", "{:.2f}"),
    ("roundtrip", "round trip", "{:.0%}"),
]


# -- text classes ---------------------------------------------------------------------------------

def char_classes(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Per character: is it part of a word (letter/digit run, not CJK), is it CJK (Han, kana)."""
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    cjk = ((cp >= 0x3040) & (cp <= 0x30FF)) | ((cp >= 0x3400) & (cp <= 0x4DBF)) | \
          ((cp >= 0x4E00) & (cp <= 0x9FFF)) | ((cp >= 0xF900) & (cp <= 0xFAFF)) | \
          ((cp >= 0x20000) & (cp <= 0x2FA1F))
    ascii_word = ((cp >= 0x30) & (cp <= 0x39)) | ((cp >= 0x41) & (cp <= 0x5A)) | ((cp >= 0x61) & (cp <= 0x7A))
    # beyond ASCII: letters of alphabetic scripts; excludes spaces, punctuation blocks and symbols
    other = (cp >= 0xC0) & (cp != 0xD7) & (cp != 0xF7) & (cp < 0x2000) | \
            (cp >= 0xAC00) & (cp <= 0xD7AF)  # Hangul syllables are spaced words
    return ascii_word | (other & ~cjk), cjk


@dataclass
class GroupText:
    name: str
    texts: list[str]

    @property
    def bytes(self) -> int:
        return sum(len(t.encode("utf-8")) for t in self.texts)


def collect_groups(inputs: list[str], group_by: list[str], max_bytes: int, seed: int = 0,
                   only: list[str] | None = None, holdout: float | None = None, min_docs: int = 1,
                   reader: str | None = None) -> list[GroupText]:
    """Stream the input once; keep a bottom-k sample of at most ``max_bytes`` per group."""
    inputs = resolve_inputs(inputs)
    rd = make_reader(inputs, reader)
    ctx = ReadContext()
    cut = holdout_cut(holdout) if holdout else None
    res: dict[str, Reservoir] = {}
    seen: dict[str, int] = {}
    for task in rd.plan(inputs):
        for batch in read_batches(rd, task, ctx):
            names = group_names(batch, group_by)
            keys = doc_keys(batch.column("id"), seed)
            nbytes = pc.binary_length(batch.column("text")).to_numpy(zero_copy_only=False).astype(np.int64)
            keep = nbytes > 0
            if cut is not None:
                keep &= keys >= cut
            enc = pc.dictionary_encode(names)
            codes = enc.indices.to_numpy(zero_copy_only=False)
            texts = batch.column("text")
            for ci, name in enumerate(enc.dictionary.to_pylist()):
                if only and not any(fnmatch.fnmatchcase(name, p) for p in only):
                    continue
                rows = np.flatnonzero((codes == ci) & keep)
                if not len(rows):
                    continue
                seen[name] = seen.get(name, 0) + len(rows)
                r = res.setdefault(name, Reservoir(max_bytes))
                rows = rows[keys[rows] < np.uint64(min(r.threshold, 2**64 - 1))]
                r.offer(keys[rows], texts.take(rows).to_pylist(), nbytes[rows], name)
    groups = []
    for name in sorted(res):
        items = sorted(res[name].heap, key=lambda x: -x[0])
        if len(items) >= min_docs:
            groups.append(GroupText(name, [t for *_, t in items]))
    if not groups:
        raise ConfigError(f"no evaluation text in {', '.join(inputs)}"
                          + (f" matching --only {','.join(only)}" if only else "")
                          + (" in the hold-out set" if holdout else ""))
    return groups


def group_names(batch: pa.RecordBatch, group_by: list[str]) -> pa.Array:
    """``source``/``id_prefix``/``metadata.X``/``lang``/``script`` values joined with ``/``."""
    parts = []
    for g in group_by:
        if g == "lang":
            lang = key_values(batch, "metadata.lang")
            parts.append(pc.if_else(pc.equal(lang, ""), _script(batch), lang))
        elif g == "script":
            parts.append(_script(batch))
        elif g in ("source", "id_prefix") or g.startswith("metadata."):
            parts.append(key_values(batch, g))
        else:
            raise ConfigError(f"--group-by {g!r}: use source, id_prefix, lang, script or metadata.FIELD")
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, "/")


def _script(batch: pa.RecordBatch) -> pa.Array:
    """``cjk`` when over 30% of a document's characters are Han/kana, else ``latin``."""
    text = batch.column("text")
    n = pc.utf8_length(text)
    cjk = pc.count_substring_regex(text, r"[\x{3040}-\x{30FF}\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}]")
    frac = pc.divide(pc.cast(cjk, pa.float64()), pc.max_element_wise(pc.cast(n, pa.float64()), 1.0))
    return pc.if_else(pc.greater(frac, 0.3), "cjk", "latin")


# -- measuring ------------------------------------------------------------------------------------

def measure(enc: Encoder, group: GroupText, repeat_time: float = 0.5) -> tuple[dict[str, Any], np.ndarray]:
    """Figures for one tokenizer on one group, and the ids it used (for vocabulary use)."""
    texts = group.texts
    nbytes = group.bytes
    # speed: native encode of one document at a time, repeated until ``repeat_time`` CPU seconds;
    # CPU time of this process (one working thread), so other processes do not distort the figure
    t0 = time.process_time()
    rounds = 0
    while True:
        for t in texts:
            enc.encode(t)
        rounds += 1
        el = time.process_time() - t0
        if el >= repeat_time or rounds >= 20:
            break
    mb_s = nbytes * rounds / max(el, 1e-9) / 1e6

    tokens = chars = words = cjk_chars = continued = unk = byte_fb = 0
    roundtrip_ok = 0
    used: list[np.ndarray] = []
    for text, (ids, cs, ce) in zip(texts, enc.encode_spans(texts)):
        n = len(ids)
        tokens += n
        chars += len(text)
        used.append(ids)
        if enc.unk_id is not None:
            unk += int((ids == enc.unk_id).sum())
        if len(enc.byte_ids):
            byte_fb += int(np.isin(ids, enc.byte_ids).sum())
        is_word, is_cjk = char_classes(text)
        cjk_chars += int(is_cjk.sum())
        starts = is_word & ~np.concatenate(([False], is_word[:-1]))
        wid = np.cumsum(starts) * is_word  # word number per character, 0 outside words
        nw = int(starts.sum())
        words += nw
        if nw and n and len(text):
            first = np.clip(cs, 0, len(text) - 1)
            last = np.clip(np.maximum(ce - 1, cs), 0, len(text) - 1)
            a, b = wid[first], wid[last]
            touched = np.concatenate((a, b[b != a]))
            counts = np.bincount(touched, minlength=nw + 1)[1:]
            continued += int((counts >= 2).sum())
        if enc.decode(ids.tolist()) == text:
            roundtrip_ok += 1
    units = words + cjk_chars
    row = {
        "docs": len(texts), "bytes": nbytes, "chars": chars, "words": words, "cjk_chars": cjk_chars,
        "tokens": tokens,
        "bytes_per_token": nbytes / max(tokens, 1),
        "chars_per_token": chars / max(tokens, 1),
        "tokens_per_word": tokens / words if words else None,
        "tokens_per_cjk_char": tokens / cjk_chars if cjk_chars else None,
        # tokens per word, each CJK character counting as one word: tokens/word for English and
        # code, tokens/character for Chinese, and a fair blend for mixed text
        "fertility": tokens / units if units else None,
        "continued_words": continued / words if words else None,
        "unk_rate": unk / max(tokens, 1) if enc.unk_id is not None else None,
        "byte_fallback_rate": byte_fb / max(tokens, 1) if len(enc.byte_ids) else None,
        "encode_mb_s": mb_s,
        "roundtrip": roundtrip_ok / max(len(texts), 1),
    }
    ids_used = np.unique(np.concatenate(used)) if used else np.zeros(0, np.int64)
    row["vocab_used"] = len(ids_used) / enc.vocab_size
    return row, ids_used


def evaluate(tokenizers: list[str], inputs: list[str], output: str | Path, group_by: list[str] | None = None,
             max_bytes: int = 2_000_000, seed: int = 0, only: list[str] | None = None,
             holdout_from: str | None = None, min_docs: int = 1, repeat_time: float = 0.5,
             plot: bool = True) -> dict[str, Any]:
    """Evaluate; writes ``eval.json``, ``eval.md`` and ``eval.png`` under ``output``."""
    group_by = group_by or ["source", "lang"]
    encoders = [load_encoder(t) for t in tokenizers]
    names = [e.name for e in encoders]
    if len(set(names)) != len(names):
        raise ConfigError(f"tokenizer names repeat ({', '.join(names)}): label them NAME=PATH")
    holdout = None
    if holdout_from:
        rep_path = Path(holdout_from) / "training_report.json"
        if not rep_path.exists():
            raise ConfigError(f"--holdout-from {holdout_from}: no training_report.json")
        sample_cfg = orjson.loads(rep_path.read_bytes())["config"]["sample"]
        holdout, seed = sample_cfg["holdout"], sample_cfg["seed"]
        if not holdout:
            raise ConfigError(f"{rep_path}: trained with sample.holdout 0, so there is no held-out text")
    t0 = time.perf_counter()
    groups = collect_groups(inputs, group_by, max_bytes, seed, only, holdout, min_docs)
    read_s = time.perf_counter() - t0
    results: dict[str, Any] = {"tokenizers": {}, "groups": {g.name: {"docs": len(g.texts), "bytes": g.bytes}
                                                         for g in groups},
                               "group_by": group_by, "max_bytes_per_group": max_bytes, "seed": seed,
                               "holdout": holdout, "inputs": [str(i) for i in inputs],
                               "read_seconds": round(read_s, 3)}
    for enc in encoders:
        per_group: dict[str, Any] = {}
        all_ids = []
        for g in groups:
            row, ids = measure(enc, g, repeat_time)
            per_group[g.name] = row
            all_ids.append(ids)
        used = np.unique(np.concatenate(all_ids)) if all_ids else np.zeros(0)
        results["tokenizers"][enc.name] = {"path": enc.path, "library": enc.kind, "vocab_size": enc.vocab_size,
                                           "lossless": enc.lossless, "vocab_used_all": len(used) / enc.vocab_size,
                                           "groups": per_group}
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out / "eval.json", orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    write_bytes_atomic(out / "eval.md", markdown(results).encode("utf-8"))
    if plot:
        plot_results(results, out / "eval.png")
    return results


def _fmt(v: Any, f: str) -> str:
    return "–" if v is None else f.format(v)


def markdown(results: dict[str, Any]) -> str:
    """One table: a row per (group, tokenizer), a column per metric."""
    head = ["group", "tokenizer", "vocab"] + [label for _, label, _ in METRICS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for g in results["groups"]:
        for name, t in results["tokenizers"].items():
            row = t["groups"][g]
            cells = [g, name, f"{t['vocab_size']:,}"] + [_fmt(row.get(k), f) for k, _, f in METRICS]
            lines.append("| " + " | ".join(cells) + " |")
    notes = ["", "fertility: tokens per word (runs of letters/digits), each CJK character counting as a word.",
             "MB/s/thread: one document at a time with the tokenizer's own library, per CPU-second.",
             "round trip: share of documents",
             "with decode(encode(x)) == x. vocab used: share of the vocabulary the group's text used."]
    for g, info in results["groups"].items():
        notes.append(f"- {g}: {info['docs']:,} docs, {info['bytes'] / 1e6:.2f} MB")
    return "\n".join(lines + notes) + "\n"


def plot_results(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(results["groups"])
    toks = list(results["tokenizers"])
    panels = [("bytes_per_token", "bytes per token (higher: better compression)"),
              ("fertility", "fertility (tokens per word; a CJK character counts as a word)"),
              ("encode_mb_s", "encode MB/s per thread")]
    fig, axes = plt.subplots(len(panels), 1, figsize=(max(8, 1.4 * len(groups) * max(1, len(toks)) / 2), 10))
    width = 0.8 / max(len(toks), 1)
    x = np.arange(len(groups))
    for ax, (key, title) in zip(axes, panels):
        for i, t in enumerate(toks):
            vals = [results["tokenizers"][t]["groups"][g].get(key) or 0 for g in groups]
            ax.bar(x + i * width - 0.4 + width / 2, vals, width, label=t)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(x, groups, rotation=20, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, ncol=min(4, len(toks)))
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(path)
