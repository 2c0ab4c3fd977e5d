"""MCP servers over the official `mcp` SDK: one connection, and a toolbox of several for a run.

- `McpServerSpec`: how to reach a server, secrets included (from the keyring; repr hides them).
- `McpConnection`: an async context manager that starts (stdio) or reaches (streamable HTTP)
  a server, negotiates the protocol, lists its tools, and calls them, each call bounded by the
  server's timeout. A tool that errors, hangs past its timeout, or a server that goes away gives
  an error *result*, never an exception or a hang.
- `McpToolbox`: the servers of one run, connected concurrently, offering their tools to a model
  under unique names (core.tools), routing each call to its server, and closing everything at the
  end, on cancellation too.

Stdio servers run in a process group of their own (a new session on POSIX). Closing asks politely
(stdin closed, then SIGTERM to the group), then kills the group; a cancelled connection (a killed
run) kills the group at once, synchronously, so a hung server cannot hold a kill up. The SDK's
own stdio transport does not say which process it started nor why it died, so this module runs
the process itself and hands the SDK's `Client` the same pair of message streams.

Errors are `McpConnectError` with a message safe to show: command not found, exited with code N
and the tail of its stderr, HTTP 401/403, refused connection, timeout. Secret values (env vars,
headers) are redacted from every message and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
import httpx2
import mcp_types
from mcp import Client
from mcp.client._transport import TransportStreams
from mcp.client.stdio import get_default_environment
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from ato_desktop import __version__
from ato_desktop.core.mcp_config import McpServerConfig
from ato_desktop.core.models import AgentConfig, ToolCall, ToolRule, ToolSpec
from ato_desktop.core.redaction import redact_secrets
from ato_desktop.core.tools import (
    McpCallResult,
    McpTool,
    OfferedTool,
    ToolRoute,
    offered_specs,
    plan_tools,
)
from ato_desktop.engine.credentials import known_secrets
from ato_desktop.engine.mcp_secrets import McpSecrets
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.mcp_servers import get_servers

__all__ = [
    "McpCallResult",
    "McpConnectError",
    "McpConnection",
    "McpServerSpec",
    "McpTool",
    "McpToolbox",
    "open_toolbox",
]

log = logging.getLogger(__name__)

STDERR_TAIL_BYTES = 4096
# A polite stop: stdin closed, then SIGTERM, each given this long before the next step. A server
# that is not stuck exits on stdin EOF within milliseconds.
GRACE_S = 0.5
# After a kill, how long to wait for the OS to report the process gone.
REAP_S = 1.0
MAX_TOOL_PAGES = 100
ProgressFn = ProgressFnT
"""async (progress, total, message) -> None: a server's progress notifications for a call."""


class McpConnectError(Exception):
    """A server could not be started, reached or initialised. The message names the server,
    says why, and never contains a secret."""

    def __init__(self, server: str, message: str) -> None:
        super().__init__(message)
        self.server = server


# -- spec -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class McpServerSpec:
    """Everything needed to reach one server, secret values included (never in repr)."""

    name: str
    transport: str  # "stdio" | "http"
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    url: str | None = None
    secret_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout_s: float = 30.0
    cwd: str | None = None

    @classmethod
    def from_config(
        cls, config: McpServerConfig, secrets: McpSecrets | None = None
    ) -> McpServerSpec:
        """The spec of a registered server, its secrets read from the keyring (blocking).
        MissingSecretError when a secret it needs is not stored."""
        env: dict[str, str] = {}
        headers: dict[str, str] = {}
        if config.secret_env_names or config.secret_header_names:
            env, headers = (secrets or McpSecrets()).load(config)
        return cls(
            name=config.name,
            transport=config.transport,
            command=config.command,
            args=tuple(config.args),
            env=dict(config.env),
            secret_env=env,
            url=config.url,
            secret_headers=headers,
            timeout_s=config.timeout_s,
        )

    def secret_values(self) -> list[str]:
        return [*self.secret_env.values(), *self.secret_headers.values()]

    def redact(self, text: str) -> str:
        """Text with this server's secrets (and every other known secret) blanked out."""
        return redact_secrets(text, [*self.secret_values(), *known_secrets()])


def _seconds(value: float) -> str:
    return f"{value:g} s"


# -- stdio ------------------------------------------------------------------------------------


@dataclass
class _ServerProcess:
    """The stdio server's process, as far as this module needs to know it."""

    process: anyio.abc.Process | None = None
    stderr_tail: deque[bytes] = field(default_factory=lambda: deque(maxlen=64))
    stderr_done: anyio.Event | None = None

    async def wait_stderr(self) -> None:
        """Until the server's stderr is closed (all it wrote has been read)."""
        if self.stderr_done is not None:
            await self.stderr_done.wait()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process is not None else None

    def tail(self) -> str:
        data = b"".join(self.stderr_tail)[-STDERR_TAIL_BYTES:]
        text = data.decode("utf-8", "replace").strip()
        lines = [line.rstrip() for line in text.splitlines() if line.strip()]
        return "\n".join(lines[-12:])

    def kill_group(self, sig: int | None = None) -> None:
        """Signal (default: SIGKILL) the whole process group now; synchronous, so no
        cancellation can interrupt it."""
        process = self.process
        if process is None:
            return
        if sys.platform == "win32":  # pragma: no cover - POSIX CI
            with contextlib.suppress(ProcessLookupError, OSError):
                process.kill()
            return
        # The server leads its own session, so its pid is the group id; the group outlives a
        # leader that exited while children of it still run.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL if sig is None else sig)


def _resolve_command(spec: McpServerSpec, env: Mapping[str, str]) -> str:
    command = spec.command or ""
    if os.sep in command or (os.altsep and os.altsep in command):
        path = command
        if spec.cwd and not os.path.isabs(command):
            path = os.path.join(spec.cwd, command)
        if not os.path.exists(path):
            raise McpConnectError(spec.name, f"the command {command!r} does not exist")
        if not os.access(path, os.X_OK) or os.path.isdir(path):
            raise McpConnectError(spec.name, f"the command {command!r} is not executable")
        return command
    found = shutil.which(command, path=env.get("PATH"))
    if found is None:
        raise McpConnectError(
            spec.name,
            f"the command {command!r} was not found on PATH (is it installed? give its full "
            "path with --command)",
        )
    return found


async def _wait_exit(process: anyio.abc.Process, timeout: float) -> bool:
    """True when the process exited within timeout (polls returncode: wait() would also wait
    for pipes a surviving child may hold open)."""
    deadline = time.monotonic() + timeout
    while process.returncode is None:
        if time.monotonic() >= deadline:
            return False
        await anyio.sleep(0.01)
    return True


@asynccontextmanager
async def _stdio_transport(
    spec: McpServerSpec, handle: _ServerProcess
) -> AsyncIterator[TransportStreams]:
    """Start the server and bridge its stdin/stdout to the SDK's message streams."""
    env = {**get_default_environment(), **spec.env, **spec.secret_env}
    command = _resolve_command(spec, env)
    options: dict[str, Any] = {}
    if sys.platform == "win32":  # pragma: no cover - POSIX CI
        options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        options["start_new_session"] = True
    try:
        process = await anyio.open_process(
            [command, *spec.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=spec.cwd,
            **options,
        )
    except FileNotFoundError:
        raise McpConnectError(spec.name, f"the command {spec.command!r} was not found") from None
    except PermissionError:
        raise McpConnectError(
            spec.name, f"the command {spec.command!r} is not executable"
        ) from None
    except OSError as exc:
        raise McpConnectError(
            spec.name, spec.redact(f"the command {spec.command!r} could not start: {exc}")
        ) from None
    handle.process = process
    handle.stderr_done = stderr_done = anyio.Event()
    assert process.stdin and process.stdout and process.stderr
    stdin, stdout, stderr = process.stdin, process.stdout, process.stderr

    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)

    async def read_stdout() -> None:
        buffer = b""
        try:
            async with read_writer:
                async for chunk in stdout:
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        if not line.strip():
                            continue
                        try:
                            message: SessionMessage | Exception = SessionMessage(
                                mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                            )
                        except ValueError as exc:
                            message = exc
                        await read_writer.send(message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            pass

    async def read_stderr() -> None:
        try:
            async for chunk in stderr:
                handle.stderr_tail.append(chunk)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            pass
        finally:
            stderr_done.set()

    async def write_stdin() -> None:
        try:
            async with write_reader:
                async for session_message in write_reader:
                    data = session_message.message.model_dump_json(
                        by_alias=True, exclude_unset=True
                    )
                    await stdin.send(data.encode() + b"\n")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            # The server stopped reading: end the session rather than leave requests hanging.
            await read_writer.aclose()

    async def stop(fast: bool) -> None:
        if not fast and process.returncode is None:
            with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await stdin.aclose()
            if not await _wait_exit(process, GRACE_S):
                handle.kill_group(signal.SIGTERM)
                await _wait_exit(process, GRACE_S)
        handle.kill_group()  # the leader if it is still there, and whatever it left behind
        if not await _wait_exit(process, REAP_S):
            log.warning("MCP server %s (pid %s) did not exit after SIGKILL", spec.name, process.pid)

    async with anyio.create_task_group() as tg:
        tg.start_soon(read_stdout)
        tg.start_soon(read_stderr)
        tg.start_soon(write_stdin)
        fast = False
        try:
            yield read_stream, write_stream
        except BaseException:
            fast = True  # cancelled or failed: no courtesy, kill the group now
            handle.kill_group()
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await stop(fast)
                for stream in (read_stream, write_stream, stdin, stdout, stderr):
                    with contextlib.suppress(Exception):
                        await stream.aclose()
            tg.cancel_scope.cancel()


# -- HTTP -------------------------------------------------------------------------------------


@dataclass
class _HttpState:
    status: int | None = None
    reason: str = ""


def _http_client(spec: McpServerSpec, state: _HttpState) -> httpx2.AsyncClient:
    async def on_response(response: httpx2.Response) -> None:
        if response.status_code >= 400:
            state.status = response.status_code
            state.reason = response.reason_phrase

    timeout = httpx2.Timeout(spec.timeout_s, read=max(spec.timeout_s, 300.0))
    return httpx2.AsyncClient(
        headers=dict(spec.secret_headers),
        timeout=timeout,
        event_hooks={"response": [on_response]},
    )


def _http_status_message(spec: McpServerSpec, status: int, reason: str) -> str:
    where = spec.url or ""
    if status == 401:
        if not spec.secret_headers:
            return (
                f"{where} answered HTTP 401 Unauthorized: it needs credentials and none were "
                "sent (register it with --secret-header Authorization)."
            )
        names = ", ".join(spec.secret_headers)
        return (
            f"{where} answered HTTP 401 Unauthorized: the server refused the credentials "
            f"(sent as: {names}). Check the value, then add the server again."
        )
    if status == 403:
        return f"{where} answered HTTP 403 Forbidden: the credentials lack permission."
    if status == 404:
        return f"{where} answered HTTP 404 Not Found: is this the server's MCP endpoint?"
    return f"{where} answered HTTP {status} {reason}".rstrip()


# -- one connection ---------------------------------------------------------------------------


def _tool_from_sdk(server: str, tool: mcp_types.Tool) -> McpTool:
    annotations: dict[str, Any] = {}
    read_only: bool | None = None
    if tool.annotations is not None:
        annotations = tool.annotations.model_dump(by_alias=True, exclude_none=True, mode="json")
        read_only = tool.annotations.read_only_hint
    return McpTool(
        server=server,
        name=tool.name,
        description=tool.description or tool.title or "",
        input_schema=dict(tool.input_schema or {"type": "object"}),
        read_only=read_only,
        annotations=annotations,
    )


def _content_text(blocks: Sequence[mcp_types.ContentBlock]) -> str:
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, mcp_types.TextContent):
            parts.append(block.text)
        elif isinstance(block, mcp_types.ImageContent | mcp_types.AudioContent):
            kind = "image" if isinstance(block, mcp_types.ImageContent) else "audio"
            parts.append(f"[{kind} {block.mime_type}, {len(block.data) * 3 // 4:,} bytes]")
        elif isinstance(block, mcp_types.EmbeddedResource):
            resource = block.resource
            if isinstance(resource, mcp_types.TextResourceContents):
                parts.append(resource.text)
            else:
                parts.append(f"[resource {resource.uri}]")
        elif isinstance(block, mcp_types.ResourceLink):
            parts.append(f"[resource link {block.uri}]")
    return "\n".join(parts)


class McpConnection:
    """One live connection to one MCP server (see the module docstring).

    async with McpConnection(spec) as conn:  # starts/reaches, initialises, lists tools
        conn.tools                          # list[McpTool]
        await conn.call("add", {"a": 1, "b": 2})

    Entering raises McpConnectError; the whole start-up is bounded by spec.timeout_s.
    """

    def __init__(self, spec: McpServerSpec) -> None:
        self.spec = spec
        self.tools: list[McpTool] = []
        self.protocol_version: str | None = None
        self.server_name: str | None = None
        self.server_version: str | None = None
        self._process = _ServerProcess()
        self._http = _HttpState()
        self._client: Client | None = None
        self._stack: AsyncExitStack | None = None
        self._lost: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        """The stdio server's process id (also its process group), or None."""
        return self._process.pid

    def kill(self) -> None:
        """Kill a stdio server's process group at once (synchronous; for killed runs). The
        connection still needs closing; calls in flight end as connection errors."""
        self._process.kill_group()

    # -- connecting -------------------------------------------------------------------------

    def _transport(self, stack: AsyncExitStack) -> Any:
        spec = self.spec
        if spec.transport == "stdio":
            return _stdio_transport(spec, self._process)
        if spec.transport == "http" and spec.url:
            http_client = _http_client(spec, self._http)
            stack.push_async_callback(http_client.aclose)
            return streamable_http_client(spec.url, http_client=http_client)
        raise McpConnectError(spec.name, f"unknown transport {spec.transport!r}")

    async def __aenter__(self) -> McpConnection:
        spec = self.spec
        stack = AsyncExitStack()
        await stack.__aenter__()
        expired = False
        try:
            # asyncio's timeout, not anyio's: the SDK's task groups entered here stay open
            # after this block, and an anyio cancel scope may not be left before them.
            async with asyncio.timeout(spec.timeout_s) as deadline:
                try:
                    client = Client(
                        self._transport(stack),
                        read_timeout_seconds=spec.timeout_s,
                        client_info=mcp_types.Implementation(
                            name="ato-desktop", version=__version__
                        ),
                    )
                    await stack.enter_async_context(client)
                    self._client = client
                    self.tools = await self._list_tools(client)
                except BaseException:
                    expired = deadline.expired()
                    raise
        except BaseException as exc:
            self._client = None
            if not expired and (_is_cancellation(exc) or not isinstance(exc, Exception)):
                self.kill()
                await self._close_stack(stack, exc)
                raise
            try:
                message = await self._explain(exc, timed_out=expired)
            finally:
                self.kill()
                await self._close_stack(stack, exc)
            raise McpConnectError(spec.name, message) from None
        self._stack = stack
        self.protocol_version = client.protocol_version
        info = client.server_info
        if info is not None:
            self.server_name, self.server_version = info.name, info.version
        return self

    async def _list_tools(self, client: Client) -> list[McpTool]:
        tools: list[McpTool] = []
        cursor: str | None = None
        for _ in range(MAX_TOOL_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools.extend(_tool_from_sdk(self.spec.name, t) for t in page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        return tools

    async def _explain(self, exc: BaseException, *, timed_out: bool) -> str:
        """Why connecting failed, in words a user can act on."""
        spec = self.spec
        inner = _innermost(exc)
        if isinstance(inner, McpConnectError):
            return spec.redact(f"MCP server {spec.name!r}: {inner.args[0]}")
        timed_out = timed_out or isinstance(inner, TimeoutError | httpx2.TimeoutException)
        if isinstance(inner, MCPError) and inner.code == mcp_types.REQUEST_TIMEOUT:
            timed_out = True
        detail: str
        if spec.transport == "stdio":
            process = self._process.process
            if process is not None and process.returncode is None and not timed_out:
                # Its stdout closed: the exit code follows in a moment.
                with anyio.CancelScope(shield=True):
                    await _wait_exit(process, GRACE_S)
            code = self._process.returncode
            tail = ""
            if code is not None:
                with anyio.CancelScope(shield=True), anyio.move_on_after(GRACE_S):
                    await self._process.wait_stderr()
                tail = self._process.tail()
            if timed_out:
                # Checked first: a server that timed out has been killed by now.
                detail = (
                    f"the server did not finish starting within {_seconds(spec.timeout_s)} "
                    f"({spec.command} runs but does not answer MCP on stdout)"
                )
                tail = self._process.tail()
                if tail:
                    detail += f"; its stderr ends with:\n{tail}"
            elif code is not None:
                how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
                detail = f"the server {how} before it was ready"
                detail += f"; its stderr ends with:\n{tail}" if tail else " (no stderr output)"
            else:
                detail = f"the server could not be initialised: {_describe(inner)}"
        elif self._http.status is not None:
            detail = _http_status_message(spec, self._http.status, self._http.reason)
        elif timed_out:
            detail = f"{spec.url} did not answer within {_seconds(spec.timeout_s)}"
        elif isinstance(inner, httpx2.ConnectError):
            detail = f"could not connect to {spec.url} ({_describe(inner)})"
        else:
            detail = f"{spec.url} could not be initialised: {_describe(inner)}"
        return spec.redact(f"MCP server {spec.name!r}: {detail}")

    # -- calls ------------------------------------------------------------------------------

    async def list_tools(self) -> list[McpTool]:
        """List the server's tools again (they may change while it runs)."""
        self.tools = await self._list_tools(self._require_client())
        return self.tools

    def _require_client(self) -> Client:
        if self._client is None:
            raise RuntimeError("McpConnection is not connected; use `async with`")
        return self._client

    async def call(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        timeout_s: float | None = None,
        *,
        on_progress: ProgressFn | None = None,
    ) -> McpCallResult:
        """Call a tool; every failure (error result, timeout, server gone) is an error result.
        Only cancellation raises. timeout_s defaults to the server's."""
        client = self._require_client()
        timeout = self.spec.timeout_s if timeout_s is None else timeout_s
        t0 = time.perf_counter_ns()

        def result(text: str, kind: str) -> McpCallResult:
            return McpCallResult(
                self.spec.redact(text),
                is_error=True,
                duration_ns=time.perf_counter_ns() - t0,
                error_kind=kind,
            )

        if self._lost is not None:
            return result(self._lost, "connection")
        try:
            # The SDK's own timeout cancels the request on the server; ours is the backstop
            # should a transport ignore it.
            with anyio.fail_after(timeout + 2.0):
                answer = await client.call_tool(
                    name,
                    dict(arguments or {}),
                    read_timeout_seconds=timeout,
                    progress_callback=on_progress,
                )
        except MCPError as exc:
            if exc.code == mcp_types.REQUEST_TIMEOUT:
                return result(
                    f"The tool {name!r} of MCP server {self.name!r} did not answer within "
                    f"{_seconds(timeout)}.",
                    "timeout",
                )
            if exc.code == mcp_types.CONNECTION_CLOSED:
                return result(await self._gone(), "connection")
            return result(f"MCP server {self.name!r} answered with an error: {exc}", "protocol")
        except TimeoutError:
            return result(
                f"The tool {name!r} of MCP server {self.name!r} did not answer within "
                f"{_seconds(timeout)}.",
                "timeout",
            )
        except ValidationError as exc:
            return result(
                f"MCP server {self.name!r} sent a result that does not fit the protocol: "
                f"{_describe(exc)}",
                "protocol",
            )
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, httpx2.TransportError):
            return result(await self._gone(), "connection")
        duration = time.perf_counter_ns() - t0
        text = _content_text(answer.content)
        return McpCallResult(
            content_text=text,
            structured=answer.structured_content,
            is_error=bool(answer.is_error),
            duration_ns=duration,
            error_kind="tool" if answer.is_error else None,
        )

    async def _gone(self) -> str:
        process = self._process.process
        if process is not None:
            with anyio.CancelScope(shield=True):
                await _wait_exit(process, 0.5)
        code = self._process.returncode
        if code is not None:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            tail = self._process.tail()
            self._lost = f"MCP server {self.name!r} {how}" + (f": {tail}" if tail else "")
        elif self.spec.transport == "http":
            self._lost = f"MCP server {self.name!r} ({self.spec.url}) closed the connection"
        else:
            self._lost = f"MCP server {self.name!r} closed the connection"
        return self._lost

    # -- closing ----------------------------------------------------------------------------

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if exc is not None and _is_cancellation(exc):
            self.kill()
        if stack is not None:
            await self._close_stack(stack, exc)

    async def _close_stack(self, stack: AsyncExitStack, exc: BaseException | None) -> None:
        # No shield scope around this: the scopes inside the stack were entered before it, and
        # anyio scopes must be left in the reverse order. The transport shields its own stop.
        try:
            await stack.__aexit__(type(exc) if exc else None, exc, None)
        except Exception as close_exc:  # closing must never mask what happened before it
            log.debug(
                "closing MCP server %s: %s", self.name, self.spec.redact(_describe(close_exc))
            )


def _is_cancellation(exc: BaseException) -> bool:
    return isinstance(exc, asyncio.CancelledError | anyio.get_cancelled_exc_class())


def _innermost(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (the SDK's task groups wrap errors in them)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


# -- several servers for one run --------------------------------------------------------------


class McpToolbox:
    """The MCP servers of one run: their tools under unique model-visible names, routing, and
    one close for all. Connect with `async with` or `await open()` / `await aclose()`.

    Each connection lives in a task of its own (the SDK's task groups must be entered and left by
    one task), so the servers start concurrently and a call from any task reaches them.
    """

    def __init__(
        self,
        specs: Sequence[McpServerSpec],
        *,
        tool_rules: Mapping[str, str] | None = None,
        read_only_tools: Sequence[str] = (),
    ) -> None:
        self._specs = list(specs)
        self._rules = dict(tool_rules or {})
        self._read_only = tuple(read_only_tools)
        self.connections: dict[str, McpConnection] = {}
        self.planned: list[OfferedTool] = []
        self._by_model_name: dict[str, OfferedTool] = {}
        self._holders: list[asyncio.Task[None]] = []
        self._readies: list[asyncio.Future[None]] = []
        self._release = asyncio.Event()

    @classmethod
    def for_agent(
        cls,
        config: AgentConfig,
        servers: Sequence[McpServerConfig],
        secrets: McpSecrets | None = None,
    ) -> McpToolbox:
        """A toolbox for an agent's servers (their registered configs), with its rules; reads
        the keyring, so async code calls it in a worker thread."""
        secrets = secrets or McpSecrets()
        specs = [McpServerSpec.from_config(s, secrets) for s in servers]
        return cls(specs, tool_rules=config.tool_rules, read_only_tools=config.read_only_tools)

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> McpToolbox:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and _is_cancellation(exc):
            self.kill()
        await self.aclose()

    async def open(self) -> None:
        """Connect every server concurrently; McpConnectError (the first failure, by server
        order) after closing the others when any fails."""
        loop = asyncio.get_running_loop()
        for spec in self._specs:
            conn = McpConnection(spec)
            self.connections[spec.name] = conn
            ready: asyncio.Future[None] = loop.create_future()
            self._readies.append(ready)
            self._holders.append(
                asyncio.create_task(self._hold(conn, ready), name=f"mcp-{spec.name}")
            )
        if self._readies:
            try:
                await asyncio.wait(self._readies)
            except BaseException:
                self.kill()
                await self.aclose()
                raise
        for ready in self._readies:
            failure = asyncio.CancelledError() if ready.cancelled() else ready.exception()
            if failure is not None:
                await self.aclose()
                raise failure
        tools = [tool for conn in self.connections.values() for tool in conn.tools]
        self.planned = plan_tools(tools, self._rules, self._read_only)
        self._by_model_name = {p.model_name: p for p in self.planned}

    async def _hold(self, conn: McpConnection, ready: asyncio.Future[None]) -> None:
        try:
            async with conn:
                ready.set_result(None)
                await self._release.wait()
        except BaseException as exc:
            if not ready.done():
                if _is_cancellation(exc):
                    ready.cancel()
                else:
                    ready.set_exception(exc)
            elif not _is_cancellation(exc):
                log.warning("MCP server %s: %s", conn.name, conn.spec.redact(_describe(exc)))

    def kill(self) -> None:
        """Kill every stdio server's process group now (synchronous; for killed runs)."""
        for conn in self.connections.values():
            conn.kill()

    async def aclose(self) -> None:
        """Close every connection (stdio servers stopped, their process groups killed). On
        cancellation the servers are killed at once and closing still completes, bounded."""
        self._release.set()
        holders, self._holders = self._holders, []
        if not holders:
            return
        for task, ready in zip(holders, self._readies, strict=True):
            if not ready.done():
                task.cancel()  # still connecting: stop that rather than wait for it
        try:
            await asyncio.shield(asyncio.wait(holders, timeout=2 * GRACE_S + REAP_S + 1))
        except asyncio.CancelledError:
            self.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait(holders, timeout=REAP_S)
            raise
        finally:
            for task in holders:
                if not task.done():
                    self.kill()
                    task.cancel()

    # -- tools ----------------------------------------------------------------------------------

    @property
    def specs(self) -> list[ToolSpec]:
        """The tools offered to the model: every tool the agent does not deny."""
        return offered_specs(self.planned)

    def offered(self, model_name: str) -> OfferedTool | None:
        """The planned tool behind a model-visible name (denied ones too), or None."""
        return self._by_model_name.get(model_name)

    def route(self, model_name: str) -> ToolRoute | None:
        """Where a model-visible name leads, or None when no server offers it."""
        found = self._by_model_name.get(model_name)
        return found.route if found is not None else None

    async def call(
        self,
        call: ToolCall,
        timeout_s: float | None = None,
        *,
        on_progress: ProgressFn | None = None,
    ) -> McpCallResult:
        """Run a model's tool call on its server (with the server's timeout unless given).
        Unknown and denied tools give an error result (error_kind "unknown" / "blocked");
        approval is the caller's business."""
        found = self._by_model_name.get(call.name)
        if found is None:
            return McpCallResult(
                f"No tool named {call.name!r} is available.", is_error=True, error_kind="unknown"
            )
        if found.rule is ToolRule.DENY:
            return McpCallResult(
                f"The tool {call.name!r} is not allowed for this agent.",
                is_error=True,
                error_kind="blocked",
            )
        if "$raw" in call.arguments and len(call.arguments) == 1:
            return McpCallResult(
                f"The arguments for {call.name!r} were not a JSON object.",
                is_error=True,
                error_kind="protocol",
            )
        conn = self.connections[found.tool.server]
        if timeout_s is not None and (not math.isfinite(timeout_s) or timeout_s <= 0):
            timeout_s = None
        return await conn.call(found.tool.name, call.arguments, timeout_s, on_progress=on_progress)


async def open_toolbox(
    log: ExecutionLog, config: AgentConfig, secrets: McpSecrets | None = None
) -> McpToolbox:
    """Connect the agent's MCP servers (config.mcp_servers, as registered in the log) and
    return the open toolbox; close it with aclose(). Raises NotFoundError (a server that is not
    registered), MissingSecretError (a secret not in the keyring) or McpConnectError."""
    servers = await log.read_async(get_servers, log, config.mcp_servers)
    toolbox = await asyncio.to_thread(
        McpToolbox.for_agent, config, [s.config for s in servers], secrets
    )
    await toolbox.open()
    return toolbox
