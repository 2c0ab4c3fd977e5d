"""API keys: kept in the OS keyring (service "ato-desktop"), never anywhere else.

Lookup order for a provider's key:

1. process memory: a key set in this process that could not be saved (no secure keyring, or the
   keyring refused). It is the user's latest explicit choice, so it wins while the process lives;
2. the OS keyring, when its backend is secure;
3. the provider's environment variable (ANTHROPIC_API_KEY, OPENAI_API_KEY).

"Secure" means a real credential store: the Secret Service (gnome-keyring, KWallet), the macOS
Keychain, the Windows Credential Locker. keyring's plaintext and encrypted-file backends
(keyrings.alt), its fail and null backends, and a chainer that chains none of the secure ones are
not: with them ATO never writes a key anywhere and keeps it in process memory only, and says so.

Every key this module sees is registered with known_secrets() so that log filters and error
messages can redact it. Keys never appear in an exception message, a repr or a KeyStatus.

The calls block on the keyring (a D-Bus round trip on Linux); async code runs them in a worker
thread (asyncio.to_thread).
"""

from __future__ import annotations

import enum
import logging
import os
import re
import threading
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import InitError, KeyringLocked, NoKeyringError, PasswordDeleteError

from ato_desktop.core.models import RuntimeName
from ato_desktop.core.redaction import redact_secrets, secret_hint

log = logging.getLogger(__name__)

SERVICE_NAME = "ato-desktop"
"""The keyring service every ATO key is filed under; the username is the provider name."""

PROVIDERS: tuple[str, ...] = ("anthropic", "openai", "openai-compatible")
"""The providers ATO keeps a key for."""

PROVIDER_ENV_VARS: Mapping[str, str] = MappingProxyType(
    {
        "anthropic": "ANTHROPIC_API_KEY",
        "openai": "OPENAI_API_KEY",
        # Its own key: an OpenAI key must never be sent to whatever server an agent points at.
        "openai-compatible": "OPENAI_COMPATIBLE_API_KEY",
    }
)
"""The environment variable honoured as a fallback for each provider."""

RUNTIME_PROVIDERS: Mapping[str, str] = MappingProxyType(
    {
        RuntimeName.CLAUDE.value: "anthropic",
        RuntimeName.CODEX.value: "openai",
        RuntimeName.OPENAI_COMPATIBLE.value: "openai-compatible",
        # The coding-agent CLIs get the key only when ATO has one; else they use their own login.
        RuntimeName.CLAUDE_CODE.value: "anthropic",
        RuntimeName.CODEX_CLI.value: "openai",
    }
)
"""Whose key each runtime uses."""

MAX_KEY_LENGTH = 1024
"""Longer than any real API key (Anthropic's are ~108 characters, OpenAI's ~164)."""

# Backends that are never a safe home for a key, whatever priority they claim (keyring lets
# KEYRING_PROPERTY_PRIORITY raise a backend's priority from the environment).
_INSECURE_CLASS_NAMES = frozenset({"PlaintextKeyring", "EncryptedKeyring", "UncryptedFileKeyring"})
_ASSIGNMENT_SHAPE = re.compile(r"[A-Z][A-Z0-9_]{2,}=[^=]")


class KeySource(enum.StrEnum):
    """Where a key came from."""

    KEYRING = "keyring"
    ENV = "env"
    PROCESS = "process"


class CredentialError(Exception):
    """Base of every credential error; the message is safe to show and never contains a key."""


class UnknownProviderError(CredentialError, ValueError):
    """A provider or runtime name ATO keeps no key for."""


class InvalidKeyError(CredentialError, ValueError):
    """Input that is obviously not an API key (empty, several lines, control characters...)."""


class KeyringUnavailableError(CredentialError):
    """The keyring could not carry out a change (locked, D-Bus unreachable, backend error)."""


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    """A usable key and where it came from; repr never shows the value."""

    provider: str
    value: str = field(repr=False)
    source: KeySource

    @property
    def hint(self) -> str | None:
        """The last four characters ("…x7Qa") for long keys, else None."""
        return secret_hint(self.value)


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """What `ato keys status` shows for one provider. Holds no key, only a hint.

    hint is the last four characters of keys of 20 or more characters: enough to tell two keys
    apart, as provider consoles do, and at most 4 of 100+ random characters, so it gives nothing
    away; redaction leaves fragments this short alone. problem explains why a key that might exist
    could not be read (a locked keyring, an unusable environment variable).
    """

    provider: str
    env_var: str
    present: bool
    source: KeySource | None
    hint: str | None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (for `--json` output)."""
        return {
            "provider": self.provider,
            "env_var": self.env_var,
            "present": self.present,
            "source": self.source.value if self.source else None,
            "hint": self.hint,
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class SaveResult:
    """The outcome of set_key: saved to the keyring, or kept for this process only.

    notice is a plain sentence for the user whenever the key was not saved.
    """

    provider: str
    source: KeySource
    notice: str | None = None

    @property
    def persisted(self) -> bool:
        """True when the key is in the keyring and will be there next time."""
        return self.source is KeySource.KEYRING


# ---------------------------------------------------------------------------------------------
# Known secrets, for redaction


_known_secrets: set[str] = set()
_known_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Remember a secret so known_secrets() (and so log and error redaction) covers it."""
    value = value.strip()
    if value:
        with _known_lock:
            _known_secrets.add(value)


def known_secrets() -> tuple[str, ...]:
    """Every secret this process has seen, plus the provider environment variables' values."""
    with _known_lock:
        seen = set(_known_secrets)
    for var in PROVIDER_ENV_VARS.values():
        value = os.environ.get(var, "").strip()
        if value:
            seen.add(value)
    return tuple(seen)


# ---------------------------------------------------------------------------------------------
# Names and validation


def check_provider(provider: str) -> str:
    """Return provider if ATO keeps a key for it, else raise UnknownProviderError."""
    if provider not in PROVIDERS:
        raise UnknownProviderError(
            f"Unknown provider {provider!r}; expected one of: {', '.join(PROVIDERS)}."
        )
    return provider


def provider_for_runtime(runtime: str) -> str:
    """The provider whose key a runtime uses (claude, claude-code -> anthropic; codex, codex-cli
    -> openai; openai-compatible -> openai-compatible)."""
    try:
        return RUNTIME_PROVIDERS[str(runtime)]
    except KeyError:
        raise UnknownProviderError(
            f"Unknown runtime {str(runtime)!r}; expected one of: {', '.join(RUNTIME_PROVIDERS)}."
        ) from None


def validate_key(raw: str, provider: str) -> str:
    """Return the key with surrounding whitespace removed, or raise InvalidKeyError.

    Rejects what cannot be an API key: empty text, several lines, inner whitespace, non-ASCII or
    control characters, quotes around it, `NAME=value`, and anything longer than MAX_KEY_LENGTH.
    The messages describe the problem and never quote the input.
    """
    what = f"The {provider} key"
    if not isinstance(raw, str):
        raise InvalidKeyError(f"{what} must be text, not {type(raw).__name__}.")
    value = raw.strip()
    if not value:
        raise InvalidKeyError(f"{what} is empty.")
    if len(value.splitlines()) > 1:
        raise InvalidKeyError(f"{what} spans several lines; paste the key alone, on one line.")
    if any(ch.isspace() for ch in value):
        raise InvalidKeyError(f"{what} contains spaces or tabs; paste the key alone.")
    if not value.isascii():
        raise InvalidKeyError(
            f"{what} contains non-ASCII characters; API keys are plain ASCII "
            "(look for curly quotes or a stray character from the paste)."
        )
    if not value.isprintable():
        raise InvalidKeyError(f"{what} contains control characters; paste the key alone.")
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidKeyError(
            f"{what} is {len(value)} characters long, more than any API key "
            f"({MAX_KEY_LENGTH} at most); paste the key alone, not a whole file."
        )
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
        raise InvalidKeyError(f"{what} is wrapped in quotes; paste it without them.")
    if _ASSIGNMENT_SHAPE.match(value):
        raise InvalidKeyError(f"{what} looks like NAME=value; paste only the value.")
    return value


# ---------------------------------------------------------------------------------------------
# Backends


def _backend_name(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _insecurity(backend: KeyringBackend) -> str | None:
    """Why a single (non-chaining) backend is no safe home for a key, or None when it is."""
    if isinstance(backend, fail.Keyring):
        return "keyring found no usable backend"
    if isinstance(backend, null.Keyring | chainer.ChainerBackend):
        return "it stores nothing"
    if type(backend).__name__ in _INSECURE_CLASS_NAMES:
        return "it keeps secrets in a file, not in a credential store"
    try:
        priority = float(backend.priority)
    except Exception as exc:  # a backend's priority raises when it is not viable here
        return f"it is not available here ({redact_secrets(str(exc))[:200]})"
    # keyring's own rule: priority >= 1 is recommended; 0 < priority < 1 (plaintext and
    # encrypted-file backends) is usable but not recommended.
    if priority < 1:
        return f"keyring does not recommend it (priority {priority:g})"
    return None


def _chained_backends(backend: chainer.ChainerBackend) -> list[KeyringBackend]:
    try:
        return list(backend.backends)
    except Exception:
        return []


def secure_target(backend: KeyringBackend) -> KeyringBackend | None:
    """The backend ATO reads and writes keys through, or None when there is no secure one.

    For a chainer this is its highest-priority secure member: ATO talks to it directly, so a key
    can never fall through the chain into a plaintext member.
    """
    if isinstance(backend, chainer.ChainerBackend):
        return next((b for b in _chained_backends(backend) if _insecurity(b) is None), None)
    return backend if _insecurity(backend) is None else None


def read_keyring_secret(target: Any, service: str, user: str, what: str) -> str | None:
    """A stored secret (stripped; None when absent or blank), registered for redaction.
    Raises KeyringUnavailableError naming `what` when the keyring cannot be read."""
    try:
        value = target.get_password(service, user)
    except Exception as exc:
        raise KeyringUnavailableError(
            f"{what} could not be read from the keyring: {describe_keyring_error(exc)}."
        ) from None
    if not isinstance(value, str) or not value.strip():
        return None
    register_secret(value.strip())
    return value.strip()


def describe_keyring_error(exc: BaseException) -> str:
    """A plain explanation of a keyring failure, never containing a known secret."""
    module = type(exc).__module__
    if isinstance(exc, KeyringLocked):
        return (
            "the keyring is locked; unlock it (for example by logging in to the desktop "
            "session or opening your keyring app) and try again"
        )
    if isinstance(exc, NoKeyringError):
        return "no keyring backend is available"
    if isinstance(exc, InitError) or module.startswith(("secretstorage", "jeepney")):
        return (
            "the Secret Service could not be reached over D-Bus "
            "(is a keyring daemon such as gnome-keyring or KWallet running?)"
        )
    detail = redact_secrets(str(exc), known_secrets())[:200]
    suffix = f": {detail}" if detail else ""
    return f"the keyring failed ({type(exc).__name__}{suffix})"


# ---------------------------------------------------------------------------------------------
# The store


_PROCESS_KEYS: dict[str, str] = {}


class CredentialStore:
    """Reads and writes provider API keys; see the module docstring for the rules.

    backend: a keyring backend to use instead of keyring.get_keyring() (tests, diagnostics).
    environ: where to read the fallback variables (default os.environ, read at each call).
    process_keys: where process-only keys live (default: one dict shared by the whole process,
    so every CredentialStore in it sees them).
    """

    def __init__(
        self,
        backend: KeyringBackend | None = None,
        *,
        service: str = SERVICE_NAME,
        environ: Mapping[str, str] | None = None,
        process_keys: MutableMapping[str, str] | None = None,
    ) -> None:
        self._backend = backend
        self._service = service
        self._environ = environ
        self._process = _PROCESS_KEYS if process_keys is None else process_keys

    # -- backend --------------------------------------------------------------------------------

    def backend(self) -> KeyringBackend:
        """The keyring backend in use (keyring's choice unless one was given)."""
        if self._backend is not None:
            return self._backend
        try:
            return keyring.get_keyring()
        except Exception as exc:  # keyring's own initialisation failing must not crash callers
            log.warning("keyring could not choose a backend: %s", describe_keyring_error(exc))
            return fail.Keyring()  # type: ignore[no-untyped-call]

    def backend_is_secure(self) -> bool:
        """True when keys set now will be saved in a real credential store."""
        return secure_target(self.backend()) is not None

    def backend_description(self) -> str:
        """The backend's dotted class name (and a chain's members), whether it is secure and,
        if not, why."""
        backend = self.backend()
        name = _backend_name(backend)
        if isinstance(backend, chainer.ChainerBackend):
            members = _chained_backends(backend)
            listed = ", ".join(_backend_name(b) for b in members) or "nothing"
            name = f"{name} chaining {listed}"
            if secure_target(backend) is None:
                return f"{name} (not secure: it chains no secure backend)"
            return f"{name} (secure)"
        reason = _insecurity(backend)
        return f"{name} (not secure: {reason})" if reason else f"{name} (secure)"

    def _target(self) -> KeyringBackend | None:
        return secure_target(self.backend())

    # -- reading --------------------------------------------------------------------------------

    def get_key(self, provider: str) -> ResolvedKey | None:
        """The key to use for provider, or None. Never raises for keyring trouble."""
        return self._resolve(check_provider(provider))[0]

    def key_for_runtime(self, runtime: str) -> ResolvedKey | None:
        """The key the given runtime (claude, codex, openai-compatible) should send, or None."""
        return self.get_key(provider_for_runtime(runtime))

    def status(self) -> list[KeyStatus]:
        """One KeyStatus per provider, in PROVIDERS order. Never raises for keyring trouble."""
        statuses = []
        for provider in PROVIDERS:
            resolved, problem = self._resolve(provider)
            statuses.append(
                KeyStatus(
                    provider=provider,
                    env_var=PROVIDER_ENV_VARS[provider],
                    present=resolved is not None,
                    source=resolved.source if resolved else None,
                    hint=resolved.hint if resolved else None,
                    problem=problem,
                )
            )
        return statuses

    def _resolve(self, provider: str) -> tuple[ResolvedKey | None, str | None]:
        """The key (process, keyring, environment, in that order) and any problem met."""
        problem: str | None = None
        value = self._process.get(provider)
        if value:
            return self._found(provider, value, KeySource.PROCESS), None
        target = self._target()
        if target is not None:
            try:
                stored = target.get_password(self._service, provider)
            except Exception as exc:
                problem = f"could not read the keyring: {describe_keyring_error(exc)}"
                log.warning("%s key: %s", provider, problem)
            else:
                if isinstance(stored, str) and stored.strip():
                    return self._found(provider, stored.strip(), KeySource.KEYRING), None
        var = PROVIDER_ENV_VARS[provider]
        environ = os.environ if self._environ is None else self._environ
        raw = environ.get(var)
        if raw is not None and raw.strip():
            try:
                value = validate_key(raw, provider)
            except InvalidKeyError as exc:
                register_secret(raw)
                problem = problem or f"${var} is set but unusable: {exc}"
            else:
                return self._found(provider, value, KeySource.ENV), problem
        return None, problem

    @staticmethod
    def _found(provider: str, value: str, source: KeySource) -> ResolvedKey:
        register_secret(value)
        return ResolvedKey(provider, value, source)

    # -- writing --------------------------------------------------------------------------------

    def set_key(self, provider: str, key: str) -> SaveResult:
        """Validate and save provider's key; replaces any key saved before.

        Raises UnknownProviderError or InvalidKeyError for bad input. When no secure keyring is
        available, or it refuses the write (locked, D-Bus gone), the key is kept in process
        memory only and the result says so in `notice`; nothing is written anywhere.
        """
        provider = check_provider(provider)
        value = validate_key(key, provider)
        register_secret(value)
        target = self._target()
        if target is None:
            self._process[provider] = value
            return SaveResult(
                provider,
                KeySource.PROCESS,
                f"No secure keyring is available: {self.backend_description()}. The "
                f"{provider} key was not saved; it is kept for this process only. To keep keys "
                "between runs, install and unlock a Secret Service keyring such as gnome-keyring "
                f"or KWallet, or set {PROVIDER_ENV_VARS[provider]} in the environment.",
            )
        try:
            target.set_password(self._service, provider, value)
        except Exception as exc:
            reason = describe_keyring_error(exc)
            log.warning("could not save the %s key: %s", provider, reason)
            self._process[provider] = value
            return SaveResult(
                provider,
                KeySource.PROCESS,
                f"The {provider} key could not be saved to the keyring: {reason}. "
                "It is kept for this process only.",
            )
        self._process.pop(provider, None)
        return SaveResult(provider, KeySource.KEYRING)

    def delete_key(self, provider: str) -> bool:
        """Remove provider's key from the keyring and from process memory.

        Returns True if a stored copy was removed. The environment variable, if set, still
        supplies a key afterwards (status() shows it). Raises KeyringUnavailableError when the
        keyring could not be changed.
        """
        provider = check_provider(provider)
        removed = self._process.pop(provider, None) is not None
        target = self._target()
        if target is None:
            return removed
        try:
            target.delete_password(self._service, provider)
        except PasswordDeleteError:
            return removed  # nothing was stored
        except Exception as exc:
            reason = describe_keyring_error(exc)
            raise KeyringUnavailableError(
                f"The {provider} key could not be removed from the keyring: {reason}."
            ) from None
        return True


def key_for_runtime(runtime: str) -> ResolvedKey | None:
    """The key the runtime should send, from a default CredentialStore."""
    return CredentialStore().key_for_runtime(runtime)
