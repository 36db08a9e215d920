"""The report's optional inputs: a ``corpuskit tokenizer eval`` output and a shard ``manifest.json``.

Both are read leniently (a missing or unreadable input becomes a one-line note in the report, not
an error) because a report is most wanted exactly when a later stage has not run or has failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

@dataclass
class TokenizerEval:
    path: Path
    data: dict[str, Any]

    @property
    def groups(self) -> list[str]:
        return list(self.data["groups"])

    @property
    def tokenizers(self) -> list[str]:
        return list(self.data["tokenizers"])


def load_tokenizer_eval(path: Path, notes: list[str]) -> TokenizerEval | None:
    """``path`` is an eval output directory (holding ``eval.json``) or the JSON file itself."""
    f = path / "eval.json" if path.is_dir() or not path.suffix else path
    if not f.exists():
        notes.append(f"tokenizer evaluation: no {f} (write it with `corpuskit tokenizer eval ... -o {path}`)")
        return None
    try:
        data = orjson.loads(f.read_bytes())
    except orjson.JSONDecodeError as e:
        notes.append(f"tokenizer evaluation: {f} is not valid JSON ({e})")
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tokenizers"), dict) \
            or not isinstance(data.get("groups"), dict):
        notes.append(f"tokenizer evaluation: {f} has no 'tokenizers' and 'groups' objects")
        return None
    return TokenizerEval(f, data)


@dataclass
class ShardSet:
    path: Path
    #: (split, shard name, tokens, documents or None), in manifest order
    shards: list[tuple[str, str, int, int | None]] = field(default_factory=list)
    #: per split: documents, unique documents, sequences, tokens, shards
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: per source: tokens_in/tokens_out (and documents, weight, shares when the manifest has them)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: facts worth a line each: format, tokenizer, dtypes, shard size, seed, document counts ...
    info: list[tuple[str, Any]] = field(default_factory=list)
    #: ``build.json`` next to the manifest (timings are kept out of the manifest to keep it reproducible)
    build: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)


_NAME = ("name", "path", "file", "prefix")
_TOKENS = ("tokens", "num_tokens", "n_tokens", "token_count")
_DOCS = ("documents", "docs", "num_documents", "num_docs", "n_docs")


def _first(d: dict, keys: tuple[str, ...]) -> Any:
    for k in keys:
        if k in d:
            return d[k]
    return None


def _count(v: Any) -> int | None:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _shard_rows(split: str, items: Any) -> list[tuple[str, str, int, int | None]]:
    rows = []
    for i, s in enumerate(items if isinstance(items, list) else []):
        if isinstance(s, dict) and _count(_first(s, _TOKENS)) is not None:
            name = _first(s, _NAME)
            rows.append((split, Path(str(name)).name if name is not None else f"{split}-{i}",
                         int(_first(s, _TOKENS)), _count(_first(s, _DOCS))))
    return rows


def load_shards(path: Path, notes: list[str]) -> ShardSet | None:
    """Read ``manifest.json`` of ``corpuskit shards build`` (splits of shards, per-source tokens in
    and out), or any manifest with a top-level ``shards`` list of token counts."""
    f = path / "manifest.json" if path.is_dir() or not path.suffix else path
    if not f.exists():
        notes.append(f"shards: no {f}")
        return None
    try:
        m = orjson.loads(f.read_bytes())
    except orjson.JSONDecodeError as e:
        notes.append(f"shards: {f} is not valid JSON ({e})")
        return None
    if not isinstance(m, dict):
        notes.append(f"shards: {f} is not a JSON object")
        return None
    out = ShardSet(f)
    splits = m.get("splits")
    if isinstance(splits, dict):
        for split, sp in splits.items():
            if not isinstance(sp, dict):
                continue
            rows = _shard_rows(split, sp.get("shards"))
            out.shards.extend(rows)
            out.splits[split] = {"documents": _count(sp.get("documents")),
                                 "unique_documents": _count(sp.get("unique_documents")),
                                 "sequences": _count(sp.get("sequences")),
                                 "tokens": _count(sp.get("tokens")) or sum(r[2] for r in rows), "shards": len(rows)}
    else:
        out.shards = _shard_rows("all", m.get("shards"))
        if out.shards:
            out.splits["all"] = {"documents": sum(r[3] or 0 for r in out.shards), "unique_documents": None,
                                 "sequences": None, "tokens": sum(r[2] for r in out.shards),
                                 "shards": len(out.shards)}
    sources = m.get("sources")
    if isinstance(sources, dict):
        for src, v in sources.items():
            if isinstance(v, dict) and _count(v.get("tokens_out", v.get("tokens"))) is not None:
                out.sources[str(src)] = {"tokens_out": _count(v.get("tokens_out", v.get("tokens"))),
                                         "tokens_in": _count(v.get("tokens_in")),
                                         "documents_out": _count(v.get("documents_out", v.get("documents"))),
                                         "documents_in": _count(v.get("documents_in")), "weight": v.get("weight"),
                                         "share_out": v.get("share_out")}
            elif _count(v) is not None:
                out.sources[str(src)] = {"tokens_out": _count(v)}
    if not out.sources and isinstance(splits, dict):  # sum the splits' tokens_by_source
        for sp in splits.values():
            for src, n in (sp.get("tokens_by_source") or {}).items() if isinstance(sp, dict) else ():
                d = out.sources.setdefault(str(src), {"tokens_out": 0})
                d["tokens_out"] += _count(n) or 0
    out.sources = dict(sorted(out.sources.items(), key=lambda kv: (-(kv[1]["tokens_out"] or 0), kv[0])))
    out.info = _info(m)
    out.warnings = [str(w) for w in m.get("warnings") or []][:50]
    b = f.with_name("build.json")
    if b.exists():
        try:
            out.build = orjson.loads(b.read_bytes())
        except orjson.JSONDecodeError:
            notes.append(f"shards: {b} is not valid JSON")
    if not out.shards and not out.sources:
        notes.append(f"shards: {f} lists no shards with token counts")
        return None
    return out


def _info(m: dict[str, Any]) -> list[tuple[str, Any]]:
    info: list[tuple[str, Any]] = []
    if "format" in m:
        info.append(("format", f"{m['format']} v{m.get('format_version', '?')}"))
    tok = m.get("tokenizer")
    if isinstance(tok, dict):
        vocab = tok.get("vocab_size")
        info.append(("tokenizer", f"{tok.get('path') or tok.get('file') or '?'} ({tok.get('kind', '?')}"
                     + (f", vocabulary {vocab:,}" if isinstance(vocab, int) else "") + ")"))
    elif tok is not None:
        info.append(("tokenizer", tok))
    fmts = m.get("formats")
    if isinstance(fmts, dict):
        info.append(("formats", ", ".join(f"{k} ({v.get('dtype', '?')})" if isinstance(v, dict) else str(k)
                                          for k, v in fmts.items())))
    cfg = m.get("config")
    if isinstance(cfg, dict):
        keep = ("shard_tokens", "seed", "shuffle", "append_eos", "add_bos", "max_doc_tokens", "long_docs",
                "weights", "valid_fraction", "valid_tokens")
        info.append(("config", ", ".join(f"{k}={cfg[k]}" for k in keep if k in cfg)))
    for key in ("documents", "tokens"):
        v = m.get(key)
        if isinstance(v, dict):
            info.append((key, ", ".join(f"{k} {x:,}" if isinstance(x, int) else f"{k} {x}" for k, x in v.items())))
    for k, v in sorted(m.items()):
        if k not in ("format", "format_version") and isinstance(v, (str, int, float, bool)):
            info.append((k, v))
    return info
