"""presidio's answers at corpus speed: a cheap pre-screen, then presidio only on windows around candidates.

For every recognizer there is a *trigger*: a regex that every one of its matches must contain
(``@`` for e-mail, thirteen digits in card groups for credit cards, ``K`` digits joined by phone
punctuation for phone numbers, ...).  A batch is screened with pyarrow's RE2 kernels (documents
without a trigger cost nothing more); in the rest, each trigger opens a window and the recognizer
runs on the window alone.  Windows are cut where presidio's own scan cannot cross, so the results
are the very entities ``AnalyzerEngine.analyze`` returns on the whole document:

- ``bounded`` (credit card, IBAN, SSN, crypto, Chinese IDs): the patterns have a maximum length
  ``L`` and short look-arounds; a window reaching ``margin >= 2L + look-around`` past every trigger
  contains every match near it and sees the same context, and no match can start near its edges.
- ``token`` (e-mail, IP, URL): the patterns only consume a known set of characters (never
  whitespace), so the window is the run of such characters around the trigger, with the
  character bounding it on each side as context.
- ``segment`` (phone numbers): phonenumbers' matcher scans "chains" of digits, phone punctuation,
  ``+``/brackets and extension labels.  A *breaker* is a character no chain can contain; the
  matcher's scan restarts at every breaker and only ever looks one character past a chain, so a
  breaker-delimited segment analysed with its two breakers (reduced to the class the matcher
  checks: Latin letter, currency/percent, other) gives the same numbers as the whole document.
  Segments repeat a lot ("(2019)", " 1.95.0 "), so their results are memoised, and a region
  only runs on a segment holding as many digits as that region's shortest number.

presidio's per-call overhead is paid once per batch, not once per window: the windows of one
recognizer are joined with newlines (which no pattern crosses, and which look like the whitespace
or the text edge every window already ends on) and analysed in one call.

After the windows, the document-level steps of ``AnalyzerEngine.analyze`` are applied unchanged
(score threshold, then ``EntityRecognizer.remove_duplicates``).  One documented difference:
phonenumbers stops after 65,535 failed candidates per document and region; per-segment analysis has
no such budget, so on enormous numeric documents the fast path can find numbers presidio gives up on.
"""

from __future__ import annotations

import bisect
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import regex

from .phone import _normalize as _normalize_digits
from .phone import fast_phone_recognizer, phone_digit_floors, record_candidates, region_check

#: characters no match of a token-policy recognizer can contain: the complement of what its
#: patterns consume (e-mail: presidio's local-part class, '@', domain characters; IP: hex digits,
#: ':', '.', '/', '%' and the zone-id letters with their (?i) folds; URL: anything but whitespace)
#: (``regex`` module syntax: presidio's patterns run on it, so ``\\w``, ``\\d``, ``\\s`` mean the same here)
_TOKEN_BOUNDARY = {
    "EmailRecognizer": r"[^!#$%&'*+\-/=?^_`{|}~\w.@]",
    "IpRecognizer": r"[^\dA-Za-z:.%/\u0130\u0131\u017f\u212a]",
    "UrlRecognizer": r"\s",
}
_BACK = 1024  # characters searched backwards for a boundary before widening to the whole prefix
_JOIN = "\n"
_CHUNK = 1 << 20  # characters per joined call of a pattern recognizer
#: characters per joined call of the phone recognizer: keeps phonenumbers' 65,535-try budget out of
#: reach (a candidate costs at most 13 tries per character)
_PHONE_CHUNK = 2048


@dataclass
class Detector:
    """One presidio recognizer with its trigger and the window rule that keeps it exact."""

    recognizer: Any
    entities: list[str]
    policy: str  # bounded | token | full
    trigger: Any = None  # compiled ``regex`` pattern
    trigger_re2: str | None = None
    margin: int = 0
    #: token policy: a character class no match can contain (windows stop at one, keeping it as context)
    boundary: str = r"\s"
    #: bounded triggers made of ASCII digits and single ' ', '-' or '.' separators: the fewest digits
    #: a match holds (0: not such a trigger); see ``FastAnalyzer.prescreen``
    segment_digits: int = 0

    def __post_init__(self) -> None:
        self._before = regex.compile(r"(?s).*" + self.boundary)
        self._after = regex.compile(self.boundary)

    def windows(self, text: str, spans: Sequence[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
        """Disjoint ``(start, end)`` windows of ``text`` holding every match of the recognizer.

        ``spans``: the trigger's non-overlapping leftmost matches (from RE2 over the batch); found
        here with Python's ``re`` when not given.
        """
        n = len(text)
        out: list[tuple[int, int]] = []
        bounded = self.policy == "bounded"
        for s, e in (spans if spans is not None else trigger_spans(self.trigger, text)):
            if out and not bounded and e <= out[-1][1]:
                continue  # inside a token window already (a trigger may open on a boundary character)
            if bounded:
                a, b = max(0, s - self.margin), min(n, e + self.margin)
            else:  # token: the run of characters a match can hold, with the bounding character as context
                a = max(_last_match_end(self._before, text, s) - 1, 0)
                w = self._after.search(text, e)
                b = n if w is None else w.end()
            if out and a <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], b))
            else:
                out.append((a, b))
        return out


def trigger_spans(rx: Any, text: str) -> list[tuple[int, int]]:
    """Non-overlapping leftmost matches of a compiled ``re``/``regex`` pattern."""
    return [m.span() for m in rx.finditer(text)]


def _byte_rows(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, data)`` of a large_string array as numpy views."""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None \
        else np.zeros(0, dtype=np.uint8)
    return offsets, data


class BatchBytes:
    """What every detector's span extraction needs of one batch, computed once: byte offsets,
    UTF-8 continuation bytes (to turn byte offsets into character offsets) and the rows that
    already hold the sentinel bytes 0x00/0x01."""

    def __init__(self, arr: pa.Array):
        self.arr = arr
        self.offsets, buf = _byte_rows(arr)
        buf = buf[:self.offsets[-1]]
        self.cont = np.flatnonzero((buf & 0xC0) == 0x80)
        self.lengths = pc.binary_length(arr)
        own = np.flatnonzero(buf[self.offsets[0]:] <= 1) + self.offsets[0]
        self.dirty = np.zeros(len(arr), dtype=bool)
        self.dirty[np.searchsorted(self.offsets, own, side="right") - 1] = True
        self.char0 = self.offsets[:-1] - np.searchsorted(self.cont, self.offsets[:-1])

    def chars(self, byte_pos: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Character offsets within their rows of original byte positions."""
        return byte_pos - np.searchsorted(self.cont, byte_pos) - self.char0[rows]


def trigger_spans_batch(texts: pa.Array | BatchBytes, pattern: str) -> tuple[np.ndarray, dict[int, list]]:
    """Rows matching an RE2 ``pattern`` and their match spans (in characters), with no Python loop per match.

    One RE2 pass wraps every non-overlapping leftmost match in ``\\x00 ... \\x01``
    (``replace_substring_regex``): rows that grew hold a match; numpy then finds those bytes in
    the result's buffer and maps them back to character offsets of the original.  Rows that
    already held either byte get no spans here (the caller scans them with Python's ``re``).
    """
    bb = texts if isinstance(texts, BatchBytes) else BatchBytes(texts)
    hit, rows, b_start, b_end = trigger_bytes_batch(bb, pattern)
    return hit, _spans_by_row(bb, hit, rows, b_start, b_end)


def _spans_by_row(bb: BatchBytes, hit: np.ndarray, rows: np.ndarray, b_start: np.ndarray,
                  b_end: np.ndarray) -> dict[int, list]:
    """``{row: [(start, end), ...]}`` in characters, for the clean rows that hit."""
    spans: dict[int, list] = {}
    if not rows.size:
        return spans
    starts, ends = bb.chars(b_start, rows), bb.chars(b_end, rows)
    bounds = np.searchsorted(rows, np.arange(len(bb.arr) + 1), side="left").tolist()
    pairs = list(zip(starts.tolist(), ends.tolist()))
    for row in np.flatnonzero(hit & ~bb.dirty).tolist():
        spans[row] = pairs[bounds[row]:bounds[row + 1]]
    return spans


def trigger_bytes_batch(bb: BatchBytes, pattern: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(hit per row, row, start, end)`` of every match of ``pattern`` in the clean rows, as byte
    positions in the batch's buffer (rows ascending, matches in text order)."""
    n = len(bb.arr)
    empty = np.zeros(0, dtype=np.int64)
    marked = pc.replace_substring_regex(bb.arr, pattern, "\x00\\0\x01")
    hit = np.asarray(pc.not_equal(pc.binary_length(marked), bb.lengths).fill_null(False)
                     .to_numpy(zero_copy_only=False), dtype=bool)
    if not hit.any():
        return hit, empty, empty, empty
    m_off, m_buf = _byte_rows(marked)
    pos = np.flatnonzero(m_buf[:m_off[-1]] <= 1)
    rows = np.searchsorted(m_off, pos, side="right") - 1
    keep = ~bb.dirty[rows]
    pos, rows = pos[keep], rows[keep]
    is_open = m_buf[pos] == 0
    # sentinels alternate open/close in a clean row: the i-th sentinel byte of a row has i before it
    first = np.searchsorted(rows, np.arange(n + 1), side="left")
    rank = np.arange(pos.size) - first[rows]
    orig = pos - m_off[rows] - rank + bb.offsets[rows]  # byte position in the original text
    return hit, rows[is_open], orig[is_open], orig[~is_open]


def _match(texts: pa.Array, pattern: str) -> np.ndarray:
    """Per row: does RE2 ``pattern`` match somewhere (nulls: no)."""
    return np.asarray(pc.match_substring_regex(texts, pattern).fill_null(False).to_numpy(zero_copy_only=False),
                      dtype=bool)


def _last_match_end(rx: Any, text: str, pos: int) -> int:
    """End of ``rx`` (a ``.*X`` pattern) matched on ``text[:pos]``: one past the last X, 0 if none."""
    lo = max(0, pos - _BACK)
    m = rx.match(text, lo, pos)
    if m is None and lo > 0:
        m = rx.match(text, 0, pos)
    return 0 if m is None else m.end()


def analyze_joined(recognizer: Any, entities: list[str], pieces: list[str], chunk: int = _CHUNK) -> list[list]:
    """Run ``recognizer`` once per chunk of newline-joined ``pieces``; results per piece, offsets in the piece.

    A result crossing a join (impossible for the window rules here) is returned as ``None`` in its
    piece's list, so the caller can fall back to the whole document.
    """
    out: list[list] = [[] for _ in pieces]
    i = 0
    while i < len(pieces):
        starts: list[int] = []
        parts: list[str] = []
        size = 0
        j = i
        while j < len(pieces) and (not parts or size + len(pieces[j]) <= chunk):
            starts.append(size)
            parts.append(pieces[j])
            size += len(pieces[j]) + len(_JOIN)
            j += 1
        joined = _JOIN.join(parts)
        for r in recognizer.analyze(text=joined, entities=entities, nlp_artifacts=None) or ():
            k = bisect.bisect_right(starts, r.start) - 1
            base = starts[k]
            if r.end > base + len(parts[k]):
                out[i + k].append(None)
                continue
            r.start -= base
            r.end -= base
            out[i + k].append(r)
        i = j
    return out


class PhoneSegments:
    """The ``segment`` rule for presidio's ``PhoneRecognizer`` (see the module docstring), memoised."""

    policy = "segment"

    def __init__(self, recognizer: Any, cache_size: int = 1 << 18):
        from phonenumbers import phonenumbermatcher as pm
        from phonenumbers import phonenumberutil as pu

        self.recognizer = recognizer
        self.entities = list(recognizer.supported_entities)
        self.cache: dict[tuple[str, str, str], tuple] = {}
        self.cache_size = cache_size
        self.hits = self.misses = self.parsed = 0
        flags = pu._REGEX_FLAGS  # UNICODE | IGNORECASE, as the matcher compiles its patterns
        punct = _char_set("[" + pu._VALID_PUNCTUATION + "]", flags)
        lead = _char_set("[" + pm._LEAD_CLASS_CHARS + "]", flags)
        ext = pu._EXTN_PATTERNS_FOR_MATCHING.replace("\\d", "").replace("\\t", "\t").replace("\\", "")
        ext_chars = _char_set("[" + "".join(re.escape(c) for c in sorted(set(ext))) + "]", flags)
        chain = _class(punct | lead | ext_chars)
        p_cls = _class(punct)
        # fewest digits a number can have, per default region, without and with a leading '+'
        self.k_region, self.k_plus = phone_digit_floors(recognizer.supported_regions, recognizer.leniency)
        self.k = min(min(self.k_region.values(), default=self.k_plus), self.k_plus)
        #: the digit-group triggers' separators are phone punctuation (see ``FastAnalyzer.prescreen``)
        self.separators_ok = {" ", "-", "."} <= punct
        # three 'x' separators make a "vanity" number whose letters count as digits: never skip those
        alpha = r"[xX][%s\d]*?[xX][%s\d]*?[xX]" % (p_cls, p_cls)
        core = r"\d(?:[%s]{0,4}\d){%d}|%s" % (p_cls, self.k - 1, alpha)
        # the trigger is the whole breaker-delimited segment around a run of K digits (or 'xxx')
        self.trigger = re.compile(r"[\d%s]*(?:%s)[\d%s]*" % (chain, core, chain), flags)
        p2 = _class(punct, re2=True)
        c2 = _class(punct | lead | ext_chars, re2=True)
        core2 = r"\p{Nd}(?:[%s]{0,4}\p{Nd}){%d}|[xX][%s\p{Nd}]*?[xX][%s\p{Nd}]*?[xX]" % (p2, self.k - 1, p2, p2)
        self.trigger_re2 = r"[\p{Nd}%s]*(?:%s)[\p{Nd}%s]*" % (c2, core2, c2)
        self.alpha = re.compile(alpha, flags)
        self.checks = {r: region_check(r, recognizer.leniency) for r in recognizer.supported_regions}
        self.run = re.compile(r"\d(?:[%s]{0,4}\d)*" % p_cls, flags)  # digits a number can span
        self._by_regions: dict[tuple[str, ...], Any] = {}
        #: per digit run (as written) and '+': bit i set when region i could match a number in it
        self._run_masks: dict[tuple[str, bool], int] = {}
        self._mask_regions: dict[int, tuple[str, ...]] = {}
        self.breaker = re.compile(r"[^\d%s]" % chain, flags)
        # from the first digit or lead character to the last digit
        self.core = re.compile(r"[\d%s](?:.*\d)?" % _class(lead), flags | re.DOTALL)
        self._classes: dict[str, str] = {}
        self.is_latin = pm.PhoneNumberMatcher._is_latin_letter
        self.is_bad_punct = pm.PhoneNumberMatcher._is_invalid_punctuation_symbol
        # stand-ins for the context characters: breakers of each class the matcher distinguishes
        self.reps = {"L": _first_breaker("bcdfghjklmpqruvwyz", self.breaker),
                     "P": _first_breaker("$€£¥%", self.breaker), "O": _first_breaker("!\"'?|\n", self.breaker),
                     "N": ""}

    def _regions_for(self, core: str) -> tuple[str, ...]:
        """The default regions whose shortest number fits in ``core``.

        ``PhoneRecognizer.analyze`` unions per-region matches and drops contained duplicates; a
        region that cannot match contributes nothing, so leaving it out changes no result.
        """
        if self.alpha.search(core):
            return tuple(self.k_region)
        plus = "+" in core or "\uff0b" in core
        mask = 0
        memo = self._run_masks
        for m in self.run.finditer(core):
            key = (m.group(), plus)
            bits = memo.get(key)
            if bits is None:
                if len(memo) >= 1 << 17:
                    memo.clear()
                digits = _normalize_digits(key[0])
                bits = memo[key] = sum(1 << i for i, check in enumerate(self.checks.values())
                                       if check.run_may_match(digits, plus))
            mask |= bits
        return self._regions_by_mask(mask)

    def _regions_by_mask(self, mask: int) -> tuple[str, ...]:
        found = self._mask_regions.get(mask)
        if found is None:
            found = self._mask_regions[mask] = tuple(r for i, r in enumerate(self.checks) if mask >> i & 1)
        return found

    def _recognizer_for(self, regions: tuple[str, ...]) -> Any:
        rec = self._by_regions.get(regions)
        if rec is None:
            rec = fast_phone_recognizer(self.recognizer, regions)
            self._by_regions[regions] = rec
        return rec

    def _cls(self, ch: str) -> str:
        c = self._classes.get(ch)
        if c is None:
            c = "L" if self.is_latin(ch) else "P" if self.is_bad_punct(ch) else "O"
            self._classes[ch] = c
        return c

    def segments(self, text: str, spans: Sequence[Sequence[int]] | None = None
                 ) -> list[tuple[int, tuple[str, str, str]]]:
        """``(start, key)`` per breaker-delimited segment holding a trigger; key = (before, core, after).

        ``spans``: the segments (``self.trigger`` matches, from RE2 over the batch). The core runs
        from the segment's first digit or lead character (no candidate can start earlier) to its
        last digit, plus a following '#' (a candidate ends on a digit or an extension's '#');
        ``before``/``after`` are the classes of the characters around it, all the matcher looks at
        there.  Trimming this way lets "ts 2019," and "(in 2019)" share a cache entry.
        """
        out = []
        n = len(text)
        known = self._classes
        cls = self._cls
        search = self.core.search
        for sa, sb in (spans if spans is not None else trigger_spans(self.trigger, text)):
            m = search(text, sa, sb)
            if m is None:
                continue
            a, b = m.span()
            if not text[b - 1].isdigit():  # an 'xxx' trigger with no digit: no candidate can start
                continue
            if b < sb and text[b] == "#":
                b += 1
            before = (known.get(text[a - 1]) or cls(text[a - 1])) if a > 0 else "N"
            after = (known.get(text[b]) or cls(text[b])) if b < n else "N"
            out.append((a, (before, text[a:b], after)))
        return out

    def resolve(self, keys: Sequence[tuple[str, str, str]]) -> None:
        """Fill the cache for ``keys`` not in it.

        Regions are narrowed twice before phonenumbers parses anything: by the digit runs of the
        segment (``_regions_for``), then by the candidates phonenumbers' matcher would hand to its
        parser there (recorded once, whatever the region: ``record_candidates``), each checked
        with ``RegionCheck.candidate_may_match``.  Only the regions left run the real matcher, in
        one joined call per region subset.
        """
        todo = [k for k in dict.fromkeys(keys) if k not in self.cache]
        self.hits += len(keys) - len(todo)
        self.misses += len(todo)
        if len(self.cache) + len(todo) > self.cache_size:
            self.cache.clear()
        maybe: list[tuple[tuple[str, str, str], tuple[str, ...]]] = []
        for key in todo:
            regions = self._regions_for(key[1])
            if regions:
                maybe.append((key, regions))
            else:
                self.cache[key] = ()
        pieces = [self.reps[k[0]] + k[1] + self.reps[k[2]] for k, _ in maybe]
        groups: dict[tuple[str, ...], list] = {}
        for (key, regions), candidates in zip(maybe, record_candidates(pieces, _PHONE_CHUNK)):
            regions = tuple(r for r in regions if any(self.checks[r].candidate_may_match(c) for c in candidates))
            if regions:
                groups.setdefault(regions, []).append(key)
            else:
                self.cache[key] = ()
        for regions, group in groups.items():
            self.parsed += len(group)
            rec = self._recognizer_for(regions)
            pieces = [self.reps[k[0]] + k[1] + self.reps[k[2]] for k in group]
            for key, res in zip(group, analyze_joined(rec, self.entities, pieces, _PHONE_CHUNK)):
                shift = len(self.reps[key[0]])
                self.cache[key] = tuple((r.entity_type, r.start - shift, r.end - shift, r.score) for r in res)

    def stats(self) -> dict[str, int]:
        return {"phone_cache_hits": self.hits, "phone_cache_misses": self.misses, "phone_parsed": self.parsed}


def _char_set(cls: str, flags: int) -> frozenset[str]:
    """Every BMP character a one-character regex class matches under ``flags`` (case folds included)."""
    rx = re.compile(cls, flags)
    return frozenset(ch for ch in map(chr, range(0x10000)) if rx.match(ch))


def _class(chars: frozenset[str], re2: bool = False) -> str:
    """The body of a character class matching exactly ``chars``."""
    if re2:
        return "".join(f"\\x{{{ord(c):04X}}}" for c in sorted(chars))
    return "".join(re.escape(c) if c not in "-]\\^" else "\\" + c for c in sorted(chars))


def _first_breaker(candidates: str, breaker: re.Pattern) -> str:
    for c in candidates:
        if breaker.match(c):
            return c
    raise RuntimeError(f"no breaker among {candidates!r}")  # phonenumbers changed its patterns


# ---------------------------------------------------------------------------------------------
# triggers of presidio's recognizers (each is contained in every match the recognizer can return)
# ---------------------------------------------------------------------------------------------
#: (python trigger, RE2 trigger, policy, margin)
#: presidio's ``\\w`` (the ``regex`` module's: letters, marks, digits, connector punctuation, join
#: controls, circled letters), over-approximated so that RE2's older Unicode tables cannot miss a
#: newer letter: ASCII word characters, and any non-ASCII character but separators and controls
#: (tests/test_pii_fastpath.py checks every code point)
_WORD = r"[^\x00-\x2F\x3A-\x40\x5B-\x5E\x60\x7B-\x7F\p{Z}\p{Cc}]"
#: presidio's ``\\d`` likewise: ASCII digits, RE2's decimal digits, and what RE2's tables do not know
_DIGIT = r"[^\x00-\x2F\x3A-\x7F\p{L}\p{M}\p{Z}\p{P}\p{S}\p{Cc}\p{Cf}\p{Co}\p{No}\p{Nl}]"
#: recognizer class -> (trigger, policy, margin).  One pattern serves RE2 (pyarrow, over a batch) and
#: the ``regex`` module (one document); each is contained in every match its recognizer can return.
_RULES: dict[str, tuple[str, str, int]] = {
    # a local-part character (not '.'), '@', then a domain label and a dot
    "EmailRecognizer": (rf"(?:[!#$%&'*+\-/=?^_`{{|}}~]|{_WORD})@{_WORD}(?:{_WORD}|-)*\.{_WORD}", "token", 0),
    # BASE_URL_REGEX needs "<label char>.<tld of 2+ letters>"; letters cover (?i) folds like 'ſ'
    "UrlRecognizer": (rf"(?:{_WORD}|[.\-])\.{_WORD}{{2}}", "token", 0),
    # IPv4 (all three patterns) holds four dotted octets; every IPv6 alternative starts after a
    # non-word, non-':' character (or the text start) and runs on hex digits and colons to a "::",
    # except the full eight-group form (and the six-group IPv4-embedded one, which holds an IPv4);
    # "std::vector" and "Ipv6Addr::new" are no trigger
    "IpRecognizer": (r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]|(?:^|[^0-9A-Za-z_:])(?:[0-9A-Fa-f:]*::|"
                     r"(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f])", "token", 0),
    # the card pattern without its \b and look-ahead: <= 20 chars, look-ahead 14
    "CreditCardRecognizer": (rf"[13-6]{_DIGIT}{{3}}[- ]?{_DIGIT}{{3,4}}[- ]?{_DIGIT}{{3,4}}[- ]?{_DIGIT}{{3}}", "bounded",
                             64),
    # IBAN (case-sensitive in presidio): <= 43 chars, one-character look-arounds
    "IbanRecognizer": (r"[A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]{4}){2}", "bounded", 96),
    # all five SSN patterns hold 3+2+4 digits with optional single separators: <= 11 chars
    "UsSsnRecognizer": (r"[0-9]{3}[- .]?[0-9]{2}[- .]?[0-9]{4}", "bounded", 32),
    # (bc1|[13]) then 25-59 alphanumerics; (?i) also folds İ, ı, ſ and the Kelvin sign into that class
    # (tests/test_pii_fastpath.py checks every code point): <= 62 chars, no look-arounds
    "CryptoRecognizer": (r"[13][0-9A-Za-z\x{130}\x{131}\x{17F}\x{212A}]{25}", "bounded", 132),
    # corpuskit's '+' numbers: <= 57 chars, one-character look-behind
    "InternationalPhoneRecognizer": (r"[+\x{FF0B}][ \-.()]{0,2}[0-9]", "bounded", 128),
    # corpuskit's NANP layouts: <= 14 chars, two-character look-ahead
    "NanpPhoneRecognizer": (r"[2-9][0-9]{2}-[0-9]{4}", "bounded", 48),
    # corpuskit's Chinese recognizers: <= 23 chars, one-character look-arounds
    "CnMobileRecognizer": (r"1[3-9][0-9](?:[ -]?[0-9]{4}){2}", "bounded", 48),
    "CnResidentIdRecognizer": (r"[0-9]{17}[0-9Xx]", "bounded", 48),
    "CnBankCardRecognizer": (r"62[0-9]{2}[ -]?[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}", "bounded", 64),
    # four dotted octets, ASCII look-arounds: <= 18 chars
    "GluedIpv4Recognizer": (r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]", "bounded", 48),
}


#: triggers above made only of ASCII digits with single ' ', '-' or '.' between digit groups, and the
#: fewest digits a match of each holds
_SEGMENT_DIGITS = {"UsSsnRecognizer": 9, "NanpPhoneRecognizer": 7, "CnMobileRecognizer": 11,
                   "CnResidentIdRecognizer": 17, "CnBankCardRecognizer": 16, "GluedIpv4Recognizer": 4}


def re2_to_regex(pattern: str) -> str:
    """RE2's ``\\x{HHHH}`` escapes as the ``regex`` module spells them (everything else is shared syntax)."""
    return re.sub(r"\\x\{([0-9A-Fa-f]+)\}", lambda m: "\\U%08X" % int(m.group(1), 16), pattern)


def _rule_for(recognizer: Any) -> tuple[str, str, int] | None:
    for klass in type(recognizer).__mro__:
        if klass.__name__ in _RULES:
            return _RULES[klass.__name__]
    return None


@dataclass
class FastAnalyzer:
    """``AnalyzerEngine.analyze`` semantics over a batch, presidio run only where a trigger fired.

    ``extra`` is called with a document's full text for recognizers that cannot be windowed
    (NER needs whole sentences); its results join before de-duplication.
    """

    recognizers: Sequence[Any]
    score_threshold: float = 0.0
    extra: Callable[[str], list] | None = None
    detectors: list = field(init=False)
    windows: int = field(init=False, default=0)
    seconds: dict = field(init=False, default_factory=dict)
    window_chars: int = field(init=False, default=0)
    fallbacks: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.detectors = []
        for rec in self.recognizers:
            entities = list(rec.supported_entities)
            if any(k.__name__ == "PhoneRecognizer" for k in type(rec).__mro__):
                self.detectors.append(PhoneSegments(rec))
                continue
            rule = _rule_for(rec)
            if rule is None:
                self.detectors.append(Detector(rec, entities, "full"))
                continue
            pattern, policy, margin = rule
            boundary = next((b for k, b in _TOKEN_BOUNDARY.items() if any(c.__name__ == k for c in type(rec).__mro__)),
                            r"\s")
            digits = next((v for k, v in _SEGMENT_DIGITS.items() if any(c.__name__ == k for c in type(rec).__mro__)),
                          0)
            self.detectors.append(Detector(rec, entities, policy, regex.compile(re2_to_regex(pattern)), pattern, margin,
                                           boundary, digits))

    def analyze_batch(self, texts: pa.Array | pa.ChunkedArray) -> list[list]:
        """Final results per document of an Arrow string column."""
        out: list[list] = [[] for _ in range(len(texts))]
        for row, _, res in self.run(texts):
            out[row] = res
        return out

    def run(self, texts: pa.Array | pa.ChunkedArray) -> list[tuple[int, str, list]]:
        """``(row, text, results)`` for the rows that hold any trigger (the others have no findings)."""
        n = len(texts)
        masks, spans = self.prescreen(texts)
        rows = np.flatnonzero(masks.any(axis=1)) if self.extra is None else np.arange(n)
        if len(rows) == 0:
            return []
        strs = texts.take(pa.array(rows)).to_pylist()
        local = [{j: sp[r] for j, r in enumerate(rows.tolist()) if r in sp} for sp in spans]
        return list(zip(rows.tolist(), strs, self.analyze_texts(strs, masks[rows], local)))

    def prescreen(self, texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, list[dict[int, list]]]:
        """Per detector: which rows hold its trigger, and where (RE2 over the whole batch).

        The phone segments come first, over the whole batch.  Digit-group triggers (SSN, NANP,
        Chinese numbers, glued IPv4) are then searched in those segments only: such a match is made
        of digits and phone punctuation, so it lies in one maximal run of chain characters, and it
        holds at least ``K`` digits with at most one separator between neighbours, so that run
        holds a phone core and is a segment; a match never crosses a segment's edge, so the
        leftmost matches inside each segment are those of the whole text.  The other triggers that
        most documents lack are OR-ed into one RE2 pass, and each is then located only in the rows
        that pass.
        """
        n = len(texts)
        masks = np.ones((n, len(self.detectors)), dtype=bool)
        spans: list[dict[int, list]] = [{} for _ in self.detectors]
        if n == 0:
            return masks, spans
        t0 = time.process_time()
        arr = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
        arr = arr.cast(pa.large_string())
        phone = next((i for i, d in enumerate(self.detectors) if d.policy == "segment" and d.trigger_re2), None)
        inner: list[int] = []
        if phone is not None:
            ph = self.detectors[phone]
            inner = [i for i, d in enumerate(self.detectors)
                     if d.policy == "bounded" and d.segment_digits and d.segment_digits >= ph.k and ph.separators_ok]
            whole = BatchBytes(arr)
            hit, rows, b_start, b_end = trigger_bytes_batch(whole, ph.trigger_re2)
            masks[:, phone] = hit
            spans[phone] = _spans_by_row(whole, hit, rows, b_start, b_end)
            if inner:
                self._inner_spans(whole, hit, rows, b_start, b_end, inner, masks, spans)
        rare = [i for i, d in enumerate(self.detectors)
                if d.trigger_re2 is not None and self._rare(d) and i not in inner]
        candidates = np.arange(n)
        if len(rare) > 1:  # one pass for all the rare triggers, then each only where one of them is
            candidates = np.flatnonzero(_match(arr, "|".join(f"(?:{self.detectors[i].trigger_re2})" for i in rare)))
        sub = arr.take(pa.array(candidates)) if len(rare) > 1 and candidates.size < n else arr
        for i, det in enumerate(self.detectors):
            if det.trigger_re2 is None or i == phone or i in inner:
                continue
            # mask first (a plain RE2 match), then mark only the rows that hold the trigger
            base, text = (candidates, sub) if i in rare else (np.arange(n), arr)
            has = _match(text, det.trigger_re2) if base.size else np.zeros(0, dtype=bool)
            masks[:, i] = False
            masks[base[has], i] = True
            sel = np.flatnonzero(has)
            if sel.size:
                _, found = trigger_spans_batch(BatchBytes(text.take(pa.array(sel))), det.trigger_re2)
                spans[i] = {int(base[sel[j]]): sp for j, sp in found.items()}
        self.seconds["prescreen"] = self.seconds.get("prescreen", 0.0) + time.process_time() - t0
        return masks, spans

    def _inner_spans(self, whole: BatchBytes, hit: np.ndarray, rows: np.ndarray, b_start: np.ndarray,
                     b_end: np.ndarray, inner: list[int], masks: np.ndarray, spans: list[dict[int, list]]) -> None:
        """Locate the ``inner`` detectors' triggers in the phone segments (byte spans of clean rows)."""
        dirty = hit & whole.dirty  # no spans there: the trigger may be anywhere, the Python scan decides
        lens = b_end - b_start
        off = np.zeros(lens.size + 1, dtype=np.int64)
        np.cumsum(lens, out=off[1:])
        _, data = _byte_rows(whole.arr)
        idx = np.repeat(b_start - off[:-1], lens) + np.arange(off[-1], dtype=np.int64)
        seg_arr = pa.LargeStringArray.from_buffers(lens.size, pa.py_buffer(off), pa.py_buffer(data[idx].tobytes()))
        seg_char = whole.chars(b_start, rows).tolist()
        seg_row = rows.tolist()
        for i in inner:
            trig = self.detectors[i].trigger_re2
            masks[:, i] = dirty
            has = _match(seg_arr, trig) if lens.size else np.zeros(0, dtype=bool)
            sel = np.flatnonzero(has)
            if not sel.size:
                continue
            masks[rows[sel], i] = True
            _, found = trigger_spans_batch(BatchBytes(seg_arr.take(pa.array(sel))), trig)
            by_row: dict[int, list] = {}
            for j, sp in found.items():  # segments ascending: a row's spans stay in text order
                seg = int(sel[j])
                c0 = seg_char[seg]
                by_row.setdefault(seg_row[seg], []).extend((c0 + a, c0 + b) for a, b in sp)
            spans[i] = by_row

    @staticmethod
    def _rare(det: Any) -> bool:
        """Triggers most text lacks (long digit runs with structure, '+'): worth one shared RE2 pass."""
        return det.policy == "bounded"

    def analyze(self, text: str) -> list:
        """Final results for one document."""
        return self.analyze_texts([text])[0]

    def analyze_texts(self, texts: Sequence[str], masks: np.ndarray | None = None,
                      spans: Sequence[dict[int, list]] | None = None) -> list[list]:
        """Final results per document; ``masks[i, d]`` False skips detector ``d`` on document ``i``;
        ``spans[d][i]`` are its trigger spans there (scanned with Python's ``re`` when missing)."""
        from presidio_analyzer import EntityRecognizer

        raw: list[list] = [[] for _ in texts]
        for d, det in enumerate(self.detectors):
            todo = [i for i in range(len(texts)) if masks is None or masks[i, d]]
            if not todo:
                continue
            t0 = time.process_time()
            self._analyze_detector(det, texts, todo, raw, spans[d] if spans is not None else {})
            name = type(det.recognizer).__name__
            self.seconds[name] = self.seconds.get(name, 0.0) + time.process_time() - t0
        thr = self.score_threshold
        out: list[list] = []
        for i, text in enumerate(texts):
            rs = raw[i]
            if self.extra is not None:
                rs.extend(self.extra(text))
            out.append(EntityRecognizer.remove_duplicates([r for r in rs if r.score >= thr]) if rs else [])
        return out

    def _analyze_detector(self, det: Any, texts: Sequence[str], todo: list[int], raw: list[list],
                          spans: dict[int, list]) -> None:
        from presidio_analyzer import RecognizerResult

        if det.policy == "full":
            for i in todo:
                raw[i].extend(det.recognizer.analyze(text=texts[i], entities=det.entities, nlp_artifacts=None)
                              or ())
        elif det.policy == "segment":
            segs = {i: det.segments(texts[i], spans.get(i)) for i in todo}
            det.resolve([key for ss in segs.values() for _, key in ss])
            for i, ss in segs.items():
                for a, key in ss:
                    for etype, s, e, score in det.cache[key]:
                        raw[i].append(RecognizerResult(etype, a + s, a + e, score))
        else:
            owners: list[tuple[int, int]] = []
            pieces: list[str] = []
            for i in todo:
                text = texts[i]
                for a, b in det.windows(text, spans.get(i)):
                    owners.append((i, a))
                    pieces.append(text[a:b])
            self.windows += len(pieces)
            self.window_chars += sum(map(len, pieces))
            broken: set[int] = set()
            for (i, a), res in zip(owners, analyze_joined(det.recognizer, det.entities, pieces)):
                for r in res:
                    if r is None:
                        broken.add(i)
                        continue
                    r.start += a
                    r.end += a
                    raw[i].append(r)
            for i in broken:  # a window rule failed: presidio on the whole document instead
                self.fallbacks += 1
                raw[i] = [r for r in raw[i] if r.entity_type not in det.entities]
                raw[i].extend(det.recognizer.analyze(text=texts[i], entities=det.entities, nlp_artifacts=None)
                              or ())

    def stats(self) -> dict[str, int]:
        """Work done: windows given to presidio, their characters, phone-cache hits, fallbacks."""
        out = {"windows": self.windows, "window_chars": self.window_chars, "fallbacks": self.fallbacks}
        for d in self.detectors:
            if isinstance(d, PhoneSegments):
                out.update(d.stats())
        return out


@dataclass
class ReferenceAnalyzer:
    """presidio's own ``AnalyzerEngine`` on whole documents, behind the ``FastAnalyzer`` interface (slow)."""

    recognizers: Sequence[Any]
    score_threshold: float = 0.0
    extra: Callable[[str], list] | None = None

    def __post_init__(self) -> None:
        from .recognizers import LANG, build_analyzer

        self.lang = LANG
        self.engine = build_analyzer(self.recognizers) if self.recognizers else None

    def run(self, texts: pa.Array | pa.ChunkedArray) -> list[tuple[int, str, list]]:
        strs = texts.to_pylist()
        return list(zip(range(len(strs)), strs, self.analyze_texts(strs)))

    def analyze_batch(self, texts: pa.Array | pa.ChunkedArray) -> list[list]:
        return [res for _, _, res in self.run(texts)]

    def analyze_texts(self, texts: Sequence[str], masks: np.ndarray | None = None, spans: Any = None) -> list[list]:
        from presidio_analyzer import EntityRecognizer

        out = []
        for text in texts:
            rs = self.engine.analyze(text, language=self.lang, score_threshold=self.score_threshold) \
                if self.engine is not None else []
            if self.extra is not None:
                rs = EntityRecognizer.remove_duplicates(
                    rs + [r for r in self.extra(text) if r.score >= self.score_threshold])
            out.append(rs)
        return out
