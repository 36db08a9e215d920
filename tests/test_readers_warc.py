"""WARC / WET reader on small WARC files written with FastWARC's own writer.

Pages are real HTML: pydoc renderings of stdlib modules and an article page built from stdlib
docstrings with navigation, sidebar and footer around it.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import html
import io
import json
import pydoc
import uuid
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from fastwarc.stream_io import GzipWriter
from fastwarc.warc import WarcRecord, WarcRecordType

from corpuskit.errors import StrictModeError
from corpuskit.pipeline import Pipeline
from corpuskit.readers.base import ReadContext
from corpuskit.readers.warc import WarcReader, decode_html, html_meta
from corpuskit.runner import run

DATE = "2024-03-01T12:00:00Z"


# -- building WARC files -----------------------------------------------------------------------
def record(rtype: WarcRecordType, block: bytes, url: str | None = None, content_type: str | None = None,
           headers: dict[str, str] | None = None) -> tuple[WarcRecord, str]:
    rid = f"<urn:uuid:{uuid.uuid4()}>"
    r = WarcRecord()
    r.init_headers(record_type=rtype, record_urn=rid[5:-1].encode())
    r.headers["WARC-Date"] = DATE
    if url:
        r.headers["WARC-Target-URI"] = url
    if content_type:
        r.headers["Content-Type"] = content_type
    for k, v in (headers or {}).items():
        r.headers[k] = v
    r.set_bytes_content(block)
    return r, rid


def http_response(url: str, body: bytes, status: str = "200 OK", ctype: str = "text/html; charset=utf-8",
                  extra: str = "") -> tuple[WarcRecord, str]:
    head = (f"HTTP/1.1 {status}\r\nServer: nginx/1.24.0\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode()
    return record(WarcRecordType.response, head + body, url, "application/http; msgtype=response")


def write_warc(path: Path, records: list[tuple[WarcRecord, str]], compress: bool = True) -> None:
    with open(path, "wb") as out:
        for r, _ in records:
            if compress:  # one gzip member per record, as crawlers write them
                w = GzipWriter(out)
                r.write(w, checksum_data=True)
                w.finish()
            else:
                r.write(out, checksum_data=True)


def pydoc_page(module) -> bytes:
    d = pydoc.HTMLDoc()
    return d.page(module.__name__, d.document(module)).encode("utf-8")


def article_page(title: str, doc: str, lang: str = "en", charset: str = "utf-8") -> str:
    paras = [p.strip() for p in doc.split("\n\n") if p.strip()][:5]
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paras)
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="{charset}"><title>{html.escape(title)}</title>
<script>window.dataLayer = [];</script><style>body {{ font-family: serif; }}</style></head>
<body><header><nav class="navbar"><ul><li><a href="/">Home</a></li><li><a href="/docs">Documentation</a></li>
<li><a href="/blog">Blog</a></li></ul></nav></header>
<main><article><h1>{html.escape(title)}</h1>{body}</article></main>
<aside class="sidebar"><h3>Related</h3><ul><li><a href="/getopt">getopt</a></li></ul></aside>
<footer class="footer"><p>Copyright 2024 Example Docs. All rights reserved.</p></footer></body></html>"""


CP1252_PAGE = article_page(
    "Le café", "Le café de la gare ouvre à sept heures.\n\nOn y sert des crêpes, du thé et des “petits déjeuners” "
               "copieux — à prix doux.", lang="fr", charset="windows-1252").encode("cp1252")
ZH_TEXT = "北京是中华人民共和国的首都，也是全国的政治、文化中心。明清两代在此建都，留下了故宫、天坛、颐和园等众多古迹。"
GB_PAGE = f"<html lang=zh-CN><head><title>北京</title></head><body><article><p>{ZH_TEXT}</p></article></body></html>" \
    .encode("gb18030")


@pytest.fixture(scope="module")
def mixed_warc(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A crawl-like WARC.gz: warcinfo, request, 5 good pages and 4 records to skip."""
    d = tmp_path_factory.mktemp("warc")
    ids: dict[str, str] = {}
    recs = [record(WarcRecordType.warcinfo, b"software: corpuskit-tests\r\nformat: WARC File Format 1.1\r\n",
                   content_type="application/warc-fields"),
            record(WarcRecordType.request, b"GET /json.html HTTP/1.1\r\nHost: docs.example.org\r\n\r\n",
                   "https://docs.example.org/json.html", "application/http; msgtype=request")]
    pages = {
        "json": ("https://docs.example.org/json.html", pydoc_page(json), "text/html; charset=utf-8"),
        "argparse": ("https://docs.example.org/argparse.html",
                     article_page("argparse - parser for command-line options", argparse.__doc__).encode(),
                     "text/html"),
        "cafe": ("https://cafe.example.fr/", CP1252_PAGE, "text/html"),
        "beijing": ("https://zh.example.cn/beijing", GB_PAGE, "text/html; charset=GB18030"),
        "collections": ("https://docs.example.org/collections.html",
                        article_page("collections", collections.__doc__).encode(), "application/xhtml+xml"),
    }
    for key, (url, body, ctype) in pages.items():
        r = http_response(url, body, ctype=ctype)
        ids[key] = r[1]
        recs.append(r)
    recs += [
        http_response("https://docs.example.org/missing.html", b"<html><body><h1>Not Found</h1></body></html>",
                      "404 Not Found"),
        http_response("https://docs.example.org/old", b"", "301 Moved Permanently",
                      extra="Location: https://docs.example.org/new\r\n"),
        http_response("https://docs.example.org/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), ctype="image/png"),
        http_response("https://docs.example.org/app", b"<html><head><script>boot()</script></head><body></body></html>"),
    ]
    path = d / "crawl-00000.warc.gz"
    write_warc(path, recs)
    return path, ids


def read_all(reader: WarcReader, path: Path, strict: bool = False) -> tuple[list[dict], ReadContext]:
    ctx = ReadContext(strict=strict)
    task = reader.plan([str(path)])[0]
    rows = [row for b in reader.read(task, ctx) for row in b.to_pylist()]
    return rows, ctx


# -- tests -------------------------------------------------------------------------------------
def test_runner_reads_html_and_counts_skips(mixed_warc, tmp_path):
    path, ids = mixed_warc
    summary = run(Pipeline(WarcReader(), []), [str(path)], tmp_path / "out", workers=1)
    assert summary["balanced"]
    assert summary["records_in"] == 9  # 9 response records; warcinfo / request are not documents
    assert summary["docs_out"] == 5
    assert summary["steps"][0]["drops"] == {"http_4xx": 1, "http_3xx": 1, "not_html": 1, "empty_text": 1}
    table = pq.read_table(tmp_path / "out" / "data" / "part-00000.parquet")
    rows = {r["id"]: r for r in table.to_pylist()}
    assert set(rows) == set(ids.values())

    js = rows[ids["json"]]
    assert "JSON (JavaScript Object Notation)" in js["text"]
    meta = orjson.loads(js["metadata"])
    assert meta["url"] == "https://docs.example.org/json.html"
    assert meta["date"] == DATE and meta["warc_record_id"] == ids["json"]
    assert meta["content_type"] == "text/html" and meta["charset"] == "utf-8"
    assert meta["html_lang"] == "en" and meta["title"] == "Python: json"
    assert meta["warc_file"] == "crawl-00000.warc.gz"
    assert js["source"] == "crawl-00000"


def test_main_content_drops_navigation_and_footer(mixed_warc):
    path, ids = mixed_warc
    rows, _ = read_all(WarcReader(), path)
    art = next(r for r in rows if r["id"] == ids["argparse"])
    assert "optparse-inspired command-line parsing library" in art["text"]
    assert "Copyright 2024" not in art["text"] and "Documentation" not in art["text"]
    assert "window.dataLayer" not in art["text"] and "font-family" not in art["text"]
    assert "\n" in art["text"]  # block structure kept for line-based filters

    rows_full, _ = read_all(WarcReader(main_content=False), path)
    full = next(r for r in rows_full if r["id"] == ids["argparse"])
    assert "Copyright 2024" in full["text"] and "optparse-inspired" in full["text"]


def test_legacy_charsets_are_decoded(mixed_warc):
    path, ids = mixed_warc
    rows, _ = read_all(WarcReader(), path)
    by_id = {r["id"]: r for r in rows}
    cafe = by_id[ids["cafe"]]
    assert "Le café de la gare ouvre à sept heures." in cafe["text"]
    assert "“petits déjeuners”" in cafe["text"] and "—" in cafe["text"]
    assert orjson.loads(cafe["metadata"])["charset"] == "cp1252"  # from <meta>, no HTTP charset
    bj = by_id[ids["beijing"]]
    assert ZH_TEXT in bj["text"]
    meta = orjson.loads(bj["metadata"])
    assert meta["charset"] == "gb18030" and meta["html_lang"] == "zh-cn" and meta["title"] == "北京"


def test_truncated_gzip_is_quarantined_with_record_number(tmp_path):
    docs = [json, argparse, collections, io, gzip, pydoc]
    recs = [http_response(f"https://docs.example.org/{m.__name__}.html", pydoc_page(m)) for m in docs]
    whole = tmp_path / "in" / "whole.warc.gz"
    whole.parent.mkdir()
    write_warc(whole, recs)
    data = whole.read_bytes()
    cut = tmp_path / "in" / "cut.warc.gz"
    cut.write_bytes(data[: int(len(data) * 0.6)])

    rows, ctx = read_all(WarcReader(), cut)
    assert 1 <= len(rows) < len(docs)
    assert len(ctx.quarantined) == 1
    q = ctx.quarantined[0]
    assert q.path == str(cut) and "truncated" in q.error
    assert q.where in (f"record {len(rows) + 1}", f"after record {len(rows)}")

    summary = run(Pipeline(WarcReader(), []), [str(tmp_path / "in")], tmp_path / "out", workers=2)
    assert summary["balanced"] and summary["quarantined"] == 1
    assert summary["docs_out"] == len(docs) + len(rows)
    lines = (tmp_path / "out" / "quarantine").glob("*.jsonl")
    errors = [orjson.loads(x) for p in lines for x in p.read_text().splitlines()]
    assert [e["file"] for e in errors] == [str(cut)]

    with pytest.raises(StrictModeError, match="cut.warc.gz"):
        read_all(WarcReader(), cut, strict=True)


def test_uncompressed_warc_with_cut_off_record(tmp_path):
    recs = [http_response(f"https://docs.example.org/{m.__name__}.html", pydoc_page(m)) for m in (json, argparse)]
    path = tmp_path / "plain.warc"
    write_warc(path, recs, compress=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 5000])  # inside the second page's body
    rows, ctx = read_all(WarcReader(), path)
    assert [r["id"] for r in rows] == [recs[0][1]]
    assert ctx.records == 2 and len(ctx.quarantined) == 1
    assert ctx.quarantined[0].where == "record 2" and "cut off" in ctx.quarantined[0].error


def test_wet_conversion_records(tmp_path):
    texts = [argparse.__doc__.strip(), collections.__doc__.strip(), "   \n"]
    recs = [record(WarcRecordType.conversion, t.encode(), f"https://docs.example.org/{i}", "text/plain",
                   {"WARC-Refers-To": f"<urn:uuid:{uuid.UUID(int=i)}>", "WARC-Identified-Content-Language": "eng"})
            for i, t in enumerate(texts)]
    path = tmp_path / "crawl.warc.wet.gz"
    write_warc(path, recs)
    summary = run(Pipeline(WarcReader(), []), [str(path)], tmp_path / "out", workers=1)
    assert summary["balanced"] and summary["records_in"] == 3 and summary["docs_out"] == 2
    assert summary["steps"][0]["drops"] == {"empty_text": 1}
    rows = pq.read_table(tmp_path / "out" / "data" / "part-00000.parquet").to_pylist()
    assert [r["text"] for r in rows] == texts[:2]
    meta = orjson.loads(rows[1]["metadata"])
    assert meta["lang"] == "eng" and meta["refers_to"] == f"<urn:uuid:{uuid.UUID(int=1)}>"
    assert meta["content_type"] == "text/plain"


def test_trafilatura_extractor(mixed_warc):
    pytest.importorskip("trafilatura")
    path, ids = mixed_warc
    rows, ctx = read_all(WarcReader(extractor="trafilatura"), path)
    art = next(r for r in rows if r["id"] == ids["argparse"])
    assert "optparse-inspired command-line parsing library" in art["text"]
    assert "Copyright 2024" not in art["text"]
    assert ctx.records == 9


def test_decode_html_prefers_valid_utf8_over_stale_header():
    page = "<html><body><p>Grüße aus Köln – naïve café</p></body></html>"
    text, used = decode_html(page.encode("utf-8"), "iso-8859-1")
    assert text == page and used == "utf-8"
    text, used = decode_html(page.encode("cp1252"), "windows-1252")
    assert text == page and used == "cp1252"
    assert html_meta('<HTML LANG="pt_BR"><title>\n Olá &amp; <b>adeus</b> </title>') == \
        {"html_lang": "pt-br", "title": "Olá & adeus"}


def test_files_that_are_not_warc_are_quarantined(tmp_path):
    doc = argparse.__doc__.encode()
    src = tmp_path / "in"
    src.mkdir()
    (src / "notes.warc").write_bytes(doc)
    (src / "notes.warc.gz").write_bytes(gzip.compress(doc))
    (src / "fake.warc.gz").write_bytes(doc)  # named .gz, not gzip
    summary = run(Pipeline(WarcReader(), []), [str(src)], tmp_path / "out", workers=1)
    assert summary["balanced"] and summary["records_in"] == 3 and summary["quarantined"] == 3
    errors = sorted(orjson.loads(x)["error"].split(":")[0]
                    for p in (tmp_path / "out" / "quarantine").glob("*.jsonl") for x in p.read_text().splitlines())
    assert errors == ["corrupt WARC data", "corrupt WARC data", "truncated or corrupt file"]
