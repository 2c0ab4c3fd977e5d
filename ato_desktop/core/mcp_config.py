"""How an MCP server is reached: a stdio command or a streamable HTTP URL. Pure validation.

Secret values never live here: `secret_env_names` and `secret_header_names` only name the
environment variables and HTTP headers whose values are kept in the OS keyring.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ato_desktop.core.redaction import url_credentials
from ato_desktop.core.tools import ServerNameError, validate_server_name

TRANSPORTS = ("stdio", "http")
DEFAULT_TIMEOUT_S = 30.0
MAX_TIMEOUT_S = 3600.0
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# RFC 9110 token characters: what a header name may contain.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
MAX_ARGS = 256
MAX_TEXT = 8192


class McpConfigError(ValueError):
    """A server definition that cannot work; the message says what to change."""


@dataclass(frozen=True, slots=True)
class McpServerConfig:
    """An MCP server as registered: everything but the secret values."""

    name: str
    transport: str  # "stdio" | "http"
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env_names: tuple[str, ...] = ()
    url: str | None = None
    secret_header_names: tuple[str, ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "transport": self.transport,
            "command": self.command,
            "args": list(self.args),
            "env": dict(self.env),
            "secret_env_names": list(self.secret_env_names),
            "url": self.url,
            "secret_header_names": list(self.secret_header_names),
            "timeout_s": self.timeout_s,
        }

    def target(self) -> str:
        """One line saying where the server is: the command line or the URL."""
        if self.transport == "http":
            return self.url or ""
        return " ".join([self.command or "", *self.args]).strip()


def _text(value: str, what: str) -> str:
    if "\x00" in value:
        raise McpConfigError(f"{what} contains a NUL character")
    if len(value) > MAX_TEXT:
        raise McpConfigError(f"{what} is {len(value):,} characters long; at most {MAX_TEXT:,}")
    return value


def _names(names: Sequence[str], pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for raw in names:
        name = raw.strip()
        if not pattern.match(name):
            raise McpConfigError(f"{what} {raw!r} is not a valid name")
        key = name.lower() if what.startswith("header") else name
        if key in seen:
            raise McpConfigError(f"{what} {name!r} is given twice")
        seen[key] = name
    return tuple(seen.values())


def _check_types(config: McpServerConfig) -> None:
    """Text where text belongs (a definition read back from JSON may hold anything)."""
    fields: tuple[tuple[str, object, bool], ...] = (
        ("the name", config.name, False),
        ("the transport", config.transport, False),
        ("the command", config.command, True),
        ("the URL", config.url, True),
    )
    for what, value, optional in fields:
        if not isinstance(value, str) and not (optional and value is None):
            raise McpConfigError(f"{what} must be text, not {type(value).__name__}")
    named = (*config.env, *config.secret_env_names, *config.secret_header_names)
    if not all(isinstance(name, str) for name in named):
        raise McpConfigError("environment variable and header names must be text")


def validate_config(config: McpServerConfig) -> McpServerConfig:
    """The config, cleaned (names trimmed, tuples), or McpConfigError saying what is wrong."""
    _check_types(config)
    try:
        name = validate_server_name(config.name)
    except ServerNameError as exc:
        raise McpConfigError(str(exc)) from None
    transport = config.transport
    if transport not in TRANSPORTS:
        raise McpConfigError(f"transport must be stdio or http, not {transport!r}")
    timeout = config.timeout_s
    if (
        not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or not 0 < timeout <= MAX_TIMEOUT_S
    ):
        raise McpConfigError(f"the timeout must be more than 0 s and at most {MAX_TIMEOUT_S:g} s")
    if transport == "stdio":
        command = (config.command or "").strip()
        if not command:
            raise McpConfigError("a stdio server needs a command")
        if config.url or config.secret_header_names:
            raise McpConfigError("a stdio server has no URL or HTTP headers")
        if len(config.args) > MAX_ARGS:
            raise McpConfigError(f"at most {MAX_ARGS} arguments")
        args = tuple(_text(str(a), "an argument") for a in config.args)
        env: dict[str, str] = {}
        for key, value in config.env.items():
            if not _ENV_NAME.match(key):
                raise McpConfigError(f"environment variable {key!r} is not a valid name")
            env[key] = _text(str(value), f"the value of {key}")
        secret_env = _names(config.secret_env_names, _ENV_NAME, "secret environment variable")
        both = sorted(set(env) & set(secret_env))
        if both:
            raise McpConfigError(f"{both[0]} is given both as --env and as --secret-env")
        return McpServerConfig(
            name,
            "stdio",
            command=_text(command, "the command"),
            args=args,
            env=env,
            secret_env_names=secret_env,
            timeout_s=float(timeout),
        )
    url = (config.url or "").strip()
    if not url:
        raise McpConfigError("an HTTP server needs a URL")
    if config.command or config.args or config.env or config.secret_env_names:
        raise McpConfigError("an HTTP server has no command, arguments or environment")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # "http://[::1": Invalid IPv6 URL
        raise McpConfigError(f"the URL {url[:200]!r} cannot be read: {exc}") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise McpConfigError(f"the URL must be http(s)://host/..., not {url[:200]!r}")
    found = url_credentials(url)
    if found:
        # The URL is stored in plain text: a credential in it would end up in the database.
        raise McpConfigError(
            f"the URL contains a credential ({found}); put credentials in a secret header "
            "(--secret-header Authorization) instead"
        )
    headers = _names(config.secret_header_names, _HEADER_NAME, "header")
    return McpServerConfig(
        name,
        "http",
        url=_text(url, "the URL"),
        secret_header_names=headers,
        timeout_s=float(timeout),
    )
