"""runtimes.registry: names to adapters, defaults, and the adapters' declared identity."""

from __future__ import annotations

import importlib.util

import pytest

from ato_desktop.core.models import RuntimeName
from ato_desktop.runtimes.registry import (
    RUNTIME_NAMES,
    UnknownRuntimeError,
    base_url_env_var,
    default_base_url,
    get_adapter,
    key_name,
)


def test_every_runtime_name_has_an_adapter_that_says_who_it_is() -> None:
    assert RUNTIME_NAMES == ("claude", "codex", "openai-compatible", "claude-code", "codex-cli")
    for name in RUNTIME_NAMES:
        adapter = get_adapter(name)
        assert adapter.name == name
        assert adapter.env_key_var in (
            "ANTHROPIC_API_KEY",
            "OPENAI_API_KEY",
            "OPENAI_COMPATIBLE_API_KEY",
        )
        # The dispatcher imports it before the first call: it must be importable.
        assert importlib.util.find_spec(adapter.sdk_module) is not None
    assert get_adapter(RuntimeName.CLAUDE).env_key_var == "ANTHROPIC_API_KEY"
    assert get_adapter(RuntimeName.CLAUDE_CODE).env_key_var == "ANTHROPIC_API_KEY"
    assert get_adapter(RuntimeName.CODEX_CLI).env_key_var == "OPENAI_API_KEY"


def test_defaults_per_runtime() -> None:
    assert default_base_url("claude") == "https://api.anthropic.com"
    assert default_base_url("codex") == "https://api.openai.com/v1"
    assert default_base_url("openai-compatible") == "http://localhost:11434/v1"
    assert base_url_env_var("claude") == "ANTHROPIC_BASE_URL"
    assert base_url_env_var("openai-compatible") == "OPENAI_BASE_URL"
    assert [key_name(n) for n in RUNTIME_NAMES] == [
        "anthropic",
        "openai",
        "openai-compatible",
        "anthropic",
        "openai",
    ]


@pytest.mark.parametrize("runtime", ["claude-code", "codex-cli"])
def test_the_coding_agent_runtimes_take_no_base_url(runtime: str) -> None:
    assert RuntimeName(runtime).is_subprocess
    assert default_base_url(runtime) == ""
    assert base_url_env_var(runtime) == ""


@pytest.mark.parametrize("call", [get_adapter, default_base_url, base_url_env_var, key_name])
def test_unknown_runtime_is_rejected_with_the_known_names(call: object) -> None:
    assert callable(call)
    with pytest.raises(UnknownRuntimeError, match="expected one of claude, codex"):
        call("gemini")
