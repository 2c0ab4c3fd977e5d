"""redact_secrets: known secrets, fragments of them, and key-shaped strings never survive."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from urllib.parse import quote

import pytest

from ato_desktop.core.redaction import FRAGMENT_LENGTH, REDACTED, redact_secrets, secret_hint

ANTHROPIC_KEY = (
    "sk-ant-api03-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAB7CDE0FGH3IJK6LMN9OPQ2RST5UVW8XYZ1ab-c_dQ"
)
OPENAI_KEY = (
    "sk-proj-" + "Zy9xWv8uTs7rQp6oNm5lKj4iHg3fEd2cBa1ZYXWVUTSRQPONMLKJIHGFEDCBA0123456789_-zz"
)
LOCAL_KEY = "my-own-local-server-password"  # a human-chosen key for an openai-compatible server


def fragments(secret: str, length: int = FRAGMENT_LENGTH) -> list[str]:
    return [secret[i : i + length] for i in range(len(secret) - length + 1)]


def assert_clean(text: str, secret: str) -> None:
    leaked = [f for f in fragments(secret) if f in text]
    assert not leaked, f"fragments of the secret survived: {leaked[:3]}"


@pytest.mark.parametrize("secret", [ANTHROPIC_KEY, OPENAI_KEY, LOCAL_KEY])
def test_known_secret_is_replaced_everywhere(secret: str) -> None:
    text = f"401 from provider: key {secret} rejected; retried with {secret}!"
    out = redact_secrets(text, [secret])
    assert_clean(out, secret)
    assert out == f"401 from provider: key {REDACTED} rejected; retried with {REDACTED}!"


@pytest.mark.parametrize("cut", [FRAGMENT_LENGTH, 25, 60])
def test_truncated_and_partial_secrets_are_replaced(cut: int) -> None:
    head = f"request header was x-key: {ANTHROPIC_KEY[:cut]}... (truncated)"
    tail = f"ends in {LOCAL_KEY[-cut:]} ok" if cut <= len(LOCAL_KEY) else ""
    out = redact_secrets(head + tail, [ANTHROPIC_KEY, LOCAL_KEY])
    assert_clean(out, ANTHROPIC_KEY)
    assert_clean(out, LOCAL_KEY)
    assert "(truncated)" in out


def test_short_fragments_and_surrounding_text_survive() -> None:
    text = f"key ending {ANTHROPIC_KEY[-4:]} is set; the password prompt was shown"
    assert redact_secrets(text, [ANTHROPIC_KEY, LOCAL_KEY]) == text


def test_adjacent_and_overlapping_secrets_become_one_marker() -> None:
    text = f"[{ANTHROPIC_KEY}{OPENAI_KEY}] and [{ANTHROPIC_KEY}]"
    out = redact_secrets(text, [OPENAI_KEY, ANTHROPIC_KEY])
    assert out == f"[{REDACTED}] and [{REDACTED}]"


def test_escaped_forms_of_a_secret_are_replaced() -> None:
    secret = 'AbC/dEf+GhI=jKl"mNo\\pQr012'
    for form in (quote(secret, safe=""), json.dumps(secret)[1:-1], json.dumps({"k": secret})):
        out = redact_secrets(f"sent {form} to the server", [secret])
        assert out.startswith("sent ") and out.endswith(" to the server")
        assert "GhI" not in out and "pQr012" not in out


def test_short_known_secret_is_replaced_only_as_a_whole_token() -> None:
    assert redact_secrets("key hunter22 failed", ["hunter22"]) == f"key {REDACTED} failed"
    assert redact_secrets("key=hunter22,", ["hunter22"]) == f"key={REDACTED},"
    assert redact_secrets("xhunter22y", ["hunter22"]) == "xhunter22y"


def test_tiny_empty_and_padded_secrets() -> None:
    assert redact_secrets("x marks the spot", ["x", "", "   "]) == "x marks the spot"
    assert redact_secrets(f"a {LOCAL_KEY} b", [f"  {LOCAL_KEY}\n"]) == f"a {REDACTED} b"
    assert redact_secrets("", [LOCAL_KEY]) == ""
    assert redact_secrets("nothing to see", []) == "nothing to see"


@pytest.mark.parametrize(
    "secret",
    [
        ANTHROPIC_KEY,
        "sk-ant-admin01-" + "q" * 40,
        OPENAI_KEY,
        "sk-svcacct-" + "Q1w2E3r4T5y6U7i8O9p0" * 2,
        "sk-" + "T3BlbkFJ" * 6,  # legacy OpenAI shape
        "sk-or-v1-" + "0a1b2c3d" * 8,  # OpenRouter
        "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"[:35],
        "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
        "github_pat_" + "11ABCDEFG0" * 5,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ],
)
def test_unknown_keys_are_caught_by_shape(secret: str) -> None:
    out = redact_secrets(f"error: invalid credential {secret}.", [])
    assert secret not in out
    assert out == f"error: invalid credential {REDACTED}."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123",
            f"Authorization: Bearer {REDACTED}",
        ),
        ("authorization=Basic dXNlcjpwYXNzd29yZA==", f"authorization=Basic {REDACTED}"),
        ('{"Authorization": "Token 0123456789abcdef"}', f'{{"Authorization": "Token {REDACTED}"}}'),
        ("curl -H 'bearer 0123456789abcdefghij'", f"curl -H 'bearer {REDACTED}'"),
        ("x-api-key: local-secret-123", f"x-api-key: {REDACTED}"),
        ('{"api_key": "local-secret-123", "n": 1}', f'{{"api_key": "{REDACTED}", "n": 1}}'),
        ("url?apikey=local-secret-123&x=1", f"url?apikey={REDACTED}&x=1"),
        ("client_secret='s3cr3t-v4lue'", f"client_secret='{REDACTED}'"),
    ],
)
def test_headers_and_assignments_keep_their_names(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "the bearer instrument is payable on demand",
        "invalid_api_key: Incorrect API key provided: sk-pro**********",
        "task-management-dashboard-for-agents is a project name",
        "api_key=None, max_tokens=1024, temperature=0.2",
        "Incorrect API key provided: sk-proj-****************************abcd.",
        "Authorization: Bearer",
        "",
    ],
)
def test_ordinary_text_survives(text: str) -> None:
    assert redact_secrets(text, [ANTHROPIC_KEY]) == text


@pytest.mark.parametrize(
    "text",
    [
        f"{ANTHROPIC_KEY} / {OPENAI_KEY[:30]} / {LOCAL_KEY}",
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123 api_key=abcdefgh12",
        f"Bearer {OPENAI_KEY}",
    ],
)
def test_redaction_is_idempotent(text: str) -> None:
    secrets = [ANTHROPIC_KEY, OPENAI_KEY, LOCAL_KEY]
    once = redact_secrets(text, secrets)
    assert redact_secrets(once, secrets) == once
    assert REDACTED in once


def test_secret_hint_is_last_four_of_long_keys_only() -> None:
    assert secret_hint(ANTHROPIC_KEY) == "…" + ANTHROPIC_KEY[-4:]
    assert secret_hint(f"  {OPENAI_KEY}\n") == "…" + OPENAI_KEY[-4:]
    assert secret_hint("short-key-1234") is None
    assert secret_hint("") is None


def _key_bytes_left(text: str, secret: str) -> list[str]:
    """Runs of 5+ consecutive bytes of the secret recoverable from text's base64 or hex parts."""
    raw = secret.encode()
    found: list[str] = []
    for token in re.findall(r"[A-Za-z0-9+/_\-=]{8,}", text):
        candidates = []
        with contextlib.suppress(ValueError, binascii.Error):
            candidates.append(bytes.fromhex(token))
        for shift in range(4):  # any starting character of a longer base64 value
            part = token[shift:]
            part = part[: len(part) - len(part) % 4]
            for alphabet in (None, b"-_"):
                with contextlib.suppress(ValueError, binascii.Error):
                    candidates.append(base64.b64decode(part, altchars=alphabet, validate=False))
        for decoded in candidates:
            found += [
                raw[i : i + 5].decode() for i in range(len(raw) - 4) if raw[i : i + 5] in decoded
            ]
    return found


@pytest.mark.parametrize("secret", [ANTHROPIC_KEY, OPENAI_KEY, LOCAL_KEY])
@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"user:"])
def test_base64_base64url_and_hex_of_a_known_secret_are_replaced(
    secret: str, prefix: bytes
) -> None:
    raw = prefix + secret.encode()
    quoted = [
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        raw.hex().upper(),
    ]
    body = json.dumps({"error": {"message": "invalid x-api-key: " + " / ".join(quoted)}})
    out = redact_secrets(body, [secret])
    assert out.count(REDACTED) >= len(quoted)
    assert not _key_bytes_left(out, secret)
    assert redact_secrets(out, [secret]) == out  # still idempotent
    # Text that merely looks encoded is left alone.
    plain = f"digest {'0a1b2c3d' * 8} and token {base64.b64encode(b'nothing secret here').decode()}"
    assert redact_secrets(plain, [secret]) == plain
