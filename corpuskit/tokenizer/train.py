"""``tokenizer train``: sample the corpus, train, write the files and a training report."""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import orjson

from ..errors import ConfigError
from ..writers.atomic import write_bytes_atomic
from .config import TrainConfig
from .memory import peak_rss, reset_peak, rss_bytes
from .spill import framed, read_pieces, spill_sample


OUTPUT_FILES = ("tokenizer.model", "tokenizer.vocab", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "training_report.json", "extend_report.json")


def _versions() -> dict[str, str]:
    import sentencepiece
    import tokenizers

    return {"sentencepiece": sentencepiece.__version__, "tokenizers": tokenizers.__version__,
            "python": platform.python_version()}


def train(cfg: TrainConfig, inputs: list[str], output: str | Path, overwrite: bool = False) -> dict[str, Any]:
    """Run the whole training; returns the report (also written to ``training_report.json``)."""
    out = Path(output)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(f"{out} is not empty; use a new output directory or --overwrite")
        for name in OUTPUT_FILES:  # a stale tokenizer.model would shadow a new tokenizer.json
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    for spec in inputs:
        if not any(ch in spec for ch in "*?[") and not Path(spec).exists():
            raise ConfigError(f"input {spec!r} does not exist")

    rss0 = rss_bytes()
    pieces_path, drawn = spill_sample(cfg, inputs, out)
    try:
        reset_peak()
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        model, tok, options, vocab_size = _train_from(pieces_path, cfg)
        train_s = time.perf_counter() - t0
        train_cpu = time.process_time() - cpu0
        train_peak = peak_rss()
    finally:
        pieces_path.unlink(missing_ok=True)
    files: dict[str, str] = {}
    special = {"unk": cfg.special_tokens.unk, "bos": cfg.special_tokens.bos, "eos": cfg.special_tokens.eos,
               "pad": cfg.special_tokens.pad}
    if model is not None:
        from .sp_train import write_sentencepiece

        files.update(write_sentencepiece(model, out))
    files.update(write_hf_files_for(tok, out, special, cfg))

    sample = drawn["sample"]
    report = {
        "name": cfg.name,
        "library": cfg.library,
        "vocab_size": vocab_size,
        "options": options,
        "config": cfg.model_dump(mode="json"),
        "sample": sample,
        "pieces": {**drawn["pieces"], "split": cfg.sample.split, "max_piece_bytes": cfg.sample.max_piece_bytes},
        "seconds": {"sample": sample["seconds"], "train": round(train_s, 3)},
        # CPU seconds (all threads): comparable on a busy machine, where wall time is not
        "cpu_seconds": {"sample": round(drawn["cpu_seconds"], 3), "train": round(train_cpu, 3)},
        # the sample is drawn in a child process: its peak is that process's own
        "peak_rss_bytes": {"start": rss0, "sample": drawn["peak_rss"], "train": train_peak},
        "inputs": [str(i) for i in inputs],
        "files": sorted(files),
        "versions": _versions(),
    }
    write_bytes_atomic(out / "training_report.json", orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    return report


def _train_from(pieces_path: Path, cfg: TrainConfig) -> tuple[bytes | None, Any, dict[str, Any], int]:
    """Train from the spilled sample: (SentencePiece model bytes or None, tokenizers.Tokenizer,
    the options given to the library, vocabulary size)."""
    if cfg.library == "sentencepiece":
        from .convert import load_proto, sp_to_tokenizer
        from .sp_train import train_sentencepiece, trainer_options

        model = train_sentencepiece(pieces_path, cfg)
        proto = load_proto(model)
        return model, sp_to_tokenizer(proto, cfg.add_bos, cfg.add_eos), trainer_options(cfg), len(proto.pieces)
    from .hf_train import guard_regex, split_regex, train_hf

    assert cfg.hf is not None
    tok = train_hf(read_pieces(pieces_path, framed(cfg)), cfg)
    options = cfg.hf.model_dump(mode="json")
    pt = cfg.hf.pre_tokenize
    options["split_regex"] = guard_regex(pt) if pt.regex == "metaspace" else split_regex(pt)
    return None, tok, options, tok.get_vocab_size(with_added_tokens=True)


def write_hf_files_for(tok: Any, out: Path, special: dict[str, str], cfg: TrainConfig) -> dict[str, str]:
    from .hf_files import write_hf_files

    return write_hf_files(tok, out, special, cfg.model_max_length, cfg.add_bos, cfg.add_eos)


def describe(report: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    s = report["sample"]
    p = report["pieces"]
    mb = 1e6
    lines = [f"trained {report['name']} ({report['library']}, {report['vocab_size']:,} tokens)",
             f"  sample: {s['docs']:,} docs, {s['bytes'] / mb:,.1f} MB of {s['target_bytes'] / mb:,.1f} MB target, "
             f"read {s['records_read']:,} records in {s['seconds']:.1f}s",
             f"  pieces: {p['pieces']:,} ({p['split']}), {p['long_pieces']:,} over {p['max_piece_bytes']} bytes cut "
             f"into {p['long_pieces'] + p['extra_chunks']:,}, {p['skipped_short']:,} too short",
             f"  train: {report['seconds']['train']:.1f}s, peak RSS {report['peak_rss_bytes']['train'] / 2**20:,.0f} MiB"]
    for name, g in s["groups"].items():
        note = f"  ({g['note']})" if g.get("note") else ""
        lines.append(f"    {name:14s} {g['docs_sampled']:>9,} docs {g['bytes_sampled'] / mb:>9,.1f} MB "
                     f"share {g['share']:.3f}{note}")
    lines.append(f"  files: {', '.join(report['files'])}, training_report.json")
    return "\n".join(lines)
