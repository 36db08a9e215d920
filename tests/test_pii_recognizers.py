"""Each PII type on real-looking text: found and replaced by its placeholder; near misses left alone."""

from __future__ import annotations

import pytest

from corpuskit.document import make_batch
from corpuskit.pii.chinese import luhn_ok, resident_id_ok
from corpuskit.pii.step import PiiScrubber
from corpuskit.stats import StepStats

CASES = [
    # e-mail: public suffixes, a placeholder domain manuals use; file names and npm versions are not addresses
    ("Write to jane.doe@posteo.de or j.smith@uni-heidelberg.de before Friday.",
     "Write to <EMAIL> or <EMAIL> before Friday."),
    ("ssh -t admin@build.intern, then open logo@2x.png and left-pad@1.3.0",
     "ssh -t <EMAIL>, then open logo@2x.png and left-pad@1.3.0"),
    # phones: US layout (any range), UK, German mobile and landline, French, Japanese with +81
    ("Call our office at (415) 555-2671 today.", "Call our office at <PHONE> today."),
    ("Ring me on 020 7946 0958 after six.", "Ring me on <PHONE> after six."),
    ("Mobil: 0151 23456789, Büro 030 12345678.", "Mobil: <PHONE>, Büro <PHONE>."),
    ("Tél. 01 42 68 53 00 ou +33 6 12 34 56 78.", "Tél. <PHONE> ou <PHONE>."),
    ("Tokyo office: +81 3-3224-5000.", "Tokyo office: <PHONE>."),
    # credit cards pass Luhn; one digit off does not
    ("Card 4111 1111 1111 1111 expires 09/27; 4111 1111 1111 1112 was declined.",
     "Card <CREDIT_CARD> expires 09/27; 4111 1111 1111 1112 was declined."),
    # IBAN checksum
    ("Pay to DE89 3704 0044 0532 0130 00, not DE89 3704 0044 0532 0130 01.",
     "Pay to <IBAN>, not DE89 3704 0044 0532 0130 01."),
    # IPv4 and IPv6; section and version numbers are not addresses
    ("The server at 81.2.69.160 and 2a03:2880:f10c:83:face:b00c:0:25de answered.",
     "The server at <IP_ADDRESS> and <IP_ADDRESS> answered."),
    ("Python 3.11.4 came out in 2023; see section 8.2.2.1, chapter 2.3.1.4 and 15.4.1.3.4.",
     "Python 3.11.4 came out in 2023; see section 8.2.2.1, chapter 2.3.1.4 and 15.4.1.3.4."),
    # US SSN (presidio's medium pattern); crypto wallet with base58 checksum
    ("Her SSN is 536-90-4399.", "Her SSN is <SSN>."),
    ("Donations: 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 (thank you!)", "Donations: <CRYPTO> (thank you!)"),
    # Chinese: mobile glued to ideographs, resident ID with MOD 11-2 check, UnionPay card with Luhn
    ("请联系张先生，手机13812345678，或+86 139 1234 5678。", "请联系张先生，手机<PHONE>，或<PHONE>。"),
    ("身份证号码：11010519491231002X，工作证 110105194912310021。",
     "身份证号码：<ID_NUMBER>，工作证 110105194912310021。"),
    ("银行卡号 6222020200112345679，到期日 2025。", "银行卡号 <BANK_CARD>，到期日 2025。"),
    ("例如192.168.0.0/24可用于指定一个网络。", "例如<IP_ADDRESS>可用于指定一个网络。"),
]


@pytest.fixture(scope="module")
def scrub():
    step = PiiScrubber()
    step.stats = StepStats("pii")
    step.ensure_setup()
    return step


def test_checksums_used_by_the_chinese_recognizers():
    assert resident_id_ok("11010519491231002X") and not resident_id_ok("110105194912310021")
    assert not resident_id_ok("11010519491331002X")  # month 13
    assert luhn_ok("6222020200112345679") and not luhn_ok("6222020200112345676")


def test_each_type_on_real_looking_text(scrub):
    texts = [t for t, _ in CASES]
    batch = make_batch([f"d{i}" for i in range(len(texts))], texts, ["web"] * len(texts), [None] * len(texts))
    out = scrub.process(batch).batch
    got = out.column("text").to_pylist()
    for (text, want), have in zip(CASES, got):
        assert have == want, (text, have)
    assert out.column("pii_count").to_pylist() == [w.count("<") for _, w in CASES]
    counters = scrub.stats.counters
    for entity in ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "CRYPTO",
                   "CN_MOBILE", "CN_RESIDENT_ID", "CN_BANK_CARD"):
        assert counters.get(entity, 0) >= 1, entity
    assert counters["docs_with_pii"] == sum("<" in w for _, w in CASES)


def test_entities_and_regions_are_configurable():
    only = PiiScrubber(entities=["email", "iban"], phone_regions=["FR"])
    only.ensure_setup()
    text = "Mail a.b@posteo.de, IBAN DE89 3704 0044 0532 0130 00, tel 020 7946 0958 or 01 42 68 53 00."
    out = only.process(make_batch(["x"], [text], ["web"], [None])).batch
    assert out.column("text").to_pylist() == ["Mail <EMAIL>, IBAN <IBAN>, tel 020 7946 0958 or 01 42 68 53 00."]
    fr = PiiScrubber(entities=["phone"], phone_regions=["FR"], phone_international=False)
    fr.ensure_setup()
    out = fr.process(make_batch(["x"], [text], ["web"], [None])).batch
    assert out.column("text").to_pylist() == [
        "Mail a.b@posteo.de, IBAN DE89 3704 0044 0532 0130 00, tel 020 7946 0958 or <PHONE>."]


def test_bad_parameters_are_config_errors():
    from corpuskit.errors import ConfigError
    from corpuskit.pipeline import build_step

    with pytest.raises(ConfigError, match="unknown PII entity 'passport'"):
        build_step("pii", {"entities": ["email", "passport"]}, ("p.yaml", "steps[0]"))
    with pytest.raises(ConfigError, match="unknown phone region 'XX'"):
        build_step("pii", {"phone_regions": ["US", "XX"]}, ("p.yaml", "steps[0]"))
    with pytest.raises(ConfigError, match="valid parameters"):
        build_step("pii", {"entitites": ["email"]}, ("p.yaml", "steps[0]"))
