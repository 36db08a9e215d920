"""CCNet-style line dedup across documents: boilerplate removed, first occurrence kept, documents
left too short dropped with a reason, texts otherwise byte-identical."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pyarrow.parquet as pq

from corpuskit.pipeline import Pipeline
from corpuskit.runner import run

NAV = "Home | Documentation | Downloads | Community | About"
FOOTER = "Copyright 2001-2024 Python Software Foundation. All rights reserved."
COOKIE = "This site uses cookies to improve your experience. Accept all cookies?"


def pages() -> list[dict]:
    """Web-page-like documents: real module docs wrapped in shared navigation and footer lines."""
    out = []
    for name in ["json", "csv", "argparse", "logging", "statistics", "fnmatch", "difflib", "heapq"]:
        doc = importlib.import_module(name).__doc__.strip()
        out.append({"id": f"page-{name}", "text": f"{NAV}\n{doc}\n{COOKIE}\n{FOOTER}\n"})
    # a page that is nothing but boilerplate plus one short line: too short once cleaned
    out.append({"id": "page-empty", "text": f"{NAV}\nSee also:\n{COOKIE}\n{FOOTER}"})
    return out


def run_lines(tmp_path: Path, **params) -> tuple[dict, dict[str, str]]:
    inp = tmp_path / "in"
    inp.mkdir()
    recs = pages()
    for k in range(3):
        with open(inp / f"s{k}.jsonl", "w") as fh:
            for r in recs[k::3]:
                fh.write(json.dumps(r) + "\n")
    cfg = {"name": "t", "reader": {"type": "jsonl", "batch_size": 2}, "steps": [{"line_dedup": params}],
           "writer": {"excluded": "all"}}
    s = run(Pipeline.from_config(cfg), [str(inp)], tmp_path / "out", workers=1, show_progress=False)
    t = pq.read_table(sorted((tmp_path / "out" / "data").glob("*.parquet")))
    return s, dict(zip(t.column("id").to_pylist(), t.column("text").to_pylist()))


def reference(min_chars: int = 50) -> dict[str, str]:
    """The same rule in plain Python, documents in input order (shard files, then position)."""
    import pyarrow as pa

    from corpuskit.dedup.lines import CCNET_NORM
    from corpuskit.dedup.normalize import normalize

    recs = pages()
    ordered = [r for k in range(3) for r in recs[k::3]]
    seen: set[str] = set()
    out = {}
    for r in ordered:
        lines = r["text"].split("\n")
        norm = normalize(pa.array(lines, pa.large_string()), CCNET_NORM).to_pylist()
        kept = []
        for line, key in zip(lines, norm):
            if key and key in seen:
                continue
            seen.add(key)
            kept.append(line)
        text = "\n".join(kept)
        if len(kept) == len(lines) or len(text.strip()) >= min_chars:
            out[r["id"]] = text
    return out


def test_boilerplate_lines_removed_first_kept(tmp_path):
    s, texts = run_lines(tmp_path)
    assert texts == reference()
    with_nav = [i for i, t in texts.items() if NAV in t]
    assert len(with_nav) == 1  # the first occurrence in input order survives
    assert "page-empty" not in texts
    assert s["steps"][-1]["drops"] == {"too_short_after_line_dedup": 1}
    assert s["balanced"] and s["docs_out"] == 8
    # a page emptied by line dedup is a drop with its reason, not a duplicate of another page
    assert (s["dropped"], s["duplicates"]) == (1, 0)
    assert s["stages"]["line_dedup"]["count"]["lines_removed"] >= 3 * 8


def test_remove_every_copy_and_paragraph_unit(tmp_path):
    s, texts = run_lines(tmp_path, keep_first=False, min_chars=0)
    assert len(texts) == 9 and not any(NAV in t for t in texts.values())
    assert texts["page-empty"].strip() == "See also:"
    (tmp_path / "p").mkdir()
    s2, texts2 = run_lines(tmp_path / "p", unit="paragraph")
    # no blank-line separated paragraph repeats, so nothing changes
    assert s2["stages"]["line_dedup"]["count"]["lines_removed"] == 0
    assert all(t.startswith(NAV) for t in texts2.values())
