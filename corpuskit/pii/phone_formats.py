"""Phone numbers phonenumbers' matcher misses, as presidio recognizers of ``PHONE_NUMBER``.

- ``InternationalPhoneRecognizer``: numbers written with '+'.  phonenumbers' matcher reads a whole
  run of digit groups as one candidate, so "+44 20 7618 0464 2" (a number followed by a table cell)
  or "+55 11 94353-3440 0 0 0" is rejected as a whole, and it only accepts numbers in ranges its
  metadata knows as assigned.  This one takes the '+' candidates itself and keeps the longest
  leading run of groups that phonenumbers parses as a valid number, else as a possible one (a
  full-number length the country allows).
- ``NanpPhoneRecognizer``: North American numbers in the standard "(NXX) NXX-XXXX" or
  "NXX-NXX-XXXX" layout, whatever range they are in ("(549) 896-6901"): the layout itself says
  phone number.  Added with the US (or CA) default region.
"""

from __future__ import annotations

from typing import Any

import regex as re

#: '+', then up to eight groups of 1-5 digits with at most two separators before each
PATTERN = re.compile(r"(?<![\w+\uff0b])[+\uff0b](?:[ \-.()]{0,2}[0-9]{1,5}){2,8}")
_GROUP_END = re.compile(r"[0-9]+\)?")
#: area code and exchange start with 2-9 (NANP); no digit, letter, '-' or '+' glued on either side
NANP = r"(?<![\w+\-.(])(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}-)[2-9][0-9]{2}-[0-9]{4}(?![\w\-]|\.[0-9])"


def _classes() -> dict[str, type]:
    import phonenumbers
    from presidio_analyzer import AnalysisExplanation, LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult

    possible = phonenumbers.ValidationResult.IS_POSSIBLE  # a full number, not a local-only length

    class InternationalPhoneRecognizer(LocalRecognizer):
        """'+CC ...' numbers: the longest leading groups that form a valid (else possible) number."""

        SCORE = 0.4

        def __init__(self, **kw: Any):
            super().__init__(supported_entities=["PHONE_NUMBER"], supported_language="en",
                             name="InternationalPhoneRecognizer", **kw)

        def load(self) -> None:
            pass

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list:
            out = []
            for m in PATTERN.finditer(text):
                ends = [g.end() for g in _GROUP_END.finditer(text, m.start(), m.end())][1:]
                best = None
                for end in reversed(ends):  # longest first
                    try:
                        num = phonenumbers.parse(text[m.start():end], None)
                    except phonenumbers.NumberParseException:
                        continue
                    if phonenumbers.is_valid_number(num):
                        best = end
                        break
                    if best is None and phonenumbers.is_possible_number_with_reason(num) == possible:
                        best = end
                if best is None:
                    continue
                if text[best - 1] == ")":  # a group closed by ')' ends inside the number
                    best -= 1
                expl = AnalysisExplanation(recognizer=self.name, original_score=self.SCORE,
                                           textual_explanation="international number, phonenumbers")
                out.append(RecognizerResult("PHONE_NUMBER", m.start(), best, self.SCORE, expl,
                                            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}))
            return out

    class NanpPhoneRecognizer(PatternRecognizer):
        """North American numbers in their standard layout, assigned range or not."""

        def __init__(self, **kw: Any):
            super().__init__(supported_entity="PHONE_NUMBER", patterns=[Pattern("NANP layout", NANP, 0.4)],
                             context=["phone", "telephone", "call", "fax"], name="NanpPhoneRecognizer",
                             global_regex_flags=re.DOTALL | re.MULTILINE, **kw)

    return {"international": InternationalPhoneRecognizer, "nanp": NanpPhoneRecognizer}


_cls: dict[str, type] | None = None


def phone_format_recognizer(kind: str) -> Any:
    """A fresh ``InternationalPhoneRecognizer`` (``"international"``) or ``NanpPhoneRecognizer`` (``"nanp"``)."""
    global _cls
    if _cls is None:
        _cls = _classes()
    return _cls[kind]()
