"""Text normalisation on Arrow arrays (pyarrow.compute, no Python loops), shared by the dedup steps.

Exact dedup hashes the normalised text, line dedup the normalised lines, MinHash and
decontamination shingle normalised words.  Every option is a vectorised kernel over the
whole array, so normalising costs about as much as one copy of the text.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict

# Unicode punctuation and symbols (RE2 syntax, used by Arrow's regex kernels)
_PUNCT = r"[\p{P}\p{S}]+"
_SPACE = r"\s+"
_DIGIT = r"\p{Nd}"


class Normalization(BaseModel):
    """Which differences to ignore when comparing texts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: fold case (Unicode lower-casing)
    lowercase: bool = True
    #: collapse runs of whitespace to one space and strip the ends
    whitespace: bool = True
    #: remove punctuation and symbols (Unicode P* and S* categories)
    punctuation: bool = False
    #: map every decimal digit to 0 (so dates, counters and prices do not make texts differ)
    digits: bool = False
    #: apply Unicode NFKC (full-width forms, ligatures, compatibility characters)
    nfkc: bool = False


def normalize(texts: pa.Array | pa.ChunkedArray, norm: Normalization) -> pa.Array:
    """Normalise an Arrow string array; returns a large_string array of the same length."""
    arr = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    arr = pc.fill_null(arr, "")
    if norm.nfkc:
        arr = pc.utf8_normalize(arr, form="NFKC")
    if norm.lowercase:
        arr = pc.utf8_lower(arr)
    if norm.digits:
        arr = pc.replace_substring_regex(arr, _DIGIT, "0")
    if norm.punctuation:
        arr = pc.replace_substring_regex(arr, _PUNCT, " " if norm.whitespace else "")
    if norm.whitespace:
        arr = pc.utf8_trim_whitespace(pc.replace_substring_regex(arr, _SPACE, " "))
    return arr


def buffers(arr: pa.Array):
    """(data uint8, offsets int64) numpy views of a large_string/large_binary array, for the kernels."""
    import numpy as np

    if arr.type == pa.string() or arr.type == pa.binary():
        arr = arr.cast(pa.large_string())
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    bufs = arr.buffers()
    n = len(arr)
    offsets = np.frombuffer(bufs[1], dtype=np.int64, count=n + 1, offset=arr.offset * 8)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(1, np.uint8)
    if len(data) == 0:
        data = np.zeros(1, np.uint8)
    return data, offsets
