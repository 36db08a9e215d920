"""Character sets the published rule sets are defined over, as Python strings and RE2 classes.

The punctuation and terminal-punctuation sets are the ones datatrove's Gopher and FineWeb rules
use (so a "symbol-only word" or a "line ending in punctuation" means the same thing here), and the
sentence-ending characters are spaCy's sentencizer defaults (which datatrove's C4 rule counts).
"""

from __future__ import annotations

from functools import lru_cache


def _ctrl(a: int, b: int) -> str:
    return "".join(map(chr, range(a, b)))


#: characters a token may consist of and still be a "symbol" (datatrove ``PUNCTUATION_SET``)
PUNCTUATION = (
    "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»"
    + _ctrl(0, 9) + _ctrl(11, 13) + _ctrl(13, 32) + _ctrl(127, 160)
)

#: characters that end a sentence in any script (datatrove ``TERMINAL_PUNCTUATION``)
TERMINAL_PUNCTUATION = (
    "!.?։؝؞؟۔܀܁܂߹࠷࠹࠽࠾।॥၊။።፧፨᙮᜵᜶។៕៖៙៚᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟\u1b7d\u1b7e᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼\u2e53\u2e54。꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡"
    "\U00010a56\U00010a57\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86\U00010f87\U00010f88"
    "\U00010f89\U00011047\U00011048\U000110be\U000110bf\U000110c0\U000110c1\U00011141\U00011142\U00011143"
    "\U000111c5\U000111c6\U000111cd\U000111de\U000111df\U00011238\U00011239\U0001123b\U0001123c\U000112a9"
    "\U0001144b\U0001144c\U000115c2\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc\U000115cd\U000115ce"
    "\U000115cf\U000115d0\U000115d1\U000115d2\U000115d3\U000115d4\U000115d5\U000115d6\U000115d7\U00011641"
    "\U00011642\U0001173c\U0001173d\U0001173e\U00011944\U00011946\U00011a42\U00011a43\U00011a9b\U00011a9c"
    "\U00011c41\U00011c42\U00011ef7\U00011ef8\U00011f43\U00011f44\U00016a6e\U00016a6f\U00016af5\U00016b37"
    "\U00016b38\U00016b44\U00016e98\U0001bc9f\U0001da88"
)

#: spaCy's sentencizer: a token equal to one of these ends a sentence
SENTENCE_END = (
    "!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼。꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡"
    "\U00010a56\U00010a57\U00011047\U00011048\U000110be\U000110bf\U000110c0\U000110c1\U00011141\U00011142"
    "\U00011143\U000111c5\U000111c6\U000111cd\U000111de\U000111df\U00011238\U00011239\U0001123b\U0001123c"
    "\U000112a9\U0001144b\U0001144c\U000115c2\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc\U000115cd"
    "\U000115ce\U000115cf\U000115d0\U000115d1\U000115d2\U000115d3\U000115d4\U000115d5\U000115d6\U000115d7"
    "\U00011641\U00011642\U0001173c\U0001173d\U0001173e\U00011a42\U00011a43\U00011a9b\U00011a9c\U00011c41"
    "\U00011c42\U00016a6e\U00016a6f\U00016af5\U00016b37\U00016b38\U00016b44\U0001bc9f\U0001da88"
)

#: Chinese / Japanese punctuation that ends a line of prose (besides TERMINAL_PUNCTUATION)
CJK_LINE_END = "。！？；…”」』）》】～.!?;\"'"

#: scripts written without spaces: each character counts as one word
CJK_SPLIT_CLASS = r"[\p{Han}\p{Hiragana}\p{Katakana}]"
#: every CJK script (for ratios): Han, kana, Hangul, CJK punctuation and full-width forms
CJK_CLASS = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"


def re2_class(chars: str, negate: bool = False) -> str:
    """An RE2 character class matching exactly ``chars`` (every character escaped as ``\\x{..}``)."""
    body = "".join(f"\\x{{{ord(c):x}}}" for c in sorted(set(chars)))
    return f"[{'^' if negate else ''}{body}]"


@lru_cache(maxsize=None)
def punctuation_only_regex() -> str:
    """Matches a token made only of symbol characters (datatrove's ``PUNCTUATION_SET``)."""
    return f"^{re2_class(PUNCTUATION + TERMINAL_PUNCTUATION)}+$"


@lru_cache(maxsize=None)
def terminal_end_regex() -> str:
    return f"{re2_class(TERMINAL_PUNCTUATION)}$"
