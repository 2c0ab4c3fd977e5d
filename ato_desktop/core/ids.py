"""Time-sortable identifiers (UUIDv7, RFC 9562).

Python 3.11's uuid module has no uuid7 (3.14 adds it); the algorithm is a dozen lines, so we keep it
here rather than add a dependency. Within one millisecond the 12-bit counter keeps ids monotonic.
"""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7(now_ms: int | None = None) -> str:
    """A new UUIDv7 as 32 lowercase hex digits (no dashes): sortable by creation time."""
    global _last_ms, _counter
    with _lock:
        ms = int(time.time() * 1000) if now_ms is None else now_ms
        if ms <= _last_ms and now_ms is None:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                ms += 1
                _counter = 0
        else:
            _counter = int.from_bytes(os.urandom(2), "big") & 0x7FF  # leave headroom to count up
        _last_ms = max(_last_ms, ms)
        counter = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand_b
    return f"{value:032x}"  # uuid.UUID(int=value).hex, without importing uuid (platform)


def uuid7_time_ms(hex_id: str) -> int:
    """The millisecond timestamp embedded in a UUIDv7."""
    return int(hex_id[:12], 16)


def short_id(hex_id: str) -> str:
    """The form people read and type: the last 8 hex digits carry the randomness."""
    return hex_id[-8:]
