"""``manifest.json``: what a training run (and ``shards validate``) needs to trust the shards.

Per shard: documents, sequences, tokens and each file's size and sha256; per source: documents
and tokens in and out with the effective share after mixture weights; the tokenizer file's hash;
the config; the inputs (files, sizes, sha256, and the corpuskit run they came from); the version.
Nothing run-dependent (timings, worker count) goes here, so the manifest is as reproducible as the
shards; those go to ``build.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import CorpusError
from . import megatron, nanotron
from .config import ShardsConfig
from .plan import Plan

MANIFEST = "manifest.json"
FORMAT_NAME = "corpuskit-shards"
FORMAT_VERSION = 1


def _share(part: int, total: int) -> float:
    return round(part / total, 6) if total else 0.0


def build_manifest(cfg: ShardsConfig, tokenizer: dict[str, Any], plan: Plan, records: list[dict[str, Any]],
                   shard_records: list[dict[str, Any]], roots: list[str], runs: list[dict[str, Any]]) -> dict[str, Any]:
    st = plan.stats
    vocab = tokenizer["vocab_size"]
    dtypes = {}
    if "megatron" in cfg.formats:
        dt = megatron.token_dtype(vocab)
        dtypes["megatron"] = {"dtype": dt.name, "code": megatron.CODE_OF[dt]}
    if "nanotron" in cfg.formats:
        dtypes["nanotron"] = {"dtype": nanotron.token_dtype(vocab).name}

    empty: dict[str, int] = {}
    for r in records:
        for s, n in r["empty"].items():
            empty[s] = empty.get(s, 0) + n
    tokens_in_total = sum(st["tokens_in_by_source"])
    tokens_out_total = sum(sp["tokens"] for sp in st["splits"].values())
    sources: dict[str, Any] = {}
    for i, s in enumerate(plan.sources):
        out_tokens = sum(sp["tokens_by_source"][i] for sp in st["splits"].values())
        sources[s] = {
            "weight": cfg.weight(s),
            "documents_in": st["documents_in_by_source"][i],
            "tokens_in": st["tokens_in_by_source"][i],
            "share_in": _share(st["tokens_in_by_source"][i], tokens_in_total),
            "documents_out": sum(sp["documents_by_source"][i] for sp in st["splits"].values()),
            "tokens_out": out_tokens,
            "share_out": _share(out_tokens, tokens_out_total),
            "empty_skipped": empty.get(s, 0),
            "long_documents": st["long_documents_by_source"][i],
        }
    splits: dict[str, Any] = {}
    for split, sp in st["splits"].items():
        shards = [{k: r[k] for k in ("name", "documents", "sequences", "tokens", "files")}
                  for r in shard_records if r["split"] == split]
        splits[split] = {
            "documents": sp["documents"],
            "unique_documents": sp["unique_documents"],
            "sequences": sum(s["sequences"] for s in shards),
            "tokens": sp["tokens"],
            "tokens_by_source": {s: sp["tokens_by_source"][i] for i, s in enumerate(plan.sources)},
            "shards": shards,
        }
    files = [f for r in records for f in r["files"]]
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "corpuskit_version": __version__,
        "tokenizer": tokenizer,
        "formats": dtypes,
        "config": cfg.to_json(),
        "documents": {
            "read": sum(r["records"] for r in records),
            "quarantined": sum(r["quarantined"] for r in records),
            "empty_skipped": sum(empty.values()),
            "tokenized": st["documents_in"],
            # with the fast encoder: documents it handed to the tokenizers library (docs/shards.md)
            "reference_encoded": sum(r.get("reference_encoded", 0) for r in records),
            "long": sum(st["long_documents_by_source"]),
            "long_rule": st["long_rule"],
            "long_dropped": sum(st["long_documents_by_source"]) if st["long_rule"] == "drop" else 0,
            "long_dropped_tokens": st["long_tokens"] if st["long_rule"] == "drop" else 0,
            "long_split": sum(st["long_documents_by_source"]) if st["long_rule"] == "split" else 0,
            "sampled_out": st["sampled_out"],
            "copies_added": st["copies_added"],
            "written": sum(sp["documents"] for sp in st["splits"].values()),
        },
        "tokens": {"tokenized": tokens_in_total, "written": tokens_out_total},
        "sources": sources,
        "splits": splits,
        "inputs": {"roots": roots, "files": files, "pipeline_runs": runs},
        "warnings": plan.warnings + [w for r in records for w in r["warnings"]]
                    + [q for r in records for q in r["quarantine_samples"]],
    }


def load_manifest(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise CorpusError(f"{directory}: no {MANIFEST} (not a finished `corpuskit shards build` output)")
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise CorpusError(f"{path}: not valid JSON: {e}") from None
    if m.get("format") != FORMAT_NAME:
        raise CorpusError(f"{path}: format is {m.get('format')!r}, expected {FORMAT_NAME!r}")
    if m.get("format_version", 0) > FORMAT_VERSION:
        raise CorpusError(f"{path}: format_version {m.get('format_version')} is newer than this corpuskit reads "
                          f"({FORMAT_VERSION})")
    return m
