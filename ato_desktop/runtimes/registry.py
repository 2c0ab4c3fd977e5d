"""Runtime name -> adapter. Importing this module does not import any provider SDK.

The coding-agent runtimes (claude-code, codex-cli) run a CLI as a subprocess and talk to no base
URL of ours: ``default_base_url`` and ``base_url_env_var`` answer "" for them.
"""

from __future__ import annotations

from ato_desktop.core.models import RuntimeName
from ato_desktop.runtimes import claude, claude_code, codex, codex_cli, openai_compatible
from ato_desktop.runtimes.base import RuntimeAdapter

RUNTIME_NAMES: tuple[str, ...] = tuple(name.value for name in RuntimeName)

_DEFAULT_BASE_URLS: dict[str, str] = {
    RuntimeName.CLAUDE: claude.DEFAULT_BASE_URL,
    RuntimeName.CODEX: codex.DEFAULT_BASE_URL,
    RuntimeName.OPENAI_COMPATIBLE: openai_compatible.DEFAULT_BASE_URL,
    RuntimeName.CLAUDE_CODE: "",
    RuntimeName.CODEX_CLI: "",
}

_BASE_URL_ENV_VARS: dict[str, str] = {
    RuntimeName.CLAUDE: claude.BASE_URL_ENV,
    RuntimeName.CODEX: codex.BASE_URL_ENV,
    RuntimeName.OPENAI_COMPATIBLE: openai_compatible.BASE_URL_ENV,
    RuntimeName.CLAUDE_CODE: "",
    RuntimeName.CODEX_CLI: "",
}


class UnknownRuntimeError(ValueError):
    """A runtime name that no adapter serves."""

    def __init__(self, runtime_name: str) -> None:
        super().__init__(
            f"unknown runtime {runtime_name!r}; expected one of {', '.join(RUNTIME_NAMES)}"
        )
        self.runtime_name = runtime_name


def get_adapter(runtime_name: str) -> RuntimeAdapter:
    """A fresh adapter for ``runtime_name`` (claude, codex, openai-compatible, claude-code,
    codex-cli).

    Adapters hold no state between calls, so a new one per call is as good as a shared one.
    """
    if runtime_name == RuntimeName.CLAUDE:
        return claude.ClaudeAdapter()
    if runtime_name == RuntimeName.CODEX:
        return codex.CodexAdapter()
    if runtime_name == RuntimeName.OPENAI_COMPATIBLE:
        return openai_compatible.OpenAICompatibleAdapter()
    if runtime_name == RuntimeName.CLAUDE_CODE:
        return claude_code.ClaudeCodeAdapter()
    if runtime_name == RuntimeName.CODEX_CLI:
        return codex_cli.CodexCliAdapter()
    raise UnknownRuntimeError(runtime_name)


def default_base_url(runtime_name: str) -> str:
    """Where ``runtime_name`` sends requests when neither the agent nor the environment says
    ("" for the subprocess runtimes, which take no base URL)."""
    try:
        return _DEFAULT_BASE_URLS[runtime_name]
    except KeyError:
        raise UnknownRuntimeError(runtime_name) from None


def base_url_env_var(runtime_name: str) -> str:
    """The environment variable that overrides ``runtime_name``'s default base URL ("" for the
    subprocess runtimes)."""
    try:
        return _BASE_URL_ENV_VARS[runtime_name]
    except KeyError:
        raise UnknownRuntimeError(runtime_name) from None


def key_name(runtime_name: str) -> str:
    """The name the key is stored under (``ato-desktop keys set <name>``) for ``runtime_name``."""
    if runtime_name == RuntimeName.CLAUDE:
        return claude.ClaudeAdapter.key_name
    if runtime_name == RuntimeName.CODEX:
        return codex.CodexAdapter.key_name
    if runtime_name == RuntimeName.OPENAI_COMPATIBLE:
        return openai_compatible.OpenAICompatibleAdapter.key_name
    if runtime_name == RuntimeName.CLAUDE_CODE:
        return claude_code.ClaudeCodeAdapter.key_name
    if runtime_name == RuntimeName.CODEX_CLI:
        return codex_cli.CodexCliAdapter.key_name
    raise UnknownRuntimeError(runtime_name)
