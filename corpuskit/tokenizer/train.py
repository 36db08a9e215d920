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
from .corpus import check_inputs
from .memory import peak_rss, reset_peak, rss_bytes
from .sample import PieceStats, draw_sample, iter_pieces


def _versions() -> dict[str, str]:
    import sentencepiece
    import tokenizers

    return {"sentencepiece": sentencepiece.__version__, "tokenizers": tokenizers.__version__,
            "python": platform.python_version()}


def train(cfg: TrainConfig, inputs: list[str], output: str | Path, overwrite: bool = False) -> dict[str, Any]:
    """Run the whole training; returns the report (also written to ``training_report.json``)."""
    out = Path(output)
    if out.exists() and any(out.iterdir()) and not overwrite:
        if not (out / "training_report.json").exists():
            raise ConfigError(f"{out} is not empty; use a new output directory or --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    check_inputs(inputs)

    reset_peak()
    rss0 = rss_bytes()
    sample = draw_sample(inputs, cfg.sample)
    sample_peak = peak_rss()
    if not sample.docs:
        raise ConfigError(f"no training text sampled from {', '.join(inputs)} (check sample.mix weights "
                          f"and groups against the sources found: {', '.join(sorted(sample.groups)) or 'none'})")

    pstats = PieceStats()
    split = cfg.sample.split
    pieces = iter_pieces(sample.docs, split, cfg.sample.max_piece_bytes, cfg.sample.min_piece_chars, pstats)
    reset_peak()
    t0 = time.perf_counter()
    files: dict[str, str] = {}
    special = {"unk": cfg.special_tokens.unk, "bos": cfg.special_tokens.bos, "eos": cfg.special_tokens.eos,
               "pad": cfg.special_tokens.pad}
    if cfg.library == "sentencepiece":
        from .convert import load_proto, sp_to_tokenizer
        from .sp_train import train_sentencepiece, trainer_options, write_sentencepiece

        model = train_sentencepiece(pieces, cfg)
        train_s = time.perf_counter() - t0
        train_peak = peak_rss()
        files.update(write_sentencepiece(model, out))
        proto = load_proto(model)
        tok = sp_to_tokenizer(proto, cfg.add_bos, cfg.add_eos)
        options = trainer_options(cfg)
        vocab_size = len(proto.pieces)
    else:
        from .hf_train import guard_regex, train_hf

        tok = train_hf(pieces, cfg)
        train_s = time.perf_counter() - t0
        train_peak = peak_rss()
        assert cfg.hf is not None
        options = cfg.hf.model_dump(mode="json")
        options["guard_regex"] = guard_regex(cfg.hf.pre_tokenize)
        vocab_size = tok.get_vocab_size(with_added_tokens=True)
    n_docs = len(sample.docs)
    del sample.docs[:]  # free the sample before writing
    files.update(write_hf_files_for(tok, out, special, cfg))

    report = {
        "name": cfg.name,
        "library": cfg.library,
        "vocab_size": vocab_size,
        "options": options,
        "config": cfg.model_dump(mode="json"),
        "sample": {**sample.summary(), "docs": n_docs},
        "pieces": {**pstats.as_dict(), "split": split, "max_piece_bytes": cfg.sample.max_piece_bytes},
        "seconds": {"sample": round(sample.seconds, 3), "train": round(train_s, 3)},
        "peak_rss_bytes": {"start": rss0, "sample": sample_peak, "train": train_peak},
        "inputs": [str(i) for i in inputs],
        "files": sorted(files),
        "versions": _versions(),
    }
    write_bytes_atomic(out / "training_report.json", orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    return report


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
