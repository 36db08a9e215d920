"""Plain-text directory reader: encodings, skips, quarantine, task grouping, through the real runner."""

from __future__ import annotations

import argparse
import array
import codecs
import gzip
import pydoc
import textwrap
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from corpuskit.pipeline import Pipeline
from corpuskit.readers._decode import decode_bytes
from corpuskit.readers.base import ReadContext
from corpuskit.readers.textdir import TextDirReader
from corpuskit.runner import run

MANUAL = pydoc.render_doc(argparse, renderer=pydoc.plaintext)  # ~30 KB of real English prose and code
ZH = ("第一章　春天来了。小镇的河边开满了桃花，孩子们沿着石板路跑向学校。老师站在门口，笑着对每一个学生说早上好。"
      "午后，祖母坐在院子里缝衣服，一边给我们讲她年轻时在北京读书的故事。")
ZH_TW = "臺灣位於東亞，是一個島嶼。中華民國政府於一九四九年遷臺，首都設於臺北市。臺灣的文化融合了原住民、閩南、客家等多種元素。"
FR = ("Le château se trouve près de la forêt ; les élèves y étudient l'économie et la géographie.\n"
      "Où êtes-vous né ? À Genève, en été, où l'on mange des crêpes au café du coin.\n")
RU = "Москва - столица России, крупнейший по численности населения город страны и её политический центр.\n" * 3


@pytest.fixture()
def books(tmp_path: Path) -> Path:
    root = tmp_path / "books"
    (root / "en").mkdir(parents=True)
    (root / "zh").mkdir()
    (root / "misc").mkdir()
    (root / "en" / "argparse-manual.txt").write_text(MANUAL, encoding="utf-8")
    (root / "en" / "windows.txt").write_bytes(textwrap.dedent(argparse.__doc__).replace("\n", "\r\n").encode())
    (root / "en" / "utf16.txt").write_bytes(codecs.BOM_UTF16_LE + MANUAL[:3000].encode("utf-16-le"))
    (root / "en" / "compressed.txt.gz").write_bytes(gzip.compress(MANUAL[:5000].encode()))
    (root / "zh" / "spring-gb18030.txt").write_bytes((ZH * 4).encode("gb18030"))
    (root / "zh" / "taiwan-big5.txt").write_bytes((ZH_TW * 4).encode("big5"))
    (root / "misc" / "french-latin1.txt").write_bytes(FR.encode("latin-1"))
    (root / "misc" / "russian-cp1251.txt").write_bytes(RU.encode("cp1251"))
    (root / "misc" / "empty.txt").write_bytes(b"  \n\n")
    (root / "misc" / "numbers.txt").write_bytes(array.array("d", range(2000)).tobytes())
    (root / "misc" / "report.pdf").write_bytes(b"%PDF-1.4 not a text file")
    (root / ".hidden.txt").write_text("editor swap file")
    return root


def read_dir(reader: TextDirReader, root: Path) -> tuple[dict[str, dict], ReadContext]:
    ctx = ReadContext()
    rows = {}
    for task in reader.plan([str(root)]):
        for b in reader.read(task, ctx):
            rows.update({r["id"]: r for r in b.to_pylist()})
    return rows, ctx


def test_encodings_detected_and_decoded(books):
    rows, ctx = read_dir(TextDirReader(), books)
    assert rows["en/argparse-manual.txt"]["text"] == MANUAL
    assert rows["zh/spring-gb18030.txt"]["text"] == ZH * 4
    assert rows["zh/taiwan-big5.txt"]["text"] == ZH_TW * 4
    assert rows["misc/french-latin1.txt"]["text"] == FR
    assert rows["misc/russian-cp1251.txt"]["text"] == RU
    assert rows["en/utf16.txt"]["text"] == MANUAL[:3000]
    assert rows["en/compressed.txt.gz"]["text"] == MANUAL[:5000]
    windows = rows["en/windows.txt"]["text"]
    assert "\r" not in windows and windows == textwrap.dedent(argparse.__doc__)
    enc = {k: orjson.loads(r["metadata"])["encoding"] for k, r in rows.items()}
    assert enc["zh/spring-gb18030.txt"] == "gb18030" and enc["zh/taiwan-big5.txt"] == "big5"
    assert enc["en/utf16.txt"] == "utf-16" and enc["en/argparse-manual.txt"] == "utf-8"
    assert enc["misc/russian-cp1251.txt"] == "cp1251"
    assert ctx.skipped == {"empty": 1, "binary": 1}
    assert ".hidden.txt" not in rows and "misc/report.pdf" not in rows
    assert ctx.records == len(rows) + 2


def test_runner_summary_balances_with_quarantine(books, tmp_path):
    (books / "misc" / "truncated.txt.gz").write_bytes(gzip.compress(MANUAL.encode())[:2000])
    reader = TextDirReader(task_files=3, max_doc_bytes=20_000, source="library")
    summary = run(Pipeline(reader, []), [str(books)], tmp_path / "out", workers=2)
    assert summary["balanced"]
    assert summary["tasks"] == 4  # 11 text files, 3 per task
    assert summary["records_in"] == 11
    assert summary["quarantined"] == 2  # the manual is over 20 kB; the cut gzip
    assert summary["steps"][0]["drops"] == {"empty": 1, "binary": 1}
    assert summary["docs_out"] == 7
    quarantine = [orjson.loads(line) for p in sorted((tmp_path / "out" / "quarantine").glob("*.jsonl"))
                  for line in p.read_text().splitlines()]
    by_file = {Path(q["file"]).name: q["error"] for q in quarantine}
    assert "max_doc_bytes" in by_file["argparse-manual.txt"]
    assert "truncated or corrupt" in by_file["truncated.txt.gz"]
    ids = pq.read_table(tmp_path / "out" / "data").column("id").to_pylist()
    assert sorted(ids) == ids and "zh/spring-gb18030.txt" in ids
    assert set(pq.read_table(tmp_path / "out" / "data").column("source").to_pylist()) == {"library"}


def test_plan_groups_files_deterministically(tmp_path):
    root = tmp_path / "many"
    for i in range(250):
        sub = root / f"shelf{i % 5}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"book{i:04d}.txt").write_text(MANUAL[: 200 + 40 * i])
    reader = TextDirReader(task_files=64, task_bytes=1 << 30)
    tasks = reader.plan([str(root)])
    assert [len(t.paths) for t in tasks] == [64, 64, 64, 58]
    flat = [p for t in tasks for p in t.paths]
    assert flat == sorted(flat) and len(set(flat)) == 250
    assert [t.to_dict() for t in reader.plan([str(root)])] == [t.to_dict() for t in tasks]
    by_bytes = TextDirReader(task_bytes=1_000_000).plan([str(root)])
    sizes = [sum(Path(p).stat().st_size for p in t.paths) for t in by_bytes]
    assert len(by_bytes) > 1 and max(sizes) <= 1_000_000 + 200 + 40 * 250
    extensions = TextDirReader(extensions=[]).plan([str(root)])
    assert sum(len(t.paths) for t in extensions) == 250


def test_decode_bytes_edge_cases():
    assert decode_bytes(codecs.BOM_UTF8 + "naïve".encode()).text == "naïve"
    assert decode_bytes(FR.encode("utf-16-be")).text == FR  # no BOM: NUL parity says UTF-16
    assert decode_bytes(FR.encode("cp1252")).encoding == "cp1252"
    assert decode_bytes(bytes(range(256)) * 4).encoding == "binary"
    assert decode_bytes(b"\x1b\x01\x02\x03\x04\x05\x06" * 100).encoding == "binary"
