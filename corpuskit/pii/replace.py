"""Turning findings into text: one span per character, typed placeholders or consistent pseudonyms.

presidio de-duplicates within an entity type only, so a UnionPay number can be both
``CN_BANK_CARD`` and ``CREDIT_CARD`` and an SSN-shaped run both ``US_SSN`` and ``PHONE_NUMBER``.
Spans are resolved greedily: higher score first, then the longer span, then the more specific type
(``recognizers.PRIORITY``); a span overlapping an accepted one is dropped.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Sequence

import xxhash

from .recognizers import LABELS, PRIORITY

_RANK = {e: i for i, e in enumerate(PRIORITY)}
_NON_ALNUM = re.compile(r"[\W_]+")


class Span(NamedTuple):
    start: int
    end: int
    entity: str
    score: float


def resolve(spans: Sequence[Span]) -> list[Span]:
    """Non-overlapping spans in text order, chosen by score, length, then type specificity."""
    order = sorted(spans, key=lambda s: (-s.score, s.start - s.end, _RANK.get(s.entity, len(_RANK)), s.start))
    kept: list[Span] = []
    for s in order:
        if all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    kept.sort()
    return kept


def normalise(entity: str, value: str) -> str:
    """The form two spellings of one value share: e-mail case-folded, numbers reduced to digits/letters."""
    if entity in ("EMAIL_ADDRESS", "URL"):
        return value.strip().casefold()
    if entity in ("PERSON", "LOCATION", "ORGANIZATION"):
        return " ".join(value.split()).casefold()
    return _NON_ALNUM.sub("", value).upper()


def pseudonym(entity: str, value: str, salt: str, scope: str) -> str:
    """``<EMAIL_3f09c2a1>``: a salted 32-bit hash, so one value gets one name within ``scope``."""
    label = LABELS.get(entity, entity)
    h = xxhash.xxh3_64_hexdigest(f"{salt}\x00{scope}\x00{label}\x00{normalise(entity, value)}".encode())
    return f"<{label}_{h[:8]}>"


def placeholder(entity: str) -> str:
    return f"<{LABELS.get(entity, entity)}>"


def apply(text: str, spans: Sequence[Span], mode: str, salt: str = "", scope: str = "") -> str:
    """``text`` with every span replaced (``spans`` sorted and non-overlapping)."""
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for s in spans:
        out.append(text[pos:s.start])
        if mode == "pseudonym":
            out.append(pseudonym(s.entity, text[s.start:s.end], salt, scope))
        else:
            out.append(placeholder(s.entity))
        pos = s.end
    out.append(text[pos:])
    return "".join(out)
