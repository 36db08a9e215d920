"""``make demo``: build a small real corpus offline, then run the whole chain on it.

The corpus is made from text every machine with Python has: docstrings and sources of the
standard library become web pages (WARC), books and a code repository; the Chinese part ships in
``corpuskit/demo_data/zh`` (public-domain classics and paragraphs written for the project).  Some
pages are planted on purpose: exact and near duplicates, pages with PII, boilerplate-only pages,
non-HTML records, a 404, a GB18030-encoded page, vendored / minified / binary / generated files.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import random
import shutil
import sys
import sysconfig
import uuid
from html import escape
from pathlib import Path

STDLIB = Path(sysconfig.get_paths()["stdlib"])
ZH_DIR = Path(__file__).parent / "demo_data" / "zh"
SEED = 20241123


# ---------------------------------------------------------------------------------------------
# real text from the standard library
# ---------------------------------------------------------------------------------------------
def prose(doc: str) -> str:
    """The prose paragraphs of a docstring: no doctests, signatures or option tables."""
    keep = []
    for para in doc.split("\n\n"):
        words = para.split()
        if len(words) < 12 or ">>>" in para:
            continue
        alpha = sum(1 for w in words if any(c.isalpha() for c in w) and not any(c in w for c in "()[]{}=_*`<>|"))
        if alpha / len(words) >= 0.9:
            keep.append(" ".join(words))
    return "\n\n".join(keep)


def stdlib_modules(limit: int) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(module name, module docstring, [(function, docstring)]) for modules with real prose."""
    out = []
    paths = [p for p in sorted(STDLIB.rglob("*.py"))
             if not {"test", "tests", "site-packages", "idlelib", "lib2to3", "__pycache__"} & set(p.parts)]
    for path in paths:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        doc = prose(ast.get_docstring(tree) or "")
        funcs = [(n.name, prose(ast.get_docstring(n) or "")) for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")]
        funcs = [(n, d) for n, d in funcs if len(d) > 80]
        if len(doc) + sum(len(d) for _, d in funcs) < 1000:
            continue
        out.append((".".join(path.relative_to(STDLIB).with_suffix("").parts), doc, funcs))
        if len(out) >= limit:
            break
    return out


def page_html(title: str, paragraphs: list[str], lang: str = "en") -> str:
    nav = "".join(f'<li><a href="/{w}">{w.title()}</a></li>' for w in ("home", "docs", "blog", "about", "contact"))
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs if p.strip())
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f'<body><header><nav><ul>{nav}</ul></nav></header><main><article><h1>{escape(title)}</h1>\n{body}\n'
            f'</article></main><footer><p>Copyright 2024 Example Docs. All rights reserved.</p>'
            f'<p>This site uses cookies to improve your experience.</p></footer></body></html>')


def mutate(text: str, rng: random.Random, rate: float) -> str:
    words = text.split(" ")
    for _ in range(max(1, int(len(words) * rate))):
        i = rng.randrange(len(words))
        words[i] = rng.choice(["the", "a", "this", "new", "data", "value"])
    return " ".join(words)


PII_LINES = [
    "For questions about this page write to maria.lopez@gmail.com or call +1 212 555 0148.",
    "Support: support-team@company.co.uk, phone 020 7946 0958, office IP 81.2.69.160.",
    "Billing contact: j.smith@outlook.com, card on file 4111 1111 1111 1111.",
    "Server logs showed requests from 2001:4860:4860::8888 and 8.8.4.4 during the outage.",
    "Wire the refund to IBAN GB82 WEST 1234 5698 7654 32 and mail the receipt to accounts@example.org.",
    "如有问题请联系张先生，手机 13812345678，邮箱 zhang.wei@163.com。",
]

BOILERPLATE_PAGES = [
    ("Login", ["Please enable JavaScript to view this page.", "Sign in", "Forgot password?"]),
    ("Lorem", ["Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt."]),
    ("Links", ["Home | News | Sports | Weather | Contact | Privacy | Terms of use | Cookie policy"]),
]


def warc_record(rtype: str, url: str | None, payload: bytes, content_type: str) -> bytes:
    rid = uuid.uuid5(uuid.NAMESPACE_URL, f"{rtype}:{url}:{hashlib.sha1(payload).hexdigest()}")
    headers = [f"WARC-Type: {rtype}", f"WARC-Record-ID: <urn:uuid:{rid}>", "WARC-Date: 2024-05-01T12:00:00Z"]
    if url:
        headers.append(f"WARC-Target-URI: {url}")
    headers += [f"Content-Type: {content_type}", f"Content-Length: {len(payload)}"]
    raw = ("WARC/1.0\r\n" + "\r\n".join(headers) + "\r\n\r\n").encode() + payload + b"\r\n\r\n"
    return gzip.compress(raw, mtime=0)


def http_response(body: bytes, mime: str, status: str = "200 OK") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {mime}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def build_web(out: Path, rng: random.Random) -> int:
    out.mkdir(parents=True, exist_ok=True)
    records: list[bytes] = []
    modules = stdlib_modules(10_000)
    modules = modules[: len(modules) * 2 // 3]
    for i, (name, doc, funcs) in enumerate(modules):
        paras = [doc] + [d for _, d in funcs[:12]]
        if i % 17 == 3:
            paras.insert(1, PII_LINES[i % len(PII_LINES)])
        url = f"https://docs.example.net/python/{name}.html"
        html = page_html(f"The {name} module", paras).encode()
        records.append(warc_record("response", url, http_response(html, "text/html; charset=utf-8"),
                                   "application/http; msgtype=response"))
        if i % 23 == 5:  # an exact copy under another URL
            records.append(warc_record("response", url.replace("docs.", "mirror."),
                                       http_response(html, "text/html; charset=utf-8"),
                                       "application/http; msgtype=response"))
        if i % 19 == 7:  # a near copy: a few words changed
            near = page_html(f"The {name} module", [mutate(p, rng, 0.02) for p in paras]).encode()
            records.append(warc_record("response", url.replace(".html", "-copy.html"),
                                       http_response(near, "text/html; charset=utf-8"),
                                       "application/http; msgtype=response"))
    for title, paras in BOILERPLATE_PAGES:
        records.append(warc_record("response", f"https://spam.example.com/{title.lower()}",
                                   http_response(page_html(title, paras).encode(), "text/html"),
                                   "application/http; msgtype=response"))
    for path in sorted(ZH_DIR.glob("*.txt")):
        paras = path.read_text(encoding="utf-8").split("\n\n")
        if path.stem == "modern-data":
            paras.insert(2, PII_LINES[-1])
        html = page_html(paras[0][:12], paras, lang="zh")
        charset = "gb18030" if path.stem == "tangshi" else "utf-8"
        body = html.replace('charset="utf-8"', f'charset="{charset}"').encode(charset)
        records.append(warc_record("response", f"https://zh.example.cn/{path.stem}.html",
                                   http_response(body, f"text/html; charset={charset}"),
                                   "application/http; msgtype=response"))
    records.append(warc_record("response", "https://docs.example.net/logo.png",
                               http_response(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "image/png"),
                               "application/http; msgtype=response"))
    records.append(warc_record("response", "https://docs.example.net/missing.html",
                               http_response(b"<html><body>Not found</body></html>", "text/html", "404 Not Found"),
                               "application/http; msgtype=response"))
    rng.shuffle(records)
    info = warc_record("warcinfo", None, b"software: corpuskit demo\r\n", "application/warc-fields")
    per_file = (len(records) + 3) // 4
    for k in range(4):
        chunk = records[k * per_file:(k + 1) * per_file]
        (out / f"crawl-{k:02d}.warc.gz").write_bytes(info + b"".join(chunk))
    return len(records)


def build_books(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    modules = stdlib_modules(10_000)
    modules = modules[len(modules) * 2 // 3:]
    n = 0
    for k in range(0, len(modules), 6):
        group = modules[k:k + 6]
        chapters = []
        for name, doc, funcs in group:
            chapters.append(f"Chapter: {name}\n\n{doc}\n\n" + "\n\n".join(d for _, d in funcs))
        (out / f"manual-{k // 6:02d}.txt").write_text("\n\n\n".join(chapters), encoding="utf-8")
        n += 1
    zh_books = {"classics": ["daodejing", "lunyu", "yueyanglouji"], "stories": ["taohuayuanji", "tangshi"],
                "modern": ["modern-data", "modern-city"]}
    for name, parts in zh_books.items():
        text = "\n\n".join((ZH_DIR / f"{p}.txt").read_text(encoding="utf-8") for p in parts)
        encoding = "gb18030" if name == "stories" else "utf-8"  # readers must detect it
        (out / f"zh-{name}.txt").write_bytes(text.encode(encoding))
        n += 1
    return n


def build_code(out: Path) -> int:
    repo = out / "pystd"
    (repo / "lib").mkdir(parents=True, exist_ok=True)
    files = [p for p in sorted(STDLIB.glob("*.py")) if p.stat().st_size < 60_000][:80]
    for p in files:
        shutil.copyfile(p, repo / "lib" / p.name)
    json_mod = STDLIB / "json"
    if json_mod.is_dir():
        shutil.copytree(json_mod, repo / "lib" / "json", ignore=shutil.ignore_patterns("__pycache__"),
                        dirs_exist_ok=True)
    (repo / "lib" / "copy_of_abc.py").write_bytes((STDLIB / "abc.py").read_bytes())  # exact duplicate file
    (repo / "node_modules" / "left-pad").mkdir(parents=True, exist_ok=True)
    (repo / "node_modules" / "left-pad" / "index.js").write_text("module.exports = function leftPad(s, n) {"
                                                                 " return String(s).padStart(n); };\n")
    (repo / "dist").mkdir(exist_ok=True)
    (repo / "dist" / "app.min.js").write_text("var a=1;" * 4000 + "\n")
    (repo / "lib" / "parser_tables.py").write_text("# Code generated by tablegen. DO NOT EDIT.\nTABLE = "
                                                   + repr(list(range(3000))) + "\n")
    (repo / "assets").mkdir(exist_ok=True)
    (repo / "assets" / "icon.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 8)
    (repo / "lib" / "settings_local.py").write_text(
        '"""Local settings for the deployment scripts."""\n\nAWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n'
        'AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\nADMIN_EMAIL = "ops@example.com"\n'
        'GITHUB_TOKEN = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"\n\n\ndef region():\n    return "eu-west-1"\n')
    return sum(1 for p in repo.rglob("*") if p.is_file())


def build(root: Path) -> dict[str, int]:
    rng = random.Random(SEED)
    if root.exists():
        shutil.rmtree(root)
    return {"web": build_web(root / "web", rng), "books": build_books(root / "books"),
            "code": build_code(root / "code")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default="demo-out")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.output)
    if out.exists() and not args.build_only:
        shutil.rmtree(out)  # the demo always starts afresh
    counts = build(out / "raw")
    print(f"demo corpus in {out / 'raw'}: {counts}")
    if args.build_only:
        return 0
    from .chain import ChainConfig, run_chain

    raw = out / "raw"
    run_chain(ChainConfig(
        output=out, workers=args.workers,
        inputs={"web": str(raw / "web"), "zh_web": str(raw / "web"), "books": str(raw / "books"),
                "code": str(raw / "code")},
        # a small corpus: a small vocabulary, small shards
        tokenizer="llama-bpe-32k", tokenizer_set=["sentencepiece.vocab_size=3000"], shard_tokens=100_000,
        valid_fraction=0.05, weights=["books=2", "code=0.5"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
