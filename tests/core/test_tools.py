"""Model-visible tool names, tool rules, read-only resolution and MCP server configs."""

from __future__ import annotations

import itertools

import pytest

from ato_desktop.core.mcp_config import McpConfigError, McpServerConfig, validate_config
from ato_desktop.core.models import ToolRule
from ato_desktop.core.tools import (
    MODEL_NAME_PATTERN,
    McpTool,
    ServerNameError,
    assign_model_names,
    is_read_only,
    offered_specs,
    plan_tools,
    read_only_source,
    resolve_rule,
    rule_problems,
    validate_server_name,
)

# -- names ------------------------------------------------------------------------------------


def test_names_are_server_then_tool_and_map_back() -> None:
    names = assign_model_names([("github", "create_issue"), ("files", "read")])
    assert names.name_of("github", "create_issue") == "github__create_issue"
    assert names.pair_of("files__read") == ("files", "read")
    assert names.pair_of("read") is None


def test_names_are_valid_for_every_api_whatever_the_input() -> None:
    pairs = [
        ("my.server", "tools/list.files"),
        ("srv", "ünïcode tool!"),
        ("x" * 48, "y" * 128),
        ("s", ""),
        ("a-b", "dots.and spaces"),
    ]
    names = assign_model_names(pairs)
    for pair in pairs:
        name = names.name_of(*pair)
        assert MODEL_NAME_PATTERN.match(name), name
        assert names.pair_of(name) == pair
    assert names.name_of("my.server", "tools/list.files") == "my_server__tools_list_files"


def test_colliding_sanitised_names_both_get_distinct_hashed_names() -> None:
    names = assign_model_names([("a.b", "t"), ("a_b", "t"), ("c", "t")])
    first, second = names.name_of("a.b", "t"), names.name_of("a_b", "t")
    assert first != second
    assert first.startswith("a_b__t_") and second.startswith("a_b__t_")
    assert names.name_of("c", "t") == "c__t"  # untouched by the others' collision


def test_long_names_are_cut_with_a_digest_and_stay_unique() -> None:
    long_tool = "very_long_tool_name_" * 5
    names = assign_model_names([("server", long_tool + "a"), ("server", long_tool + "b")])
    a, b = names.name_of("server", long_tool + "a"), names.name_of("server", long_tool + "b")
    assert len(a) == len(b) == 64 and a != b
    assert a.startswith("server__very_long_tool_name_")


def test_names_do_not_depend_on_order_or_on_the_other_servers() -> None:
    pairs = [("a.b", "t"), ("a_b", "t"), ("files", "read"), ("git", "log")]
    results = {
        tuple(sorted(assign_model_names(order).by_pair.items()))
        for order in itertools.permutations(pairs)
    }
    assert len(results) == 1
    alone = assign_model_names([("files", "read")]).name_of("files", "read")
    assert alone == assign_model_names(pairs).name_of("files", "read")


# -- rules ------------------------------------------------------------------------------------


def test_rule_lookup_order_and_default() -> None:
    rules = {"git/push": "approve", "git/*": "deny", "push": "allow", "status": "deny"}
    assert resolve_rule(rules, "git", "push") is ToolRule.APPROVE  # server/tool first
    assert resolve_rule(rules, "git", "log") is ToolRule.DENY  # then server/*
    assert resolve_rule(rules, "other", "push") is ToolRule.ALLOW  # then the bare tool
    assert resolve_rule(rules, "other", "status") is ToolRule.DENY
    assert resolve_rule(rules, "other", "log") is ToolRule.ALLOW  # default
    assert resolve_rule({}, "any", "thing") is ToolRule.ALLOW


def test_rule_server_names_ignore_case_tool_names_do_not() -> None:
    rules = {"GitHub/create_issue": "deny"}
    assert resolve_rule(rules, "github", "create_issue") is ToolRule.DENY
    assert resolve_rule(rules, "github", "Create_Issue") is ToolRule.ALLOW


def test_a_rule_that_is_not_a_rule_denies_and_is_reported() -> None:
    rules = {"git/push": "alow", "/x": "deny"}
    assert resolve_rule(rules, "git", "push") is ToolRule.DENY
    problems = rule_problems(rules)
    assert any("'alow'" in p for p in problems) and any("'/x'" in p for p in problems)
    assert rule_problems({"git/push": "Approve", "read": "allow"}) == []


# -- read-only --------------------------------------------------------------------------------


def _tool(name: str, read_only: bool | None, server: str = "files") -> McpTool:
    return McpTool(server, name, f"{name} things", {"type": "object"}, read_only)


def test_read_only_comes_from_the_server_hint_or_the_agent() -> None:
    assert read_only_source(_tool("read", True), ()) == "server"
    assert read_only_source(_tool("stat", None), ["FILES/stat"]) == "agent"
    assert read_only_source(_tool("write", False), ["files/write"]) == "agent"
    assert read_only_source(_tool("write", False), ["write", "other/write"]) is None
    assert not is_read_only(_tool("delete", None), ())
    assert is_read_only(_tool("read", True), ())


def test_plan_applies_names_rules_and_read_only_and_leaves_denied_tools_unoffered() -> None:
    tools = [
        _tool("read", True),
        _tool("write", False),
        _tool("delete", None),
        McpTool("web", "fetch", "", {"type": "object", "properties": {"url": {}}}, None),
    ]
    planned = plan_tools(tools, {"files/delete": "deny", "fetch": "approve"}, ["web/fetch"])
    by_name = {p.model_name: p for p in planned}
    assert list(by_name) == ["files__delete", "files__read", "files__write", "web__fetch"]
    assert by_name["files__delete"].rule is ToolRule.DENY
    assert by_name["web__fetch"].rule is ToolRule.APPROVE
    assert by_name["web__fetch"].read_only and by_name["web__fetch"].read_only_source == "agent"
    assert by_name["files__read"].route.tool == "read" and by_name["files__read"].read_only
    specs = offered_specs(planned)
    assert [s.name for s in specs] == ["files__read", "files__write", "web__fetch"]
    assert specs[-1].input_schema["properties"] == {"url": {}}


# -- server configs ---------------------------------------------------------------------------


def test_server_names() -> None:
    assert validate_server_name("  github.com_tools-2 ") == "github.com_tools-2"
    for bad in ("", "a/b", "has space", "-leading", "x" * 49, "a:b"):
        with pytest.raises(ServerNameError):
            validate_server_name(bad)


def test_configs_are_cleaned_and_checked() -> None:
    stdio = validate_config(
        McpServerConfig(
            " files ",
            "stdio",
            command=" npx ",
            args=("-y", "@mcp/files"),
            env={"ROOT": "/tmp"},
            secret_env_names=(" API_TOKEN ",),
            timeout_s=5,
        )
    )
    assert (stdio.name, stdio.command, stdio.secret_env_names) == ("files", "npx", ("API_TOKEN",))
    assert stdio.target() == "npx -y @mcp/files"
    http = validate_config(
        McpServerConfig(
            "web", "http", url="https://mcp.example.com/mcp", secret_header_names=("Authorization",)
        )
    )
    assert http.timeout_s == 30.0 and http.target() == "https://mcp.example.com/mcp"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (McpServerConfig("x", "ws", url="ws://h"), "stdio or http"),
        (McpServerConfig("x", "stdio"), "needs a command"),
        (McpServerConfig("x", "http"), "needs a URL"),
        (McpServerConfig("x", "http", url="ftp://host/x"), "http(s)://"),
        (McpServerConfig("x", "http", url="https://u:pw@host/mcp"), "user name or password"),
        (McpServerConfig("x", "stdio", command="c", url="https://h"), "no URL"),
        (McpServerConfig("x", "http", url="https://h", command="c"), "no command"),
        (McpServerConfig("x", "stdio", command="c", env={"1X": "v"}), "not a valid name"),
        (
            McpServerConfig("x", "stdio", command="c", env={"T": "v"}, secret_env_names=("T",)),
            "both",
        ),
        (
            McpServerConfig(
                "x", "http", url="https://h", secret_header_names=("Authorization", "authorization")
            ),
            "twice",
        ),
        (
            McpServerConfig("x", "http", url="https://h", secret_header_names=("Bad Header",)),
            "valid",
        ),
        (McpServerConfig("x", "stdio", command="c", timeout_s=0), "timeout"),
        (McpServerConfig("x", "stdio", command="c", timeout_s=float("nan")), "timeout"),
        (McpServerConfig("a/b", "stdio", command="c"), "may only use"),
    ],
)
def test_bad_configs_say_what_is_wrong(config: McpServerConfig, message: str) -> None:
    with pytest.raises(McpConfigError) as caught:
        validate_config(config)
    assert message in str(caught.value)
