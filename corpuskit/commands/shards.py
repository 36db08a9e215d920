"""``corpuskit shards build|validate|inspect``: tokenized, shuffled training shards and their checks."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("shards", help="build, validate and inspect tokenized training shards (Megatron, nanotron)")
    ssub = p.add_subparsers(dest="shards_command", required=True, metavar="ACTION")

    b = ssub.add_parser("build", help="tokenize documents into shuffled Megatron .bin/.idx and/or nanotron .ds shards")
    b.add_argument("--tokenizer", "-t", required=True, help="HF tokenizer.json (or its directory) or SentencePiece .model")
    b.add_argument("--input", "-i", action="append", required=True,
                   help="input file, directory, glob or corpuskit run directory (repeatable)")
    b.add_argument("--output", "-o", required=True, help="output directory")
    b.add_argument("--config", "-c", default=None, help="shards config YAML (see docs/shards.md)")
    b.add_argument("--workers", "-w", type=int, default=None,
                   help="worker processes (default: cores/8, at least 1; each runs cores/workers encode threads)")
    b.add_argument("--format", action="append", choices=["megatron", "nanotron"], default=None,
                   help="output format (repeatable; default: the config's, else megatron)")
    b.add_argument("--shard-tokens", type=int, default=None, help="target tokens per shard")
    b.add_argument("--seed", type=int, default=None, help="seed of shuffle, split and fractional weights")
    b.add_argument("--no-shuffle", action="store_true", help="keep input order")
    b.add_argument("--weight", action="append", default=[], metavar="SOURCE=W",
                   help="mixture weight of a source, e.g. --weight books=2 --weight code=0.5")
    b.add_argument("--valid-fraction", type=float, default=None, help="fraction of tokens for the validation split")
    b.add_argument("--valid-tokens", type=int, default=None, help="tokens for the validation split")
    b.add_argument("--add-bos", action="store_true", default=None, help="prepend BOS to every document")
    b.add_argument("--no-eos", action="store_true", help="do not append EOS")
    b.add_argument("--max-doc-tokens", type=int, default=None, help="longer documents follow --long-docs")
    b.add_argument("--long-docs", choices=["split", "drop"], default=None,
                   help="split: consecutive Megatron sequences of one document; drop: leave out, counted")
    b.add_argument("--encoder", choices=["auto", "tokenizers"], default=None,
                   help="auto: tiktoken's BPE core for byte-level BPE files proven to give the same ids "
                        "(docs/shards.md); tokenizers: always the tokenizers library")
    b.add_argument("--strict", action="store_true", help="stop at the first bad input record")
    b.add_argument("--overwrite", action="store_true", help="delete the output directory first")
    b.add_argument("--keep-work", action="store_true", help="keep the intermediate token files in OUTPUT/_work")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_build)

    v = ssub.add_parser("validate", help="check every shard's format, sizes, checksums and token ids")
    v.add_argument("directory")
    v.add_argument("--tokenizer", default=None, help="tokenizer for the decode check (default: the manifest's path)")
    v.add_argument("--samples", type=int, default=None, help="documents to decode per split (default: config)")
    v.add_argument("--no-hashes", action="store_true", help="skip the sha256 comparison (faster)")
    v.add_argument("--show", action="store_true", help="print the decoded sample documents")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.set_defaults(func=cmd_validate)

    q = ssub.add_parser("inspect", help="statistics of a shards directory")
    q.add_argument("directory")
    q.add_argument("--show", type=int, default=0, help="decode and print the first N documents")
    q.add_argument("--chars", type=int, default=300, help="characters of each shown document")
    q.set_defaults(func=cmd_inspect)


def _weights(items: list[str]) -> dict[str, float] | None:
    from ..errors import ConfigError

    out = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        try:
            out[name] = float(value)
        except ValueError:
            name = ""
        if not sep or not name:
            raise ConfigError(f"--weight {item!r}: use SOURCE=WEIGHT, e.g. books=2")
    return out or None


def cmd_build(args: argparse.Namespace) -> int:
    from ..shards.build import build
    from ..shards.config import load_config

    overrides = {
        "formats": args.format,
        "shard_tokens": args.shard_tokens,
        "seed": args.seed,
        "shuffle": False if args.no_shuffle else None,
        "weights": _weights(args.weight),
        "valid_fraction": args.valid_fraction,
        "valid_tokens": args.valid_tokens,
        "add_bos": args.add_bos,
        "append_eos": False if args.no_eos else None,
        "max_doc_tokens": args.max_doc_tokens,
        "long_docs": args.long_docs,
        "encoder": args.encoder,
    }
    cfg = load_config(args.config, overrides)
    rec = build(args.tokenizer, args.input, args.output, cfg, workers=args.workers, overwrite=args.overwrite,
                show_progress=not args.no_progress, keep_work=args.keep_work, strict=args.strict)
    if rec.get("resumed"):
        print(f"(the build in {args.output} was already complete; nothing to do)")
    s = rec["seconds"]
    print(f"{rec['documents_written']:,} documents, {rec['tokens_written']:,} tokens in {rec['shards']} shard(s) -> "
          f"{args.output}")
    print(f"read {rec['documents_read']:,} documents ({rec['text_bytes'] / 1e6:,.1f} MB of text) in {s['total']:.1f} s "
          f"(tokenize {s['tokenize']:.1f}, plan {s['plan']:.1f}, write {s['write']:.1f}): {rec['mb_per_s']} MB/s, "
          f"{rec['tokens_per_s']:,.0f} tokens/s with {rec['workers']} worker(s)")
    for w in rec["warnings"][:10]:
        print(f"warning: {w}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from ..shards.validate import raise_for, validate

    rep = validate(args.directory, tokenizer=args.tokenizer, samples=args.samples, hashes=not args.no_hashes)
    if args.json:
        print(json.dumps({"ok": rep.ok, "shards": rep.shards, "files": rep.files, "tokens": rep.tokens,
                          "problems": rep.problems, "notes": rep.notes,
                          "samples": [{k: v for k, v in s.items() if k != "text" or args.show} for s in rep.samples]},
                         indent=2, ensure_ascii=False))
        return 0 if rep.ok else 1
    raise_for(rep)
    reenc = sum(s["reencodes"] for s in rep.samples)
    print(f"OK: {rep.shards} shard(s), {rep.files} file(s), {rep.tokens:,} tokens checked"
          + (f"; {len(rep.samples)} sampled documents decoded, {reenc} re-encode identically" if rep.samples else ""))
    for note in rep.notes:
        print(f"note: {note}")
    if args.show:
        for s in rep.samples:
            text = s["text"][:300].replace("\n", "\\n")
            print(f"\n--- {s['split']} document {s['document']}: {s['tokens']:,} tokens\n    {text}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from ..shards.report import format_inspect

    print(format_inspect(args.directory, show=args.show, chars=args.chars))
    return 0
