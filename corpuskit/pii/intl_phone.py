"""International phone numbers written with '+', found even where phonenumbers' matcher gives up.

phonenumbers' matcher reads a whole run of digit groups as one candidate, so "+44 20 7618 0464 2"
(a number followed by a table cell) or "+55 11 94353-3440 0 0 0" is rejected as a whole, and it
only accepts numbers in ranges its metadata knows as assigned.  This presidio recognizer takes the
'+' candidates itself and keeps the longest leading run of groups that phonenumbers parses as a
valid number, else as a possible one (a length the country allows).
"""

from __future__ import annotations

from typing import Any

import regex as re

#: '+', then up to eight groups of 1-5 digits with at most two separators before each
PATTERN = re.compile(r"(?<![\w+\uff0b])[+\uff0b](?:[ \-.()]{0,2}[0-9]{1,5}){2,8}")
_GROUP_END = re.compile(r"[0-9]+\)?")
#: characters the recognizer may look at around a candidate: one before, none after
MAX_LENGTH = 1 + 8 * 7


def _class() -> type:
    import phonenumbers
    from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult

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
                    if best is None and phonenumbers.is_possible_number(num):
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

    return InternationalPhoneRecognizer


_cls: type | None = None


def international_phone_recognizer() -> Any:
    global _cls
    if _cls is None:
        _cls = _class()
    return _cls()
