"""Harmful and unwanted content by list: C4-style bad words per language, and URL/domain block-lists.

Bad-word lists are LDNOOBW's (``data/badwords``, CC BY 4.0), matched as whole words in languages
written with spaces and as substrings in Chinese and Japanese, where C4's allow-list idea (drop
entries that are everyday sub-words) is extended to the single characters that would otherwise
flag ordinary text (奶 in 牛奶 "milk", 成人 in 成人教育 "adult education", ...).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from ..errors import ConfigError
from .ruleset import RuleSet, RuleSetParams, rule_set
from .segments import np_bool, np_int

BUILTIN_LISTS = ("en", "zh", "ja")
#: languages written without spaces: words match anywhere, not only between word boundaries
NO_SPACE_LANGS = {"zh", "ja", "th"}
#: C4's allow-list (ja, zh) plus the single-character and common compound entries of the zh list
#: that are everyday words
DEFAULT_ALLOW = {
    "ja": ["sm", "グロ", "女の子"],
    "zh": ["性", "奶", "乳", "卵", "成人", "激情", "祖宗", "私服", "幹", "爛", "賤", "处女", "月经", "老二", "老母",
           "屁股", "白痴", "笨蛋", "撒尿", "精子", "交配", "包皮", "迷药", "后庭", "刚度", "柒", "鳩", "撚", "尻"],
}
_META = set(".^$*+?()[]{}|\\/-")


def _escape(word: str) -> str:
    return "".join(f"\\{c}" if c in _META else c for c in word)


@lru_cache(maxsize=None)
def builtin_words(lang: str) -> tuple[str, ...]:
    text = resources.files(__package__).joinpath(f"data/badwords/{lang}.txt").read_text("utf-8")
    return tuple(w.strip().lower() for w in text.splitlines() if w.strip())


def read_list(path: str) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"word/domain list {path!r} does not exist")
    return [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]


class BadWordsParams(RuleSetParams):
    #: drop documents with more than this many bad-word matches
    max_badwords: int = Field(0, ge=0)
    #: language assumed when there is no language column (or for null values)
    default_language: str = "en"
    #: extra lists: language -> file with one word or phrase per line
    word_files: dict[str, str] = Field(default_factory=dict)
    #: extra words per language
    extra_words: dict[str, list[str]] = Field(default_factory=dict)
    #: words never counted, per language (replaces the defaults for the languages given)
    allow: dict[str, list[str]] = Field(default_factory=dict)


@rule_set("badwords")
class BadWords(RuleSet):
    """C4/LDNOOBW bad words per language (whole words; substrings for zh/ja), with allow-lists."""

    Params = BadWordsParams
    signal_names = ("badwords",)

    def setup(self) -> None:
        p: BadWordsParams = self.params  # type: ignore[assignment]
        self.patterns: dict[str, str] = {}
        langs = set(BUILTIN_LISTS) | set(p.word_files) | set(p.extra_words)
        for lang in sorted(langs):
            words = set(builtin_words(lang)) if lang in BUILTIN_LISTS else set()
            if lang in p.word_files:
                words |= {w.lower() for w in read_list(p.word_files[lang])}
            words |= {w.lower() for w in p.extra_words.get(lang, [])}
            words -= set(p.allow.get(lang, DEFAULT_ALLOW.get(lang, [])))
            if not words:
                continue
            alt = "|".join(_escape(w) for w in sorted(words, key=len, reverse=True))
            if lang in NO_SPACE_LANGS:
                self.patterns[lang] = f"(?:{alt})"
            else:
                self.patterns[lang] = f"(?:^|[^\\pL\\pN_])(?:{alt})(?:$|[^\\pL\\pN_])"

    def signals(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        p: BadWordsParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        if p.lang_column in batch.schema.names:
            langs = pc.fill_null(batch.column(p.lang_column), p.default_language)
        else:
            langs = pa.array([p.default_language] * n, pa.string())
        counts = np.full(n, -1, np.int64)
        lower = None
        for lang in pc.unique(langs).to_pylist():
            rows = np.flatnonzero(np_bool(pc.equal(langs, lang)))
            pattern = self.patterns.get(lang)
            if pattern is None:
                self.count(f"no_list:{lang}", len(rows))
                continue
            if lower is None:
                lower = pc.utf8_lower(batch.column("text"))
            counts[rows] = np_int(pc.count_substring_regex(lower.take(pa.array(rows)), pattern))
            self.count(f"docs_with_badwords:{lang}", int((counts[rows] > 0).sum()))
        return {"badwords": pa.array(np.where(counts < 0, None, counts), pa.int64())}

    def rules(self, c: dict[str, np.ndarray], batch: pa.RecordBatch) -> list[tuple[str, np.ndarray]]:
        p: BadWordsParams = self.params  # type: ignore[assignment]
        return [("found", c["badwords"] > p.max_badwords)]


class UrlBlockParams(RuleSetParams):
    #: blocked domains; a domain also blocks its subdomains
    domains: list[str] = Field(default_factory=list)
    #: files with one blocked domain per line ('#' starts a comment)
    domain_files: list[str] = Field(default_factory=list)
    #: blocked if the URL contains any of these (case-insensitive)
    url_substrings: list[str] = Field(default_factory=list)
    #: where the URL is: a column of that name, else that key of the metadata JSON
    url_field: str = "url"


@rule_set("url_blocklist")
class UrlBlocklist(RuleSet):
    """Drop documents whose URL's domain (or a parent domain) is on a block-list, or that contain a blocked substring."""

    Params = UrlBlockParams
    signal_names = ("url_blocked",)

    def setup(self) -> None:
        p: UrlBlockParams = self.params  # type: ignore[assignment]
        domains = {d.strip().lower().lstrip(".") for d in p.domains}
        for f in p.domain_files:
            domains |= {d.lower().lstrip(".") for d in read_list(f)}
        if not domains and not p.url_substrings:
            raise ConfigError("url_blocklist: give 'domains', 'domain_files' or 'url_substrings'")
        self.domains = pa.array(sorted(domains), pa.string())
        self.substrings = [s.lower() for s in p.url_substrings]

    def urls(self, batch: pa.RecordBatch) -> pa.Array:
        p: UrlBlockParams = self.params  # type: ignore[assignment]
        if p.url_field in batch.schema.names:
            return batch.column(p.url_field).cast(pa.string())
        meta = pc.fill_null(batch.column("metadata"), "")
        found = pc.extract_regex(meta, f'"{p.url_field}":\\s*"(?P<url>[^"]*)"')
        return pc.struct_field(found, [0])

    def signals(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        urls = pc.utf8_lower(pc.fill_null(self.urls(batch), ""))
        host = pc.struct_field(pc.extract_regex(
            urls, r"^(?:[a-z][a-z0-9+.\-]*://)?(?:[^/@]*@)?(?P<host>[^/:?#]+)"), [0])
        host = pc.fill_null(host, "")
        blocked = np.zeros(batch.num_rows, bool)
        if len(self.domains):
            h = host
            for _ in range(8):  # the host, then each parent domain
                blocked |= np_bool(pc.is_in(h, value_set=self.domains))
                h = pc.replace_substring_regex(h, r"^[^.]*\.?", "")
        for s in self.substrings:
            blocked |= np_bool(pc.match_substring(urls, s))
        self.count("blocked", int(blocked.sum()))
        return {"url_blocked": pa.array(blocked)}

    def rules(self, c: dict[str, np.ndarray], batch: pa.RecordBatch) -> list[tuple[str, np.ndarray]]:
        return [("blocked", c["url_blocked"])]
