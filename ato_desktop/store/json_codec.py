"""JSON as the log stores it: compact, any text, bytes kept as marked base64, never a crash."""

from __future__ import annotations

import base64
import json

from ato_desktop.core.vocabulary import storable_text

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return {"$binary": base64.b64encode(raw).decode("ascii"), "size": len(raw)}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return str(value)


# One encoder, built once: json.dumps with options builds a new encoder on every call.
ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default)


def to_json(value: Any) -> str | None:
    """JSON for the log. Bytes become a marked base64 object so binary data survives safely."""
    if value is None:
        return None
    return storable_text(ENCODER.encode(value))


def from_json(text: str | None) -> Any:
    """The stored value; text that is not JSON comes back marked, never as an exception."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"$unparsed": text[:10_000]}
