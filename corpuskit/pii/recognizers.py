"""The entity catalogue and an offline presidio set-up: pattern recognizers only, no spaCy model, no network.

presidio's defaults reach for the network twice: ``AnalyzerEngine()`` loads (and downloads) a spaCy
model, and ``EmailRecognizer`` validates domains with ``tldextract.extract``, whose module-level
extractor fetches the public-suffix list on first use.  Here the NLP engine is presidio's
``NoOpNlpEngine`` (pattern recognizers need no tokens) and e-mail validation uses a
``TLDExtract(suffix_list_urls=(), cache_dir=None)``: the snapshot bundled with tldextract, no fetch,
no cache file.  Everything presidio-related is imported inside functions, so importing this module
(which the step registry does) stays cheap.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import ConfigError

#: presidio's language key for every recognizer: pattern recognizers do not depend on language
LANG = "en"

#: entity -> placeholder label (``<EMAIL>``); several entities may share a label
LABELS: dict[str, str] = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CN_MOBILE": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "CN_BANK_CARD": "BANK_CARD",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP_ADDRESS",
    "US_SSN": "SSN",
    "CRYPTO": "CRYPTO",
    "URL": "URL",
    "CN_RESIDENT_ID": "ID_NUMBER",
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
    "ORGANIZATION": "ORG",
}
PATTERN_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "CRYPTO",
                    "URL", "CN_MOBILE", "CN_RESIDENT_ID", "CN_BANK_CARD")
NER_ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION")
DEFAULT_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "CRYPTO",
                    "CN_MOBILE", "CN_RESIDENT_ID", "CN_BANK_CARD")
#: presidio's own default regions, without CA (NANP numbers already parse under US), plus CN landlines
DEFAULT_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "BR", "CN")
#: on equal score and length, the more specific entity names the span
PRIORITY = ("CN_RESIDENT_ID", "CN_BANK_CARD", "CN_MOBILE", "IBAN_CODE", "CREDIT_CARD", "CRYPTO", "US_SSN",
            "EMAIL_ADDRESS", "IP_ADDRESS", "PHONE_NUMBER", "URL", "PERSON", "ORGANIZATION", "LOCATION")

#: special-use top-level names (RFC 2606, RFC 6761, RFC 6762, ICANN .internal): not in the public suffix list
SPECIAL_USE_TLDS = frozenset({"example", "test", "invalid", "localhost", "local", "internal", "localdomain"})
#: private-network and placeholder names manuals write addresses under (user@host.dom, jdoe@office.intern)
PLACEHOLDER_TLDS = frozenset({"dom", "domain", "lan", "home", "corp", "intern", "intranet", "private"})

#: last labels after '@' that are not mail domains when the public suffix list does not know them
NOT_TLDS = frozenset("""
    png jpg jpeg gif svg webp ico bmp tif tiff pdf txt md rst html htm xhtml xml json yaml yml toml ini cfg conf
    js mjs cjs ts tsx jsx css scss less py pyc pyi rb pl pm php java class jar kt c h cc cpp cxx hpp hxx go rs sh
    bash zsh bat cmd ps1 exe dll so dylib o a lib obj bin img iso zip gz tgz tar bz2 xz zst 7z rar deb rpm apk
    mp3 mp4 wav avi mov mkv ogg flac webm csv tsv log lock sql db sqlite bak tmp swp orig patch diff po mo pot
    service socket target timer mount automount swap path slice scope device
    """.split())

ALIASES: dict[str, str] = {
    "email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER", "credit_card": "CREDIT_CARD", "iban": "IBAN_CODE",
    "ip": "IP_ADDRESS", "ssn": "US_SSN", "crypto": "CRYPTO", "url": "URL", "cn_mobile": "CN_MOBILE",
    "cn_id": "CN_RESIDENT_ID", "cn_bank_card": "CN_BANK_CARD", "person": "PERSON", "location": "LOCATION",
    "org": "ORGANIZATION", "organization": "ORGANIZATION",
}


def canonical_entity(name: str) -> str:
    """``email`` / ``EMAIL_ADDRESS`` -> ``EMAIL_ADDRESS``; unknown names raise ``ValueError`` listing the valid ones."""
    key = name.strip()
    if key.upper() in LABELS:
        return key.upper()
    if key.lower() in ALIASES:
        return ALIASES[key.lower()]
    raise ValueError(f"unknown PII entity {name!r}; valid: {', '.join(LABELS)} (or {', '.join(ALIASES)})")


def validate_regions(regions: Sequence[str]) -> tuple[str, ...]:
    """Upper-case ISO region codes that phonenumbers knows (checked without importing presidio)."""
    import phonenumbers

    out = []
    for r in regions:
        code = r.strip().upper()
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {r!r}: use ISO 3166 codes such as US, GB, DE, FR, CN")
        out.append(code)
    return tuple(out)


_tld_extractor = None


def offline_tld_extractor():
    """A tldextract extractor that never touches the network or the disk: the bundled suffix-list snapshot."""
    global _tld_extractor
    if _tld_extractor is None:
        import tldextract

        _tld_extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
    return _tld_extractor


_email_cls = None


def _email_recognizer_class():
    global _email_cls
    if _email_cls is None:
        from presidio_analyzer.predefined_recognizers import EmailRecognizer

        class OfflineEmailRecognizer(EmailRecognizer):
            """presidio's e-mail recognizer, validating the domain offline.

            presidio hands the whole match to ``tldextract``, which reads "cdn.net/pkg@1.13.4" as a
            URL and validates "cdn.net"; only the part after the last '@' is a domain.  A domain
            under a public suffix (the snapshot bundled with tldextract, no fetch) is valid; so is
            one under a special-use or placeholder name (.example, .test, .local, .lan, ...:
            ``allow_documentation`` decides whether to keep those); a top-level label that is a
            file extension or a systemd unit type ("logo@2x.png", "getty@tty1.service") is not an
            address; any other alphabetic top-level label is accepted, since the snapshot ages
            and manuals write "user@host.domain" (a person's address there is still PII).
            """

            def validate_result(self, pattern_text: str) -> bool:
                domain = pattern_text.rsplit("@", 1)[-1]
                tld = domain.rsplit(".", 1)[-1].lower()
                if len(tld) < 2 or not tld.isalpha():
                    return False
                if tld in SPECIAL_USE_TLDS or tld in PLACEHOLDER_TLDS:
                    return True
                if offline_tld_extractor()(domain).fqdn != "":
                    return True
                return tld not in NOT_TLDS

        _email_cls = OfflineEmailRecognizer
    return _email_cls


def build_recognizer(entity: str, phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
                     phone_international: bool = True, phone_leniency: int = 1) -> list[Any]:
    """presidio recognizer instances for a pattern entity.

    Phone numbers get presidio's ``PhoneRecognizer`` for the default regions (national formats are
    checked against each region's numbering plan), with ``phone_international``
    ``InternationalPhoneRecognizer`` for '+CC' numbers next to other digits or in unassigned ranges,
    and with US/CA among the regions ``NanpPhoneRecognizer`` for "(NXX) NXX-XXXX" layouts.
    """
    from presidio_analyzer.predefined_recognizers import (CreditCardRecognizer, CryptoRecognizer, IbanRecognizer,
                                                          IpRecognizer, PhoneRecognizer, UrlRecognizer,
                                                          UsSsnRecognizer)

    from .chinese import chinese_recognizer

    if entity == "EMAIL_ADDRESS":
        return [_email_recognizer_class()()]
    if entity == "PHONE_NUMBER":
        from .phone_formats import phone_format_recognizer

        out = [PhoneRecognizer(supported_regions=tuple(phone_regions), leniency=phone_leniency)] \
            if phone_regions else []
        if phone_international:
            out.append(phone_format_recognizer("international"))
        if {"US", "CA"} & set(phone_regions):
            out.append(phone_format_recognizer("nanp"))
        return out
    if entity == "IP_ADDRESS":  # plus IPv4 glued to CJK text, which presidio's \b misses
        return [IpRecognizer(), chinese_recognizer("GLUED_IPV4")]
    simple = {"CREDIT_CARD": CreditCardRecognizer, "IBAN_CODE": IbanRecognizer,
              "US_SSN": UsSsnRecognizer, "CRYPTO": CryptoRecognizer, "URL": UrlRecognizer}
    if entity in simple:
        return [simple[entity]()]
    if entity in ("CN_MOBILE", "CN_RESIDENT_ID", "CN_BANK_CARD"):
        return [chinese_recognizer(entity)]
    raise ConfigError(f"{entity} is not a pattern entity (NER entities need ner: true)")


def build_recognizers(entities: Sequence[str], phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
                      phone_international: bool = True, phone_leniency: int = 1) -> list[Any]:
    """Recognizers for the pattern entities among ``entities``, in catalogue order."""
    return [r for e in PATTERN_ENTITIES if e in entities
            for r in build_recognizer(e, phone_regions, phone_international, phone_leniency)]


def no_op_nlp_engine():
    """presidio's NLP engine that loads no model: pattern recognizers need no tokens."""
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    engine = NoOpNlpEngine(models=[{"lang_code": LANG, "model_name": "no_op"}])
    engine.load()
    return engine


def build_analyzer(recognizers: Sequence[Any], nlp_engine: Any = None):
    """A presidio ``AnalyzerEngine`` over exactly ``recognizers`` (the reference the fast path must equal)."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    registry = RecognizerRegistry(supported_languages=[LANG])
    for r in recognizers:
        registry.add_recognizer(r)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine or no_op_nlp_engine(),
                          supported_languages=[LANG])
