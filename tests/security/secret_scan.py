"""Find planted secrets in files, bytes and widget texts, in raw form and common encodings.

A secret is looked for whole and by its distinctive core (so a key cut short is still found),
each as UTF-8, URL-encoded, JSON-escaped, UTF-16 (LE and BE), hex (lower and upper case) and
base64 / URL-safe base64 at every byte alignment. Compressed files (gzip, bz2, xz, zip) are
scanned after decompression too.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus


@dataclass(frozen=True)
class Hit:
    where: str
    offset: int
    secret: str
    form: str

    def __str__(self) -> str:
        return f"{self.where} @ {self.offset}: {self.secret} ({self.form})"


def _base64_forms(data: bytes) -> dict[str, bytes]:
    """The base64 text of data that does not depend on its neighbours, at the 3 alignments."""
    forms: dict[str, bytes] = {}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data)
        start = -(-offset * 8 // 6)  # characters that carry bits of the padding
        end = ((offset + len(data)) // 3) * 4  # complete groups only
        core = encoded[start:end]
        forms[f"base64+{offset}"] = core
        forms[f"urlsafe-base64+{offset}"] = core.replace(b"+", b"-").replace(b"/", b"_")
    return forms


def encodings(text: str) -> dict[str, bytes]:
    """Every form a secret is looked for in."""
    raw = text.encode()
    forms = {
        "raw": raw,
        "url-encoded": quote(text, safe="").encode(),
        "url-encoded+": quote_plus(text).encode(),
        "json-escaped": json.dumps(text)[1:-1].encode(),
        "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
    }
    forms.update(_base64_forms(raw))
    return {name: value for name, value in forms.items() if len(value) >= 8}


class SecretScanner:
    """secrets: name -> value. cores: name -> a distinctive part of the value (also looked for)."""

    def __init__(self, secrets: Mapping[str, str], cores: Mapping[str, str]) -> None:
        self._needles: list[tuple[str, str, bytes]] = []
        for name, value in secrets.items():
            for label, text in ((name, value), (f"{name} (core)", cores[name])):
                for form, needle in encodings(text).items():
                    self._needles.append((label, form, needle))
        self.scanned: list[str] = []

    def scan_bytes(self, data: bytes, where: str) -> list[Hit]:
        self.scanned.append(where)
        hits = []
        found: set[str] = set()  # one hit per secret and place: the first form that matched
        for label, form, needle in self._needles:
            start = data.find(needle) if label not in found else -1
            if start != -1:
                found.add(label)
                hits.append(Hit(where, start, label, form))
        for inner_name, inner in _decompressed(data):
            hits += self.scan_bytes(inner, f"{where}!{inner_name}")
        return hits

    def scan_text(self, text: str, where: str) -> list[Hit]:
        return self.scan_bytes(text.encode("utf-8", errors="surrogatepass"), where)

    def scan_tree(self, root: Path) -> list[Hit]:
        hits: list[Hit] = []
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                hits += self.scan_bytes(path.read_bytes(), str(path))
        return hits

    def scan_texts(self, texts: Iterable[tuple[str, str]]) -> list[Hit]:
        hits: list[Hit] = []
        for where, text in texts:
            hits += self.scan_text(text, where)
        return hits


def _decompressed(data: bytes) -> list[tuple[str, bytes]]:
    try:
        if data[:2] == b"\x1f\x8b":
            return [("gunzip", gzip.decompress(data))]
        if data[:3] == b"BZh":
            return [("bunzip2", bz2.decompress(data))]
        if data[:6] == b"\xfd7zXZ\x00":
            return [("unxz", lzma.decompress(data))]
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return [(name, archive.read(name)) for name in archive.namelist()]
    except (OSError, EOFError, ValueError, lzma.LZMAError, zipfile.BadZipFile):
        return []
    return []
