"""The fast path finds exactly what presidio's AnalyzerEngine finds on whole documents.

Real text (Python's standard-library docstrings) with PII of every kind planted in it, plus
documents built to stress the window rules (numbers glued together, extensions, vanity letters,
full-width digits, ideographs around addresses, long digit runs).
"""

from __future__ import annotations

import random
import re

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import regex

from corpus_fixtures import stdlib_docs, stdlib_sources
from corpuskit.pii.fastpath import _DIGIT, _WORD, FastAnalyzer, trigger_spans_batch
from corpuskit.pii.recognizers import DEFAULT_ENTITIES, build_analyzer, build_recognizers


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _luhn(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def _value(rng: random.Random) -> str:
    kind = rng.randrange(16)
    if kind == 0:
        return f"{rng.choice(['anna', 'j.smith', 'o_brien', 'dev-team'])}{rng.randrange(99)}@" \
               f"{rng.choice(['posteo.de', 'example.org', 'uni-wien.ac.at', 'mail.example', 'host.dom'])}"
    if kind == 1:
        return rng.choice([f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{_digits(rng, 4)}",
                           f"+1 {rng.randint(201, 989)}-{rng.randint(200, 999)}-{_digits(rng, 4)}",
                           f"+44 20 {rng.randint(7000, 8999)} {_digits(rng, 4)}", f"07{_digits(rng, 3)} {_digits(rng, 6)}",
                           f"0151 {_digits(rng, 8)}", f"+49 (0)89 {_digits(rng, 3)} {_digits(rng, 4)}",
                           "0" + str(rng.randint(1, 7)) + " " + " ".join(_digits(rng, 2) for _ in range(4)),
                           f"+81 {rng.randint(3, 9)}-{_digits(rng, 4)}-{_digits(rng, 4)}",
                           f"1{rng.choice('3589')}{_digits(rng, 1)}-{_digits(rng, 4)}-{_digits(rng, 4)}",
                           f"555-{_digits(rng, 4)} ext. {_digits(rng, 3)}"])
    if kind == 2:
        n = _luhn("4" + _digits(rng, 14))
        return rng.choice([n, " ".join(n[i:i + 4] for i in range(0, 16, 4)), "-".join(n[i:i + 4] for i in range(0, 16, 4))])
    if kind == 3:
        return rng.choice(["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR14 2004 1010 0505 0001 3M02 606"])
    if kind == 4:
        return ".".join(str(rng.randrange(256)) for _ in range(4)) + rng.choice(["", "/24", ""])
    if kind == 5:
        return rng.choice(["2001:db8::ff00:42:8329", "fe80::1%eth0", "::1", "2a00:1450:4001:82b::200e",
                           "::ffff:192.0.2.128", "1:2:3:4:5:6:7:8"])
    if kind == 6:
        return f"{rng.randint(100, 665)}-{_digits(rng, 2)}-{_digits(rng, 4)}"
    if kind == 7:
        return rng.choice(["1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
                           "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"])
    if kind == 8:
        return rng.choice(["11010519491231002X", _luhn("62" + _digits(rng, 15)), f"+86 13{_digits(rng, 9)}"])
    if kind == 9:
        return rng.choice(["https://www.python.org/dev/peps/", "docs.python.org", "see www.example.com/a?b=c."])
    if kind == 10:  # numbers that look like PII and are not
        return rng.choice(["3.11.4", "2019-06-11 12:30:45", "1.0.0.0.1", "0x7fff5fbff8c8", "12345678901234567890",
                           "v1.2.3.4", "ISBN 0-13-110362-8", "(1642-1727)", "8.2.2.1."])
    if kind == 11:
        return f"{_digits(rng, 3)}-{_digits(rng, 3)}-{_digits(rng, 4)}"
    if kind == 12:
        return "x".join(_digits(rng, 2) for _ in range(4))  # vanity-letter territory: 12x34x56x78
    if kind == 13:
        return "".join(chr(0xFF10 + int(c)) for c in f"0{rng.randint(1, 7)}{_digits(rng, 8)}")  # full-width digits
    if kind == 14:
        return f"＋{rng.randint(1, 99)} {_digits(rng, 3)} {_digits(rng, 4)}"
    return f"手机{rng.choice(['138', '159', '186'])}{_digits(rng, 8)}联系"


def _real_texts(n: int) -> list[str]:
    """``n`` real texts: stdlib docstrings, then blocks of stdlib source (blank-line separated, ~1-3 KB)."""
    texts = [d["text"] for d in stdlib_docs(n)]
    for _, src in stdlib_sources(400):
        block: list[str] = []
        for para in src.split("\n\n"):
            block.append(para)
            if sum(map(len, block)) >= 1000:
                texts.append("\n\n".join(block))
                block = []
            if len(texts) >= n:
                return texts
    return texts


def _planted_docs(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = []
    for text in _real_texts(n):
        words = text.split(" ")
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(words) + 1)
            words.insert(pos, _value(rng) + rng.choice(["", ",", ".", ";", ")"]))
        out.append(" ".join(words))
    return out


STRESS = [
    "Call 555 1234 5678 9012 3456 or 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 now",
    "Office: 650-253-0000 x1234, fax 650-253-0001 ext. 99; mobile +1 (650) 253-0002#",
    "Vanity 1-800-FLOWERS, 1x2x3x4x5x6x7 and 12 x 34 x 56",
    "Tel:０３－１２３４－５６７８ ／ ＋８１ ３ １２３４ ５６７８ and ٠٢٠٧٩٤٦٠٩٥٨",
    "Timestamps 2019-06-11 12:30:45 and 20190611 123045 and 12:30:45.123",
    "Pages 1912-1913, 25 (1999) 234-241; ISBN 978-3-16-148410-0; $ 1234567890; 50% 1234567890",
    "邮箱联系我abc.def@example.cn或者电话010-12345678，地址192.168.1.1，还有2001:db8::1。",
    "Matrix 4111111111111111 4111 1111 1111 1111 41111111111111114111111111111111",
    "Hashes 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy d41d8cd98f00b204e9800998ecf8427e",
    "IPv6 fe80::1%eth0, [2001:db8::1]:443, ::ffff:10.0.0.1, 1:2:3:4:5:6:7:8:9, a::b::c, 1.2.3.4.5.6",
    "" + "9" * 400 + " 020 7946 0958 " + "1." * 300,
    "email\u0301@domain\u0301.com and josé@exämple.de and x@y.z and a@b.co",
    "Phone numbers in a table:\n+44 20 7946 0958\t+33 1 42 68 53 00\n(212) 555-0100\n",
    "\u3000+49\u00a0(0)30\u00a012345678\u2010 und 030/1234567",
    # an IPv6 right after a numbered heading: its trigger starts inside the heading's window
    "configuration.\n\n12.2.2.2. 2804:85d3:2076:a4ba:87fc:86d1:fe4c:941d. Network 10.0.0.1 fe80::2",
]


def _key(results) -> list[tuple]:
    return sorted((r.entity_type, r.start, r.end, round(r.score, 6)) for r in results)


@pytest.mark.parametrize("entities,leniency", [(list(DEFAULT_ENTITIES) + ["URL"], 1),
                                               (["PHONE_NUMBER", "IP_ADDRESS", "EMAIL_ADDRESS"], 0)])
def test_same_entities_as_analyzer_engine(entities, leniency):
    docs = _planted_docs(3000 if leniency == 1 else 120) + STRESS
    recognizers = build_recognizers(entities, phone_leniency=leniency)
    engine = build_analyzer(recognizers)
    fast = FastAnalyzer(recognizers, score_threshold=0.0)
    got = fast.analyze_batch(pa.array(docs, pa.large_string()))
    found = 0
    for text, mine in zip(docs, got):
        ref = engine.analyze(text, language="en", score_threshold=0.0)
        found += len(ref)
        assert _key(mine) == _key(ref), text
    assert found > len(docs)  # plenty to compare
    assert len(docs) > 3000 or leniency != 1
    # and the single-document path (Python regex triggers instead of RE2) agrees too
    for text in STRESS:
        assert _key(fast.analyze(text)) == _key(engine.analyze(text, language="en", score_threshold=0.0)), text
    # no window rule ever had to fall back to the whole document
    assert fast.stats()["fallbacks"] == 0


def test_re2_classes_cover_presidio_and_phonenumbers_classes():
    """RE2 triggers are supersets of presidio's ``\\w`` and ``\\d`` (the ``regex`` module's, whose Unicode
    tables are newer than RE2's) and of phonenumbers' ``\\d`` (Python's ``re``)."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    arr = pa.array(chars, pa.string())
    for re2_class, rx in ((_WORD, regex.compile(r"\w")), (_DIGIT, regex.compile(r"\d")),
                          (r"\p{Nd}", re.compile(r"\d"))):
        covered = pc.match_substring_regex(arr, f"^{re2_class}$").to_pylist()
        missing = [hex(ord(ch)) for ch, ok in zip(chars, covered) if not ok and rx.match(ch)]
        assert not missing, (re2_class, missing[:20])


def test_crypto_trigger_covers_case_folded_letters():
    folded = regex.compile(r"[a-zA-HJ-NP-Z0-9]", regex.IGNORECASE)
    extra = {c for c in map(chr, range(0x110000)) if not 0xD800 <= ord(c) <= 0xDFFF and folded.match(c)
             and not c.isascii()}
    assert extra <= {"\u0130", "\u0131", "\u017f", "\u212a"}


def test_batch_trigger_spans_equal_python_regex_spans():
    texts = _planted_docs(60, seed=3) + STRESS + ["", "no digits here", "\x00 dirty 123-45-6789 \x01", "é" * 50 + "1.2.3.4"]
    pattern = r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]|::|[13-6]\p{Nd}{3}[- ]?\p{Nd}{3,4}[- ]?\p{Nd}{3,4}[- ]?\p{Nd}{3}"
    hit, spans = trigger_spans_batch(pa.array(texts, pa.large_string()), pattern)
    rx = regex.compile(pattern)
    for i, text in enumerate(texts):
        want = [m.span() for m in rx.finditer(text)]
        assert bool(hit[i]) == bool(want)
        if "\x00" in text:
            assert i not in spans  # left to the Python scan
        elif want:
            assert [tuple(sp) for sp in spans[i]] == want, text
