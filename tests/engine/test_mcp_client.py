"""The MCP client through the official SDK against a real MCP server (tests/fakes/mcp_server.py),
over stdio and over streamable HTTP on loopback: tools, calls, errors, timeouts, cancellation,
start-up failures, bearer tokens from the keyring."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ato_desktop.core.mcp_config import McpServerConfig
from ato_desktop.core.models import AgentConfig, ToolCall, ToolRule
from ato_desktop.engine.mcp_client import (
    McpCallResult,
    McpConnectError,
    McpConnection,
    McpServerSpec,
    McpToolbox,
    open_toolbox,
)
from ato_desktop.engine.mcp_secrets import HEADER, McpSecrets, MissingSecretError
from ato_desktop.store import mcp_servers
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError
from ato_desktop.store.paths import DataPaths
from tests.fakes.mcp_server import spawn_http_server, stdio_command

TOKEN = "mcp-test-token-0123456789abcdef"
T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


@pytest.fixture(autouse=True)
def _loopback_without_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def http_notes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp-http") / "notes.txt"


@pytest.fixture(scope="module")
def http_url(http_notes: Path) -> Iterator[str]:
    """One HTTP server for the module (start-up is the slow part); it needs TOKEN."""
    with spawn_http_server(token=TOKEN, notes=http_notes) as (_, url):
        yield url


def stdio_spec(name: str = "tools", notes: Path | None = None, **changes: Any) -> McpServerSpec:
    command, args, env = stdio_command(*(["--notes", str(notes)] if notes else []))
    fields: dict[str, Any] = {"command": command, "args": args, "env": env, "timeout_s": 15.0}
    fields.update(changes)
    return McpServerSpec(name=name, transport="stdio", **fields)


def http_spec(
    url: str, name: str = "web", token: str | None = TOKEN, **changes: Any
) -> McpServerSpec:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    fields: dict[str, Any] = {"url": url, "secret_headers": headers, "timeout_s": 10.0}
    fields.update(changes)
    return McpServerSpec(name=name, transport="http", **fields)


def process_gone(pid: int) -> bool:
    """True when neither the process nor any member of its group exists."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def until_progress() -> tuple[asyncio.Event, Callable[..., Awaitable[None]]]:
    reached = asyncio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reached.set()

    return reached, on_progress


@pytest.fixture(params=["stdio", "http"])
def spec_for(
    request: pytest.FixtureRequest, tmp_path: Path, http_url: str, http_notes: Path
) -> tuple[McpServerSpec, Path]:
    """A server of each transport, with the notes file its write_note appends to."""
    if request.param == "stdio":
        notes = tmp_path / "notes.txt"
        return stdio_spec(notes=notes), notes
    return http_spec(http_url), http_notes


# -- listing and calling ----------------------------------------------------------------------


def test_lists_tools_with_annotations_and_calls_them(spec_for: tuple[McpServerSpec, Path]) -> None:
    spec, notes = spec_for
    before = notes.read_text() if notes.exists() else ""

    async def go() -> tuple[McpConnection, dict[str, McpCallResult]]:
        async with McpConnection(spec) as conn:
            results = {
                "add": await conn.call("add", {"a": 2, "b": 40}),
                "lookup": await conn.call("lookup_order", {"order_id": "A-1001"}),
                "missing": await conn.call("lookup_order", {"order_id": "Z-9"}),
                "note": await conn.call("write_note", {"text": "remember the milk"}),
                "fail": await conn.call("fail", {"message": "the disk is full"}),
                "unknown": await conn.call("no_such_tool", {}),
                "bad_args": await conn.call("add", {"a": "two"}),
            }
            return conn, results

    conn, results = run(go())
    assert conn.protocol_version and conn.server_name == "ato-test-tools"
    tools = {t.name: t for t in conn.tools}
    assert set(tools) == {"add", "lookup_order", "write_note", "fail", "slow", "server_pid"}
    assert {n: t.read_only for n, t in tools.items()} == {
        "add": True,
        "lookup_order": True,
        "write_note": False,
        "fail": None,
        "slow": None,
        "server_pid": True,
    }
    assert tools["write_note"].annotations == {
        "readOnlyHint": False,
        "destructiveHint": False,
        "idempotentHint": False,
    }
    assert tools["add"].annotations["openWorldHint"] is False
    assert tools["add"].description == "Add two numbers."
    assert tools["add"].input_schema["required"] == ["a", "b"]
    assert all(t.server == spec.name for t in tools.values())

    add = results["add"]
    assert (add.content_text, add.structured, add.is_error) == ("42.0", {"result": 42.0}, False)
    assert add.duration_ns > 0 and add.error_kind is None
    assert results["lookup"].structured == {
        "order_id": "A-1001",
        "status": "shipped",
        "items": 2,
        "total_usd": 42.5,
    }
    assert '"status": "shipped"' in results["lookup"].content_text
    assert results["missing"].is_error and "no order 'Z-9'" in results["missing"].content_text
    assert results["note"].content_text == "noted (17 characters)"
    assert notes.read_text() == before + "remember the milk\n"
    fail = results["fail"]
    assert fail.is_error and fail.error_kind == "tool"
    assert "the disk is full" in fail.content_text
    assert results["unknown"].is_error and "no_such_tool" in results["unknown"].content_text
    assert results["bad_args"].is_error


def test_a_hanging_tool_times_out_and_the_server_stays_usable(
    spec_for: tuple[McpServerSpec, Path],
) -> None:
    spec, _ = spec_for

    async def go() -> tuple[McpCallResult, float, McpCallResult]:
        async with McpConnection(spec) as conn:
            t0 = time.monotonic()
            hung = await conn.call("slow", {"seconds": 30}, timeout_s=0.5)
            elapsed = time.monotonic() - t0
            after = await conn.call("add", {"a": 1, "b": 1})
            return hung, elapsed, after

    hung, elapsed, after = run(go())
    assert hung.is_error and hung.error_kind == "timeout"
    assert "'slow'" in hung.content_text and "within 0.5 s" in hung.content_text
    assert 0.5 <= elapsed < 1.5
    assert after.content_text == "2.0"


def test_the_servers_timeout_bounds_each_call(http_url: str) -> None:
    async def go() -> tuple[McpCallResult, float]:
        async with McpConnection(http_spec(http_url, timeout_s=0.8)) as conn:
            t0 = time.monotonic()
            result = await conn.call("slow", {"seconds": 30})
            return result, time.monotonic() - t0

    result, elapsed = run(go())
    assert result.error_kind == "timeout" and "within 0.8 s" in result.content_text
    assert 0.8 <= elapsed < 1.8


# -- cancellation -----------------------------------------------------------------------------


def test_cancelling_a_hanging_call_stops_within_a_second_and_leaves_no_process() -> None:
    async def go() -> tuple[int, float]:
        conn = McpConnection(stdio_spec())
        reached, on_progress = await until_progress()

        async def use() -> None:
            async with conn:
                await conn.call("slow", {"seconds": 60}, on_progress=on_progress)

        task = asyncio.create_task(use())
        await asyncio.wait_for(reached.wait(), 15)  # the server is inside the tool now
        assert conn.pid is not None
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return conn.pid, time.monotonic() - t0

    pid, elapsed = run(go())
    assert elapsed < 1.0
    assert process_gone(pid)


def test_cancelling_a_hanging_http_call_ends_it_at_once(http_url: str) -> None:
    async def go() -> tuple[float, McpCallResult]:
        async with McpConnection(http_spec(http_url)) as conn:
            reached, on_progress = await until_progress()
            task = asyncio.create_task(conn.call("slow", {"seconds": 60}, on_progress=on_progress))
            await asyncio.wait_for(reached.wait(), 10)
            t0 = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            elapsed = time.monotonic() - t0
            return elapsed, await conn.call("add", {"a": 3, "b": 4})

    elapsed, after = run(go())
    assert elapsed < 1.0 and after.content_text == "7.0"


# -- the toolbox ------------------------------------------------------------------------------


def test_toolbox_names_routes_and_applies_rules_across_two_servers(
    http_url: str, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    specs = [stdio_spec("local", notes=notes), http_spec(http_url, name="remote")]
    rules = {"remote/write_note": "deny", "fail": "approve"}

    async def go() -> tuple[McpToolbox, dict[str, McpCallResult]]:
        async with McpToolbox(specs, tool_rules=rules, read_only_tools=["local/write_note"]) as box:
            results = {
                "local": await box.call(ToolCall("c1", "local__add", {"a": 1, "b": 2})),
                "remote": await box.call(ToolCall("c2", "remote__add", {"a": 10, "b": 20})),
                "note": await box.call(ToolCall("c3", "local__write_note", {"text": "hi"})),
                "denied": await box.call(ToolCall("c4", "remote__write_note", {"text": "x"})),
                "unknown": await box.call(ToolCall("c5", "add", {"a": 1, "b": 2})),
                "raw": await box.call(ToolCall("c6", "local__add", {"$raw": "{oops"})),
                "timeout": await box.call(ToolCall("c7", "remote__slow", {"seconds": 9}), 0.3),
            }
            return box, results

    box, results = run(go())
    names = [spec.name for spec in box.specs]
    assert "remote__write_note" not in names  # denied: never offered
    assert {"local__add", "remote__add", "local__write_note", "remote__fail"} <= set(names)
    assert len(names) == len(set(names)) == 11
    assert box.route("remote__add") is not None and box.route("remote__add").server == "remote"
    assert box.route("nothing") is None
    note = box.offered("local__write_note")
    assert note is not None and note.read_only and note.read_only_source == "agent"
    remote_note = box.offered("remote__write_note")
    assert remote_note is not None and remote_note.rule is ToolRule.DENY
    assert not remote_note.read_only
    fail = box.offered("local__fail")
    assert fail is not None and fail.rule is ToolRule.APPROVE
    add = box.offered("local__add")
    assert add is not None and add.read_only_source == "server"
    assert results["local"].content_text == "3.0"
    assert results["remote"].content_text == "30.0"
    assert notes.read_text() == "hi\n"
    assert results["denied"].error_kind == "blocked"
    assert results["unknown"].error_kind == "unknown"
    assert results["raw"].error_kind == "protocol"
    assert results["timeout"].error_kind == "timeout"


def test_killing_a_run_kills_its_stdio_servers_within_a_second(http_url: str) -> None:
    async def go() -> tuple[int, float]:
        box = McpToolbox([stdio_spec("local"), http_spec(http_url)])
        reached, on_progress = await until_progress()

        async def the_run() -> None:
            async with box:
                await box.call(
                    ToolCall("c", "local__slow", {"seconds": 60}), on_progress=on_progress
                )

        task = asyncio.create_task(the_run())
        await asyncio.wait_for(reached.wait(), 15)
        pid = box.connections["local"].pid
        assert pid is not None
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return pid, time.monotonic() - t0

    pid, elapsed = run(go())
    assert elapsed < 1.0
    assert process_gone(pid)


def test_a_toolbox_that_cannot_start_one_server_closes_the_others(http_url: str) -> None:
    async def go() -> tuple[McpToolbox, McpConnectError]:
        box = McpToolbox(
            [stdio_spec("good"), McpServerSpec("broken", "stdio", command="no-such-mcp-server")]
        )
        with pytest.raises(McpConnectError) as caught:
            await box.open()
        return box, caught.value

    box, error = run(go())
    assert error.server == "broken" and "was not found on PATH" in str(error)
    pid = box.connections["good"].pid
    assert pid is None or process_gone(pid)


def test_open_toolbox_connects_an_agents_registered_servers_with_their_secrets(
    http_url: str, memory_keyring: Any, ato_home: Path
) -> None:
    config = McpServerConfig("Web", "http", url=http_url, secret_header_names=("Authorization",))
    McpSecrets().set("Web", HEADER, "Authorization", f"Bearer {TOKEN}")
    agent = AgentConfig("claude", "m", mcp_servers=("web",), tool_rules={"web/fail": "deny"})

    async def go(log: ExecutionLog) -> list[str]:
        box = await open_toolbox(log, agent)
        try:
            return [spec.name for spec in box.specs]
        finally:
            await box.aclose()

    with ExecutionLog.open(DataPaths(ato_home)) as log:
        mcp_servers.add_server(log, config).result()
        names = run(go(log))
        with pytest.raises(NotFoundError, match="'ghost'"):
            run(open_toolbox(log, AgentConfig("claude", "m", mcp_servers=("ghost",))))
    assert "Web__add" in names and "Web__fail" not in names


# -- start-up failures ------------------------------------------------------------------------


def _connect_error(spec: McpServerSpec) -> tuple[str, float, McpConnection]:
    conn = McpConnection(spec)

    async def go() -> str:
        with pytest.raises(McpConnectError) as caught:
            async with conn:
                pass
        return str(caught.value)

    t0 = time.monotonic()
    message = run(go())
    return message, time.monotonic() - t0, conn


def test_a_command_that_does_not_exist() -> None:
    message, _, _ = _connect_error(McpServerSpec("ghost", "stdio", command="no-such-mcp-server"))
    assert message == (
        "MCP server 'ghost': the command 'no-such-mcp-server' was not found on PATH (is it "
        "installed? give its full path with --command)"
    )
    message, _, _ = _connect_error(McpServerSpec("ghost", "stdio", command="/nope/server"))
    assert "the command '/nope/server' does not exist" in message


def test_a_server_that_exits_reports_its_code_and_stderr_without_secrets() -> None:
    secret = "sk-live-SECRETVALUE-0123456789abcdef"
    script = (
        "import os, sys; sys.stderr.write('starting\\nbad token ' + os.environ['API_TOKEN'] + "
        "'\\nfatal: config missing\\n'); sys.exit(3)"
    )
    spec = McpServerSpec(
        "crashy",
        "stdio",
        command=sys.executable,
        args=("-c", script),
        secret_env={"API_TOKEN": secret},
    )
    message, _, conn = _connect_error(spec)
    assert "MCP server 'crashy': the server exited with code 3 before it was ready" in message
    assert message.endswith("fatal: config missing")
    assert "bad token" in message and secret not in message
    assert secret not in repr(spec)
    assert conn.pid is not None and process_gone(conn.pid)


def test_a_server_that_never_answers_times_out_and_is_killed() -> None:
    spec = McpServerSpec(
        "mute",
        "stdio",
        command=sys.executable,
        args=("-c", "import time; time.sleep(60)"),
        timeout_s=0.5,
    )
    message, elapsed, conn = _connect_error(spec)
    assert "did not finish starting within 0.5 s" in message
    assert elapsed < 0.5 + 1.5
    assert conn.pid is not None and process_gone(conn.pid)


def test_a_server_that_dies_mid_run_gives_error_results() -> None:
    async def go() -> tuple[McpCallResult, McpCallResult]:
        async with McpConnection(stdio_spec()) as conn:
            assert conn.pid is not None
            os.kill(conn.pid, signal.SIGKILL)
            first = await conn.call("add", {"a": 1, "b": 2})
            return first, await conn.call("add", {"a": 1, "b": 2})

    first, second = run(go())
    assert first.error_kind == second.error_kind == "connection"
    assert "killed by signal 9" in first.content_text


def test_http_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    message, elapsed, _ = _connect_error(http_spec(f"http://127.0.0.1:{port}/mcp", token=None))
    assert f"could not connect to http://127.0.0.1:{port}/mcp" in message
    assert elapsed < 5


# -- bearer tokens from the keyring -----------------------------------------------------------


def test_a_bearer_token_comes_from_the_keyring_and_a_wrong_one_is_a_clear_401(
    http_url: str, memory_keyring: Any
) -> None:
    config = McpServerConfig("web", "http", url=http_url, secret_header_names=("Authorization",))
    secrets = McpSecrets()
    with pytest.raises(MissingSecretError, match="needs Authorization"):
        McpServerSpec.from_config(config, secrets)

    secrets.set("web", HEADER, "Authorization", f"Bearer {TOKEN}")
    assert memory_keyring.store[("ato-desktop", "mcp:web:header:authorization")] == (
        f"Bearer {TOKEN}"
    )
    spec = McpServerSpec.from_config(config, secrets)
    assert TOKEN not in repr(spec)

    async def tools() -> int:
        async with McpConnection(spec) as conn:
            return len(conn.tools)

    assert run(tools()) == 6

    wrong = "Bearer wrong-token-fedcba9876543210"
    secrets.set("web", HEADER, "Authorization", wrong)
    message, _, _ = _connect_error(McpServerSpec.from_config(config, secrets))
    assert "HTTP 401 Unauthorized" in message and "refused the credentials" in message
    assert "wrong-token" not in message

    message, _, _ = _connect_error(http_spec(http_url, token=None))
    assert "HTTP 401" in message and "none were sent" in message
