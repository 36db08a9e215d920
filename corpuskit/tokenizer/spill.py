"""The training sample on disk: drawn in a child process, written as pieces, read by the trainer.

Why a child and a file: the sampler's memory (reader buffers, Arrow batches, the reservoir's
Python strings) goes back to the OS when the child exits, so the training process holds only
what the library itself needs; and SentencePiece reads the file with its own C++ reader, exactly
as when it is called directly.  Lines go one per line (SentencePiece's input format); whole
documents, which contain newlines, are framed with a 4-byte little-endian length.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from pathlib import Path
from typing import Any, Iterator

import orjson

from ..errors import ConfigError, CorpusError
from .config import TrainConfig
from .memory import peak_rss, reset_peak

_ERRORS = {"ConfigError": ConfigError, "CorpusError": CorpusError}


def framed(cfg: TrainConfig) -> bool:
    """Whole documents keep their newlines, and HF training reads records, not lines."""
    return cfg.sample.split == "documents" or cfg.library == "hf"


def write_pieces(path: Path, pieces: Iterator[str], framed_records: bool) -> None:
    with open(path, "wb", buffering=1 << 20) as fh:
        if framed_records:
            for p in pieces:
                b = p.encode("utf-8")
                fh.write(len(b).to_bytes(4, "little"))
                fh.write(b)
        else:
            for p in pieces:
                fh.write(p.encode("utf-8"))
                fh.write(b"\n")


def read_pieces(path: Path, framed_records: bool) -> Iterator[str]:
    """Stream the pieces back (HF training): one piece in memory at a time."""
    with open(path, "rb", buffering=1 << 20) as fh:
        if framed_records:
            while True:
                head = fh.read(4)
                if len(head) < 4:
                    return
                yield fh.read(int.from_bytes(head, "little")).decode("utf-8")
        else:
            for line in fh:
                yield line[:-1].decode("utf-8")


def _child(cfg: TrainConfig, inputs: list[str], pieces_path: Path, result_path: Path) -> None:
    from .sample import PieceStats, draw_sample, iter_pieces

    try:
        reset_peak()
        cpu0 = time.process_time()
        sample = draw_sample(inputs, cfg.sample)
        if not sample.docs:
            raise ConfigError(f"no training text sampled from {', '.join(inputs)} (check sample.mix weights "
                              f"and groups against the groups found: {', '.join(sorted(sample.groups)) or 'none'})")
        summary = sample.summary()
        stats = PieceStats()
        s = cfg.sample
        write_pieces(pieces_path, iter_pieces(sample.docs, s.split, s.max_piece_bytes, s.min_piece_chars, stats,
                                              consume=True), framed(cfg))
        result: dict[str, Any] = {"sample": summary, "pieces": stats.as_dict(),
                                  "cpu_seconds": time.process_time() - cpu0, "peak_rss": peak_rss()}
    except CorpusError as e:
        result = {"error": str(e), "kind": type(e).__name__}
    except Exception as e:  # reported to the parent, which raises it as a CorpusError
        result = {"error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}", "kind": "CorpusError"}
    result_path.write_bytes(orjson.dumps(result))


def spill_sample(cfg: TrainConfig, inputs: list[str], workdir: Path) -> tuple[Path, dict[str, Any]]:
    """Draw the sample in a child process and write its pieces under ``workdir``;
    returns the pieces file and the child's account (sample, pieces, CPU seconds, peak RSS)."""
    pieces_path = workdir / f".sample-pieces-{os.getpid()}"
    result_path = workdir / f".sample-result-{os.getpid()}.json"
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    proc = multiprocessing.get_context(method).Process(target=_child, args=(cfg, inputs, pieces_path, result_path),
                                                       name="corpuskit-tokenizer-sample")
    proc.start()
    proc.join()
    try:
        result = orjson.loads(result_path.read_bytes()) if result_path.exists() else None
    finally:
        result_path.unlink(missing_ok=True)
    if result is None or "error" in result:
        pieces_path.unlink(missing_ok=True)
        if result is None:
            raise CorpusError(f"the sampling process died (exit code {proc.exitcode}); "
                              "out of memory? lower sample.max_bytes or sample.workers")
        raise _ERRORS.get(result["kind"], CorpusError)(result["error"])
    return pieces_path, result
