"""presidio's phone recognizer, minus the parses that cannot succeed.

Most of presidio's time on prose goes to phonenumbers parsing digit runs that are too short to be a
phone number in the region tried ("1.64.0", "2019", the octets of an IP address).  A number accepted
for a region has at least as many digits as that region's shortest number (``phone_digit_floors``)
and holds a digit run matching one of its number patterns (``RegionCheck``); ``FastPhoneRecognizer``
runs phonenumbers' own matcher but answers "no" without parsing to candidates that fail either,
which is the answer phonenumbers would give.  Everything else (candidate
search, inner matches, the try budget, the verdicts) is phonenumbers' code, so the numbers found are
those of presidio's ``PhoneRecognizer`` (``tests/test_pii_fastpath.py`` checks it on real text).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from typing import Any, Sequence



def phone_digit_floors(regions: Sequence[str], leniency: int = 1) -> tuple[dict[str, int], int]:
    """Fewest digits a number phonenumbers accepts can have: per default region, and with a '+'.

    With a '+' the number is ``country code + national number`` for any country (non-geographic
    codes included).  Without one it is either national (the shortest national number of any region
    sharing the default region's country code) or dialled through the region's international
    prefix (its shortest string, then ``country code + national number``).  Every phone match
    holds at least that many digits, so a segment with fewer cannot match in that region.
    Leniency POSSIBLE also accepts local-only lengths (a number without its area code).
    """
    local = leniency == 0
    return {r: _region_floor(r, local) for r in regions}, _plus_floor(local)


def _shortest(md: Any, local: bool) -> int | None:
    if md is None:
        return None
    # local-only lengths are never valid (is_valid_number checks possible_length alone), but possible
    lens = [x for x in tuple(md.general_desc.possible_length)
            + (tuple(md.general_desc.possible_length_local_only) if local else ()) if x > 0]
    return min(lens) if lens else None


@functools.lru_cache(maxsize=None)
def _plus_floor(local: bool) -> int:
    import phonenumbers
    from phonenumbers import PhoneMetadata

    best = 99
    for region in phonenumbers.SUPPORTED_REGIONS:
        s = _shortest(PhoneMetadata.metadata_for_region(region), local)
        if s is not None:
            best = min(best, len(str(phonenumbers.country_code_for_region(region))) + s)
    for cc in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        s = _shortest(PhoneMetadata.metadata_for_nongeo_region(cc), local)
        if s is not None:
            best = min(best, len(str(cc)) + s)
    return max(1, best)


@functools.lru_cache(maxsize=None)
def _region_floor(region: str, local: bool) -> int:
    import phonenumbers
    from phonenumbers import PhoneMetadata

    national = 99
    for same in phonenumbers.region_codes_for_country_code(phonenumbers.country_code_for_region(region)):
        s = _shortest(PhoneMetadata.metadata_for_region(same), local)
        if s is not None:
            national = min(national, s)
    md = PhoneMetadata.metadata_for_region(region)
    idd = 0
    if md is not None and md.international_prefix:
        rx = re.compile(md.international_prefix)
        idd = next((n for n in range(1, 5)
                    if any(rx.fullmatch("".join(t)) for t in itertools.product("0123456789", repeat=n))), 0)
    return max(1, min(national, idd + _plus_floor(local) if idd else national))


_DIGIT_OR_LETTER = re.compile(r"[\dA-Za-z]")
#: the first character parse() starts reading at is a plus sign
_PLUS_LED = re.compile(r"[^+\uff0b\d]*[+\uff0b]")
_DIGITS = re.compile(r"\d")
_ALPHA3 = re.compile(r"(?:.*?[A-Za-z]){3}")


def _normalize(number: str) -> str:
    """``phonenumberutil._normalize`` (digits, or letters mapped for vanity numbers), with C-speed digits."""
    if _ALPHA3.match(number):
        from phonenumbers import phonenumberutil as pu

        return pu._normalize(number)
    return _normalize_raw(number)


def _normalize_raw(text: str) -> str:
    """``normalize_digits_only``: the digits of ``text``, as ASCII."""
    digits = "".join(_DIGITS.findall(text))
    if digits.isascii():
        return digits
    import unicodedata

    return "".join(str(unicodedata.digit(c)) for c in digits)


@functools.lru_cache(maxsize=1 << 16)
def _reading(candidate: str) -> tuple[bool, int, str | None, str]:
    """How ``parse`` reads a candidate, whatever the region: (leading '+'?, digits and letters,
    digits before any extension (None if parse would raise), all digits)."""
    from phonenumbers import phonenumberutil as pu

    plus = "+" in candidate or "\uff0b" in candidate
    n_alnum = len(_DIGIT_OR_LETTER.findall(candidate))
    try:
        digits: str | None = _normalize(pu._maybe_strip_extension(pu._build_national_number_for_parsing(candidate))[1])
    except Exception:
        digits = None
    return plus, n_alnum, digits, _normalize_raw(candidate)


_TYPES = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number", "voip", "pager",
          "uan", "voicemail", "no_international_dialling")


class RegionCheck:
    """Can a digit string hold a number phonenumbers accepts for this default region?  (No false "no".)

    A number parsed without '+' keeps, as its national significant number, a contiguous part of the
    candidate's digits (parsing strips a national prefix, international prefix or country code in
    front and an extension behind), and ``is_valid_number`` needs that part to match the general
    description and one number type (length and pattern) of a region sharing the country code.
    So with no '+' and no international prefix in the digits, no substring matching those patterns
    means no number.  A ``national_prefix_transform_rule`` that is a single group reference
    (BR: ``\\2``) still yields a substring; other rewrites (AR: ``9$1``) and leniency POSSIBLE (no
    pattern needed) fall back to the digit floors alone.
    """

    def __init__(self, region: str, leniency: int):
        import phonenumbers
        from phonenumbers import PhoneMetadata

        floors, plus = phone_digit_floors((region,), leniency)
        self.floor = floors[region]
        self.floor_plus = min(self.floor, plus)
        self.plus_digits = plus
        md = PhoneMetadata.metadata_for_region(region)
        self.idd = re.compile(md.international_prefix) if md is not None and md.international_prefix else None
        self._memo: dict[str, bool] = {}
        self._run_memo: dict[tuple[str, bool], bool] = {}
        self.nsn = None
        transform = md.national_prefix_transform_rule if md is not None else None
        group = re.fullmatch(r"[\\$](\d)", transform) if transform else None
        if leniency >= 1 and md is not None and (not transform or group is not None):
            self.transform_group = int(group.group(1)) if group is not None else None
            pats = []
            self.descs: list[tuple[Any, list]] = []  # per region sharing the code: (general, types)
            for same in phonenumbers.region_codes_for_country_code(phonenumbers.country_code_for_region(region)):
                smd = PhoneMetadata.metadata_for_region(same)
                if smd is None or not smd.general_desc.national_number_pattern:
                    continue
                types = []
                for t in _TYPES:
                    desc = getattr(smd, t, None)
                    if desc is not None and desc.national_number_pattern:
                        pats.append(desc.national_number_pattern)
                        types.append((re.compile(desc.national_number_pattern),
                                      frozenset(x for x in desc.possible_length if x > 0)))
                gen = smd.general_desc
                self.descs.append(((re.compile(gen.national_number_pattern),
                                    frozenset(x for x in gen.possible_length if x > 0)), types))
            self.nsn = re.compile("|".join(f"(?:{p})" for p in pats) if pats else "(?!)")
            self.cc = str(md.country_code)
            self.npp = re.compile(md.national_prefix_for_parsing) if md.national_prefix_for_parsing else None
            self.md = md
            # the metadata the matcher's national-prefix check reads: the country code's main region
            self.md_main = PhoneMetadata.metadata_for_region(
                phonenumbers.region_code_for_country_code(md.country_code), None)

    def _valid_shape(self, nsn: str) -> bool:
        """``_number_type_helper(nsn) != UNKNOWN`` for some region sharing the code (lengths, patterns)."""
        n = len(nsn)
        for (gen_rx, gen_lens), types in self.descs:
            if (gen_lens and n not in gen_lens) or not gen_rx.fullmatch(nsn):
                continue
            for rx, lens in types:
                if (not lens or n in lens) and rx.fullmatch(nsn):
                    return True
        return False

    def run_may_match(self, digits: str, plus: bool) -> bool:
        """``digits_may_match``, memoised (runs such as "2019" or "1.95.0" recur)."""
        key = (digits, plus)
        found = self._run_memo.get(key)
        if found is None:
            if len(self._run_memo) >= 1 << 17:
                self._run_memo.clear()
            found = self._run_memo[key] = self.digits_may_match(digits, plus)
        return found

    def digits_may_match(self, digits: str, plus: bool) -> bool:
        """``digits``: ASCII digits of a candidate (or of a run of connected digit groups)."""
        if len(digits) < (self.floor_plus if plus else self.floor):
            return False
        if plus or self.nsn is None:
            return True
        if self.idd is not None and self.idd.search(digits):
            return True
        return self.nsn.search(digits) is not None

    def candidate_may_match(self, candidate: str) -> bool:
        """Like ``digits_may_match`` for one candidate string, as ``parse`` will read it (memoised).

        Without '+' or an international prefix, ``parse`` takes as national number the digits left
        after the extension, possibly minus the region's country code in front, possibly minus a
        national prefix (``national_prefix_for_parsing``) after that: at most four strings, one of
        which must fully match a number-type pattern for ``is_valid_number``.
        """
        found = self._memo.get(candidate)
        if found is None:
            if len(self._memo) >= 1 << 17:
                self._memo.clear()
            found = self._memo[candidate] = self._may_match(candidate)
        return found

    def _may_match(self, candidate: str) -> bool:
        from phonenumbers import phonenumberutil as pu

        plus, n_alnum, digits, raw = _reading(candidate)
        floor = self.floor_plus if plus else self.floor
        if n_alnum < floor:  # parse() yields at most one digit per digit or letter of the candidate
            return False
        if digits is None:  # parse() raises on what it cannot read: let it decide
            return True
        if len(digits) < floor:
            return False
        if plus or self.nsn is None:
            return True
        m = self.idd.match(digits) if self.idd is not None else None
        if m is not None and digits[m.end():m.end() + 1] not in ("", "0"):
            # dialled through the international prefix (phonenumbers keeps an IDD followed by 0 as
            # national): country code + national number of any country must follow
            return len(digits) - m.end() >= self.plus_digits
        heads = [digits]
        if digits.startswith(self.cc):
            heads.append(digits[len(self.cc):])
        nsns = []
        for head in heads:
            nsns.append(head)
            m = self.npp.match(head) if self.npp is not None else None
            if m is not None:
                g = self.transform_group
                if g is not None and len(m.groups()) >= g and m.group(len(m.groups())) is not None:
                    nsns.append(head[m.start(g):m.end(g)] + head[m.end():])
                else:
                    nsns.append(head[m.end():])
        if not any(self._valid_shape(x) for x in nsns):
            return False
        if len(heads) == 1 and self.md_main is not None:
            # written nationally (no '+', international prefix or country code): the matcher then
            # wants the national prefix if the number's format rule asks for it
            if not pu._maybe_strip_national_prefix_carrier_code(raw, self.md_main)[2] \
                    and all(self._needs_prefix(x) for x in nsns):
                return False
        return True

    def _needs_prefix(self, nsn: str) -> bool:
        """``_is_national_prefix_present_if_required``'s test of the format rule for ``nsn``."""
        from phonenumbers import phonenumberutil as pu

        rule = pu._choose_formatting_pattern_for_number(self.md_main.number_format, nsn)
        return (rule is not None and bool(rule.national_prefix_formatting_rule)
                and not rule.national_prefix_optional_when_formatting
                and not pu._formatting_rule_has_first_group_only(rule.national_prefix_formatting_rule))


@functools.lru_cache(maxsize=None)
def region_check(region: str, leniency: int) -> RegionCheck:
    return RegionCheck(region, leniency)


_cls: type | None = None


def fast_phone_recognizer(stock: Any, regions: Sequence[str] | None = None) -> Any:
    """A ``FastPhoneRecognizer`` with ``stock``'s settings (regions, leniency, entity, context)."""
    global _cls
    if _cls is None:
        _cls = _make_class()
    return _cls(stock, tuple(stock.supported_regions if regions is None else regions))


def _make_class() -> type:
    from phonenumbers import PhoneNumberMatcher
    from presidio_analyzer import EntityRecognizer, RecognizerResult
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    class FloorMatcher(PhoneNumberMatcher):
        """phonenumbers' matcher, answering "no" unparsed for candidates ``RegionCheck`` rules out."""

        def __init__(self, text: str, region: str, leniency: int, check: RegionCheck, shared: dict):
            super().__init__(text, region, leniency=leniency)
            self._check = check
            self._shared = shared

        def _parse_and_verify(self, candidate: str, offset: int):
            if not self._check.candidate_may_match(candidate):
                return None
            if _PLUS_LED.match(candidate):
                # an international number reads the same whatever the default region: one verdict
                key = (candidate, offset)
                if key not in self._shared:
                    self._shared[key] = super()._parse_and_verify(candidate, offset)
                return self._shared[key]
            return super()._parse_and_verify(candidate, offset)

    class FastPhoneRecognizer(PhoneRecognizer):
        """presidio's ``PhoneRecognizer.analyze`` over ``FloorMatcher`` (and without the parse that only
        names the region in the explanation)."""

        def __init__(self, stock: Any, regions: tuple[str, ...]):
            super().__init__(context=stock.context, supported_language=stock.supported_language,
                             supported_entity=stock.supported_entities[0], supported_regions=regions,
                             leniency=stock.leniency, name=stock.name)
            self.checks = {r: region_check(r, stock.leniency) for r in regions}

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list:
            results = []
            shared: dict = {}
            for region in self.supported_regions:
                for match in FloorMatcher(text, region, self.leniency, self.checks[region], shared):
                    results.append(RecognizerResult(
                        self.supported_entities[0], match.start, match.end, self.SCORE,
                        recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                              RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}))
            return EntityRecognizer.remove_duplicates(results)

    return FastPhoneRecognizer


_recorder: type | None = None


def record_candidates(pieces: Sequence[str], chunk: int) -> list[list[str]]:
    """Per piece, every string phonenumbers' matcher would hand to its parser, were all verdicts "no".

    The matcher's walk (candidate search, trimming, inner matches) does not depend on the region
    or the leniency, only its verdicts do; so one walk with a parser that always says "no" lists
    the candidates of every region.  If no region's ``RegionCheck`` accepts any of them, every
    verdict is "no" and the real walk is this walk: no number there.  Pieces are joined with
    newlines, like ``fastpath.analyze_joined``, at most ``chunk`` characters a walk.
    """
    global _recorder
    if _recorder is None:
        from phonenumbers import PhoneNumberMatcher

        class Recorder(PhoneNumberMatcher):
            def __init__(self, text: str):
                super().__init__(text, "US", leniency=0)
                self.seen: list[tuple[int, str]] = []

            def _parse_and_verify(self, candidate: str, offset: int):
                self.seen.append((offset, candidate))
                return None

        _recorder = Recorder
    out: list[list[str]] = [[] for _ in pieces]
    i = 0
    while i < len(pieces):
        starts: list[int] = []
        size = 0
        j = i
        while j < len(pieces) and (j == i or size + len(pieces[j]) <= chunk):
            starts.append(size)
            size += len(pieces[j]) + 1
            j += 1
        walker = _recorder("\n".join(pieces[i:j]))
        for _ in walker:  # the recorder never matches: this exhausts the walk
            pass
        for offset, candidate in walker.seen:
            out[i + bisect.bisect_right(starts, offset) - 1].append(candidate)
        i = j
    return out
