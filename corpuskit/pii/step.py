"""The ``pii`` step: find PII with presidio's recognizers (fast path), then replace, pseudonymise or drop."""

from __future__ import annotations

import importlib.util
from collections import Counter
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator, model_validator

from ..document import ID, SOURCE, TEXT, replace_text, with_column
from ..registry import register_step
from ..steps.base import StepOutput, StepParams, Transform
from . import filters
from .recognizers import (DEFAULT_ENTITIES, DEFAULT_PHONE_REGIONS, NER_ENTITIES, PATTERN_ENTITIES, canonical_entity,
                          validate_regions)
from .replace import Span, apply, resolve

PhoneNational = Literal["grouped", "any", "none"]
IpScope = Literal["any", "global"]


def _entities(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        v = [v]
    out = []
    for name in v:
        e = canonical_entity(str(name))
        if e not in out:
            out.append(e)
    return tuple(out)


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _check_ner_model(model: str) -> None:
    """Fail at config time, without importing spaCy, when NER is asked for and no model is there."""
    if importlib.util.find_spec("spacy") is None:
        raise ValueError(f"NER entities need spaCy and a spaCy model: pip install spacy, then "
                         f"python -m spacy download {model}")
    if not Path(model).exists() and not _importable(model.replace("-", "_")):
        raise ValueError(f"NER entities need the spaCy model {model!r}, which is not installed: run "
                         f"`python -m spacy download {model}` (or pip install its wheel), or set ner_model "
                         "to the path of a saved spaCy pipeline; corpuskit never downloads models itself")


class SourceRule(StepParams):
    """Settings for documents whose ``source`` matches one of ``match`` (shell patterns); first rule wins."""

    match: list[str] = Field(min_length=1)
    #: entity set for these sources (default: the step's)
    entities: tuple[str, ...] | None = None
    allow_documentation: bool | None = None
    phone_national: PhoneNational | None = None
    ip_scope: IpScope | None = None
    #: leave these documents untouched
    skip: bool = False

    @field_validator("entities", mode="before")
    @classmethod
    def _canon(cls, v: Any) -> Any:
        return None if v is None else _entities(v)


class PiiParams(StepParams):
    #: entities to find: presidio names or aliases (email, phone, credit_card, iban, ip, ssn, crypto,
    #: url, cn_mobile, cn_id, cn_bank_card; person, location, org need a spaCy model)
    entities: tuple[str, ...] = DEFAULT_ENTITIES
    #: regions whose national formats phone numbers may be written in (ISO codes)
    phone_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS
    #: phonenumbers leniency for national formats: 0 possible (length fits), 1 valid (assigned range), 2-3 grouping
    phone_leniency: int = Field(1, ge=0, le=3)
    #: also find +CC numbers of a length that country allows, outside ranges phonenumbers knows as assigned
    phone_international: bool = True
    #: numbers without '+': "grouped" (written for dialling, see filters.py), "any" (presidio's answer), "none"
    phone_national: PhoneNational = "grouped"
    #: drop IPv4 inside longer dotted numbers and non-unicast IPv6 (see filters.py)
    strict_ip: bool = True
    #: "global": only globally routed unicast IPs count (loopback, private, multicast are not people)
    ip_scope: IpScope = "any"
    #: presidio score a finding needs (pattern scores: phone 0.4, IP 0.6, checksummed types 1.0;
    #: 0.35 leaves out presidio's "very weak" SSN guesses at 0.05)
    score_threshold: float = Field(0.35, ge=0.0, le=1.0)
    #: placeholder: "<EMAIL>"; pseudonym: "<EMAIL_3f09c2a1>", one name per value; none: only annotate
    replace: Literal["placeholder", "pseudonym", "none"] = "placeholder"
    #: secret mixed into pseudonyms, so they cannot be reversed by hashing guesses
    salt: str = ""
    #: pseudonyms agree within a document (default) or across the whole corpus
    pseudonym_scope: Literal["document", "corpus"] = "document"
    #: drop documents whose PII covers at least this fraction of their characters (reason "pii_density")
    max_density: float | None = Field(None, gt=0.0, le=1.0)
    #: ... and that hold at least this many PII spans
    density_min_entities: int = Field(3, ge=1)
    #: keep documentation addresses (example.com, 192.0.2.0/24, 2001:db8::/32, ...)
    allow_documentation: bool = False
    #: exact strings never scrubbed
    allow_list: tuple[str, ...] = ()
    #: per-source settings, e.g. code: [{match: ["python-*", "c-*"], allow_documentation: true}]
    sources: tuple[SourceRule, ...] = ()
    #: add PERSON, LOCATION and ORGANIZATION (presidio's spaCy recognizer; needs a spaCy model)
    ner: bool = False
    #: spaCy model package or path for NER
    ner_model: str = "en_core_web_sm"
    #: int32 column with the number of PII spans per document (None: no column)
    count_column: str | None = "pii_count"
    #: list<struct<start, end, type>> column of the spans found, offsets in the original text (None: no column)
    spans_column: str | None = None
    #: False runs presidio's AnalyzerEngine on whole documents (the reference the fast path equals; slow)
    fast_path: bool = True

    @field_validator("entities", mode="before")
    @classmethod
    def _canon(cls, v: Any) -> Any:
        return _entities(v)

    @field_validator("phone_regions", mode="before")
    @classmethod
    def _regions(cls, v: Any) -> Any:
        return validate_regions([v] if isinstance(v, str) else v)

    @model_validator(mode="after")
    def _ner(self) -> "PiiParams":
        sets = [self.entities] + [r.entities for r in self.sources if r.entities]
        if self.ner or any(e in NER_ENTITIES for s in sets for e in s):
            _check_ner_model(self.ner_model)
        return self


@dataclass
class _Profile:
    entities: frozenset[str]
    allow_documentation: bool
    phone_national: str
    ip_scope: str
    skip: bool
    analyzer: Any = None


@register_step("pii")
class PiiScrubber(Transform):
    """Find PII with presidio's recognizers and replace it by typed placeholders or pseudonyms.

    presidio runs only on windows around cheap candidates (``fastpath``), with the same results
    as ``AnalyzerEngine.analyze`` on whole documents; plausibility rules and allow-lists then decide
    what is scrubbed (``filters``).  Counters: spans per entity type and ``docs_with_pii``.
    """

    Params = PiiParams

    def setup(self) -> None:
        p: PiiParams = self.params  # type: ignore[assignment]
        base = set(p.entities) | (set(NER_ENTITIES) if p.ner else set())
        self.profiles: list[_Profile] = [_Profile(frozenset(base), p.allow_documentation, p.phone_national,
                                                  p.ip_scope, False)]
        for rule in p.sources:
            ents = set(rule.entities) if rule.entities is not None else base
            self.profiles.append(_Profile(
                frozenset(ents), p.allow_documentation if rule.allow_documentation is None else rule.allow_documentation,
                rule.phone_national or p.phone_national, rule.ip_scope or p.ip_scope, rule.skip))
        analyzers: dict[tuple[frozenset[str], bool], Any] = {}
        ner_runs: dict[tuple[str, ...], Any] = {}
        for prof in self.profiles:
            if prof.skip:
                continue
            # with phone_national "none", national formats would all be discarded: do not look for them
            key = (prof.entities, prof.phone_national == "none")
            if key not in analyzers:
                analyzers[key] = self._analyzer(prof.entities, ner_runs, national_phones=not key[1])
            prof.analyzer = analyzers[key]
        self._allow = frozenset(p.allow_list)
        self._source_profiles: dict[str | None, int] = {}

    def _analyzer(self, entities: frozenset[str], ner_runs: dict, national_phones: bool = True) -> Any:
        from .fastpath import FastAnalyzer, ReferenceAnalyzer
        from .recognizers import build_recognizers

        p: PiiParams = self.params  # type: ignore[assignment]
        recognizers = build_recognizers([e for e in PATTERN_ENTITIES if e in entities],
                                        p.phone_regions if national_phones else (), p.phone_international,
                                        p.phone_leniency)
        ner = tuple(e for e in NER_ENTITIES if e in entities)
        extra = None
        if ner:
            if ner not in ner_runs:
                from .ner import load_ner

                ner_runs[ner] = load_ner(p.ner_model, ner)
            extra = ner_runs[ner]
        cls = FastAnalyzer if p.fast_path else ReferenceAnalyzer
        return cls(recognizers, score_threshold=p.score_threshold, extra=extra)

    # -- per batch ------------------------------------------------------------------------
    def _profile_rows(self, batch: pa.RecordBatch) -> np.ndarray:
        """Profile index per row (0: the step's own settings)."""
        p: PiiParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        if not p.sources or SOURCE not in batch.schema.names:
            return np.zeros(n, dtype=np.int32)
        enc = pc.dictionary_encode(batch.column(SOURCE))
        values = enc.dictionary.to_pylist()
        lookup = np.array([self._profile_for(v) for v in values] + [self._profile_for(None)], dtype=np.int32)
        idx = enc.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
        return lookup[idx]

    def _profile_for(self, source: str | None) -> int:
        found = self._source_profiles.get(source)
        if found is None:
            p: PiiParams = self.params  # type: ignore[assignment]
            found = 0
            for k, rule in enumerate(p.sources, start=1):
                if source is not None and any(fnmatchcase(source, pat) for pat in rule.match):
                    found = k
                    break
            self._source_profiles[source] = found
        return found

    def _keep(self, prof: _Profile, text: str, results: list) -> list[Span]:
        p: PiiParams = self.params  # type: ignore[assignment]
        spans = []
        for r in results:
            e = r.entity_type
            if e not in prof.entities:
                continue
            value = text[r.start:r.end]
            if value in self._allow:
                continue
            if e == "PHONE_NUMBER" and not filters.phone_plausible(value, prof.phone_national):
                continue
            if e == "IP_ADDRESS":
                if p.strict_ip and not (filters.ipv6_plausible(value) if ":" in value
                                        else filters.ipv4_plausible(text, r.start, r.end)):
                    continue
                if prof.ip_scope == "global" and not filters.ip_is_global(value):
                    continue
            if prof.allow_documentation and filters.is_documentation(e, value):
                continue
            spans.append(Span(r.start, r.end, e, r.score))
        return resolve(spans)

    def transform(self, batch: pa.RecordBatch) -> pa.RecordBatch | StepOutput:
        p: PiiParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        texts = batch.column(TEXT)
        rows_profile = self._profile_rows(batch)
        found: dict[int, tuple[str, list[Span]]] = {}
        for k, prof in enumerate(self.profiles):
            rows = np.flatnonzero(rows_profile == k)
            if prof.skip or rows.size == 0:
                continue
            sub = texts if rows.size == n else texts.take(pa.array(rows))
            for local, text, results in prof.analyzer.run(sub):
                spans = self._keep(prof, text, results) if results else []
                if spans:
                    found[int(rows[local])] = (text, spans)
        return self._emit(batch, found)

    def _emit(self, batch: pa.RecordBatch, found: dict[int, tuple[str, list[Span]]]) -> pa.RecordBatch | StepOutput:
        p: PiiParams = self.params  # type: ignore[assignment]
        n = batch.num_rows
        per_type: Counter[str] = Counter()
        for _, spans in found.values():
            per_type.update(s.entity for s in spans)
        for entity, c in sorted(per_type.items()):
            self.count(entity, c)
        self.count("docs_with_pii", len(found))
        rows = sorted(found)
        out = batch
        if p.count_column:
            counts = np.zeros(n, dtype=np.int32)
            for r in rows:
                counts[r] = len(found[r][1])
            out = with_column(out, p.count_column, pa.array(counts, pa.int32()))
        if p.spans_column:
            out = with_column(out, p.spans_column, _spans_array(n, found))
        if p.replace != "none" and rows:
            ids = batch.column(ID).take(pa.array(rows)).to_pylist() if p.pseudonym_scope == "document" else None
            new = [apply(found[r][0], found[r][1], p.replace, p.salt, ids[j] if ids else "")
                   for j, r in enumerate(rows)]
            mask = np.zeros(n, dtype=bool)
            mask[rows] = True
            out = replace_text(out, pc.replace_with_mask(batch.column(TEXT), pa.array(mask),
                                                         pa.array(new, pa.large_string())))
        if p.max_density is None or not rows:
            return out
        drop = np.zeros(n, dtype=bool)
        for r in rows:
            text, spans = found[r]
            covered = sum(s.end - s.start for s in spans)
            if len(spans) >= p.density_min_entities and covered >= p.max_density * max(1, len(text)):
                drop[r] = True
        if not drop.any():
            return out
        reasons = pc.if_else(pa.array(drop), pa.scalar("pii_density", pa.string()), pa.nulls(n, pa.string()))
        return StepOutput(out, reasons)


_SPAN_TYPE = pa.list_(pa.struct([("start", pa.int32()), ("end", pa.int32()), ("type", pa.string())]))


def _spans_array(n: int, found: dict[int, tuple[str, list[Span]]]) -> pa.Array:
    counts = np.zeros(n, dtype=np.int32)
    starts: list[int] = []
    ends: list[int] = []
    types: list[str] = []
    for r in sorted(found):
        spans = found[r][1]
        counts[r] = len(spans)
        starts.extend(s.start for s in spans)
        ends.extend(s.end for s in spans)
        types.extend(s.entity for s in spans)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    values = pa.StructArray.from_arrays([pa.array(starts, pa.int32()), pa.array(ends, pa.int32()),
                                         pa.array(types, pa.string())], names=["start", "end", "type"])
    return pa.ListArray.from_arrays(pa.array(offsets), values, type=_SPAN_TYPE)
