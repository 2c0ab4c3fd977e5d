"""The frames between the app and its network process (`net_process`, `net_worker`).

A frame is a 9-byte header (payload length, stream id, kind; network byte order) and its
payload. The app sends REQUEST (a 4-byte length, the request's JSON head, then its body) and
CLOSE (stop reading that response, close its connection). The network process answers each
request with HEAD (status, headers) then DATA frames and END, or ERROR (the httpx exception's
class name and message) at any point.
"""

from __future__ import annotations

import struct

HEADER = struct.Struct("!IIB")
REQUEST_HEAD = struct.Struct("!I")

REQUEST = 1
CLOSE = 2
HEAD = 10
DATA = 11
END = 12
ERROR = 13


def frame(kind: int, stream_id: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(len(payload), stream_id, kind) + payload


def split(buffer: bytearray) -> list[tuple[int, int, bytes]]:
    """The whole frames at the start of ``buffer`` (taken out of it): (kind, stream id, payload)."""
    frames = []
    pos, size = 0, len(buffer)
    while size - pos >= HEADER.size:
        length, stream_id, kind = HEADER.unpack_from(buffer, pos)
        end = pos + HEADER.size + length
        if end > size:
            break
        frames.append((kind, stream_id, bytes(buffer[pos + HEADER.size : end])))
        pos = end
    if pos:
        del buffer[:pos]
    return frames


def headers_out(raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """Raw header pairs as JSON-safe strings (latin-1 keeps every byte)."""
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]


def headers_in(pairs: list[list[str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
