"""A multi-member gzip reader that notices truncation.

FastWARC's own gzip stream stops silently at a truncated member, so a cut-off WARC would just look
shorter.  This raw stream decompresses with zlib (same C code) member by member and raises
``CorruptStream`` (an ``EOFError``) when the file ends inside a member or the data is not gzip;
FastWARC propagates exceptions of Python streams.  Output is produced in bounded slices (``max_length``), so a gzip bomb cannot blow up memory.
"""

from __future__ import annotations

import io
import zlib

_GZIP = zlib.MAX_WBITS | 16


class CorruptStream(EOFError):
    """The compressed file is truncated or corrupt (raised through FastWARC, which keeps the type)."""


class CheckedGzipReader(io.RawIOBase):
    def __init__(self, path: str, chunk: int = 1 << 20):
        self._fh = open(path, "rb")
        self._chunk = chunk
        self._dec = zlib.decompressobj(_GZIP)
        self._fed = False  # the current member has been given input
        self._pending = b""  # compressed bytes not yet given to a decompressor
        self._out = memoryview(b"")
        self._done = False
        self.members = 0
        self._pos = 0  # decompressed bytes handed out (FastWARC asks for tell())

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        while not self._out:
            if self._done:
                return 0
            self._step()
        n = min(len(buf), len(self._out))
        buf[:n] = self._out[:n]
        self._out = self._out[n:]
        self._pos += n
        return n

    def tell(self) -> int:
        return self._pos

    def _step(self) -> None:
        d = self._dec
        if d.eof:
            self.members += 1
            self._pending = d.unused_data + self._pending
            d = self._dec = zlib.decompressobj(_GZIP)
            self._fed = False
        if d.unconsumed_tail:
            data = d.unconsumed_tail
        elif self._pending:
            data, self._pending = self._pending, b""
        else:
            data = self._fh.read(self._chunk)
            if not data:
                if self._fed:
                    raise CorruptStream("gzip file ends in the middle of a member (truncated)")
                self._done = True
                return
        if not self._fed and not data.strip(b"\x00"):
            return  # zero padding between or after members (some writers pad to a block size)
        self._fed = True
        try:
            self._out = memoryview(d.decompress(data, self._chunk))
        except zlib.error as e:
            raise CorruptStream(f"corrupt gzip data after {self.members} complete members: {e}") from None

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()
