"""Name -> class registries for steps and readers, filled by ``@register_step`` / ``@register_reader``.

Built-in step modules live in the packages listed in ``STEP_PACKAGES``; they are imported on the
first lookup.  Step modules must import heavy libraries (fastText, presidio, ...) inside
``setup()``, so looking a step up stays cheap.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from typing import Any

STEP_PACKAGES = ["corpuskit.steps", "corpuskit.quality", "corpuskit.dedup", "corpuskit.pii"]
READER_PACKAGES = ["corpuskit.readers"]

_steps: dict[str, type] = {}
_readers: dict[str, type] = {}
_loaded: set[str] = set()


def register_step(name: str):
    def deco(cls):
        if name in _steps and _steps[name] is not cls:
            raise RuntimeError(f"step name {name!r} registered twice ({_steps[name]} and {cls})")
        cls.name = name
        _steps[name] = cls
        return cls
    return deco


def register_reader(name: str):
    def deco(cls):
        cls.name = name
        _readers[name] = cls
        return cls
    return deco


def _load(packages: list[str]) -> None:
    for pkg_name in packages:
        if pkg_name in _loaded:
            continue
        _loaded.add(pkg_name)
        try:
            pkg = importlib.import_module(pkg_name)
        except ModuleNotFoundError as e:
            if e.name == pkg_name:
                continue
            raise
        for mod in pkgutil.walk_packages(pkg.__path__, pkg_name + "."):
            importlib.import_module(mod.name)


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return f"{hint}; valid choices: {', '.join(sorted(choices))}"


def step_class(name: str) -> type:
    from .errors import ConfigError
    _load(STEP_PACKAGES)
    if name not in _steps:
        raise ConfigError(f"unknown step {name!r}{_suggest(name, list(_steps))}")
    return _steps[name]


def reader_class(name: str) -> type:
    from .errors import ConfigError
    _load(READER_PACKAGES)
    if name not in _readers:
        raise ConfigError(f"unknown reader type {name!r}{_suggest(name, list(_readers))}")
    return _readers[name]


def all_steps() -> dict[str, type]:
    _load(STEP_PACKAGES)
    return dict(sorted(_steps.items()))


def all_readers() -> dict[str, Any]:
    _load(READER_PACKAGES)
    return dict(sorted(_readers.items()))
