"""MCP server definitions (from the CLI, or read back from the log): any field values give a
clean config or McpConfigError, never another exception."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from ato_desktop.core.mcp_config import McpConfigError, McpServerConfig, validate_config
from tests.fuzz.strategies import EDGE_NUMBERS, HOSTILE_TEXT, JSON_VALUES

TEXT_OR_JUNK = st.one_of(HOSTILE_TEXT, st.none(), JSON_VALUES)
URLS = st.one_of(
    HOSTILE_TEXT,
    st.sampled_from(
        [
            "http://127.0.0.1:8000/mcp",
            "https://user:pw@host/mcp",
            "http://[::1",
            "http://",
            "ftp://host",
            "https://h/" + "x" * 9000,
            "http://h\x00/",
            "https://[fe80::1%eth0]/m",
        ]
    ),
)
CONFIGS = st.builds(
    McpServerConfig,
    name=st.one_of(HOSTILE_TEXT, st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True)),
    transport=st.one_of(st.sampled_from(["stdio", "http"]), HOSTILE_TEXT),
    command=TEXT_OR_JUNK,
    args=st.one_of(st.tuples(), st.lists(TEXT_OR_JUNK, max_size=4).map(tuple)),
    env=st.one_of(st.dictionaries(HOSTILE_TEXT, TEXT_OR_JUNK, max_size=3), st.just({})),
    secret_env_names=st.lists(HOSTILE_TEXT, max_size=3).map(tuple),
    url=st.one_of(URLS, st.none()),
    secret_header_names=st.lists(HOSTILE_TEXT, max_size=3).map(tuple),
    timeout_s=st.one_of(EDGE_NUMBERS, JSON_VALUES),
)


@given(CONFIGS)
@example(McpServerConfig("s", "stdio", command="x", env={1: "a"}))  # type: ignore[dict-item]
@example(McpServerConfig("s", "stdio", command="x", secret_env_names=(None,)))  # type: ignore[arg-type]
@example(McpServerConfig("s", "http", url="http://[::1"))
@example(McpServerConfig("s", "http", url=5))  # type: ignore[arg-type]
def test_any_definition_is_clean_or_refused(config: McpServerConfig) -> None:
    try:
        clean = validate_config(config)
    except McpConfigError as exc:
        assert str(exc)
        return
    assert clean.transport in ("stdio", "http")
    assert 0 < clean.timeout_s <= 3600
    data: dict[str, Any] = clean.as_dict()
    assert (
        validate_config(
            McpServerConfig(
                **data
                | {
                    "args": tuple(data["args"]),
                    "secret_env_names": tuple(data["secret_env_names"]),
                    "secret_header_names": tuple(data["secret_header_names"]),
                }
            )
        )
        == clean
    )
