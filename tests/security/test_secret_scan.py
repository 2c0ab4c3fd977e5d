"""The scanner of the planted-secret test finds a secret in every form it claims to."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.security.secret_scan import SecretScanner

SECRET = "tok/en+PLANTED-Ab3Cd5Ef7Gh9Jk1Lm"
CORE = "Ab3Cd5Ef7Gh9Jk1L"


@pytest.mark.parametrize(
    ("form", "data"),
    [
        ("raw", b"xx" + SECRET.encode()),
        ("url-encoded", quote(SECRET, safe="").encode()),
        ("json-escaped", json.dumps({"k": SECRET}).replace("/", "\\/").encode()),
        ("utf-16-le", ("head " + SECRET).encode("utf-16-le")),
        ("utf-16-be", SECRET.encode("utf-16-be")),
        *[
            (f"base64+{n}", base64.b64encode(b"p" * n + SECRET.encode() + b"tail"))
            for n in range(3)
        ],
        ("urlsafe-base64", base64.urlsafe_b64encode(b"?" + SECRET.encode())),
        ("core only (a key cut short)", b"...PLANTED-" + CORE.encode()[:16] + b"..."),
    ],
)
def test_each_form_is_found(form: str, data: bytes, tmp_path: Path) -> None:
    scanner = SecretScanner({"key": SECRET}, {"key": CORE})
    assert scanner.scan_bytes(data, form), form
    packed = tmp_path / "nested" / "archive.jsonl.gz"
    packed.parent.mkdir()
    packed.write_bytes(gzip.compress(data))
    hits = scanner.scan_tree(tmp_path)
    assert hits and all(h.where.endswith("archive.jsonl.gz!gunzip") for h in hits)


def test_a_redacted_text_is_clean() -> None:
    scanner = SecretScanner({"key": SECRET}, {"key": CORE})
    assert not scanner.scan_text("invalid x-api-key: [REDACTED] (…Jk1Lm)", "message")
