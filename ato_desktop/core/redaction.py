"""Scrub secrets out of text before it reaches a log, an error message, an export or SQLite.

Two layers, both pure:

1. Known secrets (the API keys ATO holds): the whole value, its URL- and JSON-escaped forms, its
   base64 and URL-safe base64 encodings (at each of the three byte alignments, so a key inside a
   longer encoded value such as a Basic credential is found too) and its hex encoding (lower and
   upper case), and any fragment of FRAGMENT_LENGTH or more consecutive characters of any of
   them, so a key that a message cut short, wrapped in other text or encoded still disappears.
2. Shapes of credentials ATO might never have been told about: ``sk-...`` keys (Anthropic
   ``sk-ant-...``, OpenAI ``sk-proj-...``/``sk-svcacct-...``/legacy ``sk-...``, OpenRouter
   ``sk-or-...``), Google ``AIza...`` keys, GitHub tokens, JWTs, ``Bearer`` tokens,
   ``Authorization`` headers and ``api_key=...``/``"x-api-key": "..."`` style assignments.

Redaction is idempotent: redacting already-redacted text changes nothing.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlsplit

REDACTED = "[REDACTED]"

# Fragments this long or longer of a known secret are redacted wherever they appear. Shorter ones
# reveal nothing useful about a real key, and redacting them would start eating ordinary words of a
# human-chosen key for a local server ("password", "ollama-local").
FRAGMENT_LENGTH = 10
# Known secrets shorter than FRAGMENT_LENGTH are only redacted where they stand as a whole token;
# shorter than this they are not treated as secrets at all (a one-letter "key" for a local server
# cannot be hidden without destroying the text around it).
MIN_SECRET_LENGTH = 4
# A hint (the last HINT_LENGTH characters) is only shown for keys at least this long, so that it is
# always a small part of the key.
HINT_MIN_KEY_LENGTH = 20
HINT_LENGTH = 4

_TOKEN_CHARS = r"A-Za-z0-9_\-.+/=~"
_GRAM_TAIL = FRAGMENT_LENGTH - 1
# What may not touch a short secret for it to count as a whole token.
_WORD_CHARS = r"A-Za-z0-9_\-"

_KEY_SHAPES = re.compile(
    r"""
      (?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{16,}                       # Anthropic, OpenAI, OpenRouter
    | (?<![A-Za-z0-9])AIza[A-Za-z0-9_\-]{30,}                      # Google API keys
    | (?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})  # GitHub
    | (?<![A-Za-z0-9])eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}  # JWT
    """,
    re.VERBOSE,
)

# "Authorization: Bearer xyz", "authorization=Basic xyz", "Authorization: xyz".
_AUTHORIZATION = re.compile(
    r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token)\s+)?)"
    rf"[{_TOKEN_CHARS}]{{8,}}"
)
# A bare "Bearer xyz": the token must be long so that prose ("bearer instruments") survives.
_BEARER = re.compile(rf"(?i)(\bbearer\s+)[{_TOKEN_CHARS}]{{16,}}")
# api_key=xyz, "x-api-key": "xyz", access_token: xyz, client_secret='xyz', ... The value must
# look like a secret (a digit in it, or 20+ characters): "invalid_api_key: Incorrect API key
# provided", OpenAI's own 401 text, keeps its words.
_VALUE = r"[^\s\"',;&(){}\[\]<>]"
_ASSIGNMENT = re.compile(
    r"(?i)((?<![A-Za-z0-9])(?:x-api-key|api[-_]?key|access[-_]?token|auth[-_]?token|"
    r"refresh[-_]?token|client[-_]?secret|secret[-_]?key)[\"']?\s*[:=]\s*[\"']?)"
    rf"(?:(?={_VALUE}*\d){_VALUE}{{8,}}|{_VALUE}{{20,}})"
)


# Query parameters that carry a credential when a URL is handed around with one in it (Google's
# ?key=, ?api_key=, ?token=, signed URLs' ?sig=). Not api-version, model, ...
_CREDENTIAL_PARAM = re.compile(
    r"(?i)^(?:x[-_]?)?(?:api[-_]?key|key|apikey|token|access[-_]?token|auth[-_]?token|auth|"
    r"bearer|password|passwd|pwd|secret|client[-_]?secret|session[-_]?token|sig|signature|"
    r"credentials?)$"
)


def url_credentials(url: str) -> str | None:
    """What in url is a credential (a user name or password, a key-like query parameter), said
    for a message; None when it carries none. URLs are stored in plain text (an agent's base URL
    is copied into every run), so a credential in one would be stored with it."""
    try:
        parts = urlsplit(url.strip())
        username, password = parts.username, parts.password
    except ValueError:  # "http://[::1": unreadable, so it says nothing either way
        return None
    if username or password:
        return "a user name or password (user:password@)"
    names = sorted(
        {
            name
            for name, _value in parse_qsl(parts.query, keep_blank_values=True)
            if _CREDENTIAL_PARAM.match(name.strip())
        }
    )
    if names:
        listed = ", ".join(f"{name}=" for name in names)
        return f"the query parameter{'s' if len(names) > 1 else ''} {listed}"
    return None


def redact_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """Return text with every known secret (and fragment of one) and every key-shaped string
    replaced by ``[REDACTED]``."""
    if not text:
        return text
    text = _redact_known(text, secrets)
    text = _KEY_SHAPES.sub(REDACTED, text)
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return _ASSIGNMENT.sub(lambda m: m.group(1) + REDACTED, text)


def secret_hint(value: str) -> str | None:
    """A short hint that tells two keys apart ("…x7Qa"), or None when the key is too short for
    even its last four characters to be a small part of it."""
    value = value.strip()
    if len(value) < HINT_MIN_KEY_LENGTH:
        return None
    return "…" + value[-HINT_LENGTH:]


def encoded_forms(secret: str) -> set[str]:
    """The secret's base64, URL-safe base64 and hex encodings, as the text that stands for the
    secret's bytes wherever they sit in a longer encoded value.

    Base64 turns 3 bytes into 4 characters, so the characters a secret gives depend on where it
    starts in the encoded bytes: for each of the 3 alignments, the characters that only the
    secret's own bytes determine (the partial groups at either end also hold neighbouring bytes
    and are left out). Padding is never part of a form, so padded and unpadded text both match.
    """
    raw = secret.encode("utf-8")
    forms = {raw.hex(), raw.hex().upper()}
    for offset in range(3):
        # Whole 3-byte groups of the secret's bytes at this alignment: from the first group
        # boundary at or after its first byte to the last one at or before its end.
        first_group = -(-offset // 3)  # 0 when offset is 0, else 1
        whole_groups = (offset + len(raw)) // 3
        if whole_groups <= first_group:
            continue
        padded = b"\0" * offset + raw
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(padded).decode("ascii")
            forms.add(text[first_group * 4 : whole_groups * 4])
    return {form for form in forms if form}


@functools.lru_cache(maxsize=32)
def _prepare(secrets: frozenset[str]) -> tuple[frozenset[str], re.Pattern[str] | None]:
    """The FRAGMENT_LENGTH-grams of the long secrets (and of their encoded forms), and one
    whole-token pattern for the short ones. Cached: a logging filter calls this for every record
    with the same few secrets."""
    grams: set[str] = set()
    short_ones: set[str] = set()
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}:
            if len(form) >= FRAGMENT_LENGTH:
                grams.update(form[i : i + FRAGMENT_LENGTH] for i in range(len(form) - _GRAM_TAIL))
            else:
                short_ones.add(form)
        # An encoded form shorter than a fragment is not matched: too short to tell apart from
        # ordinary text, and a short secret's encoding is part of a longer token anyway.
        for form in encoded_forms(secret):
            if len(form) >= FRAGMENT_LENGTH:
                grams.update(form[i : i + FRAGMENT_LENGTH] for i in range(len(form) - _GRAM_TAIL))
    pattern = None
    if short_ones:
        alternatives = "|".join(re.escape(s) for s in sorted(short_ones, key=len, reverse=True))
        pattern = re.compile(rf"(?<![{_WORD_CHARS}])(?:{alternatives})(?![{_WORD_CHARS}])")
    return frozenset(grams), pattern


def _redact_known(text: str, secrets: Iterable[str]) -> str:
    wanted = frozenset(
        s.strip() for s in secrets if isinstance(s, str) and len(s.strip()) >= MIN_SECRET_LENGTH
    )
    if not wanted:
        return text
    grams, short_pattern = _prepare(wanted)
    # One pass over the text, a set lookup per position: with the encoded forms there are
    # thousands of grams, and searching the text once per gram costs that many passes.
    size = FRAGMENT_LENGTH
    spans = [
        (start, start + size)
        for start in range(len(text) - _GRAM_TAIL)
        if text[start : start + size] in grams
    ]
    if spans:
        text = _replace_spans(text, spans)
    if short_pattern is not None:
        text = short_pattern.sub(REDACTED, text)
    return text


def _replace_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """Replace each run of overlapping or touching spans with one REDACTED marker."""
    spans.sort()
    parts: list[str] = []
    position = 0
    run_start, run_end = spans[0]
    for start, end in spans[1:]:
        if start <= run_end:
            run_end = max(run_end, end)
            continue
        parts += [text[position:run_start], REDACTED]
        position = run_end
        run_start, run_end = start, end
    parts += [text[position:run_start], REDACTED, text[run_end:]]
    return "".join(parts)
