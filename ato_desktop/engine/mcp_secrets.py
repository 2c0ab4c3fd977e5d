"""Secret values of MCP servers (environment variables, HTTP headers) in the OS keyring.

They sit beside the provider keys under the service "ato-desktop", as the users
``mcp:<server>:env:<NAME>`` and ``mcp:<server>:header:<Name>`` (header names lower-cased, as
HTTP treats them). Unlike provider keys there is no environment fallback and no process-only
copy: a server's secrets are only ever saved in a secure keyring, and without one they are
refused with a plain message. Every value read or written is registered for redaction.

The calls block on the keyring (a D-Bus round trip on Linux); async code runs them in a worker
thread (asyncio.to_thread).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from ato_desktop.core.mcp_config import McpServerConfig
from ato_desktop.engine.credentials import (
    SERVICE_NAME,
    CredentialError,
    CredentialStore,
    InvalidKeyError,
    KeyringUnavailableError,
    describe_keyring_error,
    read_keyring_secret,
    register_secret,
    secure_target,
)

log = logging.getLogger(__name__)

MAX_SECRET_LENGTH = 8192
ENV, HEADER = "env", "header"


class NoSecureKeyringError(KeyringUnavailableError):
    """There is no secure keyring to keep a server's secrets in."""


class MissingSecretError(CredentialError):
    """A secret the server needs is not in the keyring."""


def keyring_user(server: str, kind: str, name: str) -> str:
    """The keyring user name a server's secret is filed under."""
    if kind == HEADER:
        name = name.lower()
    return f"mcp:{server.lower()}:{kind}:{name}"


def validate_secret(value: str, what: str) -> str:
    """The value without surrounding whitespace, or InvalidKeyError (never quoting it)."""
    clean = value.strip() if isinstance(value, str) else ""
    if not clean:
        raise InvalidKeyError(f"The value of {what} is empty.")
    if len(clean.splitlines()) > 1:
        raise InvalidKeyError(f"The value of {what} spans several lines.")
    if not clean.isprintable():
        raise InvalidKeyError(f"The value of {what} contains control characters.")
    if len(clean) > MAX_SECRET_LENGTH:
        raise InvalidKeyError(
            f"The value of {what} is {len(clean):,} characters long; at most {MAX_SECRET_LENGTH:,}."
        )
    return clean


def secret_names(config: McpServerConfig) -> list[tuple[str, str]]:
    """(kind, name) of every secret a server needs."""
    return [(ENV, n) for n in config.secret_env_names] + [
        (HEADER, n) for n in config.secret_header_names
    ]


class McpSecrets:
    """Reads, writes and deletes MCP server secrets; see the module docstring."""

    def __init__(self, credentials: CredentialStore | None = None) -> None:
        self._credentials = credentials or CredentialStore()

    def _target(self) -> KeyringBackend | None:
        return secure_target(self._credentials.backend())

    def is_secure(self) -> bool:
        """True when secrets can be saved (a real credential store is available)."""
        return self._target() is not None

    def backend_description(self) -> str:
        return self._credentials.backend_description()

    def _require_target(self) -> KeyringBackend:
        target = self._target()
        if target is None:
            raise NoSecureKeyringError(
                f"No secure keyring is available ({self.backend_description()}), so the MCP "
                "server's secrets cannot be saved, and ATO never writes them in plain text. "
                "Install and unlock a Secret Service keyring such as gnome-keyring or KWallet, "
                "then try again."
            )
        return target

    def set(self, server: str, kind: str, name: str, value: str) -> None:
        """Save one secret; InvalidKeyError for a bad value, NoSecureKeyringError or
        KeyringUnavailableError when it cannot be saved."""
        what = f"{name} (MCP server {server})"
        clean = validate_secret(value, what)
        register_secret(clean)
        target = self._require_target()
        try:
            target.set_password(SERVICE_NAME, keyring_user(server, kind, name), clean)
        except Exception as exc:
            raise KeyringUnavailableError(
                f"{what} could not be saved to the keyring: {describe_keyring_error(exc)}."
            ) from None

    def get(self, server: str, kind: str, name: str) -> str | None:
        """One secret, or None when it is not stored. KeyringUnavailableError when the keyring
        cannot be read."""
        target = self._target()
        if target is None:
            return None
        return read_keyring_secret(
            target, SERVICE_NAME, keyring_user(server, kind, name), f"{name} (MCP server {server})"
        )

    def load(self, config: McpServerConfig) -> tuple[dict[str, str], dict[str, str]]:
        """(secret env, secret headers) of a server; MissingSecretError naming what is
        missing (and how to set it) when any is not stored."""
        env: dict[str, str] = {}
        headers: dict[str, str] = {}
        missing: list[str] = []
        for kind, name in secret_names(config):
            value = self.get(config.name, kind, name)
            if value is None:
                missing.append(name)
            elif kind == ENV:
                env[name] = value
            else:
                headers[name] = value
        if missing:
            why = "" if self.is_secure() else f" (no secure keyring: {self.backend_description()})"
            raise MissingSecretError(
                f"The MCP server {config.name!r} needs {', '.join(missing)}, which "
                f"{'is' if len(missing) == 1 else 'are'} not in the keyring{why}. Add the "
                f"server again (ato-desktop mcp remove {config.name}; ato-desktop mcp add ...) "
                "to enter it."
            )
        return env, headers

    def delete(self, server: str, entries: Iterable[tuple[str, str]]) -> int:
        """Delete the given (kind, name) secrets of a server; returns how many were stored."""
        target = self._target()
        if target is None:
            return 0
        removed = 0
        for kind, name in entries:
            try:
                target.delete_password(SERVICE_NAME, keyring_user(server, kind, name))
            except PasswordDeleteError:
                continue
            except Exception as exc:
                raise KeyringUnavailableError(
                    f"{name} (MCP server {server}) could not be removed from the keyring: "
                    f"{describe_keyring_error(exc)}."
                ) from None
            removed += 1
        return removed
