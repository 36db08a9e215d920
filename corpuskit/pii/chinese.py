"""Chinese PII as presidio ``PatternRecognizer`` subclasses, each with a validating checksum.

Chinese text glues digits to ideographs ("手机13812345678"), and ideographs are ``\\w``, so
``\\b`` never fires there: every pattern bounds itself with ASCII-only look-arounds instead.
A regex hit only counts when ``validate_result`` accepts it (presidio then scores it 1.0; a
rejected hit scores 0 and is dropped), which is what keeps random digit runs out.  For the same
reason presidio's IPv4 pattern misses "例如192.168.0.0/24": ``GluedIpv4Recognizer`` adds it.
"""

from __future__ import annotations

import datetime
import ipaddress
from typing import Any

import regex as re

#: ASCII-only edges: a digit run glued to CJK text still matches, one inside "ab123..." does not
_PRE = r"(?<![0-9A-Za-z_+])"
_POST = r"(?![0-9A-Za-z_])"
#: case-sensitive, like presidio's IBAN recognizer: the patterns only use digits and 'X'
_FLAGS = re.DOTALL | re.MULTILINE

#: first two digits of a resident ID: the province-level division
_PROVINCES = frozenset([11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                        50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83])
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) checksum over a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i & 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def resident_id_ok(value: str) -> bool:
    """GB 11643-1999: province, a real birth date, and the ISO 7064 MOD 11-2 check character."""
    s = value.upper()
    if len(s) != 18 or not s[:17].isascii() or not s[:17].isdigit():
        return False
    if int(s[:2]) not in _PROVINCES:
        return False
    try:
        born = datetime.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if not (1890 <= born.year <= datetime.date.today().year):
        return False
    total = sum(int(c) * w for c, w in zip(s[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == s[17]


_NOT_DIGIT = re.compile(r"[^0-9]")


def _digits(text: str) -> str:
    return _NOT_DIGIT.sub("", text)


def _recognizer_classes() -> dict[str, type]:
    """Build the classes on first use: presidio is imported only inside ``setup()``."""
    from presidio_analyzer import Pattern, PatternRecognizer

    class CnMobileRecognizer(PatternRecognizer):
        """Mainland mobile numbers: optional +86/0086, 1[3-9]x, then 8 digits grouped 3-4-4 or not."""

        PATTERNS = [Pattern("CN mobile", _PRE + r"(?:(?:\+|00)86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}" + _POST,
                            0.5)]
        CONTEXT = ["手机", "电话", "联系", "mobile", "phone"]

        def __init__(self, **kw: Any):
            super().__init__(supported_entity="CN_MOBILE", patterns=self.PATTERNS, context=self.CONTEXT,
                             global_regex_flags=_FLAGS, name="CnMobileRecognizer", **kw)

        def validate_result(self, pattern_text: str) -> bool:
            d = _digits(pattern_text)
            if len(d) == 13 and d.startswith("86"):
                d = d[2:]
            elif len(d) == 15 and d.startswith("0086"):
                d = d[4:]
            # 1[3-9] plus 9 digits; a run of one repeated digit is a placeholder, not a subscriber
            return len(d) == 11 and d[1] in "3456789" and len(set(d[3:])) > 1

    class CnResidentIdRecognizer(PatternRecognizer):
        """18-character resident identity card numbers with a birth date and MOD 11-2 check character."""

        PATTERNS = [Pattern("CN resident ID",
                            _PRE + r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
                            r"[0-9]{3}[0-9Xx]" + _POST, 0.5)]
        CONTEXT = ["身份证", "证件", "id"]

        def __init__(self, **kw: Any):
            super().__init__(supported_entity="CN_RESIDENT_ID", patterns=self.PATTERNS, context=self.CONTEXT,
                             global_regex_flags=_FLAGS, name="CnResidentIdRecognizer", **kw)

        def validate_result(self, pattern_text: str) -> bool:
            return resident_id_ok(pattern_text)

    class CnBankCardRecognizer(PatternRecognizer):
        """China UnionPay card numbers (62 prefix, 16-19 digits, plain or in groups of four) with Luhn."""

        PATTERNS = [
            Pattern("CN bank card", _PRE + r"62[0-9]{14,17}" + _POST, 0.5),
            Pattern("CN bank card (grouped)", _PRE + r"62[0-9]{2}(?:[ -][0-9]{4}){3}(?:[ -]?[0-9]{1,3})?" + _POST,
                    0.5),
        ]
        CONTEXT = ["银行卡", "卡号", "账号", "银联"]

        def __init__(self, **kw: Any):
            super().__init__(supported_entity="CN_BANK_CARD", patterns=self.PATTERNS, context=self.CONTEXT,
                             global_regex_flags=_FLAGS, name="CnBankCardRecognizer", **kw)

        def validate_result(self, pattern_text: str) -> bool:
            d = _digits(pattern_text)
            return 16 <= len(d) <= 19 and luhn_ok(d)

    class GluedIpv4Recognizer(PatternRecognizer):
        """IPv4 addresses written against CJK text ("例如192.168.0.0/24可用于..."), which presidio's
        ``\\b``-bounded IPv4 pattern misses because ideographs are word characters."""

        _OCTET = r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
        PATTERNS = [Pattern("IPv4 (ASCII-bounded)", r"(?<![0-9A-Za-z_.])" + _OCTET + r"(?:\." + _OCTET + r"){3}"
                            r"(?:/(?:[0-2]?[0-9]|3[0-2]))?(?![0-9A-Za-z_]|\.[0-9])", 0.6)]

        def __init__(self, **kw: Any):
            super().__init__(supported_entity="IP_ADDRESS", patterns=self.PATTERNS, context=["ip", "ipv4"],
                             global_regex_flags=_FLAGS, name="GluedIpv4Recognizer", **kw)

        def invalidate_result(self, pattern_text: str) -> bool:
            try:
                ipaddress.ip_interface(pattern_text)
            except ValueError:
                return True
            return False

    return {"CN_MOBILE": CnMobileRecognizer, "CN_RESIDENT_ID": CnResidentIdRecognizer,
            "CN_BANK_CARD": CnBankCardRecognizer, "GLUED_IPV4": GluedIpv4Recognizer}


_classes: dict[str, type] | None = None


def chinese_recognizer(entity: str):
    """A fresh recognizer instance for ``CN_MOBILE``, ``CN_RESIDENT_ID``, ``CN_BANK_CARD`` or ``GLUED_IPV4``."""
    global _classes
    if _classes is None:
        _classes = _recognizer_classes()
    return _classes[entity]()
