"""An exact, faster encoder for byte-level BPE ``tokenizer.json`` files, on tiktoken's BPE core.

tiktoken and ``tokenizers`` run BPE differently. tiktoken merges the adjacent pair whose
*concatenation* has the lowest rank. ``tokenizers`` merges the pair with the lowest *merge-list*
rank. With rank = merge index the two give the same ids on every input if the tokenizer file
passes three checks, made here when it is loaded:

1. each merge makes a token no other merge makes, and every multi-byte token is made by a merge;
2. "clean" tokens: every token, run alone through rank BPE, is built back using merge-list pairs
   only.

   Why this suffices: in rank BPE, the merges inside one output token's span are exactly the
   merges of that token's bytes run alone (merges never cross a final token's edge). So, by (2),
   rank BPE only ever merges merge-list pairs. Its candidates are a superset of the merge
   list's, with equal ranks. So both pick the same pair at every step and stop together. A
   piece that is a whole token, which tiktoken emits directly, is that token under the merge
   list too, by (2).

3. pre-tokenization: the same split regex. Each engine has its own Unicode tables: oniguruma in
   ``tokenizers``, Rust ``regex`` in tiktoken. So every character met in the text is checked
   once: its splits next to a set of context characters (letters, digits, punctuation, blanks,
   CJK, the apostrophe) are compared between ``tokenizers``' own pre-tokenizer and tiktoken's
   (ASCII must split alike, or the fast encoder is not used).
   A document holding a character the two engines split differently is encoded by
   ``tokenizers``.

   A document whose tokens do not add up to its UTF-8 length is encoded by ``tokenizers`` too.
   That happens when the regex leaves text unmatched, which tiktoken would skip.

A tokenizer file the checks do not cover is encoded by ``tokenizers``; ``FastBPE.load`` says why
(a normalizer, a prefix space, BPE options, a pre-tokenizer other than byte-level with a split
regex, added tokens that overlap), and the shard manifest records it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

#: bumped whenever the merge checks change, so remembered verdicts are redone
CHECK_VERSION = 1
#: the GPT-2 pattern ``ByteLevel(use_regex=True)`` splits with (tokenizers' byte_level.rs)
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
#: context characters each new character is probed next to: one of every class the byte-level
#: patterns tell apart (letters, digits, punctuation, the apostrophe of contractions, blanks,
#: CR/LF; then no-break space, Han, kana, Hangul, accented Latin, Arabic-Indic digit).  ASCII is
#: read alike by every Unicode table, so the wide contexts are checked against the ASCII ones
#: first, and one the engines disagree on is not used as a context.
ASCII_CONTEXTS = "a1!'s \n\r\tZ"
WIDE_CONTEXTS = "\u00a0\u4e2d\u3042\u30a2\ud55c\u00e9\u0661"


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character map, which byte-level token strings are written in."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def split_pattern(pre: dict[str, Any] | None) -> tuple[str | None, str]:
    """The regex a byte-level pre-tokenizer splits with, or (None, why not)."""
    if not pre:
        return None, "no pre-tokenizer"
    if pre.get("type") == "ByteLevel":
        if pre.get("add_prefix_space"):
            return None, "ByteLevel adds a prefix space"
        if not pre.get("use_regex", True):
            return None, "ByteLevel without a split regex"
        return GPT2_PATTERN, ""
    if pre.get("type") == "Sequence":
        steps = pre.get("pretokenizers") or []
        if len(steps) == 2 and steps[0].get("type") == "Split" and steps[1].get("type") == "ByteLevel":
            split, bl = steps
            pat = split.get("pattern") or {}
            if "Regex" not in pat:
                return None, "Split on a literal string"
            if split.get("behavior") != "Isolated" or split.get("invert"):
                return None, f"Split behaviour {split.get('behavior')!r}"
            if bl.get("add_prefix_space") or bl.get("use_regex", True):
                return None, "ByteLevel after Split adds a prefix space or splits again"
            return pat["Regex"], ""
        return None, "pre-tokenizer sequence other than Split + ByteLevel"
    return None, f"pre-tokenizer {pre.get('type')!r}"


def unclean_token(ranks: dict[bytes, int], pairs: set[tuple[bytes, bytes]]) -> bytes | None:
    """Check 2: a token that rank BPE, run on it alone, does not build back from merge-list pairs
    only (None: every token is clean).  Parts are ranks, pair ranks are updated next to each merge
    only, as tiktoken does."""
    by_rank = sorted(ranks, key=ranks.__getitem__)
    merges = {(ranks[a], ranks[b]) for a, b in pairs}
    none = len(by_rank)  # above every rank: "not a token"

    def pair(x: int, y: int) -> int:
        return ranks.get(by_rank[x] + by_rank[y], none)

    for t in by_rank:
        if len(t) < 3:  # two bytes: the one pair there is, and the merge that made the token
            continue
        parts = list(t)  # the rank of byte b is b
        pr = [pair(parts[i], parts[i + 1]) for i in range(len(parts) - 1)]
        while pr:
            best = min(pr)
            at = pr.index(best)
            if best == none or (parts[at], parts[at + 1]) not in merges:
                return t
            parts[at:at + 2] = [best]
            del pr[at]
            if at > 0:
                pr[at - 1] = pair(parts[at - 1], best)
            if at < len(pr):
                pr[at] = pair(best, parts[at + 1])
    return None


def merge_ranks(model: dict[str, Any], added_ids: set[int],
                known_clean: bool = False) -> tuple[dict[bytes, int], np.ndarray, str]:
    """tiktoken ranks (bytes 0-255, then merge products in merge order) and the rank -> id table,
    or an empty dict and the reason when checks 1-2 fail.  Added tokens are split out of the text
    before BPE, so their vocabulary entries are not BPE's.  ``known_clean``: check 2 passed on this
    very file before (it is the slow one, ~10 us per token)."""
    for key in ("dropout", "continuing_subword_prefix", "end_of_word_suffix"):
        if model.get(key):
            return {}, np.zeros(0), f"BPE option {key}={model[key]!r}"
    if model.get("byte_fallback"):
        return {}, np.zeros(0), "BPE option byte_fallback"
    vocab: dict[str, int] = model["vocab"]
    b2u = bytes_to_unicode()
    # byte-level character -> the byte's Latin-1 character; any other character below 256 is
    # deleted (so the length changes) and any above fails to encode: not a byte-level string
    table: dict[int, int | None] = {c: None for c in range(256)}
    table.update({ord(c): b for b, c in b2u.items()})

    def raw(s: str) -> bytes | None:
        try:
            out = s.translate(table).encode("latin-1")
        except UnicodeEncodeError:
            return None
        return out if len(out) == len(s) else None

    ranks: dict[bytes, int] = {}
    ids: list[int] = []
    for b in range(256):
        tid = vocab.get(b2u[b])
        if tid is None:
            return {}, np.zeros(0), f"byte {b:#04x} ({b2u[b]!r}) is not in the vocabulary"
        ranks[bytes([b])] = b
        ids.append(tid)
    pairs: set[tuple[bytes, bytes]] = set()
    for m in model.get("merges") or []:
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        ra, rb = raw(a), raw(b)
        if ra is None or rb is None or a + b not in vocab:
            return {}, np.zeros(0), f"merge {a!r} + {b!r} is not byte-level or its token is not in the vocabulary"
        t = ra + rb
        if t in ranks:
            return {}, np.zeros(0), f"token {a + b!r} is made by two merges"
        ranks[t] = len(ranks)
        ids.append(vocab[a + b])
        pairs.add((ra, rb))
    for s, tid in vocab.items():
        if tid in added_ids:
            continue
        r = raw(s)
        if r is None or r not in ranks:
            return {}, np.zeros(0), f"token {s!r} is not a byte and no merge makes it"
    t = None if known_clean else unclean_token(ranks, pairs)
    if t is not None:
        return {}, np.zeros(0), (f"token {t!r}: ranked BPE would build it from a pair that is not a merge, "
                                     f"so tiktoken's ranks cannot reproduce the merge list")
    return ranks, np.asarray(ids, dtype=np.uint32), ""


def _cache_dir() -> Path:
    """Where passed merge checks are remembered, by the tokenizer file's sha256."""
    base = os.environ.get("CORPUSKIT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "corpuskit")
    return Path(base) / "bpe-checks"


class FastBPE:
    """tiktoken for the bulk, ``tokenizers`` for whatever the checks above do not cover.

    ``encode`` gives the same ids as ``hf.encode_batch_fast(texts, add_special_tokens=False)``."""

    def __init__(self, hf: Any, pattern: str, ranks: dict[bytes, int], rank_ids: np.ndarray,
                 added: dict[str, int], name: str = "corpuskit"):
        import tiktoken

        self._hf = hf
        self._pretok = hf.pre_tokenizer
        self.pattern = pattern
        specials = {content: len(ranks) + k for k, content in enumerate(sorted(added))}
        self._enc = tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=specials)
        self._allowed = frozenset(specials)
        self._ids = np.concatenate([rank_ids, np.asarray([added[c] for c in sorted(added)], dtype=np.uint32)])
        self._nbytes = np.asarray([len(t) for t in sorted(ranks, key=ranks.__getitem__)]
                                  + [len(c.encode()) for c in sorted(added)], dtype=np.int64)
        self._lock = threading.Lock()
        self._checked: set[str] = set()
        self._bad: set[str] = set()
        self._contexts = ASCII_CONTEXTS
        self._probe_chars({chr(c) for c in range(128)} | set(WIDE_CONTEXTS))
        if any(c.isascii() for c in self._bad):
            raise ValueError(f"the two regex engines split ASCII text differently "
                             f"({''.join(sorted(c for c in self._bad if c.isascii()))!r})")
        self._contexts = ASCII_CONTEXTS + "".join(c for c in WIDE_CONTEXTS if c not in self._bad)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def load(cls, file: str | Path, hf: Any) -> tuple["FastBPE | None", str]:
        """The fast encoder for this tokenizer file, or (None, why it cannot be used)."""
        try:
            import tiktoken  # noqa: F401
        except ImportError:
            return None, "tiktoken is not installed"
        data = Path(file).read_bytes()
        spec = json.loads(data)
        model = spec.get("model") or {}
        if model.get("type") != "BPE":
            return None, f"model {model.get('type')!r}, not BPE"
        if spec.get("normalizer"):
            return None, f"normalizer {spec['normalizer'].get('type')!r}"
        pattern, why = split_pattern(spec.get("pre_tokenizer"))
        if pattern is None:
            return None, why
        added: dict[str, int] = {}
        for a in spec.get("added_tokens") or []:
            if a.get("lstrip") or a.get("rstrip") or a.get("single_word"):
                return None, f"added token {a['content']!r} strips or matches single words"
            added[a["content"]] = int(a["id"])
        contents = sorted(added, key=len)
        for i, a in enumerate(contents):
            if not a or any(a in b for b in contents[i + 1:]):
                return None, f"added token {a!r} is empty or inside another added token"
        mark = _cache_dir() / f"{hashlib.sha256(data).hexdigest()}.{CHECK_VERSION}.clean"
        known = mark.is_file()
        ranks, ids, why = merge_ranks(model, set(added.values()), known_clean=known)
        if not ranks:
            return None, why
        if not known:
            try:
                mark.parent.mkdir(parents=True, exist_ok=True)
                mark.touch()
            except OSError:
                pass
        try:
            return cls(hf, pattern, ranks, ids, added), ""
        except Exception as e:  # a regex tiktoken's engine does not accept
            return None, f"tiktoken cannot take this tokenizer: {e}"

    # -- check 3: characters -------------------------------------------------------------------
    def _probe_chars(self, chars: set[str]) -> None:
        """Split each character next to every context character (both orders, alone, doubled and
        after an apostrophe) with both engines; characters that split differently go to ``_bad``."""
        import tiktoken

        chars = sorted(chars)
        probes: list[str] = []
        for c in chars:
            probes += [x + c for x in self._contexts] + [c + x for x in self._contexts] + [c, c + c, "'" + c + "a"]
        per = 2 * len(self._contexts) + 3
        # tiktoken: a vocabulary of every probe string; a probe is one piece iff it comes out as
        # its own single token (a piece equal to a token is emitted whole)
        ranks = {bytes([b]): b for b in range(256)}
        for ch in sorted(set("".join(probes))):
            raw = ch.encode()
            for k in range(2, len(raw) + 1):
                ranks.setdefault(raw[:k], len(ranks))
        want = []
        for p in probes:
            want.append(ranks.setdefault(p.encode(), len(ranks)))
        enc = tiktoken.Encoding("corpuskit-probe", pat_str=self.pattern, mergeable_ranks=ranks, special_tokens={})
        bad = set()
        for i, c in enumerate(chars):
            for j in range(i * per, (i + 1) * per):
                p = probes[j]
                hf_one = len(self._pretok.pre_tokenize_str(p)) == 1
                tt_one = enc.encode_ordinary(p) == [want[j]]
                if hf_one != tt_one:
                    bad.add(c)
                    break
        self._bad |= bad  # before _checked: a thread reading both never sees an unchecked "checked"
        self._checked.update(chars)

    def _unsafe_docs(self, texts: list[str]) -> list[int]:
        """Indices of documents holding a character the two engines split differently."""
        wide = [i for i, t in enumerate(texts) if not t.isascii()]
        if not wide:
            return []
        seen: set[str] = set()
        for i in wide:
            seen.update(texts[i])
        new = seen - self._checked
        if new:
            with self._lock:
                new = seen - self._checked
                if new:
                    self._probe_chars(new)
        if not self._bad or self._bad.isdisjoint(seen):
            return []
        return [i for i in wide if not self._bad.isdisjoint(texts[i])]

    # -- encoding --------------------------------------------------------------------------------
    def encode(self, texts: list[str], nbytes: np.ndarray | None = None,
               fallbacks: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Flat uint32 ids of every document and each document's length in tokens; the number
        of documents handed to ``tokenizers`` is appended to ``fallbacks`` (one list per task)."""
        n = len(texts)
        unsafe = set(self._unsafe_docs(texts))
        enc, allowed = self._enc.encode_to_numpy, self._allowed
        parts = [enc(t, allowed_special=allowed) if i not in unsafe else None for i, t in enumerate(texts)]
        lens = np.fromiter((0 if p is None else len(p) for p in parts), dtype=np.int64, count=n)
        flat = np.concatenate([p for p in parts if p is not None]) if n - len(unsafe) else np.zeros(0, np.uint32)
        # tokens must add up to each document's bytes: regex gaps would be skipped by tiktoken
        if nbytes is None:
            nbytes = np.fromiter((len(t.encode("utf-8", "surrogatepass")) for t in texts), dtype=np.int64, count=n)
        covered = np.zeros(n, dtype=np.int64)
        if len(flat):
            starts = np.cumsum(lens) - lens
            has = lens > 0
            covered[has] = np.add.reduceat(self._nbytes[flat], starts[has])
        short = np.nonzero(covered != np.asarray(nbytes, dtype=np.int64))[0]
        redo = sorted(unsafe | set(short.tolist()))
        if not redo:
            return self._ids[flat], lens
        if fallbacks is not None:
            fallbacks.append(len(redo))
        again = self._hf.encode_batch_fast([texts[i] for i in redo], add_special_tokens=False)
        for i, e in zip(redo, again):
            parts[i] = np.asarray(e.ids, dtype=np.uint32)
        lens = np.fromiter((len(p) for p in parts), dtype=np.int64, count=n)
        # ids: fast parts through the rank -> id table, redone parts as they are
        redone = set(redo)
        out = [p if i in redone else self._ids[p] for i, p in enumerate(parts)]
        return (np.concatenate(out) if out else np.zeros(0, np.uint32)), lens
