"""Real documents for the quality tests, made from what Python ships: the reference manual's
topics (prose), module docstrings (prose), module sources (code), plus Chinese text written here."""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import pathlib
import sysconfig

import pyarrow as pa

from corpuskit.document import make_batch

MODULES = ["argparse", "asyncio", "base64", "bisect", "calendar", "collections", "colorsys", "contextlib", "copy",
           "csv", "dataclasses", "datetime", "decimal", "difflib", "email", "enum", "fractions", "ftplib",
           "functools", "getopt", "gettext", "glob", "gzip", "hashlib", "heapq", "hmac", "html", "http", "imaplib",
           "inspect", "ipaddress", "itertools", "json", "locale", "logging", "lzma", "mailbox", "mimetypes",
           "numbers", "operator", "optparse", "os", "pathlib", "pickle", "pprint", "queue", "random", "re",
           "sched", "secrets", "selectors", "shelve", "shlex", "shutil", "signal", "smtplib", "socket", "sqlite3",
           "statistics", "string", "struct", "subprocess", "tarfile", "tempfile", "textwrap", "threading",
           "timeit", "tokenize", "traceback", "types", "unittest", "urllib", "uuid", "warnings", "wave",
           "weakref", "xml", "zipfile", "zlib"]

#: real Chinese prose (product reviews, a classical poem, a manual paragraph) written for the tests
CHINESE = [
    "这家酒店的位置非常好，离地铁站只有五分钟的路程。房间干净整洁，服务员的态度也很热情。"
    "早餐的品种比较丰富，有中式的也有西式的。唯一的缺点是隔音效果一般，晚上能听到走廊里的声音。"
    "总的来说，性价比很高，下次来上海出差还会选择这里。",
    "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n这是李白最有名的一首诗，几乎每个中国人都能背诵。"
    "诗人在一个安静的夜晚，看到洒在床前的月光，不禁想起了远方的家乡。",
    "要安装新的软件包，请先更新软件包列表，然后使用包管理器进行安装。如果安装过程中出现依赖问题，"
    "可以尝试修复损坏的依赖关系。安装完成后，建议重新启动相关的服务，以确保新的配置生效。"
    "更多的信息请参考系统的帮助文档。",
    "这本书我是在网上买的，送货速度很快，包装也很好。书的内容非常精彩，作者用平实的语言讲述了一个感人的故事。"
    "我一口气就读完了，读完以后还久久不能平静。推荐给所有喜欢文学的朋友。",
]


#: real-looking English articles (the kind every rule set keeps), written for the tests
ENGLISH = [
    "The town council met on Tuesday evening to discuss the new library. Members agreed that the old "
    "building was too small for the number of visitors it now receives.\n"
    "The proposal includes a reading room, a children's section and a small garden behind the building. "
    "Construction is expected to begin next spring and to last about eighteen months.\n"
    "Several residents spoke in favour of the plan, although some asked how it would be paid for. The "
    "treasurer explained that most of the money would come from a regional grant.\n"
    "The council will hold a public meeting next month, where people can see the drawings and ask "
    "questions of the architects. A final vote is planned for the end of the year.",
    "Bread has been made in much the same way for thousands of years. Flour, water, salt and yeast are "
    "mixed into a dough, which is left to rise before it is shaped and baked.\n"
    "The yeast feeds on the sugars in the flour and produces carbon dioxide, which is trapped by the "
    "gluten and makes the dough expand. A longer, cooler rise gives the bread more flavour.\n"
    "Bakers often keep a piece of old dough to start the next batch. This sourdough culture contains wild "
    "yeasts and bacteria that give the loaf its slightly sour taste and help it keep for longer.\n"
    "Whatever the method, the most important ingredient is patience. Good bread cannot be hurried, and "
    "the best loaves are usually the ones that were given the time they needed.",
]


def stdlib_documents(limit: int | None = None) -> list[dict]:
    """Prose and code documents from the running Python: a few hundred real texts (fresh copies)."""
    docs = [dict(d) for d in _stdlib_documents()]
    return docs[:limit] if limit else docs


@functools.lru_cache(maxsize=1)
def _stdlib_documents() -> tuple[dict, ...]:
    docs: list[dict] = []
    try:
        from pydoc_data.topics import topics
        for name in sorted(topics):
            docs.append({"id": f"topic/{name}", "text": topics[name], "kind": "prose"})
    except ImportError:  # pragma: no cover - some distributions strip pydoc_data
        pass
    stdlib = pathlib.Path(sysconfig.get_paths()["stdlib"])
    for name in MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError:  # pragma: no cover
            continue
        parts = [inspect.getdoc(mod) or ""]
        for attr in sorted(dir(mod)):
            obj = getattr(mod, attr, None)
            if attr.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            doc = inspect.getdoc(obj)
            if doc:
                parts.append(f"{attr}\n\n{doc}")
        text = "\n\n".join(p for p in parts if p)
        if text:
            docs.append({"id": f"doc/{name}", "text": text, "kind": "prose"})
        src = stdlib / f"{name}.py"
        if not src.exists():
            src = stdlib / name / "__init__.py"
        if src.exists():
            docs.append({"id": f"src/{name}", "text": src.read_text(encoding="utf-8", errors="replace")[:60_000],
                         "kind": "code"})
    # repetitive pages, the kind the repetition rules exist for
    for d in list(docs[:40]):
        paras = d["text"].split("\n\n")[:4]
        docs.append({"id": d["id"] + "/repeated", "text": "\n\n".join(paras * 4), "kind": "repeated"})
    return tuple(docs)


def batch_of(docs: list[dict], lang: str | None = None) -> pa.RecordBatch:
    meta = [json.dumps({"lang": lang}) if lang else None for _ in docs]
    return make_batch([d["id"] for d in docs], [d["text"] for d in docs], ["test"] * len(docs), meta)


def write_jsonl(path: pathlib.Path, docs: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"id": d["id"], "text": d["text"]}, ensure_ascii=False) + "\n")
