"""``corpuskit report`` on real runs: two pipelines over Python's own docstrings and sources (with
real duplicates, a bad record and HTML-looking text), a SentencePiece tokenizer trained and
evaluated on the output, then the page rendered by headless Chromium."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from PIL import Image

from corpuskit.cli import main
from corpuskit.document import TEXT
from corpuskit.errors import CorpusError
from corpuskit.pipeline import Pipeline, WriterConfig
from corpuskit.readers.jsonl import JsonlReader
from corpuskit.registry import register_step
from corpuskit.report import build_report
from corpuskit.report.runs import load_run
from corpuskit.runner import run
from corpuskit.steps.base import Annotator
from corpuskit.steps.generic import ExpressionFilter, LengthFilter

from corpus_fixtures import stdlib_docs, stdlib_sources

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
HOSTILE = "<script>alert('x')</script> <b>tiny</b> & more"


@register_step("report_test_signals")
class WordSignals(Annotator):
    """Per-document figures from Arrow kernels, so the report has numeric signal columns to plot."""

    def annotate(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        text = batch.column(TEXT)
        chars = pc.max_element_wise(pc.utf8_length(text), 1)
        words = pc.count_substring_regex(text, r"\w+")
        word_chars = pc.count_substring_regex(text, r"\w")
        digits = pc.count_substring_regex(text, r"\d")
        return {"words": words,
                "mean_word_len": pc.divide(pc.cast(word_chars, pa.float64()), pc.max_element_wise(words, 1)),
                "digit_frac": pc.divide(pc.cast(digits, pa.float64()), chars)}


PII_PATTERNS = {"EMAIL_ADDRESS": r"[A-Za-z0-9_.+-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.-]+",
                "URL": r"https?://[^\s<>\")]+",
                "IP_ADDRESS": r"\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b"}


@register_step("report_test_pii_counts")
class PiiCounts(Annotator):
    """Counts e-mail addresses, URLs and IPv4 addresses (RE2 kernels) as ``pii:TYPE`` step counters."""

    def annotate(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        for kind, pattern in PII_PATTERNS.items():
            self.count(f"pii:{kind}", int(pc.sum(pc.count_substring_regex(batch.column(TEXT), pattern)).as_py() or 0))
        return {}


def _write_jsonl(path: Path, rows: list[dict], bad_line: bool = False) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        if bad_line:
            fh.write('{"id": "broken", "text": "no closing brace\n')
    return path


def _docs_input(root: Path) -> Path:
    """Real docstrings, every 9th also as an exact copy and every 13th with one word changed."""
    rows = [{"id": "hostile", "text": HOSTILE, "source": "stdlib-doc", "lang": "en"}]  # first too_short sample
    for i, d in enumerate(stdlib_docs(600)):
        d = {**d, "lang": "en"}
        rows.append(d)
        if i % 9 == 0:
            rows.append({**d, "id": d["id"] + "-copy"})
        if i % 13 == 0:
            words = d["text"].split(" ")
            words[len(words) // 2] = "zebra"
            rows.append({**d, "id": d["id"] + "-near", "text": " ".join(words)})
    return _write_jsonl(root / "docs.jsonl", rows, bad_line=True)


def _code_input(root: Path) -> Path:
    rows = [{"id": f"src-{name}", "text": text, "source": "stdlib-src", "lang": "python", "path": name}
            for name, text in stdlib_sources(40)]
    rows += [{"id": f"doc-{i}", "text": d["text"], "source": "stdlib-doc", "lang": "en"}
             for i, d in enumerate(stdlib_docs(60))]
    rows += [{"id": f"src-{name}-dup", "text": text, "source": "stdlib-src", "lang": "python", "path": name}
             for name, text in stdlib_sources(6)]
    return _write_jsonl(root / "code.jsonl", rows)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    from corpuskit.dedup.exact import ExactDedup
    from corpuskit.dedup.minhash_dedup import MinHashDedup

    root = tmp_path_factory.mktemp("report")
    docs = Pipeline(JsonlReader(), [WordSignals(), LengthFilter(min_chars=250, max_chars=30_000),
                                    ExpressionFilter(drop="mean_word_len > 6.2", reason="long_words"),
                                    ExactDedup(annotate=True), MinHashDedup(threshold=0.7)], name="docs")
    run(docs, [str(_docs_input(root))], root / "run-docs", workers=1, show_progress=False)
    code = Pipeline(JsonlReader(), [PiiCounts(), LengthFilter(min_chars=100, max_chars=40_000), ExactDedup()],
                    name="code",
                    writer=WriterConfig(format="jsonl"))
    run(code, [str(_code_input(root))], root / "run-code", workers=1, show_progress=False)
    return {"root": root, "docs": root / "run-docs", "code": root / "run-code"}


@pytest.fixture(scope="module")
def tokenizer_eval(runs) -> Path:
    """A real SentencePiece BPE trained on the docs run's output, evaluated on both runs' output."""
    from corpuskit.tokenizer.config import parse_config
    from corpuskit.tokenizer.evaluate import evaluate
    from corpuskit.tokenizer.train import train

    root = runs["root"]
    cfg = parse_config({"library": "sentencepiece", "sample": {"max_bytes": 5_000_000},
                        "sentencepiece": {"model_type": "bpe", "vocab_size": 400, "byte_fallback": True}})
    train(cfg, [str(runs["docs"] / "data")], root / "tok")
    evaluate([f"bpe400={root / 'tok'}"], [str(runs["docs"] / "data")], root / "eval", group_by=["source"],
             repeat_time=0.01, plot=False)
    return root / "eval"


@pytest.fixture(scope="module")
def shards(runs, tokenizer_eval) -> Path:
    """Megatron shards of both runs' output, tokenized by the trained tokenizer, with a validation split."""
    from corpuskit.shards.build import build
    from corpuskit.shards.config import ShardsConfig

    root = runs["root"]
    cfg = ShardsConfig(shard_tokens=60_000, valid_fraction=0.1, weights={"stdlib-src": 0.5})
    build(root / "tok" / "tokenizer.model", [str(runs["docs"]), str(runs["code"])], root / "shards", cfg,
          workers=1, show_progress=False)
    return root / "shards"


@pytest.fixture(scope="module")
def report(runs, tokenizer_eval, shards) -> Path:
    out = runs["root"] / "report"
    build_report([runs["docs"], runs["code"]], out, tokenizer_evals=[tokenizer_eval], shards=[shards], now=NOW)
    return out


def _colours(im: Image.Image) -> int:
    rgb = np.asarray(im.convert("RGB")).astype(np.uint32)
    return len(np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]))


def _images(html: str) -> list[tuple[str, bytes, int, int]]:
    out = []
    for m in re.finditer(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="[^"]*" data-file="([^"]+)" '
                         r'width="(\d+)" height="(\d+)"', html):
        out.append((m.group(2), base64.b64decode(m.group(1)), int(m.group(3)), int(m.group(4))))
    return out


def test_sections_tables_and_embedded_pngs(runs, report):
    html = (report / "report.html").read_text(encoding="utf-8")
    for sec in ("overview", "funnel", "drops", "lengths", "signals", "languages", "sources", "dedup", "pii",
                "counters", "quarantine", "tokenizer", "shards"):
        assert f'<section id="{sec}">' in html, sec
    assert "http://" not in html and "https://" not in html.replace("https://docs.python.org", "")
    assert "<script" not in html  # no JS; the hostile sample document is escaped
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html

    images = _images(html)
    names = [n for n, *_ in images]
    assert len(names) == len(set(names))
    want = {"outcome.png", "funnel-run-docs.png", "funnel-run-code.png", "drops.png", "lengths.png",
            "signals.png", "languages.png", "sources.png", "dedup-clusters.png", "pii.png", "tokenizer-eval.png",
            "shard-tokens.png", "source-tokens.png"}
    assert want <= set(names), want - set(names)
    for name, png, w, h in images:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        im = Image.open(io.BytesIO(png))
        assert im.size == (w, h) and w >= 600 and h >= 200, (name, im.size)  # matplotlib-sized, not icons
        assert _colours(im) > 20, name
        assert (report / name).read_bytes() == png  # the PNG next to the report is the embedded one

    docs = json.loads((runs["docs"] / "stats.json").read_text())
    steps = {s["name"]: s for s in docs["steps"]}
    # every step of the funnel, with the runner's own counts
    for name in ("read", "report_test_signals", "length_filter", "filter", "exact_dedup", "minhash_dedup"):
        assert f"<td>{name}</td>" in html
    assert f'<td class="n">{docs["records_in"]:,}</td>' in html
    kept = pa.concat_tables(pq.read_table(p, columns=["id"]) for p in (runs["docs"] / "data").glob("*.parquet"))
    kept_ids = set(kept.column("id").to_pylist())
    assert not any(i.endswith("-copy") for i in kept_ids)  # every exact copy went, as the table says
    near = sum(1 for i in kept_ids if i.endswith("-near"))
    for st in ("exact_dedup", "minhash_dedup"):
        n = steps[st]["drops"]["duplicate"]
        assert n > 0 and f'<td>{st}</td><td class="n">{steps[st]["docs_in"]:,}</td><td class="n">{n:,}</td>' in html
    assert steps["minhash_dedup"]["drops"]["duplicate"] > 2 * near  # most one-word edits were found
    assert f'<td class="n">{steps["filter"]["drops"]["long_words"]:,}</td>' in html
    # drop reasons with real sample documents from excluded/
    assert "too_short" in html and "long_words" in html and "3 sample(s)" in html
    # quarantine names the file and line of the broken record
    assert "docs.jsonl" in html and "no closing brace" in html
    # language mix from metadata.lang in both runs (parquet and jsonl shards)
    assert "<td>python</td>" in html and "<td>en</td>" in html
    # dedup stage phases from stats.json and the annotated cluster sizes
    assert "exact_dup_count" in html and "minhash_cluster_size" in html and "candidate_pairs=" in html
    # tokenizer table and shards
    assert "bpe400" in html and "bytes/tok" in html
    manifest = json.loads((runs["root"] / "shards" / "manifest.json").read_text())
    shards_html = html.split('<section id="shards">')[1]
    for split, sp in manifest["splits"].items():
        assert f'<td>{split}</td><td class="n">{len(sp["shards"])}</td>' in shards_html
        assert f'{sp["tokens"]:,}' in shards_html
    src = manifest["sources"]["stdlib-src"]
    assert src["tokens_out"] < src["tokens_in"]  # the 0.5 weight, shown next to each other
    assert f'<td>stdlib-src</td><td class="n">0.5</td>' in shards_html and f'{src["tokens_in"]:,}' in shards_html
    # PII counters per type, counted independently with Python's re over the code run's input
    pii = html.split('<section id="pii">')[1].split("</section>")[0]
    texts = [json.loads(line)["text"] for line in (runs["root"] / "code.jsonl").read_text().splitlines()]
    for kind, pattern in PII_PATTERNS.items():
        n = sum(len(re.findall(pattern, t)) for t in texts)
        assert n > 0 and f'<td>report_test_pii_counts</td><td>pii:{kind}</td><td class="n">{n:,}</td>' in pii
    assert 'data-file="pii.png"' in pii


def test_headless_chromium_renders_the_plots(report, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.fail("headless Chromium is needed to check the report renders: apt-get install -y chromium")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,3000",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = (report / "report.html").resolve().as_uri()
    shot = tmp_path / "shot.png"
    res = subprocess.run(flags + ["--dump-dom", f"--screenshot={shot}", url], capture_output=True, text=True,
                         timeout=180)
    assert res.returncode == 0, res.stderr[-2000:]
    if not shot.exists():  # a Chromium that does one thing per launch
        subprocess.run(flags + [f"--screenshot={shot}", url], capture_output=True, timeout=180, check=True)
    n_html = len(_images((report / "report.html").read_text(encoding="utf-8")))
    imgs = re.findall(r"<img [^>]*src=\"data:image/png;base64,", res.stdout)
    assert len(imgs) == n_html >= 12
    assert "Funnel through the steps" in res.stdout

    im = Image.open(shot)
    assert im.size == (1280, 3000)
    assert _colours(im) > 50  # not a blank page
    px = np.asarray(im.convert("RGB")).reshape(-1, 3).astype(np.int32)
    # the bar colours of the outcome and funnel plots are on screen: the images decoded and drew
    for rgb in ((0x59, 0xA1, 0x4F), (0x4E, 0x79, 0xA7)):
        near = np.abs(px - np.array(rgb)).sum(axis=1) <= 6
        assert near.sum() > 2000, rgb


def test_cli_notes_missing_inputs_and_output_is_deterministic(runs, tmp_path, capsys):
    out = tmp_path / "r"
    code = main(["report", str(runs["code"]), "--tokenizer-eval", str(tmp_path / "nowhere"),
                 "--shards", str(tmp_path / "none"), "-o", str(out)])
    assert code == 0
    err = capsys.readouterr().err
    assert "nowhere/eval.json" in err and "none/manifest.json" in err
    html = (out / "report.html").read_text(encoding="utf-8")
    tok = html.split('<section id="tokenizer">')[1].split("</section>")[0]
    assert "could not be read" in tok and "<table" not in tok
    # the code run has no numeric signals: said in a line, the rest of the report is there
    assert "No numeric signal columns" in html and "funnel-run-code.png" in html

    # the same inputs give the same page and the same PNG bytes; only the timestamp differs
    again = build_report([runs["code"]], tmp_path / "again", tokenizer_evals=[tmp_path / "nowhere"],
                         shards=[tmp_path / "none"], now=NOW)
    stamp = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
    b = again.html.read_text(encoding="utf-8")
    assert "generated 2026-01-02 03:04:05 UTC" in b
    assert stamp.sub("", html) == stamp.sub("", b)
    assert len(again.plots) >= 6
    for p in again.plots:
        assert p.read_bytes() == (out / p.name).read_bytes(), p.name

    # a directory that is not a finished run is a user error naming its path
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "x")]) == 1
    assert "no stats.json" in capsys.readouterr().err


def test_sample_is_capped_and_spread_over_shards(runs):
    full = load_run(runs["docs"], "d")
    capped = load_run(runs["docs"], "d", max_rows=50)
    stats = json.loads((runs["docs"] / "stats.json").read_text())
    assert full.sample.rows_total == full.sample.rows_read == stats["docs_out"] == len(full.sample.chars)
    assert capped.sample.rows_total == stats["docs_out"] and 1 <= capped.sample.rows_read <= 50
    assert set(full.sample.signals) == {"words", "mean_word_len", "digit_frac"}
    assert np.nanmax(full.sample.signals["mean_word_len"]) <= 6.2  # the filter's rule held
    code = load_run(runs["code"], "c")
    assert code.sample.fmt == "jsonl" and code.sample.langs.keys() == {"python", "en"}
    assert code.sample.rows_read == json.loads((runs["code"] / "stats.json").read_text())["docs_out"]
    with pytest.raises(CorpusError, match="no stats.json"):
        load_run(runs["root"], "nothing")
