"""``corpuskit shards inspect``: what is in a shards directory, from the manifest and the index files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .manifest import load_manifest
from .reader import TokenShards


def _pct(lens: np.ndarray) -> str:
    if not len(lens):
        return "-"
    p50, p99 = np.percentile(lens, [50, 99])
    return (f"min {int(lens.min()):,} / median {int(p50):,} / mean {lens.mean():,.0f} / p99 {int(p99):,} / "
            f"max {int(lens.max()):,}")


def summary(directory: str | Path) -> dict[str, Any]:
    """Statistics of every split: counts, document and shard length distributions."""
    m = load_manifest(directory)
    out: dict[str, Any] = {"manifest": m, "splits": {}}
    for split, sp in m["splits"].items():
        ds = TokenShards(directory, split)
        lens = ds.document_lengths()
        shard_tokens = np.array([s["tokens"] for s in sp["shards"]], dtype=np.int64)
        out["splits"][split] = {"lengths": lens, "shard_tokens": shard_tokens, "reader": ds}
    return out


def format_inspect(directory: str | Path, show: int = 0, chars: int = 300) -> str:
    info = summary(directory)
    m = info["manifest"]
    tok, cfg, docs = m["tokenizer"], m["config"], m["documents"]
    lines = [f"shards in {directory} (corpuskit {m['corpuskit_version']}, manifest format {m['format_version']})"]
    lines.append(f"tokenizer: {tok['path']} ({tok['kind']}, vocabulary {tok['vocab_size']:,}, sha256 "
                 f"{tok['sha256'][:12]}...)  EOS {tok['eos_id']} {tok['eos_token']!r}  BOS {tok['bos_id']} "
                 f"{tok['bos_token']!r}")
    fmts = ", ".join(f"{k} ({v['dtype']}{', code ' + str(v['code']) if 'code' in v else ''})"
                     for k, v in m["formats"].items())
    lines.append(f"formats: {fmts}")
    weights = ", ".join(f"{k} x{v:g}" for k, v in cfg["weights"].items()) or "none"
    lines.append(f"config: shard_tokens {cfg['shard_tokens']:,}, seed {cfg['seed']}, shuffle {cfg['shuffle']}, "
                 f"append_eos {cfg['append_eos']}, add_bos {cfg['add_bos']}, max_doc_tokens "
                 f"{cfg['max_doc_tokens']:,} ({cfg['long_docs']}), weights: {weights}")
    lines.append(f"documents: read {docs['read']:,}, quarantined {docs['quarantined']:,}, empty skipped "
                 f"{docs['empty_skipped']:,}, long {docs['long']:,} ({docs['long_rule']}), sampled out "
                 f"{docs['sampled_out']:,}, copies added {docs['copies_added']:,}, written {docs['written']:,}")
    for split, sp in m["splits"].items():
        st = info["splits"][split]
        lines.append(f"\n{split}: {len(sp['shards'])} shard(s), {sp['documents']:,} documents "
                     f"({sp['unique_documents']:,} unique), {sp['sequences']:,} sequences, {sp['tokens']:,} tokens")
        lines.append(f"  document tokens: {_pct(st['lengths'])}")
        lines.append(f"  shard tokens:    {_pct(st['shard_tokens'])}")
        for seq_len in (2048, 8192):
            lines.append(f"  windows of {seq_len}+1 tokens: {st['reader'].num_windows(seq_len):,}")
        if "megatron" in m["formats"]:
            root = Path(directory).resolve()
            path = " ".join(f"{s['tokens']} {root / s['name']}" for s in sp["shards"])
            lines.append(f"  Megatron --{'train' if split == 'train' else 'valid'}-data-path (token-weighted): "
                         f"{path if len(path) < 400 else path[:400] + ' ...'}")
    lines.append("\nsources:")
    lines.append(f"  {'source':24s} {'weight':>6s} {'docs in':>10s} {'tokens in':>14s} {'share':>7s} "
                 f"{'docs out':>10s} {'tokens out':>14s} {'share':>7s}")
    for s, r in m["sources"].items():
        lines.append(f"  {s[:24]:24s} {r['weight']:6g} {r['documents_in']:10,} {r['tokens_in']:14,} "
                     f"{r['share_in']:7.2%} {r['documents_out']:10,} {r['tokens_out']:14,} {r['share_out']:7.2%}")
    if m["warnings"]:
        lines.append("\nwarnings:")
        lines.extend(f"  {w}" for w in m["warnings"][:20])
    if show > 0:
        from .tokenizer import ShardTokenizer

        try:
            t = ShardTokenizer(tok["path"], need_eos=False, encoder="tokenizers")
        except Exception as e:  # the tokenizer may have moved; the statistics above stand anyway
            lines.append(f"\n(cannot load tokenizer {tok['path']!r} to show documents: {e})")
            return "\n".join(lines)
        ds = next(iter(info["splits"].values()))["reader"]
        for i in range(min(show, len(ds))):
            ids = ds[i]
            text = t.decode(ids)[:chars].replace("\n", "\\n")
            lines.append(f"\n--- {ds.split} document {i}: {len(ids):,} tokens\n    {text}")
    return "\n".join(lines)
