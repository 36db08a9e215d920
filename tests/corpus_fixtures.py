"""Real text for tests, taken from the Python standard library that every machine running the tests has."""

from __future__ import annotations

import ast
import sysconfig
from functools import lru_cache
from pathlib import Path

STDLIB = Path(sysconfig.get_paths()["stdlib"])


@lru_cache(maxsize=None)
def _all_docstrings() -> tuple[tuple[str, str], ...]:
    out = []
    for path in sorted(STDLIB.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) >= 200:
                    name = getattr(node, "name", "module")
                    out.append((f"{path.stem}.{name}", doc))
    return tuple(out)


def stdlib_docs(n: int) -> list[dict]:
    """``n`` documents (id, text, source, url) from stdlib docstrings of at least 200 characters."""
    docs = _all_docstrings()[:n]
    return [{"id": f"doc-{i:05d}", "text": text, "source": "stdlib-doc", "url": f"https://docs.python.org/3/{name}"}
            for i, (name, text) in enumerate(docs)]


def stdlib_sources(n: int, max_bytes: int = 200_000) -> list[tuple[str, str]]:
    """``n`` real Python source files as (relative path, text)."""
    out = []
    for path in sorted(STDLIB.glob("*.py")):
        if path.stat().st_size > max_bytes:
            continue
        out.append((path.name, path.read_text(encoding="utf-8", errors="replace")))
        if len(out) >= n:
            break
    return out
