"""File extension / file name -> programming language, for the code-repository reader.

Names follow the benchmark corpus' ``metadata.lang`` (python, c, cpp, javascript, ...), lower case.
"""

from __future__ import annotations

import os

_BY_EXT: dict[str, tuple[str, ...]] = {
    "python": (".py", ".pyi", ".pyw"),
    "cython": (".pyx", ".pxd", ".pxi"),
    "c": (".c", ".h"),
    "cpp": (".cc", ".cpp", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".tcc", ".ipp", ".inl"),
    "csharp": (".cs",),
    "cuda": (".cu", ".cuh"),
    "objective-c": (".m",),
    "objective-cpp": (".mm",),
    "java": (".java",),
    "kotlin": (".kt", ".kts"),
    "scala": (".scala", ".sc"),
    "groovy": (".groovy", ".gradle"),
    "go": (".go",),
    "rust": (".rs",),
    "swift": (".swift",),
    "dart": (".dart",),
    "zig": (".zig",),
    "nim": (".nim",),
    "d": (".d",),
    "javascript": (".js", ".mjs", ".cjs", ".jsx"),
    "typescript": (".ts", ".tsx", ".mts", ".cts"),
    "vue": (".vue",),
    "svelte": (".svelte",),
    "php": (".php",),
    "ruby": (".rb", ".rake", ".gemspec"),
    "perl": (".pl", ".pm", ".t"),
    "lua": (".lua",),
    "shell": (".sh", ".bash", ".zsh", ".ksh"),
    "fish": (".fish",),
    "powershell": (".ps1", ".psm1", ".psd1"),
    "batchfile": (".bat", ".cmd"),
    "r": (".r",),
    "julia": (".jl",),
    "haskell": (".hs", ".lhs"),
    "ocaml": (".ml", ".mli"),
    "fsharp": (".fs", ".fsi", ".fsx"),
    "erlang": (".erl", ".hrl"),
    "elixir": (".ex", ".exs"),
    "clojure": (".clj", ".cljs", ".cljc", ".edn"),
    "common-lisp": (".lisp", ".lsp", ".cl"),
    "emacs-lisp": (".el",),
    "scheme": (".scm", ".ss"),
    "racket": (".rkt",),
    "fortran": (".f", ".f90", ".f95", ".f03", ".f08", ".for"),
    "pascal": (".pas", ".pp"),
    "ada": (".adb", ".ads"),
    "cobol": (".cob", ".cbl"),
    "vhdl": (".vhd", ".vhdl"),
    "verilog": (".v", ".sv", ".svh"),
    "assembly": (".s", ".asm"),
    "sql": (".sql",),
    "awk": (".awk",),
    "tcl": (".tcl",),
    "vim": (".vim",),
    "solidity": (".sol",),
    "glsl": (".glsl", ".vert", ".frag"),
    "protobuf": (".proto",),
    "thrift": (".thrift",),
    "graphql": (".graphql", ".gql"),
    "hcl": (".tf", ".hcl"),
    "nix": (".nix",),
    "starlark": (".bzl", ".bazel"),
    "cmake": (".cmake",),
    "devicetree": (".dts", ".dtsi"),
    "yacc": (".y", ".yy"),
    "lex": (".l", ".ll"),
    "linker-script": (".lds", ".ld"),
    "coccinelle": (".cocci",),
    "graphviz": (".dot", ".gv"),
    "html": (".html", ".htm", ".xhtml"),
    "css": (".css",),
    "scss": (".scss", ".sass"),
    "less": (".less",),
    "xml": (".xml", ".xsd", ".xsl", ".xslt"),
    "json": (".json",),
    "yaml": (".yaml", ".yml"),
    "toml": (".toml",),
    "ini": (".ini", ".cfg"),
    "markdown": (".md", ".markdown"),
    "restructuredtext": (".rst",),
    "tex": (".tex", ".sty", ".cls"),
    "jupyter": (".ipynb",),
}
#: case matters for these (``.S`` is preprocessed assembly, ``.R`` is R)
_CASE_EXT = {".S": "assembly", ".R": "r", ".C": "cpp", ".H": "cpp"}
_BY_NAME = {
    "Makefile": "makefile", "makefile": "makefile", "GNUmakefile": "makefile", "Kbuild": "makefile",
    "Dockerfile": "dockerfile", "Containerfile": "dockerfile", "CMakeLists.txt": "cmake",
    "Rakefile": "ruby", "Gemfile": "ruby", "Vagrantfile": "ruby", "Jenkinsfile": "groovy",
    "BUILD": "starlark", "WORKSPACE": "starlark", "Kconfig": "kconfig", "meson.build": "meson",
    "SConstruct": "python", "SConscript": "python",
}

EXT_LANG: dict[str, str] = {ext: lang for lang, exts in _BY_EXT.items() for ext in exts}


def language_of(name: str) -> str | None:
    """Language of a file from its base name, or None if the extension is unknown."""
    lang = _BY_NAME.get(name)
    if lang is not None:
        return lang
    if name.startswith("Makefile."):
        return "makefile"
    if name.startswith("Kconfig"):
        return "kconfig"
    if name.startswith("Dockerfile."):
        return "dockerfile"
    ext = os.path.splitext(name)[1]
    if not ext:
        return None
    return _CASE_EXT.get(ext) or EXT_LANG.get(ext.lower())
